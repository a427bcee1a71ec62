package detector

import (
	"net/netip"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/technique"
)

func TestUDP(t *testing.T) {
	resolver := v4(53)
	runCases(t, []protoCase{{
		// nmap -sU: empty datagrams with a random TTL per probe; two
		// ports answer, the target rate-limits its port unreachables.
		name: "nmap -sU",
		run: func(w *wire) {
			ports := []uint16{53, 161}
			for p := uint16(1); p <= 28; p++ {
				ports = append(ports, p)
			}
			for i, port := range ports {
				p := udpP(scanner, target, 41000, port, 0)
				p.TTL, p.IPID = uint8(37+i%23), uint32(2000+i)
				w.send(p)
				switch {
				case port == 53 || port == 161:
					w.send(udpP(target, scanner, port, 41000, 40))
				case port%2 == 0:
					w.send(unreachP(target, scanner, 3, decode.Quoted{Src: scanner, Dst: target, Proto: 17, SrcPort: 41000, DstPort: port}))
				}
			}
		},
		want: []want{{scanner: scanner, typ: technique.UDP, shape: "vertical", proto: "UDP", targets: 1, ports: 30, open: []uint16{53, 161}, tool: "nmap",
			evidence: []string{"30 UDP", "14 ICMP port unreachable", "2 UDP replies", "14 unanswered"}, toolWhy: "TTL randomised"}},
	}, {
		// A resolver's answers whose queries were not captured: from port
		// 53 to ephemeral ports, they are replies, not probes.
		name: "replies without requests",
		run: func(w *wire) {
			for i := uint16(0); i < 40; i++ {
				w.send(udpP(resolver, scanner, 53, 50000+i, 120))
			}
			w.wait(time.Minute)
		},
	}, {
		// nmap -sU -g 53 to high ports: once the source is scanning over
		// UDP, datagrams from port 53 to ephemeral ports are probes too.
		// (Before that they pass for replies; see the case above.)
		name: "source port 53 while scanning",
		run: func(w *wire) {
			for port := uint16(1); port <= 5; port++ {
				w.send(udpP(scanner, target, 53, port, 0))
			}
			w.wait(11 * time.Second) // unanswered (resolved after twice the reply timeout): the episode starts
			for port := uint16(40000); port < 40020; port++ {
				w.send(udpP(scanner, target, 53, port, 0))
			}
		},
		want: []want{{scanner: scanner, typ: technique.UDP, ports: 25, evidence: []string{"25 UDP", "25 unanswered"}}},
	}, {
		// Retransmitted probes count as probes, not as ports.
		name: "retransmissions",
		run: func(w *wire) {
			for port := uint16(1); port <= 20; port++ {
				for i := 0; i < 3; i++ {
					w.send(udpP(scanner, target, 41000, port, 0))
				}
			}
		},
		want: []want{{scanner: scanner, typ: technique.UDP, ports: 20, evidence: []string{"60 UDP, 20 unanswered"}}},
	}})
}

func TestSCTP(t *testing.T) {
	runCases(t, []protoCase{{
		// nmap -sY: INIT to every port; closed ports ABORT, the open one
		// answers INIT-ACK and the scanner aborts it.
		name: "nmap -sY",
		run: func(w *wire) {
			for port := uint16(1); port <= 20; port++ {
				w.send(sctpP(scanner, target, 40000, port, 1))
				if port == 9 {
					w.send(sctpP(target, scanner, port, 40000, 2))
					w.send(sctpP(scanner, target, 40000, port, 6))
				} else {
					w.send(sctpP(target, scanner, port, 40000, 6))
				}
			}
		},
		want: []want{{scanner: scanner, typ: technique.SCTP, shape: "vertical", proto: "SCTP", ports: 20, open: []uint16{9},
			evidence: []string{"20 SCTP INIT, 19 ABORT, 1 INIT-ACK then ABORT from scanner"}}},
	}, {
		// Associations that complete (COOKIE-ECHO) are clients.
		name: "associations",
		run: func(w *wire) {
			for port := uint16(1); port <= 20; port++ {
				w.send(sctpP(scanner, target, 40000+port, port, 1))
				w.send(sctpP(target, scanner, port, 40000+port, 2))
				w.send(sctpP(scanner, target, 40000+port, port, 10))
			}
			w.wait(time.Minute)
		},
	}, {
		// Only INIT opens an association: other first chunks are not probes.
		name: "stray chunks",
		run: func(w *wire) {
			for port := uint16(1); port <= 20; port++ {
				w.send(sctpP(scanner, target, 40000, port, 0)) // DATA
			}
			w.wait(time.Minute)
		},
	}})
}

