package detector

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

// Packet builders for the protocol tests: each returns a decode.Packet as
// the decoder fills it; wire.send stamps the time.

func (w *wire) send(p decode.Packet) {
	w.now = w.now.Add(time.Millisecond)
	p.Time = w.now
	w.d.Process(&p)
}

func udpP(src, dst netip.Addr, sport, dport uint16, payload int) decode.Packet {
	return decode.Packet{Kind: decode.KindUDP, IPv6: src.Is6(), Src: src, Dst: dst, Proto: 17, TTL: 64,
		SrcPort: sport, DstPort: dport, Payload: payload}
}

func sctpP(src, dst netip.Addr, sport, dport uint16, chunk uint8) decode.Packet {
	return decode.Packet{Kind: decode.KindSCTP, IPv6: src.Is6(), Src: src, Dst: dst, Proto: 132, TTL: 64,
		SrcPort: sport, DstPort: dport, SCTPChunk: chunk, Payload: 20}
}

// ipP is a packet of an IP protocol the decoder does not parse (nmap -sO).
func ipP(src, dst netip.Addr, proto uint8) decode.Packet {
	return decode.Packet{Kind: decode.KindOther, IPv6: src.Is6(), Src: src, Dst: dst, Proto: proto, TTL: 64}
}

func icmpP(src, dst netip.Addr, typ, code uint8) decode.Packet {
	proto := uint8(1)
	if src.Is6() {
		proto = 58
	}
	return decode.Packet{Kind: decode.KindICMP, IPv6: src.Is6(), Src: src, Dst: dst, Proto: proto, TTL: 64,
		ICMPType: typ, ICMPCode: code, Payload: 56}
}

// unreachP is an IPv4 ICMP destination unreachable (type 3) from the
// target, quoting the probe's header.
func unreachP(from, to netip.Addr, code uint8, q decode.Quoted) decode.Packet {
	p := icmpP(from, to, 3, code)
	q.Valid = true
	p.Inner = q
	return p
}

func arpP(src, dst netip.Addr, op uint16) decode.Packet {
	return decode.Packet{Kind: decode.KindARP, Src: src, Dst: dst, ARPOp: op}
}

// nsP is an IPv6 neighbour solicitation by src for target.
func nsP(src, target netip.Addr) decode.Packet {
	p := icmpP(src, netip.MustParseAddr("ff02::1:ff00:0"), 135, 0)
	p.NDTarget = target
	return p
}

// naP is target's neighbour advertisement to the asker.
func naP(target, asker netip.Addr) decode.Packet {
	p := icmpP(target, asker, 136, 0)
	p.NDTarget = target
	return p
}

// nmapSYNP is nmap's crafted SYN (window 1024, MSS only, no DF, low TTL).
func nmapSYNP(src, dst netip.Addr, sport, dport uint16, seq, ipid uint32) decode.Packet {
	return decode.Packet{Kind: decode.KindTCP, Src: src, Dst: dst, Proto: 6, TTL: 44, IPID: ipid,
		SrcPort: sport, DstPort: dport, Flags: syn, Seq: seq, Window: 1024, Options: mssOnly}
}

func tcpP(src, dst netip.Addr, sport, dport uint16, flags tcpflags.Flags, seq, ack uint32) decode.Packet {
	return decode.Packet{Kind: decode.KindTCP, Src: src, Dst: dst, Proto: 6, TTL: 64, DF: true,
		SrcPort: sport, DstPort: dport, Flags: flags, Seq: seq, Ack: ack, Window: 64240}
}

// want is a scan the detector must report: one alert and, after Flush,
// one closing record that says these things. Zero values are not checked.
type want struct {
	scanner        netip.Addr
	typ            technique.Technique
	shape, proto   string
	targets, ports int
	open           []uint16
	tool           string
	toolWhy        string   // substring of the tool evidence
	evidence       []string // substrings of the closing record's evidence
	decoys         []netip.Addr
	group          bool // the record is in a distributed group
}

// protoCase is one conversation and what the detector must make of it.
type protoCase struct {
	name  string
	rules func(*rules.Rules)
	run   func(w *wire)
	want  []want // in alert order; empty: no event at all
}

func runCases(t *testing.T, cases []protoCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWire(t)
			if tc.rules != nil {
				r := *rules.Default()
				tc.rules(&r)
				w.d = New(&r, func(e Event) { w.events = append(w.events, e) })
			}
			tc.run(w)
			w.d.Flush()
			checkEvents(t, w.events, tc.want)
		})
	}
}

func checkEvents(t *testing.T, events []Event, want []want) {
	t.Helper()
	var gotAlerts, gotScans, wantKeys []string
	scans := map[string]Scan{}
	for _, e := range events {
		k := e.Scan.Scanner.String() + " " + e.Scan.Type
		if e.Kind == "alert" {
			gotAlerts = append(gotAlerts, k)
		} else {
			gotScans = append(gotScans, k)
			scans[k] = e.Scan
		}
	}
	for _, w := range want {
		wantKeys = append(wantKeys, w.scanner.String()+" "+w.typ.String())
	}
	slices.Sort(gotScans)
	sortedWant := slices.Sorted(slices.Values(wantKeys))
	if !slices.Equal(gotAlerts, wantKeys) || !slices.Equal(gotScans, sortedWant) {
		t.Fatalf("alerts %v, scan records %v; want %v", gotAlerts, gotScans, wantKeys)
	}
	for _, w := range want {
		s := scans[w.scanner.String()+" "+w.typ.String()]
		check := func(ok bool, what string, got, want any) {
			if !ok {
				t.Errorf("%s %s: %s %v, want %v (%+v)", w.scanner, w.typ, what, got, want, s)
			}
		}
		check(w.shape == "" || s.Shape == w.shape, "shape", s.Shape, w.shape)
		check(w.proto == "" || s.Proto == w.proto, "proto", s.Proto, w.proto)
		check(w.targets == 0 || s.TargetCount == w.targets, "target_count", s.TargetCount, w.targets)
		check(w.ports == 0 || s.PortCount == w.ports, "port_count", s.PortCount, w.ports)
		check(slices.Equal(s.OpenPorts, w.open) || len(s.OpenPorts)+len(w.open) == 0, "open ports", s.OpenPorts, w.open)
		check(w.tool == "" || s.Tool == w.tool, "tool", s.Tool, w.tool)
		check(strings.Contains(s.ToolEvidence, w.toolWhy), "tool evidence", s.ToolEvidence, w.toolWhy)
		check(slices.Equal(s.Decoys, w.decoys), "decoys", s.Decoys, w.decoys)
		check(w.group == (s.Group != ""), "group", s.Group, w.group)
		for _, ev := range w.evidence {
			check(strings.Contains(s.Evidence, ev), "evidence", s.Evidence, ev)
		}
	}
}

var (
	decoy1 = netip.MustParseAddr("10.77.0.50")
	decoy2 = netip.MustParseAddr("10.77.0.51")
	decoy3 = netip.MustParseAddr("10.77.0.52")
	v6scan = netip.MustParseAddr("fd77::2")
)

func v4(last int) netip.Addr { return netip.AddrFrom4([4]byte{10, 77, 0, byte(last)}) }

func v6(last int) netip.Addr {
	return netip.AddrFrom16([16]byte{0: 0xfd, 1: 0x77, 14: byte(last >> 8), 15: byte(last)})
}

func netipPrefix(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }
