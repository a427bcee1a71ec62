package detector

import (
	"net/netip"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/technique"
)

func TestPing(t *testing.T) {
	runCases(t, []protoCase{{
		name: "echo sweep",
		run: func(w *wire) {
			for i := 100; i < 112; i++ {
				w.send(icmpP(scanner, v4(i), 8, 0))
				w.send(icmpP(v4(i), scanner, 0, 0))
			}
		},
		want: []want{{scanner: scanner, typ: technique.Ping, shape: "horizontal", proto: "ICMP", targets: 12,
			evidence: []string{"12 echo/timestamp, 12 replies"}}},
	}, {
		// Timestamp requests are host discovery too; half the hosts answer.
		name: "timestamp sweep",
		run: func(w *wire) {
			for i := 100; i < 112; i++ {
				w.send(icmpP(scanner, v4(i), 13, 0))
				if i%2 == 0 {
					w.send(icmpP(v4(i), scanner, 14, 0))
				}
			}
		},
		want: []want{{scanner: scanner, typ: technique.Ping, targets: 12, evidence: []string{"12 echo/timestamp, 6 replies"}}},
	}, {
		name: "IPv6 echo sweep",
		run: func(w *wire) {
			for i := 0x100; i < 0x10c; i++ {
				w.send(icmpP(v6scan, v6(i), 128, 0))
				w.send(icmpP(v6(i), v6scan, 129, 0))
			}
		},
		want: []want{{scanner: v6scan, typ: technique.Ping, shape: "horizontal", proto: "IPV6-ICMP", targets: 12,
			evidence: []string{"12 echo/timestamp, 12 replies"}}},
	}, {
		name: "a few hosts",
		run: func(w *wire) {
			for i := 100; i < 109; i++ {
				w.send(icmpP(scanner, v4(i), 8, 0))
			}
		},
	}, {
		// One host pinged many times is monitoring, not a sweep.
		name: "one host often",
		run: func(w *wire) {
			for i := 0; i < 100; i++ {
				w.send(icmpP(scanner, target, 8, 0))
				w.send(icmpP(target, scanner, 0, 0))
			}
		},
	}, {
		// nmap -sn: echo, SYN to 443, ACK to 80 and timestamp to every
		// host are one ping sweep.
		name: "nmap host discovery",
		run: func(w *wire) {
			for i := 100; i < 120; i++ {
				h := v4(i)
				w.send(icmpP(scanner, h, 8, 0))
				w.send(nmapSYNP(scanner, h, 50000, 443, 1, 0))
				a := nmapSYNP(scanner, h, 50000, 80, 1, 0)
				a.Flags, a.Options = ack, nil
				w.send(a)
				w.send(icmpP(scanner, h, 13, 0))
				w.send(icmpP(h, scanner, 0, 0))
				w.send(tcpP(h, scanner, 443, 50000, rstack, 0, 2))
			}
		},
		want: []want{{scanner: scanner, typ: technique.Ping, targets: 20, evidence: []string{"40 TCP SYN-443/ACK-80 discovery probes"}}},
	}})
}

// ICMP errors resolve the probe they quote: port unreachable is closed,
// other codes (admin prohibited) filtered; errors quoting nothing we sent
// change nothing.
func TestUnreachable(t *testing.T) {
	runCases(t, []protoCase{{
		name: "filtered SYN scan",
		run: func(w *wire) {
			for port := uint16(1); port <= 20; port++ {
				w.send(nmapSYNP(scanner, target, 40000, port, 1, 0))
				w.send(unreachP(target, scanner, 13, decode.Quoted{Src: scanner, Dst: target, Proto: 6, HasPorts: true, SrcPort: 40000, DstPort: port}))
			}
		},
		want: []want{{scanner: scanner, typ: technique.Syn, ports: 20, evidence: []string{"20 SYN, 20 ICMP unreachable"}}},
	}, {
		// Unreachables for probes that never went out start nothing.
		name: "backscatter",
		run: func(w *wire) {
			for port := uint16(1); port <= 40; port++ {
				w.send(unreachP(target, scanner, 3, decode.Quoted{Src: scanner, Dst: target, Proto: 17, SrcPort: 40000, DstPort: port}))
			}
		},
	}})
}