func TestIPProto(t *testing.T) {
	protos := []uint8{2, 3, 4, 5, 7, 8, 9, 10, 11, 12}
	runCases(t, []protoCase{{
		// nmap -sO: one packet per protocol number; the target answers
		// protocol unreachable (3/2) for those it lacks, and protocol 4
		// back.
		name: "nmap -sO",
		run: func(w *wire) {
			for _, proto := range protos {
				w.send(ipP(scanner, target, proto))
				if proto == 4 {
					w.send(ipP(target, scanner, proto))
				} else {
					w.send(unreachP(target, scanner, 2, decode.Quoted{Src: scanner, Dst: target, Proto: proto}))
				}
			}
		},
		want: []want{{scanner: scanner, typ: technique.IPProto, shape: "vertical", proto: "IP", ports: 10, open: []uint16{4},
			evidence: []string{"10 IP protocol, 9 ICMP protocol unreachable, 1 answered"}}},
	}, {
		// Three unanswered protocol numbers are fewer than min_ports.
		name: "below threshold",
		run: func(w *wire) {
			for _, proto := range []uint8{3, 5, 7} {
				w.send(ipP(scanner, target, proto))
			}
			w.wait(time.Minute)
		},
	}, {
		// IPsec ESP from a host whose peers have no SA for it, seen one
		// way: one protocol to six hosts, a new peer every 15 s.
		name: "one-sided ESP",
		run: func(w *wire) {
			for i := 11; i <= 16; i++ {
				for range 5 {
					w.send(ipP(scanner, v4(i), 50))
					w.wait(3 * time.Second)
				}
			}
			w.wait(time.Minute)
		},
	}, {
		// One protocol no traffic uses, to 20 hosts, slowly: still one
		// protocol number.
		name: "one protocol to many hosts",
		run: func(w *wire) {
			for i := 100; i < 120; i++ {
				w.send(ipP(scanner, v4(i), 253))
				w.wait(10 * time.Second)
			}
		},
	}, {
		// A tunnel endpoint: GRE, IP-in-IP, IPv6-in-IPv4 and ESP to its
		// peers, none answered in this capture.
		name: "tunnel protocols",
		run: func(w *wire) {
			for range 10 {
				for i, proto := range []uint8{47, 4, 41, 50, 51, 97, 115, 137} {
					w.send(ipP(scanner, v4(20+i), proto))
					w.send(ipP(scanner, target, proto))
				}
				w.wait(10 * time.Second)
			}
		},
	}, {
		// nmap -sO slowed down: a protocol number every 30 s.
		name: "slow protocol scan",
		run: func(w *wire) {
			for proto := uint8(140); proto < 150; proto++ {
				w.send(ipP(scanner, target, proto))
				w.wait(30 * time.Second)
			}
		},
		want: []want{{scanner: scanner, typ: technique.IPProto, ports: 10}},
	}, {
		// Allowed targets are not counted, whatever the protocol.
		name: "allowed target",
		rules: func(r *rules.Rules) {
			r.Allow.Targets = append(r.Allow.Targets, netipPrefix(target))
		},
		run: func(w *wire) {
			for _, proto := range protos {
				w.send(ipP(scanner, target, proto))
			}
		},
	}})
}

