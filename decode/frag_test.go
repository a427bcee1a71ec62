package decode

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/linktype"
	"github.com/scanwatch/scanwatch/tcpflags"
)

// nmap -f: a 24-byte TCP header (SYN, MSS option) in three 8-byte fragments;
// the flags are in the second.
var fragSYNWant = Packet{
	Kind: KindTCP, Src: hostA, Dst: hostB, Proto: 6, TTL: 49, IPID: 6205, Fragment: true, IPLen: 44,
	SrcPort: 45503, DstPort: 26, Flags: tcpflags.SYN, Seq: 3721888147, Window: 1024,
	Options: []byte{0x02, 0x04, 0x05, 0xb4},
}

func TestFragments(t *testing.T) {
	mtu16 := fragSYNWant
	mtu16.TTL, mtu16.IPID, mtu16.SrcPort, mtu16.DstPort, mtu16.Seq = 45, 60089, 53649, 27, 3776973832
	udp6 := Packet{
		Kind: KindUDP, IPv6: true, Src: hostA6, Dst: hostB6, Proto: 17, TTL: 64, IPID: 0xa55af5dc, Fragment: true,
		// Emitted from the first fragment: the datagram's length is not
		// known yet, so IPLen and Payload are lower bounds.
		IPLen: 40 + 8 + 1448, SrcPort: 45376, DstPort: 9998, Payload: 1448 - 8,
	}
	udp6Last := udp6
	udp6Last.IPLen, udp6Last.Payload = 40+8+3008, 3000
	udp4 := Packet{
		Kind: KindUDP, Src: hostA, Dst: hostB, Proto: 17, TTL: 64, IPID: 18587, Fragment: true,
		IPLen: 1500, SrcPort: 43774, DstPort: 9997, Payload: 1472,
	}
	udp4Last := udp4
	udp4Last.IPLen, udp4Last.Payload = 20+3008, 3000

	tests := []struct {
		name   string
		frames [][]byte
		emitAt int // index of the frame that completes the header; -1: none
		want   Packet
	}{
		{"nmap -f in order", [][]byte{ethFrag1, ethFrag2, ethFrag3}, 2, fragSYNWant},
		{"nmap -f last first", [][]byte{ethFrag3, ethFrag1, ethFrag2}, 2, fragSYNWant},
		{"nmap -f reversed", [][]byte{ethFrag3, ethFrag2, ethFrag1}, 2, fragSYNWant},
		{"nmap -f middle first", [][]byte{ethFrag2, ethFrag3, ethFrag1}, 2, fragSYNWant},
		{"nmap -f duplicates", [][]byte{ethFrag1, ethFrag1, ethFrag2, ethFrag2, ethFrag3, ethFrag3, ethFrag1}, 4, fragSYNWant},
		{"nmap -f missing middle", [][]byte{ethFrag1, ethFrag3}, -1, Packet{}},
		{"nmap --mtu 16", [][]byte{ethMTU16Frag1, ethMTU16Frag2}, 1, mtu16},
		{"nmap --mtu 16 reversed", [][]byte{ethMTU16Frag2, ethMTU16Frag1}, 1, mtu16},
		{"IPv6 UDP first fragment has the header", [][]byte{ethIPv6UDPFrag1, ethIPv6UDPFrag2, ethIPv6UDPFrag3}, 0, udp6},
		{"IPv6 UDP last fragment first", [][]byte{ethIPv6UDPFrag3, ethIPv6UDPFrag2, ethIPv6UDPFrag1}, 2, udp6Last},
		{"IPv4 UDP in order", [][]byte{ethUDPFrag1, ethUDPFrag2, ethUDPFrag3}, 0, udp4},
		{"IPv4 UDP reversed", [][]byte{ethUDPFrag3, ethUDPFrag2, ethUDPFrag1}, 2, udp4Last},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(16)
			var p Packet
			emitted := 0
			for i, f := range tc.frames {
				ts := t0.Add(time.Duration(i) * time.Millisecond)
				ok, err := d.Decode(linktype.Ethernet, f, ts, &p)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if !ok {
					continue
				}
				emitted++
				if i != tc.emitAt {
					t.Errorf("emitted at frame %d, want %d", i, tc.emitAt)
				}
				want := tc.want
				want.Time = ts
				samePacket(t, tc.name, &p, &want)
			}
			if want := min(1, tc.emitAt+1); emitted != want {
				t.Errorf("emitted %d packets, want %d", emitted, want)
			}
			s := d.Stats()
			if s.Frag.Fragments != uint64(len(tc.frames)) || s.Frag.Datagrams != 1 || s.Frag.Reassembled != uint64(emitted) {
				t.Errorf("frag stats %+v", s.Frag)
			}
			if tc.emitAt >= 0 && s.Frag.Ignored != uint64(len(tc.frames)-1-tc.emitAt) {
				t.Errorf("ignored %d, want %d", s.Frag.Ignored, len(tc.frames)-1-tc.emitAt)
			}
		})
	}
}

// withIPID returns a copy of an Ethernet/IPv4 frame with another IP ID.
func withIPID(f []byte, id uint16) []byte {
	f = append([]byte(nil), f...)
	binary.BigEndian.PutUint16(f[14+4:], id)
	return f
}

