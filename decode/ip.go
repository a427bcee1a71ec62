package decode

import "net/netip"

// IP layers: IPv4 (with fragment reassembly) and IPv6 with its extension
// headers, down to the transport header.

func (d *Decoder) ipv4(b []byte, p *Packet) (bool, error) {
	if len(b) < 20 {
		return d.truncated(LayerIPv4, len(b), 20)
	}
	if v := b[0] >> 4; v != 4 {
		return d.fail(LayerIPv4, ErrMalformed, "version %d != 4", 1, int(v), 0)
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		return d.fail(LayerIPv4, ErrMalformed, "header length %d < 20", 1, ihl, 0)
	}
	if len(b) < ihl {
		return d.fail(LayerIPv4, ErrTruncated, "truncated: %d bytes < header length %d", 2, len(b), ihl)
	}
	tl := int(be.Uint16(b[2:]))
	if tl == 0 {
		// Segmentation offload: captured before the NIC filled it in.
		tl = len(b)
	}
	if tl < ihl {
		return d.fail(LayerIPv4, ErrMalformed, "total length %d < header length %d", 2, tl, ihl)
	}
	if len(b) > tl {
		b = b[:tl] // Ethernet padding
	}
	p.IPLen = tl
	p.TTL = b[8]
	p.Proto = b[9]
	p.IPID = uint32(be.Uint16(b[4:]))
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	fo := be.Uint16(b[6:])
	p.DF = fo&0x4000 != 0
	mf := fo&0x2000 != 0
	off := int(fo&0x1fff) * 8
	if mf || off != 0 {
		return d.fragment(p, b[ihl:], off, !mf, tl-ihl, ihl)
	}
	if p.Proto == protoTCP {
		return d.tcp(p, b[ihl:], tl-ihl)
	}
	return d.transport(p, b[ihl:], tl-ihl)
}

func isIPv6Ext(nh uint8) bool {
	switch nh {
	case ipv6HopByHop, ipv6Routing, ipv6DstOpts, ipv6AH, ipv6Mobility, ipv6HIP, ipv6Shim6:
		return true
	}
	return false
}

// extLen is the length of the extension header at b[0:] (which must have
// at least 2 bytes).
func extLen(nh uint8, b []byte) int {
	if nh == ipv6AH {
		return (int(b[1]) + 2) * 4
	}
	return (int(b[1]) + 1) * 8
}

func (d *Decoder) ipv6(b []byte, p *Packet) (bool, error) {
	if len(b) < 40 {
		return d.truncated(LayerIPv6, len(b), 40)
	}
	if v := b[0] >> 4; v != 6 {
		return d.fail(LayerIPv6, ErrMalformed, "version %d != 6", 1, int(v), 0)
	}
	tl := 40 + int(be.Uint16(b[4:]))
	if tl == 40 && len(b) > 40 {
		// Jumbogram or segmentation offload: trust the capture.
		tl = len(b)
	}
	if len(b) > tl {
		b = b[:tl]
	}
	p.IPv6 = true
	p.IPLen = tl
	p.TTL = b[7]
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	nh := b[6]
	if nh == protoTCP { // the common case: no extension header
		p.Proto = nh
		return d.tcp(p, b[40:], tl-40)
	}
	off := 40
	for range maxExt {
		switch {
		case isIPv6Ext(nh):
			if len(b) < off+2 {
				return d.truncated(LayerIPv6, len(b), off+2)
			}
			n := extLen(nh, b[off:])
			if len(b) < off+n {
				return d.fail(LayerIPv6, ErrTruncated, "truncated: %d bytes < extension header end %d", 2, len(b), off+n)
			}
			nh = b[off]
			off += n
		case nh == ipv6Fragment:
			if len(b) < off+8 {
				return d.truncated(LayerIPv6, len(b), off+8)
			}
			next := b[off]
			fo := be.Uint16(b[off+2:])
			p.IPID = be.Uint32(b[off+4:])
			off += 8
			fragOff, more := int(fo&^7), fo&1 != 0
			if fragOff != 0 || more {
				p.Proto = next
				return d.fragment(p, b[off:], fragOff, !more, tl-off, off)
			}
			nh = next // atomic fragment: not really fragmented
		default:
			p.Proto = nh
			if tl < off {
				return d.fail(LayerIPv6, ErrMalformed, "payload length %d < extension headers %d", 2, tl-40, off-40)
			}
			return d.transport(p, b[off:], tl-off)
		}
	}
	return d.fail(LayerIPv6, ErrMalformed, "more than %d extension headers", 1, maxExt, 0)
}
