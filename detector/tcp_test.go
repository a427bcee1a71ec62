package detector

import (
	"net/netip"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

// synScan sends a SYN from src to ports 1-n of dst, each made by mk; the
// ports in open answer SYN-ACK and the scanner's stack resets them, the
// others answer RST-ACK.
func synScan(w *wire, src, dst netip.Addr, n uint16, open map[uint16]bool, mk func(port uint16) decode.Packet) {
	for port := uint16(1); port <= n; port++ {
		p := mk(port)
		w.send(p)
		if open[port] {
			w.send(tcpP(dst, src, port, p.SrcPort, synack, 9000, p.Seq+1))
			w.send(tcpP(src, dst, p.SrcPort, port, rst, p.Seq+1, 0))
		} else {
			w.send(tcpP(dst, src, port, p.SrcPort, rstack, 0, p.Seq+1))
		}
	}
}

// The type an alert reports is the type of its closing record: it is
// decided once, when the alert fires, from the SYN fingerprint and the
// replies so far. A fragmented SYN is crafted, whatever options it carries
// (no kernel fragments its own SYN).
func TestSYNTypeDecidedOnce(t *testing.T) {
	target6 := v6(0x10)
	runCases(t, []protoCase{{
		// A raw tool sending OS-like SYNs in IPv6 fragments; its stack
		// resets the SYN-ACKs of the two open ports, both after the alert.
		name: "IPv6 fragmented SYNs with OS-stack options",
		run: func(w *wire) {
			synScan(w, v6scan, target6, 40, map[uint16]bool{30: true, 35: true}, func(port uint16) decode.Packet {
				p := tcpP(v6scan, target6, 48000, port, syn, 5000, 0)
				p.IPv6, p.DF, p.TTL, p.Fragment, p.Options = true, false, 64, true, osOpts
				return p
			})
		},
		want: []want{{scanner: v6scan, typ: technique.Syn, ports: 40, open: []uint16{30, 35},
			evidence: []string{"38 RST-ACK, 2 SYN-ACK then RST from scanner"}}},
	}, {
		// The same SYNs unfragmented look like connect(): the alert says
		// connect, and the closing record keeps it although the two
		// SYN-ACKs that came later were reset (the evidence says so).
		name: "OS-stack SYNs, half-open ports after the alert",
		run: func(w *wire) {
			synScan(w, scanner, target, 40, map[uint16]bool{30: true, 35: true}, func(port uint16) decode.Packet {
				p := tcpP(scanner, target, 48000+port, port, syn, 5000, 0)
				p.Options = osOpts
				return p
			})
		},
		want: []want{{scanner: scanner, typ: technique.Connect, ports: 40, open: []uint16{30, 35},
			evidence: []string{"2 SYN-ACK then RST from scanner"}}},
	}, {
		// nmap -f: its crafted SYN in IPv4 fragments.
		name: "nmap -f",
		run: func(w *wire) {
			synScan(w, scanner, target, 40, map[uint16]bool{22: true}, func(port uint16) decode.Packet {
				p := nmapSYNP(scanner, target, 48000, port, 5000, uint32(port))
				p.Fragment = true
				return p
			})
		},
		want: []want{{scanner: scanner, typ: technique.Syn, ports: 40, open: []uint16{22}, tool: "nmap"}},
	}})
}

// The OS-stack test of a SYN.
func TestOSStackSYN(t *testing.T) {
	for _, tc := range []struct {
		fp   Print
		want bool
	}{
		{Print{Flags: tcpflags.SYN, Options: OptFull, DF: true}, true},
		{Print{Flags: tcpflags.SYN, Options: OptFull, V6: true}, true},
		{Print{Flags: tcpflags.SYN, Options: OptFull, V6: true, Frag: true}, false},
		{Print{Flags: tcpflags.SYN, Options: OptMSSOnly}, false},
	} {
		if got := tc.fp.osStackSYN(); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.fp, got, tc.want)
		}
	}
}

// A SYN sent again from the same source port with another sequence number
// (the way some scanners retransmit) is the same probe sent again, not a
// connection moving on: a sweep of hosts that never answer is still a
// sweep of unanswered first contacts.
func TestSYNRetransmittedWithNewSequence(t *testing.T) {
	runCases(t, []protoCase{{
		name: "unanswered sweep, each SYN sent twice",
		run: func(w *wire) {
			for i := 100; i < 120; i++ {
				p := nmapSYNP(scanner, v4(i), 40000, 80, 7000, uint32(i))
				w.send(p)
				p.Seq++
				w.send(p)
			}
			w.wait(11 * time.Second)
		},
		want: []want{{scanner: scanner, typ: technique.Syn, shape: "horizontal", targets: 20,
			evidence: []string{"40 SYN"}}},
	}})
}
