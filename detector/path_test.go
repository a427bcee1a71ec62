package detector

import (
	"net/netip"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/technique"
)

// A routed path for the traceroute cases: tracer -> r1 -> r2 -> dest.
var (
	tracer = netip.MustParseAddr("10.79.1.2")
	hop1   = netip.MustParseAddr("10.79.1.1")
	hop2   = netip.MustParseAddr("10.79.2.2")
	dest   = netip.MustParseAddr("10.79.3.10")
)

// timeExceededP is a router's ICMP time exceeded (11/0) quoting a probe.
func timeExceededP(router, to netip.Addr, q decode.Quoted) decode.Packet {
	p := icmpP(router, to, 11, 0)
	q.Valid = true
	p.Inner = q
	return p
}

// udpTrace sends traceroute's UDP probes as a sensor at distance see from
// the tracer would see them: probes per TTL from 1 to maxTTL, one source
// port each, destination ports from 33434 up; the destination is hops
// away. Probes that expire before the sensor are not seen; those that
// expire after it are answered by a router, the rest by the destination
// (port unreachable, rate limited to the first six).
func udpTrace(w *wire, see, hops, maxTTL, perTTL int) {
	seq, unreach := 0, 0
	for ttl := 1; ttl <= maxTTL; ttl++ {
		for range perTTL {
			sport, dport := uint16(40000+seq), uint16(33434+seq)
			seq++
			if ttl <= see {
				continue // expired before the sensor
			}
			p := udpP(tracer, dest, sport, dport, 32)
			p.TTL = uint8(ttl - see)
			w.send(p)
			q := decode.Quoted{Src: tracer, Dst: dest, Proto: 17, HasPorts: true, SrcPort: sport, DstPort: dport}
			switch {
			case ttl < hops:
				w.send(timeExceededP([]netip.Addr{hop1, hop2}[ttl-1], tracer, q))
			case unreach < 6:
				unreach++
				w.send(unreachP(dest, tracer, 3, q))
			}
		}
	}
	w.wait(time.Minute)
}

// Traceroute and mtr are not scans: their probes' TTLs rise by one from
// the lowest a sensor can see. nmap -sU's TTLs are random, and it stays a
// scan named for nmap.
func TestTraceroute(t *testing.T) {
	runCases(t, []protoCase{{
		// traceroute -n: 16 probes at once (TTL 1-6, 3 each), seen on the
		// tracer's uplink with every TTL.
		name: "UDP traceroute at the tracer",
		run:  func(w *wire) { udpTrace(w, 0, 3, 6, 3) },
	}, {
		// The same at the destination: only the probes that got there,
		// with the TTL they had left (1, 2, 3, 4).
		name: "UDP traceroute at the destination",
		run:  func(w *wire) { udpTrace(w, 2, 3, 6, 3) },
	}, {
		// A trace to 30 hops through a firewall that answers nothing:
		// 90 unanswered probes.
		name: "UDP traceroute, silent path",
		run: func(w *wire) {
			for ttl := 1; ttl <= 30; ttl++ {
				for i := range 3 {
					p := udpP(tracer, dest, uint16(40000+3*ttl+i), uint16(33434+3*(ttl-1)+i), 32)
					p.TTL = uint8(ttl)
					w.send(p)
				}
			}
			w.wait(time.Minute)
		},
	}, {
		// mtr -u, left running: TTL 1-3 every second, a new port each.
		name: "mtr -u",
		run: func(w *wire) {
			seq := 0
			for range 100 {
				for ttl := 1; ttl <= 3; ttl++ {
					p := udpP(tracer, dest, 41000, uint16(33000+seq), 36)
					p.TTL = uint8(ttl)
					seq++
					w.send(p)
					if ttl == 3 {
						w.send(unreachP(dest, tracer, 3, decode.Quoted{Src: tracer, Dst: dest, Proto: 17, HasPorts: true, SrcPort: 41000, DstPort: p.DstPort}))
					}
				}
				w.wait(time.Second)
			}
		},
	}, {
		// traceroute -I: echo requests with rising TTLs to one host.
		name: "ICMP traceroute",
		run: func(w *wire) {
			for ttl := 1; ttl <= 6; ttl++ {
				for range 3 {
					p := icmpP(tracer, dest, 8, 0)
					p.TTL = uint8(ttl)
					w.send(p)
					if ttl >= 3 {
						w.send(icmpP(dest, tracer, 0, 0))
					}
				}
			}
			w.wait(time.Minute)
		},
	}, {
		// traceroute -T -p 80: SYNs with rising TTLs to one port; the
		// destination's SYN-ACKs are reset by the tracer's kernel.
		name: "TCP traceroute",
		run: func(w *wire) {
			for ttl := 1; ttl <= 6; ttl++ {
				for i := range 3 {
					sport := uint16(42000 + 3*ttl + i)
					p := tcpP(tracer, dest, sport, 80, syn, uint32(ttl*100+i), 0)
					p.TTL, p.Options = uint8(ttl), osOpts
					w.send(p)
					if ttl >= 3 {
						w.send(tcpP(dest, tracer, 80, sport, synack, 5, p.Seq+1))
						w.send(tcpP(tracer, dest, sport, 80, rst, p.Seq+1, 0))
					}
				}
			}
			w.wait(time.Minute)
		},
	}, {
		// A trace, then nmap -sU from the same host: the scan is a scan,
		// and its random TTLs name nmap.
		name: "traceroute then nmap -sU",
		run: func(w *wire) {
			udpTrace(w, 0, 3, 6, 3)
			for port := uint16(1); port <= 40; port++ {
				p := udpP(tracer, dest, 45000, port, 0)
				p.TTL = uint8(37 + (port*7)%23)
				w.send(p)
				w.send(unreachP(dest, tracer, 3, decode.Quoted{Src: tracer, Dst: dest, Proto: 17, HasPorts: true, SrcPort: 45000, DstPort: port}))
			}
		},
		want: []want{{scanner: tracer, typ: technique.UDP, tool: "nmap", toolWhy: "TTL randomised"}},
	}, {
		// Probes to traceroute's ports whose low TTLs do not rise by one
		// (1, 3, 5...) are no trace: only the first (TTL 1) passes for
		// the start of one.
		name: "low TTLs with gaps",
		run: func(w *wire) {
			for i := range 20 {
				p := udpP(tracer, dest, 43000, uint16(33434+i), 0)
				p.TTL = uint8(1 + 2*i)
				w.send(p)
			}
		},
		want: []want{{scanner: tracer, typ: technique.UDP, ports: 19}},
	}})
}
