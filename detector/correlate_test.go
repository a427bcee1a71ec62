package detector

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/decode"
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

// masscanSYNP is masscan's SYN: window 1024, TTL 255, no options, IP ID =
// dst ^ dport ^ seq (low 16 bits).
func masscanSYNP(src, dst netip.Addr, sport, dport uint16, seq uint32) decode.Packet {
	d := dst.As4()
	ipid := (uint32(d[0])<<24 | uint32(d[1])<<16 | uint32(d[2])<<8 | uint32(d[3])) ^ uint32(dport) ^ seq
	return decode.Packet{Kind: decode.KindTCP, Src: src, Dst: dst, Proto: 6, TTL: 255, IPID: ipid & 0xffff,
		SrcPort: sport, DstPort: dport, Flags: syn, Seq: seq, Window: 1024}
}

// decoyScan sends nmap -D's copies of a SYN to each port, from every
// member in order, with one IP ID, sequence number and source port; answer
// says whether the target's reply to member m reaches the wire, and reset
// whether m's stack resets a SYN-ACK.
func decoyScan(w *wire, order []netip.Addr, ports []uint16, open map[uint16]bool, answer, reset func(m netip.Addr) bool) {
	for i, port := range ports {
		for _, m := range order {
			w.send(nmapSYNP(m, target, 46000, port, 888, uint32(5000+i)))
		}
		for _, m := range order {
			if !answer(m) {
				continue
			}
			if open[port] {
				w.send(tcpP(target, m, port, 46000, synack, 9000, 889))
				if reset(m) {
					w.send(tcpP(m, target, 46000, port, rst, 889, 0))
				}
			} else {
				w.send(tcpP(target, m, port, 46000, rstack, 0, 889))
			}
		}
	}
}

// A decoy set belongs to the probes that share IP ID, sequence and source
// port: nmap -sS, then nmap -D, then masscan from one source are three
// scans, and only the second names decoys: also when masscan starts before
// the decoys' copies have timed out (the decoy alert is still waiting).
func TestDecoysBelongToTheirProbes(t *testing.T) {
	for _, gap := range []time.Duration{20 * time.Second, time.Second} {
		t.Run("masscan after "+gap.String(), func(t *testing.T) { decoysThenMasscan(t, gap) })
	}
}

func decoysThenMasscan(t *testing.T, gap time.Duration) {
	w := newWire(t)
	for port := uint16(1); port <= 40; port++ { // nmap -sS
		w.send(nmapSYNP(scanner, target, 45000, port, 777, uint32(100+port)))
		w.send(tcpP(target, scanner, port, 45000, rstack, 0, 778))
	}
	w.wait(10 * time.Second)
	var ports []uint16
	for p := uint16(101); p <= 140; p++ {
		ports = append(ports, p)
	}
	// nmap -D d1,d2,ME: the decoys are not on the LAN, nothing reaches them.
	decoyScan(w, []netip.Addr{decoy1, decoy2, scanner}, ports, nil,
		func(m netip.Addr) bool { return m == scanner }, func(netip.Addr) bool { return true })
	w.wait(gap)
	for port := uint16(201); port <= 240; port++ { // masscan
		w.send(masscanSYNP(scanner, target, 61000, port, 0x5000+uint32(port)*7919))
		w.send(tcpP(target, scanner, port, 61000, rstack, 0, 0))
	}
	w.d.Flush()
	var got []string
	for _, e := range w.events {
		got = append(got, fmt.Sprintf("%s %s %s %s ports=%s decoys=%v", e.Kind, e.Scan.ScannerText(), e.Scan.Type, e.Scan.Tool, e.Scan.Ports, e.Scan.Decoys))
	}
	want := []string{
		"alert 10.77.0.2 syn nmap ports=%s decoys=[]",
		"scan 10.77.0.2 syn nmap ports=1-40 decoys=[]",
		"alert 10.77.0.2 syn nmap ports=%s decoys=[10.77.0.50 10.77.0.51]",
		"scan 10.77.0.2 syn nmap ports=101-140 decoys=[10.77.0.50 10.77.0.51]",
		"alert 10.77.0.2 syn masscan ports=%s decoys=[]",
		"scan 10.77.0.2 syn masscan ports=201-240 decoys=[]",
	}
	if len(got) != len(want) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		// The alerts' port lists depend on when each fired: not checked.
		if w, g := strings.Split(want[i], " ports="), strings.Split(got[i], " ports="); w[0] != g[0] || !strings.HasSuffix(got[i], strings.SplitN(w[1], " ", 2)[1]) {
			t.Errorf("event %d: %s\nwant %s", i, got[i], want[i])
		}
	}
	if ev := w.events[3].Scan.Evidence; !strings.Contains(ev, "real scanner 10.77.0.2: the only source the target answered") {
		t.Errorf("decoy scan evidence %q", ev)
	}
}

// When every member of a decoy set is answered alike (live hosts on the
// LAN, each resetting the SYN-ACKs it never asked for), nothing singles
// the real scanner out: the scan is reported once, its scanner
// "undetermined", every member a decoy.
func TestDecoysAnsweredAlike(t *testing.T) {
	var ports []uint16
	for p := uint16(1); p <= 40; p++ {
		ports = append(ports, p)
	}
	all := func(netip.Addr) bool { return true }
	runCases(t, []protoCase{{
		name: "real scanner first",
		run: func(w *wire) {
			decoyScan(w, []netip.Addr{scanner, decoy1, decoy2}, ports, map[uint16]bool{3: true, 22: true}, all, all)
		},
		want: []want{{scanner: netip.Addr{}, typ: technique.Syn, ports: 40, open: []uint16{3, 22},
			decoys:   []netip.Addr{scanner, decoy1, decoy2},
			evidence: []string{"from 3 sources; real scanner undetermined: the target answered every source alike"}}},
	}, {
		name: "real scanner last",
		run: func(w *wire) {
			decoyScan(w, []netip.Addr{decoy1, decoy2, scanner}, ports, map[uint16]bool{3: true, 22: true}, all, all)
		},
		want: []want{{scanner: netip.Addr{}, typ: technique.Syn, ports: 40, open: []uint16{3, 22}, decoys: []netip.Addr{scanner, decoy1, decoy2}}},
	}, {
		// On a LAN the target answers each copy before the next one
		// leaves: the first member's probes are resolved before they are
		// known to be copies, and still belong to the decoy scan.
		name: "answered before the next copy",
		run: func(w *wire) {
			for i, port := range ports {
				for _, m := range []netip.Addr{decoy1, decoy2, scanner} {
					w.send(nmapSYNP(m, target, 46000, port, 888, uint32(5000+i)))
					w.send(tcpP(target, m, port, 46000, rstack, 0, 889))
				}
			}
		},
		want: []want{{scanner: netip.Addr{}, typ: technique.Syn, ports: 40, decoys: []netip.Addr{scanner, decoy1, decoy2}}},
	}})
}