// Link-local chatter is not a UDP scan: responders answer multicast
// name queries by unicast from the service's port to the asker's port,
// NetBIOS hosts talk 137 to 137 and 138 to 138, and datagrams to a
// subnet's broadcast address go to the link-layer broadcast.
func TestLinkLocalChatter(t *testing.T) {
	llmnrGroup := netip.MustParseAddr("224.0.0.252")
	mdnsGroup := netip.MustParseAddr("224.0.0.251")
	responder := v4(77)
	runCases(t, []protoCase{{
		// One host answers the LLMNR and mDNS queries of 30 others.
		name: "LLMNR and mDNS answers",
		run: func(w *wire) {
			for i := 100; i < 130; i++ {
				asker, port := v4(i), uint16(50000+i)
				w.send(udpP(asker, llmnrGroup, port, 5355, 30))
				w.send(udpP(responder, asker, 5355, port, 60))
				w.send(udpP(asker, mdnsGroup, 5353, 5353, 30))
				w.send(udpP(responder, asker, 5353, port+1000, 60)) // a QU answer, unicast
			}
			w.wait(time.Minute)
		},
	}, {
		// NetBIOS name queries and node status, 137 to 137, unicast to
		// 30 hosts, and datagrams 138 to 138; nobody answers.
		name: "NetBIOS 137 and 138",
		run: func(w *wire) {
			for i := 100; i < 130; i++ {
				w.send(udpP(responder, v4(i), 137, 137, 50))
				w.send(udpP(responder, v4(i), 138, 138, 200))
			}
			w.wait(time.Minute)
		},
	}, {
		// A DHCP server's offers and acks, unicast from 67 to each
		// client's 68 (and DHCPv6 from 547 to 546): 30 clients, none
		// answers them.
		name: "DHCP server",
		run: func(w *wire) {
			for i := 100; i < 130; i++ {
				w.send(udpP(responder, v4(i), 67, 68, 300))
				w.send(udpP(responder, v4(i), 67, 68, 300))
				w.send(udpP(v6(0x10), v6(i), 547, 546, 120))
			}
			w.wait(time.Minute)
		},
	}, {
		// Discovery broadcasts to 10.77.255.255 on 20 ports (game and
		// sync clients): one address, many ports, no answers.
		name: "subnet broadcast",
		run: func(w *wire) {
			bcast := netip.MustParseAddr("10.77.255.255")
			for port := uint16(27000); port < 27020; port++ {
				p := udpP(responder, bcast, 40000, port, 40)
				p.LinkGroup = true
				w.send(p)
			}
			w.wait(time.Minute)
		},
	}, {
		// nbtscan asks 137 from an ephemeral port: that is a sweep.
		name: "nbtscan",
		run: func(w *wire) {
			for i := 100; i < 130; i++ {
				w.send(udpP(scanner, v4(i), 41000, 137, 50))
			}
		},
		want: []want{{scanner: scanner, typ: technique.UDP, shape: "horizontal", targets: 30}},
	}})
}

