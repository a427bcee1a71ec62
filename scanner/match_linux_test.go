//go:build linux

package scanner

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// runFilter interprets the subset of classic BPF replyFilter uses, on a
// packet as an AF_PACKET SOCK_DGRAM socket sees it (network header first).
func runFilter(t *testing.T, prog []unix.SockFilter, pkt []byte, ethProto uint32) uint32 {
	t.Helper()
	var a, x uint32
	ld := func(off uint32, size int) uint32 {
		if int(off)+size > len(pkt) {
			t.Fatalf("filter reads past the packet at %d", off)
		}
		switch size {
		case 1:
			return uint32(pkt[off])
		case 2:
			return uint32(binary.BigEndian.Uint16(pkt[off:]))
		}
		return binary.BigEndian.Uint32(pkt[off:])
	}
	jump := func(pc *int, cond bool, in unix.SockFilter) {
		if cond {
			*pc += int(in.Jt)
		} else {
			*pc += int(in.Jf)
		}
	}
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case 0x20: // ld w abs
			if in.K == 0xfffff000 {
				a = ethProto
			} else {
				a = ld(in.K, 4)
			}
		case 0x28:
			a = ld(in.K, 2)
		case 0x30:
			a = ld(in.K, 1)
		case 0x48:
			a = ld(x+in.K, 2)
		case 0x50:
			a = ld(x+in.K, 1)
		case 0xb1: // ldx msh
			x = 4 * (ld(in.K, 1) & 0xf)
		case 0x05: // ja
			pc += int(in.K)
		case 0x15: // jeq
			jump(&pc, a == in.K, in)
		case 0x25: // jgt
			jump(&pc, a > in.K, in)
		case 0x35: // jge
			jump(&pc, a >= in.K, in)
		case 0x45: // jset
			jump(&pc, a&in.K != 0, in)
		case 0x06:
			return in.K
		default:
			t.Fatalf("opcode %#x not interpreted", in.Code)
		}
	}
	t.Fatal("filter fell off its end")
	return 0
}

func TestReplyFilter(t *testing.T) {
	const sport = 45678
	tcp4 := func(proto byte, dport uint16, ihl uint8, frag uint16) []byte {
		p := make([]byte, int(ihl)*4+20)
		p[0] = 0x40 | ihl
		p[9] = proto
		binary.BigEndian.PutUint16(p[6:], frag)
		binary.BigEndian.PutUint16(p[int(ihl)*4+2:], dport)
		return p
	}
	icmp4 := func(typ byte) []byte {
		p := make([]byte, 28)
		p[0], p[9], p[20] = 0x45, 1, typ
		return p
	}
	v6 := func(next byte, b40 byte, dport uint16) []byte {
		p := make([]byte, 60)
		p[0], p[6], p[40] = 0x60, next, b40
		binary.BigEndian.PutUint16(p[42:], dport)
		return p
	}
	arp := func(op uint16) []byte {
		p := make([]byte, 28)
		binary.BigEndian.PutUint16(p[6:], op)
		return p
	}
	ports := filterSpec{portLo: sport, portHi: sport + 2}
	for _, tc := range []struct {
		name  string
		f     filterSpec
		pkt   []byte
		proto uint32
		pass  bool
	}{
		{"tcp to our port", ports, tcp4(6, sport, 5, 0), 0x0800, true},
		{"tcp with ip options", ports, tcp4(6, sport, 7, 0), 0x0800, true},
		{"udp to our port of try 2", ports, tcp4(17, sport+2, 5, 0), 0x0800, true},
		{"udp to the port after our range", ports, tcp4(17, sport+3, 5, 0), 0x0800, false},
		{"sctp to our port", ports, tcp4(132, sport, 5, 0), 0x0800, true},
		{"tcp to another port", ports, tcp4(6, 22, 5, 0), 0x0800, false},
		{"tcp fragment", ports, tcp4(6, sport, 5, 0x2000), 0x0800, false},
		{"icmp unreachable", ports, icmp4(3), 0x0800, true},
		{"icmp echo reply", ports, icmp4(0), 0x0800, true},
		{"icmp timestamp reply", ports, icmp4(14), 0x0800, true},
		{"icmp echo request", ports, icmp4(8), 0x0800, false},
		{"gre", ports, tcp4(47, 0, 5, 0), 0x0800, false},
		{"gre in a protocol scan", filterSpec{all: true}, tcp4(47, 0, 5, 0), 0x0800, true},
		{"ipv6 tcp to our port", ports, v6(6, 0, sport), 0x86dd, true},
		{"ipv6 udp to another port", ports, v6(17, 0, 53), 0x86dd, false},
		{"icmpv6 unreachable", ports, v6(58, 1, 0), 0x86dd, true},
		{"icmpv6 echo reply", ports, v6(58, 129, 0), 0x86dd, true},
		{"icmpv6 parameter problem", ports, v6(58, 4, 0), 0x86dd, true},
		{"icmpv6 neighbour advert", ports, v6(58, 136, 0), 0x86dd, true},
		{"icmpv6 router advert", ports, v6(58, 134, 0), 0x86dd, false},
		{"arp reply", ports, arp(2), 0x0806, true},
		{"arp request", ports, arp(1), 0x0806, false},
		{"lldp", ports, make([]byte, 28), 0x88cc, false},
	} {
		got := runFilter(t, replyFilter(tc.f), tc.pkt, tc.proto) != 0
		if got != tc.pass {
			t.Errorf("%s: pass=%v, want %v", tc.name, got, tc.pass)
		}
	}
}
