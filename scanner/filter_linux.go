//go:build linux

package scanner

import "golang.org/x/sys/unix"

// filterSpec says what the receive filter passes: TCP, UDP and SCTP to
// our ports portLo..portHi (unfragmented), ICMP echo/timestamp/mask
// replies and destination unreachables, ICMPv6 unreachables, parameter
// problems, echo replies and neighbour advertisements, ARP replies; with all, every IP packet
// (the protocol scan, whose answers can be of any protocol).
type filterSpec struct {
	portLo, portHi uint16
	all            bool
}

// bpfIns is a classic BPF instruction with symbolic jump targets.
type bpfIns struct {
	label  string
	code   uint16
	k      uint32
	jt, jf string // labels; "" means the next instruction
}

// replyFilter assembles the receive filter. Offsets are from the network
// header (SOCK_DGRAM); the packet's type comes from skb->protocol.
func replyFilter(f filterSpec) []unix.SockFilter {
	const (
		ldW   = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		ldH   = unix.BPF_LD | unix.BPF_H | unix.BPF_ABS
		ldB   = unix.BPF_LD | unix.BPF_B | unix.BPF_ABS
		ldHX  = unix.BPF_LD | unix.BPF_H | unix.BPF_IND
		ldBX  = unix.BPF_LD | unix.BPF_B | unix.BPF_IND
		ldxIH = unix.BPF_LDX | unix.BPF_B | unix.BPF_MSH
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		jgt   = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
		jset  = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
		jmp   = unix.BPF_JMP | unix.BPF_JA
		ret   = unix.BPF_RET | unix.BPF_K
		// SKF_AD_OFF + SKF_AD_PROTOCOL: skb->protocol in host order.
		adProto = 0xfffff000
	)
	lo, hi := uint32(f.portLo), uint32(f.portHi)
	prog := []bpfIns{
		{code: ldW, k: adProto},
		{code: jeq, k: ethARP, jt: "arp"},
		{code: jeq, k: unix.ETH_P_IP, jf: "v6"},
	}
	if f.all {
		prog = append(prog, bpfIns{code: jmp, k: 0, jt: "pass"})
	}
	prog = append(prog, []bpfIns{
		{code: ldB, k: 9},
		{code: jeq, k: unix.IPPROTO_TCP, jt: "l4v4"},
		{code: jeq, k: unix.IPPROTO_UDP, jt: "l4v4"},
		{code: jeq, k: unix.IPPROTO_SCTP, jt: "l4v4"},
		{code: jeq, k: unix.IPPROTO_ICMP, jt: "icmp4", jf: "drop"},
		{label: "l4v4", code: ldH, k: 6},
		{code: jset, k: 0x3fff, jt: "drop"}, // fragments: MF or offset
		{code: ldxIH, k: 0},
		{code: ldHX, k: 2},
		{code: jge, k: lo, jf: "drop"},
		{code: jgt, k: hi, jt: "drop", jf: "pass"},
		{label: "icmp4", code: ldxIH, k: 0},
		{code: ldBX, k: 0},
		{code: jeq, k: 0, jt: "pass"},
		{code: jeq, k: 3, jt: "pass"},
		{code: jeq, k: 14, jt: "pass"},
		{code: jeq, k: 18, jt: "pass", jf: "drop"},
		{label: "v6", code: jeq, k: unix.ETH_P_IPV6, jf: "drop"},
	}...)
	if f.all {
		prog = append(prog, bpfIns{code: jmp, k: 0, jt: "pass"})
	}
	prog = append(prog, []bpfIns{
		{code: ldB, k: 6},
		{code: jeq, k: unix.IPPROTO_TCP, jt: "l4v6"},
		{code: jeq, k: unix.IPPROTO_UDP, jt: "l4v6"},
		{code: jeq, k: unix.IPPROTO_SCTP, jt: "l4v6"},
		{code: jeq, k: unix.IPPROTO_ICMPV6, jt: "icmp6", jf: "drop"},
		{label: "l4v6", code: ldH, k: 42},
		{code: jge, k: lo, jf: "drop"},
		{code: jgt, k: hi, jt: "drop", jf: "pass"},
		{label: "icmp6", code: ldB, k: 40},
		{code: jeq, k: 1, jt: "pass"},
		{code: jeq, k: 4, jt: "pass"},
		{code: jeq, k: 129, jt: "pass"},
		{code: jeq, k: 136, jt: "pass", jf: "drop"},
		{label: "arp", code: ldH, k: 6},
		{code: jeq, k: 2, jt: "pass", jf: "drop"},
		{label: "pass", code: ret, k: 0x40000},
		{label: "drop", code: ret, k: 0},
	}...)
	at := map[string]int{}
	for i, in := range prog {
		if in.label != "" {
			at[in.label] = i
		}
	}
	rel := func(i int, l string) uint32 {
		if l == "" {
			return 0
		}
		t, ok := at[l]
		if !ok || t <= i {
			panic("bpf: bad jump to " + l)
		}
		return uint32(t - i - 1)
	}
	out := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		out[i] = unix.SockFilter{Code: in.code, K: in.k}
		switch {
		case in.code == jmp:
			out[i].K = rel(i, in.jt)
		case in.code&0x07 == unix.BPF_JMP:
			jt, jf := rel(i, in.jt), rel(i, in.jf)
			if jt > 255 || jf > 255 {
				panic("bpf: jump too far")
			}
			out[i].Jt, out[i].Jf = uint8(jt), uint8(jf)
		}
	}
	return out
}
