package detector

import (
	"net/netip"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/technique"
)

func TestDecoysAndDistributed(t *testing.T) {
	members := []netip.Addr{scanner, decoy1, decoy2, decoy3}
	runCases(t, []protoCase{{
		// nmap -D: every probe leaves four times, from three spoofed
		// sources and the real one, with one IP ID, sequence number and
		// source port. The target answers them all; only the real
		// scanner's stack resets the SYN-ACKs of open ports. The decoys
		// come first (-D d1,d2,ME,d3) and their SYN-ACKs time out as open
		// before the closed ports: a decoy crosses the threshold first,
		// and the resets name the real scanner.
		name: "nmap -D",
		run: func(w *wire) {
			order := []netip.Addr{decoy1, decoy2, scanner, decoy3}
			ports := []uint16{22, 80}
			for p := uint16(1); p <= 40; p++ {
				if p != 22 && p != 80 {
					ports = append(ports, p)
				}
			}
			for i, port := range ports {
				for _, m := range order {
					w.send(nmapSYNP(m, target, 45000, port, 777, uint32(3000+i)))
				}
				for _, m := range order {
					if port == 22 || port == 80 {
						w.send(tcpP(target, m, port, 45000, synack, 9000, 778))
					} else {
						w.send(tcpP(target, m, port, 45000, rstack, 0, 778))
					}
				}
				if port == 22 || port == 80 {
					w.send(tcpP(scanner, target, 45000, port, rst, 778, 0))
				}
				if port == 80 {
					w.wait(11 * time.Second)
				}
			}
		},
		want: []want{{scanner: scanner, typ: technique.Syn, ports: 41, open: []uint16{22, 80}, tool: "nmap",
			decoys:   []netip.Addr{decoy1, decoy2, decoy3},
			evidence: []string{"decoys: same probes (IP ID, sequence, source port) from 4 sources; real scanner 10.77.0.2"}}},
	}, {
		// The same four sources, each with its own IP IDs: four scans.
		name: "four independent scans",
		run: func(w *wire) {
			for port := uint16(1); port <= 20; port++ {
				for i, m := range members {
					w.send(nmapSYNP(m, target, 45000, port, 777, uint32(100*i)+uint32(port)))
					w.send(tcpP(target, m, port, 45000, rstack, 0, 778))
				}
			}
		},
		want: []want{{scanner: scanner, typ: technique.Syn}, {scanner: decoy1, typ: technique.Syn}, {scanner: decoy2, typ: technique.Syn}, {scanner: decoy3, typ: technique.Syn}},
	}, {
		// Three sources split a port range of one target between them.
		name: "distributed",
		run: func(w *wire) {
			for port := uint16(1); port <= 30; port++ {
				for i, m := range members[:3] {
					p := port + uint16(100*i)
					w.send(nmapSYNP(m, target, 45000, p, 777, uint32(p)))
					w.send(tcpP(target, m, p, 45000, rstack, 0, 778))
				}
			}
		},
		want: []want{{scanner: scanner, typ: technique.Syn, ports: 30, group: true}, {scanner: decoy1, typ: technique.Syn, group: true}, {scanner: decoy2, typ: technique.Syn, group: true}},
	}, {
		// The same sources on the same ports: three scans of one target,
		// not a split range.
		name: "overlapping ranges",
		run: func(w *wire) {
			for port := uint16(1); port <= 30; port++ {
				for _, m := range members[:3] {
					w.send(nmapSYNP(m, target, 45000, port, 777, uint32(port)+uint32(m.As4()[3])<<8))
					w.send(tcpP(target, m, port, 45000, rstack, 0, 778))
				}
			}
		},
		want: []want{{scanner: scanner, typ: technique.Syn}, {scanner: decoy1, typ: technique.Syn}, {scanner: decoy2, typ: technique.Syn}},
	}})
}