func TestARP(t *testing.T) {
	runCases(t, []protoCase{{
		// Linux confirms a stale neighbour with requests sent to its own
		// MAC address; a server talking to 20 peers sends 20: no sweep.
		name: "unicast reachability probes",
		run: func(w *wire) {
			for i := 100; i < 120; i++ {
				p := arpP(scanner, v4(i), 1)
				p.LinkUnicast = true
				w.send(p)
				w.send(arpP(v4(i), scanner, 2))
			}
			w.wait(time.Minute)
		},
	}, {
		// arp-scan / nmap -sn on a LAN: requests only, a few hosts answer.
		name: "sweep",
		run: func(w *wire) {
			for i := 100; i < 120; i++ {
				w.send(arpP(scanner, v4(i), 1))
				if i%4 == 0 {
					w.send(arpP(v4(i), scanner, 2))
				}
			}
		},
		want: []want{{scanner: scanner, typ: technique.ARP, shape: "horizontal", proto: "ARP", targets: 20,
			evidence: []string{"20 ARP request/neighbour solicitation, 5 replies"}}},
	}, {
		// The kernel resolving the neighbours of an IP scan: the SYN scan
		// is the scan, its ARP requests are not a sweep.
		name: "resolution before IP probes",
		run: func(w *wire) {
			for i := 100; i < 120; i++ {
				h := v4(i)
				w.send(arpP(scanner, h, 1))
				w.send(arpP(h, scanner, 2))
				w.send(nmapSYNP(scanner, h, 40000, 22, 1, 0))
				w.send(tcpP(h, scanner, 22, 40000, rstack, 0, 2))
			}
			w.wait(time.Minute)
		},
		want: []want{{scanner: scanner, typ: technique.Syn, shape: "horizontal", targets: 20}},
	}, {
		// A health checker resolves its 20 backends and talks HTTP to
		// each; a LAN host resolves the hosts it answers (LLMNR, from
		// 5355) or pings: none of it is a sweep.
		name: "resolution before traffic",
		run: func(w *wire) {
			for i := 100; i < 120; i++ {
				h := v4(i)
				w.send(arpP(scanner, h, 1))
				w.send(arpP(h, scanner, 2))
				switch i % 3 {
				case 0:
					sport := uint16(40000 + i)
					w.send(tcpP(scanner, h, sport, 80, syn, 1, 0))
					w.send(tcpP(h, scanner, 80, sport, synack, 9, 2))
					w.send(tcpP(scanner, h, sport, 80, ack, 2, 10))
					p := tcpP(scanner, h, sport, 80, pshack, 2, 10)
					p.Payload = 120
					w.send(p)
				case 1:
					w.send(udpP(scanner, h, 5355, uint16(50000+i), 60))
				case 2:
					w.send(icmpP(scanner, h, 8, 0))
					w.send(icmpP(h, scanner, 0, 0))
				}
			}
			w.wait(time.Minute)
		},
	}, {
		// Gratuitous ARP and RFC 5227 probes (sender 0.0.0.0) ask for no one.
		name: "gratuitous and probes",
		run: func(w *wire) {
			for i := 100; i < 140; i++ {
				w.send(arpP(v4(i), v4(i), 1))
				w.send(arpP(netip.IPv4Unspecified(), v4(i), 1))
			}
			w.wait(time.Minute)
			if st := w.d.Stats(); st.Probes != 0 {
				w.t.Errorf("%d probes counted, want none", st.Probes)
			}
		},
	}, {
		name: "below threshold",
		run: func(w *wire) {
			for i := 100; i < 115; i++ {
				w.send(arpP(scanner, v4(i), 1))
			}
		},
	}, {
		// A host's kernel asks for five dead neighbours, a minute apart
		// (a printer driver polling stale addresses): no sweep.
		name: "dead neighbours now and then",
		run: func(w *wire) {
			for i := 100; i < 105; i++ {
				for range 3 {
					w.send(arpP(scanner, v4(i), 1))
					w.wait(time.Second)
				}
				w.wait(time.Minute)
			}
		},
	}, {
		// A slow sweep, one address every 20 s: six hosts over more than
		// the window.
		name: "slow sweep",
		run: func(w *wire) {
			for i := 100; i < 110; i++ {
				w.send(arpP(scanner, v4(i), 1))
				w.wait(20 * time.Second)
			}
		},
		want: []want{{scanner: scanner, typ: technique.ARP, targets: 10}},
	}})
}

func TestNeighbourDiscovery(t *testing.T) {
	runCases(t, []protoCase{{
		// Neighbour unreachability detection: solicitations sent to the
		// neighbour's own address, not to its solicited-node group.
		name: "unicast reachability probes",
		run: func(w *wire) {
			for i := 0x100; i < 0x114; i++ {
				p := nsP(v6scan, v6(i))
				p.Dst = v6(i)
				w.send(p)
				w.send(naP(v6(i), v6scan))
			}
			w.wait(time.Minute)
		},
	}, {
		// nmap -6 -sn on a LAN: neighbour solicitations only.
		name: "sweep",
		run: func(w *wire) {
			for i := 0x100; i < 0x114; i++ {
				w.send(nsP(v6scan, v6(i)))
				if i%4 == 0 {
					w.send(naP(v6(i), v6scan))
				}
			}
		},
		want: []want{{scanner: v6scan, typ: technique.ARP, shape: "horizontal", proto: "IPV6-ICMP", targets: 20,
			evidence: []string{"20 ARP request/neighbour solicitation, 5 replies"}}},
	}, {
		// Duplicate address detection solicits from ::.
		name: "duplicate address detection",
		run: func(w *wire) {
			for i := 0x100; i < 0x140; i++ {
				w.send(nsP(netip.IPv6Unspecified(), v6(i)))
			}
			w.wait(time.Minute)
			if st := w.d.Stats(); st.Probes != 0 {
				w.t.Errorf("%d probes counted, want none", st.Probes)
			}
		},
	}})
}
