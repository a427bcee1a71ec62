package detector

import (
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
		name: "below threshold",
		run: func(w *wire) {
			for _, proto := range protos[:7] {
				w.send(ipP(scanner, target, proto))
			}
		},
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
