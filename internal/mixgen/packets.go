package mixgen

import (
	"encoding/binary"
	"time"

	"github.com/gopacket/gopacket"
)

// Frames are written by hand into one buffer: Ethernet, IPv4 or IPv6,
// TCP, UDP or ICMP echo, with correct checksums over the full payload
// (of which only snaplen bytes are stored).

// fill is the payload after any text; fillSum[n] is the checksum sum of
// fill[:n], so long payloads cost nothing to checksum.
var (
	fill    [2048]byte
	fillSum [len(fill) + 1]uint64
)

func init() {
	x := uint32(0x12345678)
	for i := range fill {
		x = x*1664525 + 1013904223
		fill[i] = byte(x >> 24)
	}
	for n := 1; n <= len(fill); n++ {
		if n%2 == 0 {
			fillSum[n] = fillSum[n-2] + (uint64(fill[n-2])<<8 | uint64(fill[n-1]))
		} else {
			fillSum[n] = fillSum[n-1] + uint64(fill[n-1])<<8
		}
	}
}

func sum16(b []byte, acc uint64) uint64 {
	for len(b) >= 2 {
		acc += uint64(b[0])<<8 | uint64(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

func fold(acc uint64) uint16 {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return ^uint16(acc)
}

// payloadSum is the checksum sum of a payload of plen bytes that starts
// with text (of even length) followed by filler.
func payloadSum(text []byte, plen int) uint64 {
	return sum16(text, 0) + fillSum[plen] - fillSum[len(text)]
}

// ip writes the Ethernet and IP headers for a transport segment of tlen
// bytes and returns the offset of the transport header and the
// pseudo-header sum.
func (g *gen) ip(src, dst *host, proto uint8, tlen int, df bool) (int, uint64) {
	f := g.frame
	copy(f[0:6], dst.mac[:])
	copy(f[6:12], src.mac[:])
	if g.vlan {
		// An 802.1Q tag; the VLAN is the client side's (MixV6VLAN).
		binary.BigEndian.PutUint16(f[12:], 0x8100)
		binary.BigEndian.PutUint16(f[14:], vlanOf(src, dst))
		f = f[4:]
	}
	l2 := 14 + len(g.frame) - len(f)
	if src.ip.Is4() {
		binary.BigEndian.PutUint16(f[12:], 0x0800)
		h := f[14:34]
		h[0], h[1] = 0x45, 0
		binary.BigEndian.PutUint16(h[2:], uint16(20+tlen))
		src.ipid++
		binary.BigEndian.PutUint16(h[4:], src.ipid)
		var frag uint16
		if df {
			frag = 0x4000
		}
		binary.BigEndian.PutUint16(h[6:], frag)
		h[8], h[9] = src.ttl, proto
		h[10], h[11] = 0, 0
		s4, d4 := src.ip.As4(), dst.ip.As4()
		copy(h[12:16], s4[:])
		copy(h[16:20], d4[:])
		binary.BigEndian.PutUint16(h[10:], fold(sum16(h, 0)))
		pseudo := sum16(h[12:20], 0) + uint64(proto) + uint64(tlen)
		return l2 + 20, pseudo
	}
	binary.BigEndian.PutUint16(f[12:], 0x86dd)
	h := f[14:54]
	h[0], h[1], h[2], h[3] = 0x60, 0, 0, 0
	binary.BigEndian.PutUint16(h[4:], uint16(tlen))
	h[6], h[7] = proto, src.ttl
	s16, d16 := src.ip.As16(), dst.ip.As16()
	copy(h[8:24], s16[:])
	copy(h[24:40], d16[:])
	pseudo := sum16(h[8:40], 0) + uint64(proto) + uint64(tlen)
	return l2 + 40, pseudo
}

func (g *gen) tcp(src, dst *host, sport, dport uint16, seq, ack uint32, flags uint8, win uint16, opts []byte, plen int, text []byte, df bool) {
	hlen := 20 + len(opts)
	off, pseudo := g.ip(src, dst, 6, hlen+plen, df)
	f := g.frame
	h := f[off : off+hlen]
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint32(h[4:], seq)
	binary.BigEndian.PutUint32(h[8:], ack)
	h[12], h[13] = byte(hlen/4)<<4, flags
	binary.BigEndian.PutUint16(h[14:], win)
	h[16], h[17], h[18], h[19] = 0, 0, 0, 0
	copy(h[20:], opts)
	binary.BigEndian.PutUint16(h[16:], fold(sum16(h, pseudo)+payloadSum(text, plen)))
	g.write(off+hlen, plen, text)
}

func (g *gen) udp(src, dst *host, sport, dport uint16, payload []byte) {
	tlen := 8 + len(payload)
	off, pseudo := g.ip(src, dst, 17, tlen, false)
	h := g.frame[off : off+8]
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint16(h[4:], uint16(tlen))
	h[6], h[7] = 0, 0
	c := fold(sum16(payload, sum16(h, pseudo)))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(h[6:], c)
	g.writeBytes(off+8, payload)
}

func (g *gen) echo(src, dst *host, reply bool, id, seq uint16) {
	var payload [56]byte
	binary.BigEndian.PutUint64(payload[:], uint64(g.now/s))
	for i := 8; i < len(payload); i++ {
		payload[i] = byte(i + 8)
	}
	v6 := src.ip.Is6()
	proto := uint8(1)
	typ := uint8(8)
	if v6 {
		proto, typ = 58, 128
	}
	if reply {
		typ--
		if v6 {
			typ = 129
		}
	}
	off, pseudo := g.ip(src, dst, proto, 8+len(payload), true)
	h := g.frame[off : off+8]
	h[0], h[1], h[2], h[3] = typ, 0, 0, 0
	binary.BigEndian.PutUint16(h[4:], id)
	binary.BigEndian.PutUint16(h[6:], seq)
	acc := sum16(payload[:], sum16(h, 0))
	if v6 {
		acc += pseudo
	}
	binary.BigEndian.PutUint16(h[2:], fold(acc))
	g.writeBytes(off+8, payload[:])
}

// write finishes a frame whose headers end at hdr, with a payload of plen
// bytes (text, then filler), storing at most snaplen bytes.
func (g *gen) write(hdr, plen int, text []byte) {
	wire := hdr + plen
	caplen := min(wire, g.o.Snaplen)
	if caplen > hdr {
		b := g.frame[hdr:caplen]
		n := copy(b, text)
		copy(b[n:], fill[n:])
	}
	g.out(caplen, wire)
}

func (g *gen) writeBytes(hdr int, payload []byte) {
	wire := hdr + len(payload)
	caplen := min(wire, g.o.Snaplen)
	if caplen > hdr {
		copy(g.frame[hdr:caplen], payload)
	}
	g.out(caplen, wire)
}

func (g *gen) out(caplen, wire int) {
	if g.count >= g.o.Packets || g.err != nil {
		return
	}
	// Microsecond timestamps, strictly increasing.
	ts := g.now / us
	if ts <= g.lastTS && g.count > 0 {
		ts = g.lastTS + 1
	}
	g.lastTS = ts
	ci := gopacket.CaptureInfo{Timestamp: epoch.Add(time.Duration(ts * us)), CaptureLength: caplen, Length: wire}
	if err := g.w.WritePacket(ci, g.frame[:caplen]); err != nil {
		g.err = err
	}
	g.count++
}
