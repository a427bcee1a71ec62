package bpf

import (
	"fmt"

	"golang.org/x/net/bpf"

	"github.com/scanwatch/scanwatch/tcpflags"
)

// MaxClassicPatterns bounds the patterns ClassicFilter takes (each costs three
// instructions and all must stay within a classic BPF conditional jump).
const MaxClassicPatterns = 64

// ClassicFilter builds the classic BPF fallback for kernels without eBPF, for
// a SOCK_RAW packet socket on an Ethernet interface (frames untagged or with
// up to two 802.1Q/802.1ad tags). Attach it with SO_ATTACH_FILTER.
//
// Classic BPF has no maps, so the filter is stateless and passes more than the
// eBPF one:
//   - TCP with SYN, FIN or RST, and TCP whose flags match a pattern;
//   - TCP that is exactly ACK, with no payload and no TCP options: this stands
//     in for "first packet of a flow", which cBPF cannot know. ACK probes
//     (nmap -sA/-sW, hping3 -A, masscan) carry no options, while the pure ACKs
//     of bulk transfers from Linux, BSD and macOS carry timestamps and are
//     dropped. Stacks without timestamps (Windows by default) have every pure
//     ACK passed. Mid-stream connections are not seen at all, which is what
//     the detector wants anyway (they must not count as probes);
//   - all UDP, ICMP, ICMPv6, SCTP, ARP, other IP protocols, IPv4 and IPv6
//     fragments, and IPv6 packets with extension headers (not walked);
//   - nothing else: other TCP and other ethertypes are dropped.
//
// What passes is cut to snaplen bytes (classic BPF can only return a constant
// here, so this is not trimmed to the headers).
func ClassicFilter(patterns []Pattern, snaplen int) ([]bpf.RawInstruction, error) {
	return classicFilter(patterns, snaplen, false)
}

// ClassicFilterCooked is ClassicFilter for a SOCK_DGRAM packet socket, where
// packets start at the network header (the "any" interface); the ethertype is
// read from the skb (SKF_AD_PROTOCOL).
func ClassicFilterCooked(patterns []Pattern, snaplen int) ([]bpf.RawInstruction, error) {
	return classicFilter(patterns, snaplen, true)
}

func classicFilter(patterns []Pattern, snaplen int, cooked bool) ([]bpf.RawInstruction, error) {
	if snaplen <= 0 {
		return nil, fmt.Errorf("bpf: classic filter: snaplen %d", snaplen)
	}
	if len(patterns) > MaxClassicPatterns {
		return nil, fmt.Errorf("bpf: classic filter: %d patterns, at most %d", len(patterns), MaxClassicPatterns)
	}
	for _, p := range patterns {
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("bpf: pattern: %w", err)
		}
	}
	a := &assembler{labels: map[string]int{}}
	keep := uint32(snaplen)

	const (
		mFlags   = 0 // M[0]: tcp[13]
		mDoff    = 1 // M[1]: TCP header length in bytes
		mPayload = 2 // M[2]: TCP payload length (wraps on a bogus header)
	)
	// ipBlocks emits the IPv4 and IPv6 code for a network header at off,
	// with A holding the ethertype.
	ipBlocks := func(tag string, off uint32) {
		a.jeq(0x0800, "ip4"+tag, "")
		a.jeq(0x86dd, "ip6"+tag, "")
		a.jeq(0x0806, "pass"+tag, "drop"+tag)

		a.label("ip4" + tag)
		a.emit(bpf.LoadAbsolute{Off: off + 6, Size: 2})
		a.jset(0x3fff, "pass"+tag, "") // fragment
		a.emit(bpf.LoadAbsolute{Off: off + 9, Size: 1})
		a.jeq(6, "", "pass"+tag)                         // everything but TCP passes
		a.emit(bpf.LoadMemShift{Off: off})               // X = IP header length
		a.emit(bpf.LoadIndirect{Off: off + 12, Size: 1}) // data offset
		a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: 2})
		a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0x3c})
		a.emit(bpf.StoreScratch{Src: bpf.RegA, N: mDoff})
		a.emit(bpf.LoadIndirect{Off: off + 13, Size: 1})
		a.emit(bpf.StoreScratch{Src: bpf.RegA, N: mFlags})
		a.emit(bpf.LoadAbsolute{Off: off + 2, Size: 2}) // total length
		a.emit(bpf.ALUOpX{Op: bpf.ALUOpSub})
		a.emit(bpf.LoadScratch{Dst: bpf.RegX, N: mDoff})
		a.emit(bpf.ALUOpX{Op: bpf.ALUOpSub})
		a.emit(bpf.StoreScratch{Src: bpf.RegA, N: mPayload})
		a.ja("tcp")

		a.label("ip6" + tag)
		a.emit(bpf.LoadAbsolute{Off: off + 6, Size: 1})
		a.jeq(6, "", "pass"+tag) // UDP, ICMPv6, SCTP, fragments, extension headers...
		a.emit(bpf.LoadAbsolute{Off: off + 40 + 12, Size: 1})
		a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: 2})
		a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0x3c})
		a.emit(bpf.StoreScratch{Src: bpf.RegA, N: mDoff})
		a.emit(bpf.TAX{})
		a.emit(bpf.LoadAbsolute{Off: off + 40 + 13, Size: 1})
		a.emit(bpf.StoreScratch{Src: bpf.RegA, N: mFlags})
		a.emit(bpf.LoadAbsolute{Off: off + 4, Size: 2}) // payload length
		a.emit(bpf.ALUOpX{Op: bpf.ALUOpSub})
		a.emit(bpf.StoreScratch{Src: bpf.RegA, N: mPayload})
		a.ja("tcp")

		a.label("pass" + tag)
		a.emit(bpf.RetConstant{Val: keep})
		a.label("drop" + tag)
		a.emit(bpf.RetConstant{Val: 0})
	}

	// The kernel's classic BPF checker rejects a load of M[k] unless a
	// store to it precedes it on every path, and its analysis treats the
	// instruction after a ret as reachable from it. Store them all up front.
	a.emit(bpf.LoadConstant{Dst: bpf.RegA, Val: 0})
	for _, m := range []int{mFlags, mDoff, mPayload} {
		a.emit(bpf.StoreScratch{Src: bpf.RegA, N: m})
	}
	if cooked {
		a.emit(bpf.LoadExtension{Num: bpf.ExtProto})
		ipBlocks("", 0)
	} else {
		isVLAN := func(yes, no string) {
			a.jeq(0x8100, yes, "")
			a.jeq(0x88a8, yes, "")
			a.jeq(0x9100, yes, no)
		}
		a.emit(bpf.LoadAbsolute{Off: 12, Size: 2})
		isVLAN("vlan1", "l2_14")
		a.label("vlan1")
		a.emit(bpf.LoadAbsolute{Off: 16, Size: 2})
		isVLAN("vlan2", "l2_18")
		a.label("vlan2")
		a.emit(bpf.LoadAbsolute{Off: 20, Size: 2})
		a.ja("l2_22")
		for _, n := range []uint32{14, 18, 22} {
			tag := fmt.Sprintf("_%d", n)
			a.label("l2" + tag)
			ipBlocks(tag, n)
		}
	}

	// TCP, with M[] filled in.
	a.label("tcp")
	a.emit(bpf.LoadScratch{Dst: bpf.RegA, N: mFlags})
	a.jset(uint32(tcpflags.SYN|tcpflags.FIN|tcpflags.RST), "tcp_pass", "")
	for _, p := range patterns {
		a.emit(bpf.LoadScratch{Dst: bpf.RegA, N: mFlags})
		a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: uint32(p.Mask)})
		a.jeq(uint32(p.Value), "tcp_pass", "")
	}
	// Pure ACK, no payload, no options: a likely ACK probe.
	a.emit(bpf.LoadScratch{Dst: bpf.RegA, N: mFlags})
	a.jeq(uint32(tcpflags.ACK), "", "tcp_drop")
	a.emit(bpf.LoadScratch{Dst: bpf.RegA, N: mPayload})
	a.jeq(0, "", "tcp_drop")
	a.emit(bpf.LoadScratch{Dst: bpf.RegA, N: mDoff})
	a.jeq(20, "tcp_pass", "tcp_drop")
	a.label("tcp_pass")
	a.emit(bpf.RetConstant{Val: keep})
	a.label("tcp_drop")
	a.emit(bpf.RetConstant{Val: 0})

	ins, err := a.resolve()
	if err != nil {
		return nil, fmt.Errorf("bpf: classic filter: %w", err)
	}
	raw, err := bpf.Assemble(ins)
	if err != nil {
		return nil, fmt.Errorf("bpf: classic filter: %w", err)
	}
	return raw, nil
}