// A UDP exchange the peer answered is a client's, as a TCP exchange that
// carried data is; a few unanswered among many answered are a flaky
// network. UDP scans still fail on most ports: unreachables, silence, or
// one answering service among closed ports.
func TestAnsweredUDP(t *testing.T) {
	servers := func(n int) []netip.Addr {
		var a []netip.Addr
		for i := range n {
			a = append(a, v4(100+i))
		}
		return a
	}
	// ask sends one request from a fresh source port; the server answers
	// unless dead.
	sport := uint16(30000)
	ask := func(w *wire, srv netip.Addr, port uint16, dead bool) {
		sport++
		w.send(udpP(scanner, srv, sport, port, 48))
		if !dead {
			w.send(udpP(srv, scanner, port, sport, 48))
		}
	}
	runCases(t, []protoCase{{
		// chronyd -Q against a pool of 20 (iburst: four polls each).
		name: "NTP client",
		run: func(w *wire) {
			for range 4 {
				for _, srv := range servers(20) {
					p := udpP(scanner, srv, 123, 123, 48)
					w.send(p)
					w.send(udpP(srv, scanner, 123, 123, 48))
				}
				w.wait(2 * time.Second)
			}
			w.wait(time.Minute)
		},
	}, {
		// A resolver asks 30 authoritative servers; 4 are dead and asked
		// three times each, late in the run.
		name: "resolver with dead servers",
		run: func(w *wire) {
			srvs := servers(30)
			for round := range 3 {
				for i, srv := range srvs {
					if round > 0 && i < 26 {
						continue
					}
					ask(w, srv, 53, i >= 26)
				}
				w.wait(time.Second)
			}
			w.wait(time.Minute)
		},
	}, {
		// A busy resolver on a lossy path: 240 servers in a minute, one
		// query in twelve lost. 20 dead peers in the window, far more
		// answered.
		name: "flaky network",
		run: func(w *wire) {
			for i, srv := range servers(240) {
				ask(w, srv, 53, i%12 == 5)
				w.wait(250 * time.Millisecond)
			}
			w.wait(time.Minute)
		},
	}, {
		// snmpwalk of the system group on 25 agents, then two polls.
		name: "SNMP poller",
		run: func(w *wire) {
			for range 3 {
				for _, srv := range servers(25) {
					for range 8 {
						ask(w, srv, 161, false)
					}
				}
				w.wait(3 * time.Second)
			}
			w.wait(time.Minute)
		},
	}, {
		// A QUIC client: Initial to 20 servers on 443, each answered, a
		// few more datagrams each way.
		name: "QUIC client",
		run: func(w *wire) {
			for i, srv := range servers(20) {
				p := uint16(52000 + i)
				w.send(udpP(scanner, srv, p, 443, 1200))
				w.send(udpP(srv, scanner, 443, p, 1200))
				w.send(udpP(scanner, srv, p, 443, 40))
				w.send(udpP(srv, scanner, 443, p, 900))
			}
			w.wait(time.Minute)
		},
	}, {
		// A server's telemetry: syslog to two collectors, SNMP traps to
		// two managers, NetFlow, IPFIX and statsd; nothing answers.
		name: "one-way telemetry",
		run: func(w *wire) {
			for range 10 {
				for i, port := range []uint16{514, 514, 162, 162, 2055, 4739, 8125} {
					w.send(udpP(scanner, v4(150+i), 40000+uint16(i), port, 200))
				}
				w.wait(10 * time.Second)
			}
		},
	}, {
		// nmap -sU of a DNS server: 53 answers, every other port is
		// closed.
		name: "UDP scan of a server that answers",
		run: func(w *wire) {
			for port := uint16(40); port <= 80; port++ {
				w.send(udpP(scanner, target, 41000, port, 0))
				if port == 53 {
					w.send(udpP(target, scanner, 53, 41000, 40))
				} else {
					w.send(unreachP(target, scanner, 3, decode.Quoted{Src: scanner, Dst: target, Proto: 17, HasPorts: true, SrcPort: 41000, DstPort: port}))
				}
			}
		},
		want: []want{{scanner: scanner, typ: technique.UDP, shape: "vertical", ports: 41, open: []uint16{53},
			evidence: []string{"41 UDP, 40 ICMP port unreachable, 1 UDP replies"}}},
	}, {
		// A sweep of SNMP over 30 hosts, mostly closed (port
		// unreachable), three agents answer.
		name: "UDP sweep, mostly closed",
		run: func(w *wire) {
			for i, srv := range servers(30) {
				if i%10 == 0 {
					ask(w, srv, 161, false)
					continue
				}
				sport++
				w.send(udpP(scanner, srv, sport, 161, 40))
				w.send(unreachP(srv, scanner, 3, decode.Quoted{Src: scanner, Dst: srv, Proto: 17, HasPorts: true, SrcPort: sport, DstPort: 161}))
			}
		},
		want: []want{{scanner: scanner, typ: technique.UDP, shape: "horizontal", targets: 30, open: []uint16{161},
			evidence: []string{"27 ICMP port unreachable, 3 UDP replies"}}},
	}, {
		// nmap -sUV: the scan, then service probes to the open ports,
		// answered.
		name: "UDP scan with service probes",
		run: func(w *wire) {
			for port := uint16(100); port <= 130; port++ {
				w.send(udpP(scanner, target, 41000, port, 0))
				if port != 123 {
					w.send(unreachP(target, scanner, 3, decode.Quoted{Src: scanner, Dst: target, Proto: 17, HasPorts: true, SrcPort: 41000, DstPort: port}))
				}
			}
			for range 5 {
				ask(w, target, 123, false)
			}
		},
		want: []want{{scanner: scanner, typ: technique.UDP, ports: 31, open: []uint16{123}}},
	}})
}
