package scanner

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers.
const (
	protoICMP     = 1
	protoTCP      = 6
	protoUDP      = 17
	protoIPv6Frag = 44
	protoICMPv6   = 58
	protoSCTP     = 132
)

// csumAdd adds b to a ones' complement sum (RFC 1071).
func csumAdd(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

// csumFold folds a sum into the 16-bit checksum to store.
func csumFold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// pseudoSum is the sum of the TCP/UDP/ICMPv6 pseudo-header.
func pseudoSum(src, dst netip.Addr, proto uint8, length int) uint32 {
	s := csumAdd(0, src.AsSlice())
	s = csumAdd(s, dst.AsSlice())
	return s + uint32(proto) + uint32(length)
}

// putIPv4 writes a 20-byte IPv4 header: no options, no DF, the given ID
// and fragment field (offset in 8-byte units | 0x2000 for more fragments).
func putIPv4(b []byte, src, dst netip.Addr, proto, ttl uint8, id uint16, frag uint16, total int) {
	b[0], b[1] = 0x45, 0
	binary.BigEndian.PutUint16(b[2:], uint16(total))
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], frag)
	b[8], b[9] = ttl, proto
	b[10], b[11] = 0, 0
	s4, d4 := src.As4(), dst.As4()
	copy(b[12:16], s4[:])
	copy(b[16:20], d4[:])
	binary.BigEndian.PutUint16(b[10:], csumFold(csumAdd(0, b[:20])))
}

// putIPv6 writes a 40-byte IPv6 header.
func putIPv6(b []byte, src, dst netip.Addr, next, hops uint8, payload int) {
	binary.BigEndian.PutUint32(b[0:], 6<<28)
	binary.BigEndian.PutUint16(b[4:], uint16(payload))
	b[6], b[7] = next, hops
	s6, d6 := src.As16(), dst.As16()
	copy(b[8:24], s6[:])
	copy(b[24:40], d6[:])
}