func TestFragmentTableCap(t *testing.T) {
	d := NewDecoder(4)
	var p Packet
	for id := range uint16(10) {
		if ok, err := d.Decode(linktype.Ethernet, withIPID(ethFrag1, id), t0, &p); ok || err != nil {
			t.Fatalf("first fragment %d: %v, %v", id, ok, err)
		}
	}
	s := d.Stats()
	if s.Frag.Held != 4 || s.Frag.Evicted != 6 || s.Frag.Datagrams != 10 {
		t.Fatalf("after 10 datagrams in a table of 4: %+v", s.Frag)
	}
	// The oldest were evicted: datagram 0 cannot complete, 9 can.
	for _, f := range [][]byte{ethFrag2, ethFrag3} {
		if ok, _ := d.Decode(linktype.Ethernet, withIPID(f, 0), t0, &p); ok {
			t.Fatal("evicted datagram 0 completed")
		}
	}
	d.Decode(linktype.Ethernet, withIPID(ethFrag2, 9), t0, &p)
	if ok, err := d.Decode(linktype.Ethernet, withIPID(ethFrag3, 9), t0, &p); !ok || err != nil || p.Flags != tcpflags.SYN {
		t.Fatalf("datagram 9: %v, %v, %+v", ok, err, p)
	}
	if s := d.Stats(); s.Frag.Held != 4 || s.Frag.Evicted != 7 {
		t.Fatalf("stats %+v", s.Frag)
	}
	// Many datagrams through a small table: it never grows.
	for id := range uint16(1000) {
		for _, f := range [][]byte{ethFrag1, ethFrag2, ethFrag3} {
			d.Decode(linktype.Ethernet, withIPID(f, id+100), t0, &p)
		}
	}
	if s := d.Stats(); s.Frag.Held != 4 || s.Frag.Reassembled != 1001 || len(d.frags.ents) != 4 {
		t.Fatalf("stats %+v, %d entries", s.Frag, len(d.frags.ents))
	}
}

func TestFragmentExpiry(t *testing.T) {
	d := NewDecoder(4)
	var p Packet
	d.Decode(linktype.Ethernet, ethFrag1, t0, &p)
	d.Decode(linktype.Ethernet, ethFrag2, t0.Add(time.Second), &p)
	late := t0.Add(FragTimeout + 2*time.Second)
	if ok, _ := d.Decode(linktype.Ethernet, ethFrag3, late, &p); ok {
		t.Fatal("completed a datagram whose first fragments expired")
	}
	if s := d.Stats(); s.Frag.Expired != 1 || s.Frag.Held != 1 {
		t.Fatalf("stats %+v", s.Frag)
	}
	// Within the timeout it completes.
	d.Decode(linktype.Ethernet, ethFrag1, late.Add(FragTimeout-time.Second), &p)
	ok, err := d.Decode(linktype.Ethernet, ethFrag2, late.Add(FragTimeout-time.Second), &p)
	if !ok || err != nil || p.Flags != tcpflags.SYN || !p.Fragment {
		t.Fatalf("%v, %v, %+v", ok, err, p)
	}
}

// TestFragmentsTruncated feeds every prefix of each fragment in sequence.
func TestFragmentsTruncated(t *testing.T) {
	d := NewDecoder(4)
	var p Packet
	seqs := [][][]byte{
		{ethFrag1, ethFrag2, ethFrag3},
		{ethFrag3, ethFrag2, ethFrag1},
		{ethMTU16Frag1, ethMTU16Frag2},
		{ethIPv6UDPFrag3, ethIPv6UDPFrag2, ethIPv6UDPFrag1},
	}
	for i, seq := range seqs {
		for n := 0; n < 80; n++ {
			ts := t0.Add(time.Duration(i*100+n) * time.Minute)
			for _, f := range seq {
				f = f[:min(n, len(f))]
				ok, err := d.Decode(linktype.Ethernet, f, ts, &p)
				if ok && err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// An ICMP error split into fragments: the quoted header must be complete
// before the packet is emitted.
func TestFragmentedICMPError(t *testing.T) {
	full := ipOf(ethICMPHostUnreachTCP) // 20 IP + 8 ICMP + 20 IP + 24 TCP
	hdr := full[:20]
	body := full[20:]
	var frames [][]byte
	for off := 0; off < len(body); off += 8 {
		end := min(off+8, len(body))
		f := append([]byte(nil), hdr...)
		f = append(f, body[off:end]...)
		binary.BigEndian.PutUint16(f[2:], uint16(20+end-off))
		fo := uint16(off / 8)
		if end < len(body) {
			fo |= 0x2000
		}
		binary.BigEndian.PutUint16(f[6:], fo)
		frames = append(frames, f)
	}
	d := NewDecoder(4)
	var p Packet
	for i, f := range frames {
		ok, err := d.Decode(linktype.Raw, f, t0, &p)
		if err != nil {
			t.Fatal(err)
		}
		// 8 ICMP + 20 quoted IP + 8 quoted TCP = 36 bytes: the 5th fragment.
		if ok != (i == 4) {
			t.Fatalf("fragment %d: ok=%v", i, ok)
		}
		if ok {
			q := p.Inner
			if !q.Valid || !q.HasPorts || q.SrcPort != 62947 || q.DstPort != 80 || p.ICMPType != 3 || !p.Fragment {
				t.Fatalf("%+v", p)
			}
		}
	}
}

func ExampleDecoder_Stats() {
	d := NewDecoder(0)
	var p Packet
	tagged := withTags(ethSYN, 0x88e7, 0) // 802.1ah: not decoded
	for range 9 {
		d.Decode(linktype.Ethernet, tagged, t0, &p)
	}
	d.Decode(linktype.Ethernet, ethSYN, t0, &p)
	fmt.Println(d.Stats().Warning(0.5))
	// Output: 90% of frames (9 of 10) had ethertype 0x88e7 that was not decoded
}
