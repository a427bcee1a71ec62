package detector

import (
	"encoding/binary"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/tcpflags"
)

// OS-fingerprint probe kinds. nmap -O sends a fixed set of odd packets
// (its reference guide, "TCP/IP Fingerprinting Methods"): six SYNs with
// unusual option sets, an ECN SYN with a reserved bit, T2-T7 (NULL,
// SYN|FIN|PSH|URG, ACK, SYN, ACK, FIN|PSH|URG), a UDP probe of 300 bytes,
// and ICMP echoes with a non-zero code. A few of them are enough to name an
// OS probe, even when only two ports are touched. The port of an osprobe
// contact is its kind, so "distinct ports" counts distinct kinds.
//
// Only nmap's exact values make an OS probe: every TCP probe but ECN
// carries a timestamp option with TSval 0xFFFFFFFF (T2-T7: window scale,
// NOP, MSS 265, that timestamp, SACK permitted). Flag probes that merely
// carry options (unicornscan sends its NULL, Xmas and all-flags probes
// with MSS, SACK, window scale and a live timestamp) are flag scans.
const (
	osNone     uint16 = iota
	osSEQ             // SYN carrying timestamp TSval 0xFFFFFFFF (SEQ, T5)
	osECN             // SYN with ECE|CWR, a reserved bit and an urgent pointer without URG
	osNullOpts        // no flags, TSval 0xFFFFFFFF (T2)
	osSFPU            // SYN|FIN|PSH|URG, TSval 0xFFFFFFFF (T3)
	osAckTS           // ACK carrying TSval 0xFFFFFFFF (T4, T6)
	osFPUOpts         // FIN|PSH|URG, TSval 0xFFFFFFFF (T7)
	osICMPCode        // echo request with a non-zero code (IE)
	osUDP300          // 300-byte UDP with IP ID 0x1042 (U1)
)

// osProbeTCP returns the OS-probe kind of a TCP segment, or osNone. The
// flags are checked first: a segment whose flags no probe has is told
// without reading its options.
func osProbeTCP(p *decode.Packet) uint16 {
	const sfpu = tcpflags.SYN | tcpflags.FIN | tcpflags.PSH | tcpflags.URG
	const fpu = tcpflags.FIN | tcpflags.PSH | tcpflags.URG
	switch p.Flags & 0x3f {
	case tcpflags.SYN:
		if p.Flags&(tcpflags.ECE|tcpflags.CWR) == tcpflags.ECE|tcpflags.CWR && p.Res != 0 && p.Urgent != 0 {
			// The reserved bit alone is AccECN's AE flag on modern stacks;
			// an urgent pointer without URG is the probe's own tell (0xF7F5).
			return osECN
		}
		if maxTSval(p.Options) {
			return osSEQ
		}
	case 0:
		if p.Flags == 0 && maxTSval(p.Options) {
			return osNullOpts
		}
	case sfpu:
		if maxTSval(p.Options) {
			return osSFPU
		}
	case fpu:
		if maxTSval(p.Options) {
			return osFPUOpts
		}
	case tcpflags.ACK:
		if maxTSval(p.Options) {
			return osAckTS
		}
	}
	return osNone
}

// maxTSval reports a timestamp option whose TSval is 0xFFFFFFFF: nmap's OS
// probes all carry it; a real stack's clock would have to sit on that value.
func maxTSval(opts []byte) bool {
	if ts, ok := commonTS(opts); ok {
		return ts
	}
	return walkTS(opts)
}

// walkTS is maxTSval by walking the options.
func walkTS(opts []byte) bool {
	for i := 0; i < len(opts); {
		switch opts[i] {
		case 0:
			return false
		case 1:
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 || i+int(opts[i+1]) > len(opts) {
			return false
		}
		if opts[i] == 8 && opts[i+1] == 10 {
			return binary.BigEndian.Uint32(opts[i+2:]) == 0xFFFFFFFF
		}
		i += int(opts[i+1])
	}
	return false
}

var osProbeNames = [...]string{"", "SEQ", "ECN", "T2", "T3", "T4/T6", "T7", "IE", "U1"}

// Option layouts most segments carry, each told by one or two masked
// compares of the kinds and lengths a walk of the options would read on
// its way (the values in between are free).
const (
	layoutOther    = iota
	layoutLinuxSYN // MSS, SACK permitted, timestamps, NOP, window scale (20 bytes)
	layoutNopNopTS // NOP, NOP, timestamps, then anything (most later segments)
	layoutWinSYN   // MSS, NOP, window scale, NOP, NOP, SACK permitted (12 bytes)
)

func optLayout(opts []byte) int {
	switch {
	case len(opts) == 20 && binary.LittleEndian.Uint64(opts)&0xFFFFFFFF0000FFFF == 0x0A0802040000_0402 &&
		binary.LittleEndian.Uint32(opts[16:])&0x00FFFFFF == 0x00030301:
		return layoutLinuxSYN
	case len(opts) >= 12 && binary.LittleEndian.Uint32(opts) == 0x0A080101:
		return layoutNopNopTS
	case len(opts) == 12 && binary.LittleEndian.Uint64(opts)&0x00FFFFFF0000FFFF == 0x0003030100000402 &&
		binary.LittleEndian.Uint32(opts[8:]) == 0x02040101:
		return layoutWinSYN
	}
	return layoutOther
}

// commonTS is maxTSval, answered at once for the common layouts (ok false
// for any other): a timestamp at a known place, or none.
func commonTS(opts []byte) (ts, ok bool) {
	switch optLayout(opts) {
	case layoutLinuxSYN:
		return binary.BigEndian.Uint32(opts[8:]) == 0xFFFFFFFF, true
	case layoutNopNopTS:
		return binary.BigEndian.Uint32(opts[4:]) == 0xFFFFFFFF, true
	case layoutWinSYN:
		return false, true
	}
	return false, false
}
