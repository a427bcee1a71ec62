//go:build linux

package scanner

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReplyMatching drives handle() with replies that do and do not belong to the scan.
func TestReplyMatching(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tech  Technique
		flags uint8
		reply reply
		want  PortState
	}{
		{"syn-ack", SYN, FlagSYN, reply{kind: replyTCP, flags: FlagSYN | FlagACK, ack: 0x11223345}, Open},
		{"syn-ack to try 1", SYN, FlagSYN, reply{kind: replyTCP, flags: FlagSYN | FlagACK, ack: 0x11223346}, Open},
		{"syn-ack with a wrong ack", SYN, FlagSYN, reply{kind: replyTCP, flags: FlagSYN | FlagACK, ack: 0x99}, StateUnknown},
		{"rst to fin", FIN, FlagFIN, reply{kind: replyTCP, flags: FlagRST | FlagACK, ack: 0x11223345}, Closed},
		{"rst to null", Null, 0, reply{kind: replyTCP, flags: FlagRST | FlagACK, ack: 0x11223344}, Closed},
		{"rst to ack", ACK, FlagACK, reply{kind: replyTCP, flags: FlagRST, seq: 0x55667788}, Unfiltered},
		{"rst to ack, wrong seq", ACK, FlagACK, reply{kind: replyTCP, flags: FlagRST, seq: 7}, StateUnknown},
		{"udp reply", UDP, 0, reply{kind: replyUDP}, Open},
		{"tcp reply to udp scan", UDP, 0, reply{kind: replyTCP, flags: FlagRST}, StateUnknown},
		{"icmp 3/3 tcp", SYN, FlagSYN, reply{kind: replyICMP, qproto: 6, icmpCode: 3, qseq: 0x11223344}, Filtered},
		{"icmp 3/3 udp", UDP, 0, reply{kind: replyICMP, qproto: 17, icmpCode: 3}, Closed},
		{"icmp quoting another seq", SYN, FlagSYN, reply{kind: replyICMP, qproto: 6, icmpCode: 13, qseq: 5}, StateUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &rawScan{
				cfg:     phase{Technique: tc.tech, Ports: []uint16{22}},
				craft:   *testCrafter(tc.tech == UDP, tc.flags),
				sources: map[netip.Addr]netip.Addr{dst4: src4},
				hostIdx: map[netip.Addr]int32{dst4: 0},
				portIdx: make([]int32, 65536),
				probes:  []probe{{tries: 2}},
				up:      []bool{false},
			}
			s.portIdx[22] = 0
			r := tc.reply
			r.from, r.sport, r.dport = dst4, 22, 45678
			if r.kind == replyICMP {
				r.qdst, r.qsrc = dst4, src4
			}
			s.handle(&r, s.probes[0].sentAt)
			got := s.probes[0].state
			if got != tc.want {
				t.Errorf("state %v, want %v", got, tc.want)
			}
			// A reply to another port of ours, or to another source port, is ignored.
			s.probes[0] = probe{tries: 1}
			r.dport = 1
			s.handle(&r, s.probes[0].sentAt)
			if s.probes[0].done {
				t.Error("reply to another source port was taken")
			}
		})
	}
}

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
		case 0x15: // jeq
			if a == in.K {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case 0x45: // jset
			if a&in.K != 0 {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
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
	prog := replyFilter(sport)
	tcp4 := func(dport uint16, ihl uint8, frag uint16) []byte {
		p := make([]byte, int(ihl)*4+20)
		p[0] = 0x40 | ihl
		p[9] = 6
		binary.BigEndian.PutUint16(p[6:], frag)
		binary.BigEndian.PutUint16(p[int(ihl)*4+2:], dport)
		return p
	}
	udp4 := tcp4(sport, 5, 0)
	udp4[9] = 17
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
	for _, tc := range []struct {
		name  string
		pkt   []byte
		proto uint32
		pass  bool
	}{
		{"tcp to our port", tcp4(sport, 5, 0), 0x0800, true},
		{"tcp with ip options", tcp4(sport, 7, 0), 0x0800, true},
		{"tcp to another port", tcp4(22, 5, 0), 0x0800, false},
		{"tcp fragment", tcp4(sport, 5, 0x2000), 0x0800, false},
		{"udp to our port", udp4, 0x0800, true},
		{"icmp unreachable", icmp4(3), 0x0800, true},
		{"icmp echo reply", icmp4(0), 0x0800, false},
		{"ipv6 tcp to our port", v6(6, 0, sport), 0x86dd, true},
		{"ipv6 udp to another port", v6(17, 0, 53), 0x86dd, false},
		{"icmpv6 unreachable", v6(58, 1, 0), 0x86dd, true},
		{"icmpv6 neighbour advert", v6(58, 136, 0), 0x86dd, false},
		{"arp", make([]byte, 28), 0x0806, false},
	} {
		got := runFilter(t, prog, tc.pkt, tc.proto) != 0
		if got != tc.pass {
			t.Errorf("%s: pass=%v, want %v", tc.name, got, tc.pass)
		}
	}
}