// assembler resolves symbolic jump targets to classic BPF skips.
type assembler struct {
	ins    []bpf.Instruction
	labels map[string]int
	jumps  []jump
}

// jump is a branch whose targets are labels; "" is the next instruction.
type jump struct {
	at          int
	t, f        string
	cond        bpf.JumpTest
	val         uint32
	conditional bool
}

func (a *assembler) emit(i bpf.Instruction) { a.ins = append(a.ins, i) }
func (a *assembler) label(name string)      { a.labels[name] = len(a.ins) }

func (a *assembler) branch(cond bpf.JumpTest, val uint32, t, f string) {
	a.jumps = append(a.jumps, jump{at: len(a.ins), t: t, f: f, cond: cond, val: val, conditional: true})
	a.ins = append(a.ins, nil)
}

func (a *assembler) jeq(val uint32, t, f string)  { a.branch(bpf.JumpEqual, val, t, f) }
func (a *assembler) jset(val uint32, t, f string) { a.branch(bpf.JumpBitsSet, val, t, f) }

func (a *assembler) ja(t string) {
	a.jumps = append(a.jumps, jump{at: len(a.ins), t: t})
	a.ins = append(a.ins, nil)
}

func (a *assembler) resolve() ([]bpf.Instruction, error) {
	skip := func(from int, to string) (int, error) {
		if to == "" {
			return 0, nil
		}
		n, ok := a.labels[to]
		if !ok {
			return 0, fmt.Errorf("undefined label %q", to)
		}
		if n <= from {
			return 0, fmt.Errorf("backward jump to %q", to)
		}
		return n - from - 1, nil
	}
	for _, j := range a.jumps {
		st, err := skip(j.at, j.t)
		if err != nil {
			return nil, err
		}
		if !j.conditional {
			a.ins[j.at] = bpf.Jump{Skip: uint32(st)}
			continue
		}
		sf, err := skip(j.at, j.f)
		if err != nil {
			return nil, err
		}
		if st > 255 || sf > 255 {
			return nil, fmt.Errorf("jump at %d too far (%d, %d)", j.at, st, sf)
		}
		a.ins[j.at] = bpf.JumpIf{Cond: j.cond, Val: j.val, SkipTrue: uint8(st), SkipFalse: uint8(sf)}
	}
	return a.ins, nil
}
