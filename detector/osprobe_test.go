package detector

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

// nmap -O sends a fixed set of odd probes; their kinds stand in for ports,
// and a SYN-ACK to one of them shows an open port.
func TestOSProbes(t *testing.T) {
	tsMax := []byte{1, 1, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 5, 0xb4}
	probes := func(w *wire) {
		seq := tcpP(scanner, target, 40001, 22, syn, 1, 0) // SEQ
		seq.Options = tsMax
		w.send(seq)
		w.send(tcpP(target, scanner, 22, 40001, synack, 9, 2))
		t2 := tcpP(scanner, target, 40002, 22, 0, 1, 0) // T2: no flags, options
		t2.Options = tsMax
		w.send(t2)
		t3 := tcpP(scanner, target, 40003, 81, syn|tcpflags.FIN|tcpflags.PSH|tcpflags.URG, 1, 0) // T3
		t3.Options = nmapT2T6
		w.send(t3)
		w.send(icmpP(scanner, target, 8, 9))        // IE
		u1 := udpP(scanner, target, 40004, 81, 300) // U1
		u1.IPID = 0x1042
		w.send(u1)
	}
	runCases(t, []protoCase{{
		name: "nmap -O",
		run:  probes,
		want: []want{{scanner: scanner, typ: technique.OSProbe, shape: "vertical", ports: 5, open: []uint16{22}, tool: "nmap",
			toolWhy: "nmap -O probe values: SEQ,T2,T3,IE,U1"}},
	}})
}

// nmap's T2-T6 options: window scale 10, NOP, MSS 265, timestamp
// (TSval 0xFFFFFFFF, TSecr 0), SACK permitted.
var nmapT2T6 = []byte{3, 3, 10, 1, 2, 4, 1, 9, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 4, 2}

// unicornOpts is what unicornscan puts on every TCP probe: MSS 1460, SACK
// permitted, a live timestamp, NOP, window scale 7.
var unicornOpts = []byte{2, 4, 5, 0xb4, 4, 2, 8, 10, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0, 1, 3, 3, 7}

// Flag probes that carry TCP options but not nmap's OS-probe values are
// flag scans of their type, whatever the options; nmap's exact T2, T3 and
// T7 stay OS probes.
func TestFlagScansWithOptions(t *testing.T) {
	const fpu = tcpflags.FIN | tcpflags.PSH | tcpflags.URG
	all := tcpflags.FIN | tcpflags.SYN | tcpflags.RST | tcpflags.PSH | tcpflags.ACK | tcpflags.URG
	// scan sends one probe with flags and opts to ports 1-30 from one
	// source port; closed ports (all but 22) answer RST-ACK when
	// rstClosed is set, open ones stay silent.
	scan := func(flags tcpflags.Flags, opts []byte, rstClosed bool) func(w *wire) {
		return func(w *wire) {
			for port := uint16(1); port <= 30; port++ {
				p := tcpP(scanner, target, 61000, port, flags, 0x1000+uint32(port), 0)
				p.Options, p.DF, p.Window = opts, false, 4096
				w.send(p)
				if rstClosed && port != 22 {
					w.send(tcpP(target, scanner, port, 61000, rstack, 0, 0x1001+uint32(port)))
				}
			}
			w.wait(11 * time.Second)
		}
	}
	runCases(t, []protoCase{{
		name: "unicornscan NULL",
		run:  scan(0, unicornOpts, true),
		want: []want{{scanner: scanner, typ: technique.Null, shape: "vertical", ports: 30, evidence: []string{"30 NULL, 29 RST, 1 unanswered"}}},
	}, {
		name: "unicornscan Xmas",
		run:  scan(fpu, unicornOpts, true),
		want: []want{{scanner: scanner, typ: technique.Xmas, ports: 30, evidence: []string{"30 FIN|PSH|URG, 29 RST, 1 unanswered"}}},
	}, {
		// All six flags: RST and ACK among them, yet no stack sends SYN
		// with RST: a probe, answered by nothing.
		name: "unicornscan all flags",
		run:  scan(all, unicornOpts, false),
		want: []want{{scanner: scanner, typ: technique.Custom, ports: 30, evidence: []string{"30 URG|ACK|PSH|RST|SYN|FIN, 30 unanswered"}}},
	}, {
		// nmap's T2 (NULL), T3 (SYN|FIN|PSH|URG) and T7 (FIN|PSH|URG) with
		// its exact options, to an open and a closed port: OS probes.
		name: "nmap T2 T3 T7",
		run: func(w *wire) {
			for i, port := range []uint16{22, 81} {
				for j, f := range []tcpflags.Flags{0, syn | fpu, fpu} {
					p := tcpP(scanner, target, uint16(50000+10*i+j), port, f, 1, 0)
					p.Options = nmapT2T6
					w.send(p)
				}
			}
		},
		want: []want{{scanner: scanner, typ: technique.OSProbe, ports: 3, tool: "nmap", toolWhy: "T2,T3,T7"}},
	}})
}

// TestCommonLayoutsAgree: the layouts maxTSval and classifyOptions answer
// at once give what their walks give, also when a layout is cut short, a
// length byte is off, or a timestamp or another MSS follows; and bytes of
// any other layout go to the walks.
func TestCommonLayoutsAgree(t *testing.T) {
	ff := []byte{0xff, 0xff, 0xff, 0xff}
	linux := func(tsval []byte) []byte {
		o := []byte{2, 4, 5, 0xb4, 4, 2, 8, 10}
		o = append(append(o, tsval...), 0, 0, 0, 0, 1, 3, 3, 7)
		return o
	}
	cases := [][]byte{
		nil,
		linux(ff),
		linux([]byte{1, 2, 3, 4}),
		linux(ff)[:16],
		linux(ff)[:15],
		linux(ff)[:12],
		{1, 1, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0},
		{1, 1, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0},
		{1, 1, 8, 10, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0},
		{1, 1, 8, 11, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0},
		{2, 4, 5, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2},
		{2, 4, 5, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0},
		{2, 4, 5, 0xb4, 1, 3, 3, 8, 1, 1, 4, 3},
		{2, 4, 5, 0xb4, 4, 3, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0},
		{3, 3, 10, 1, 2, 4, 1, 9, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 4, 2}, // nmap's SEQ probe 1
		{2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7, 2, 4, 1, 1},
		{2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 4, 7},
		{2, 4, 5, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2, 2, 4, 1, 1},
	}
	for _, o := range cases {
		if got, want := maxTSval(o), walkTS(o); got != want {
			t.Errorf("maxTSval(%x) = %v, the walk says %v", o, got, want)
		}
		if c, m := classifyOptions(o); len(o) > 0 {
			if wc, wm := walkOptions(o); c != wc || m != wm {
				t.Errorf("classifyOptions(%x) = %v, %d; the walk says %v, %d", o, c, m, wc, wm)
			}
		}
	}
	if c, m := classifyOptions(linux(ff)); c != OptFull || m != 0x5b4 {
		t.Errorf("Linux layout classified %v, MSS %d", c, m)
	}
	if !maxTSval(linux(ff)) || maxTSval(linux([]byte{1, 2, 3, 4})) {
		t.Error("Linux layout misjudged")
	}
	// Random bytes under each layout's prefix.
	r := rand.New(rand.NewPCG(1, 2))
	prefixes := [][]byte{linux(ff)[:16], {1, 1, 8, 10}, {2, 4, 0, 0, 1, 3, 3, 0, 1, 1, 4, 2}, linux(ff)}
	for i := 0; i < 200000; i++ {
		o := append([]byte{}, prefixes[i%len(prefixes)]...)
		for n := r.IntN(24) - 12; n > 0; n-- {
			o = append(o, byte(r.IntN(4)*0x55)|byte(r.IntN(2))*0xff)
		}
		for j := range o {
			if r.IntN(16) == 0 {
				o[j] = byte(r.Uint32())
			}
		}
		if got, want := maxTSval(o), walkTS(o); got != want {
			t.Fatalf("maxTSval(%x) = %v, the walk says %v", o, got, want)
		}
		if c, m := classifyOptions(o); len(o) > 0 {
			if wc, wm := walkOptions(o); c != wc || m != wm {
				t.Fatalf("classifyOptions(%x) = %v, %d; the walk says %v, %d", o, c, m, wc, wm)
			}
		}
	}
}

// TestOSProbeFlagsFirst: osProbeTCP, which reads the options only for
// flags a probe has, agrees with the rules read in their plain order
// (ECN, then the TSval, then the flags) for every tcp[13], with and
// without the reserved bit and the urgent pointer, over option sets with
// and without nmap's TSval.
func TestOSProbeFlagsFirst(t *testing.T) {
	const sfpu = tcpflags.SYN | tcpflags.FIN | tcpflags.PSH | tcpflags.URG
	const fpu = tcpflags.FIN | tcpflags.PSH | tcpflags.URG
	plain := func(p *decode.Packet) uint16 {
		f := p.Flags & 0x3f
		switch {
		case f == tcpflags.SYN && p.Flags&(tcpflags.ECE|tcpflags.CWR) == tcpflags.ECE|tcpflags.CWR && p.Res != 0 && p.Urgent != 0:
			return osECN
		case !walkTS(p.Options):
			return osNone
		case p.Flags == 0:
			return osNullOpts
		case f == sfpu:
			return osSFPU
		case f == fpu:
			return osFPUOpts
		case f == tcpflags.SYN:
			return osSEQ
		case f == tcpflags.ACK:
			return osAckTS
		}
		return osNone
	}
	opts := [][]byte{nil, osOpts, {1, 1, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0},
		{3, 3, 10, 1, 2, 4, 1, 9, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 4, 2}}
	kinds := map[uint16]bool{}
	for flags := 0; flags < 256; flags++ {
		for _, o := range opts {
			for _, res := range []uint8{0, 1} {
				for _, urg := range []uint16{0, 0xF7F5} {
					p := decode.Packet{Kind: decode.KindTCP, Flags: tcpflags.Flags(flags), Options: o, Res: res, Urgent: urg}
					got, want := osProbeTCP(&p), plain(&p)
					if got != want {
						t.Fatalf("flags %#x, options %x, res %d, urgent %#x: kind %d, want %d", flags, o, res, urg, got, want)
					}
					kinds[got] = true
				}
			}
		}
	}
	if len(kinds) != 7 {
		t.Errorf("%d kinds seen, want none and the six TCP kinds", len(kinds))
	}
}
