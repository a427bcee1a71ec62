package decode

import (
	"net/netip"

	"github.com/scanwatch/scanwatch/tcpflags"
)

// Transport layers: TCP, UDP, SCTP, ICMP and ICMPv6 with the header an
// ICMP error quotes.

// transport decodes the transport header in b (the captured bytes) whose
// IP-declared length, header included, is tl.
func (d *Decoder) transport(p *Packet, b []byte, tl int) (bool, error) {
	switch p.Proto {
	case protoTCP:
		return d.tcp(p, b, tl)
	case protoUDP:
		if len(b) < 8 {
			return d.short(LayerUDP, len(b), tl, 8)
		}
		p.Kind = KindUDP
		p.SrcPort = be.Uint16(b)
		p.DstPort = be.Uint16(b[2:])
		p.Payload = tl - 8
		if handled, ok := d.udpTunnel(p, b[8:]); handled {
			return ok, nil
		}
		return true, nil
	case protoSCTP:
		// common header(12) + first chunk type(1) flags(1) length(2)
		if len(b) < 16 {
			return d.short(LayerSCTP, len(b), tl, 16)
		}
		p.Kind = KindSCTP
		p.SrcPort = be.Uint16(b)
		p.DstPort = be.Uint16(b[2:])
		p.SCTPChunk = b[12]
		p.Payload = tl - 12
		return true, nil
	case protoGRE:
		if handled, ok, err := d.gre(p, b); handled {
			return ok, err
		}
	case protoICMP:
		if !p.IPv6 {
			return d.icmp(p, b, tl, LayerICMP)
		}
	case protoICMPv6:
		if p.IPv6 {
			return d.icmp(p, b, tl, LayerICMPv6)
		}
	}
	p.Kind = KindOther
	p.Payload = max(tl, 0)
	return true, nil
}

func (d *Decoder) tcp(p *Packet, b []byte, tl int) (bool, error) {
	if len(b) < 20 {
		return d.short(LayerTCP, len(b), tl, 20)
	}
	doff := int(b[12]>>4) * 4
	if doff < 20 {
		return d.fail(LayerTCP, ErrMalformed, "data offset %d < 20", 1, doff, 0)
	}
	if tl < doff {
		return d.fail(LayerTCP, ErrMalformed, "IP length leaves %d bytes < data offset %d", 2, tl, doff)
	}
	if len(b) < doff {
		return d.fail(LayerTCP, ErrTruncated, "truncated: %d bytes < data offset %d", 2, len(b), doff)
	}
	p.Kind = KindTCP
	p.SrcPort = be.Uint16(b)
	p.DstPort = be.Uint16(b[2:])
	p.Seq = be.Uint32(b[4:])
	p.Ack = be.Uint32(b[8:])
	p.Res = b[12] & 0x0f
	p.Flags = tcpflags.Flags(b[13])
	p.Window = be.Uint16(b[14:])
	p.Urgent = be.Uint16(b[18:])
	if doff > 20 {
		p.Options = b[20:doff:doff]
	}
	p.Payload = tl - doff
	return true, nil
}

func isICMPError(v6 bool, typ uint8) bool {
	if v6 {
		return typ >= 1 && typ <= 4
	}
	switch typ {
	case 3, 4, 5, 11, 12: // unreachable, source quench, redirect, time exceeded, parameter problem
		return true
	}
	return false
}

func isICMPEcho(v6 bool, typ uint8) bool {
	if v6 {
		return typ == 128 || typ == 129
	}
	switch typ {
	case 0, 8, 13, 14, 15, 16, 17, 18: // echo, timestamp, information, address mask
		return true
	}
	return false
}

func (d *Decoder) icmp(p *Packet, b []byte, tl int, l Layer) (bool, error) {
	if len(b) < 8 {
		return d.short(l, len(b), tl, 8)
	}
	p.Kind = KindICMP
	p.ICMPType = b[0]
	p.ICMPCode = b[1]
	p.Payload = tl - 8
	switch {
	case isICMPEcho(p.IPv6, b[0]):
		p.ICMPID = be.Uint16(b[4:])
		p.ICMPSeq = be.Uint16(b[6:])
	case isICMPError(p.IPv6, b[0]):
		q := b[8:min(len(b), tl)]
		if p.IPv6 {
			quoteV6(&p.Inner, q)
		} else {
			quoteV4(&p.Inner, q)
		}
	case p.IPv6 && (b[0] == 135 || b[0] == 136) && len(b) >= 24:
		// Neighbour solicitation/advertisement: the address asked or told.
		p.NDTarget = netip.AddrFrom16([16]byte(b[8:24]))
	}
	return true, nil
}

func hasPorts(proto uint8) bool {
	return proto == protoTCP || proto == protoUDP || proto == protoSCTP
}

// quoteV4 fills q from the IPv4 header an ICMP error quotes, as far as the
// (often truncated) quote goes.
func quoteV4(q *Quoted, b []byte) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		return
	}
	q.Valid = true
	q.Proto = b[9]
	q.Src = netip.AddrFrom4([4]byte(b[12:16]))
	q.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	if be.Uint16(b[6:])&0x1fff != 0 || !hasPorts(q.Proto) || len(b) < ihl+4 {
		return
	}
	q.HasPorts = true
	q.SrcPort = be.Uint16(b[ihl:])
	q.DstPort = be.Uint16(b[ihl+2:])
}

// quoteV6 is quoteV4 for ICMPv6: the quoted IPv6 header, its extension
// headers while they fit, then the ports.
func quoteV6(q *Quoted, b []byte) {
	if len(b) < 40 || b[0]>>4 != 6 {
		return
	}
	q.Valid = true
	q.Src = netip.AddrFrom16([16]byte(b[8:24]))
	q.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	nh := b[6]
	off := 40
walk:
	for range maxExt {
		switch {
		case isIPv6Ext(nh):
			if len(b) < off+2 {
				break walk
			}
			n := extLen(nh, b[off:])
			nh = b[off]
			off += n
		case nh == ipv6Fragment:
			if len(b) < off+8 {
				break walk
			}
			nh = b[off]
			if be.Uint16(b[off+2:])&^7 != 0 { // not the first fragment: no ports
				q.Proto = nh
				return
			}
			off += 8
		default:
			break walk
		}
	}
	q.Proto = nh
	if !hasPorts(nh) || len(b) < off+4 {
		return
	}
	q.HasPorts = true
	q.SrcPort = be.Uint16(b[off:])
	q.DstPort = be.Uint16(b[off+2:])
}
