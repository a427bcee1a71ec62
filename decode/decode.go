package decode

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/scanwatch/scanwatch/tcpflags"
)

// Ethertypes and IP protocol numbers Decode knows.
const (
	etIPv4     = 0x0800
	etARP      = 0x0806
	etIPv6     = 0x86dd
	etVLAN     = 0x8100 // 802.1Q
	etQinQ     = 0x88a8 // 802.1ad service tag
	etQinQOld1 = 0x9100 // pre-standard QinQ tags
	etQinQOld2 = 0x9200
	etQinQOld3 = 0x9300
	etMPLS     = 0x8847
	etMPLSMC   = 0x8848
	etPPPoE    = 0x8864

	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
	protoSCTP   = 132

	// IPv6 extension headers
	ipv6HopByHop = 0
	ipv6Routing  = 43
	ipv6Fragment = 44
	ipv6AH       = 51
	ipv6DstOpts  = 60
	ipv6Mobility = 135
	ipv6HIP      = 139
	ipv6Shim6    = 140

	// maxTags bounds VLAN tags and MPLS labels walked; maxExt bounds IPv6
	// extension headers.
	maxTags = 8
	maxExt  = 16
)

// DefaultMaxFragments is the fragment table size NewDecoder uses when
// given a value <= 0.
const DefaultMaxFragments = 1024

// FragTimeout is how long (in packet time, from its first fragment) a
// fragmented datagram is remembered.
const FragTimeout = 30 * time.Second

// Decoder decodes frames into Packets. It holds the fragment table and the
// counters, so it is not safe for concurrent use: use one per goroutine.
type Decoder struct {
	st    Stats
	ets   etherTypeTable
	frags fragTable
}

// NewDecoder returns a Decoder whose fragment table holds at most
// maxFragments fragmented datagrams (DefaultMaxFragments if <= 0).
func NewDecoder(maxFragments int) *Decoder {
	if maxFragments <= 0 {
		maxFragments = DefaultMaxFragments
	}
	d := &Decoder{}
	d.frags.init(maxFragments)
	return d
}

var (
	be = binary.BigEndian
	le = binary.LittleEndian
)

// Decode decodes one frame of the given link type captured at ts into *p,
// which it resets first. It returns true when p holds a packet to process;
// false with a nil error when the frame is not for us (an ethertype other
// than IPv4, IPv6 or ARP, or an IP fragment whose datagram's transport
// header is not complete yet, or one that came after it was); and false
// with an *Error when a header is truncated or malformed.
//
// Lengths (Payload, IPLen) come from the IP header, not from len(data):
// frames cut by the capture's snap length decode fine as long as the
// headers are complete. p.Options may alias data or the Decoder's
// reassembly buffers: it is valid until the next call to Decode.
//
// Decode does not allocate except when it returns an error.
func (d *Decoder) Decode(linkType layers.LinkType, data []byte, ts time.Time, p *Packet) (bool, error) {
	*p = Packet{Time: ts}
	d.st.Frames++
	var (
		ok  bool
		err error
	)
	if linkType == layers.LinkTypeEthernet && len(data) >= 14 && data[12] == 0x08 && data[13] == 0x00 {
		p.LinkGroup = data[0]&1 != 0
		ok, err = d.ipv4(data[14:], p) // the common case, two calls shorter
	} else {
		ok, err = d.link(linkType, data, p)
	}
	if ok {
		d.st.ByKind[p.Kind]++
	}
	return ok, err
}

func (d *Decoder) link(lt layers.LinkType, data []byte, p *Packet) (bool, error) {
	switch lt {
	case layers.LinkTypeEthernet:
		if len(data) < 14 {
			return d.truncated(LayerEthernet, len(data), 14)
		}
		et := be.Uint16(data[12:])
		if et < 0x0600 { // 802.3 length: LLC/SNAP frame
			et = 0
		}
		p.LinkGroup = data[0]&1 != 0 // the destination's group bit
		return d.ether(et, data[14:], p)
	case layers.LinkTypeLinuxSLL:
		// packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2)
		if len(data) < 16 {
			return d.truncated(LayerSLL, len(data), 16)
		}
		p.LinkGroup = sllGroup(be.Uint16(data))
		return d.ether(be.Uint16(data[14:]), data[16:], p)
	case layers.LinkTypeLinuxSLL2:
		// protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) addr len(1) addr(8)
		if len(data) < 20 {
			return d.truncated(LayerSLL2, len(data), 20)
		}
		p.LinkGroup = sllGroup(uint16(data[10]))
		return d.ether(be.Uint16(data), data[20:], p)
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12, 14:
		return d.rawIP(data, p)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		// 4-byte address family: host byte order of the capturing machine
		// for NULL, network order for LOOP; accept both for both.
		if len(data) < 4 {
			return d.truncated(LayerNull, len(data), 4)
		}
		fam := le.Uint32(data)
		if fam&0xffff == 0 {
			fam = fam>>24 | (fam>>8)&0xff00
		}
		switch fam {
		case 2: // AF_INET
			return d.ipv4(data[4:], p)
		case 24, 28, 30: // AF_INET6 on NetBSD/OpenBSD, FreeBSD, Darwin
			return d.ipv6(data[4:], p)
		}
		d.st.UnknownFamily++
		return false, nil
	}
	d.st.UnsupportedLink++
	d.st.LastUnsupportedLink = lt
	return d.fail(LayerLink, ErrUnsupportedLink, "unsupported link type %d", 1, int(lt), 0)
}

// sllGroup reports a Linux cooked capture's packet type for frames sent to
// a group: 1 broadcast, 2 multicast (packet(7)'s PACKET_BROADCAST and
// PACKET_MULTICAST).
func sllGroup(pktType uint16) bool { return pktType == 1 || pktType == 2 }

// rawIP dispatches on the IP version nibble.
func (d *Decoder) rawIP(b []byte, p *Packet) (bool, error) {
	if len(b) < 1 {
		return d.truncated(LayerRawIP, 0, 1)
	}
	switch b[0] >> 4 {
	case 4:
		return d.ipv4(b, p)
	case 6:
		return d.ipv6(b, p)
	}
	return d.fail(LayerRawIP, ErrMalformed, "IP version %d", 1, int(b[0]>>4), 0)
}

// ether decodes what follows an ethertype: VLAN tags, MPLS, PPPoE, then
// IPv4, IPv6 or ARP.
func (d *Decoder) ether(et uint16, b []byte, p *Packet) (bool, error) {
	for range maxTags + 1 {
		switch et {
		case etIPv4:
			return d.ipv4(b, p)
		case etIPv6:
			return d.ipv6(b, p)
		case etARP:
			return d.arp(b, p)
		case etVLAN, etQinQ, etQinQOld1, etQinQOld2, etQinQOld3:
			// TCI(2) ethertype(2)
			if len(b) < 4 {
				return d.truncated(LayerVLAN, len(b), 4)
			}
			et = be.Uint16(b[2:])
			b = b[4:]
		case etMPLS, etMPLSMC:
			return d.mpls(b, p)
		case etPPPoE:
			// ver/type(1) code(1) session(2) length(2) PPP protocol(2)
			if len(b) < 8 {
				return d.truncated(LayerPPPoE, len(b), 8)
			}
			switch be.Uint16(b[6:]) {
			case 0x0021:
				return d.ipv4(b[8:], p)
			case 0x0057:
				return d.ipv6(b[8:], p)
			}
			d.st.NotIP++
			d.ets.add(etPPPoE)
			return false, nil
		default:
			d.st.NotIP++
			d.ets.add(et)
			return false, nil
		}
	}
	return d.fail(LayerVLAN, ErrMalformed, "more than %d tags", 1, maxTags, 0)
}

// mpls walks the label stack to the bottom-of-stack label and guesses the
// payload from the IP version nibble.
func (d *Decoder) mpls(b []byte, p *Packet) (bool, error) {
	for range maxTags {
		if len(b) < 4 {
			return d.truncated(LayerMPLS, len(b), 4)
		}
		bottom := b[2]&1 != 0
		b = b[4:]
		if !bottom {
			continue
		}
		if len(b) < 1 {
			return d.truncated(LayerMPLS, 0, 1)
		}
		switch b[0] >> 4 {
		case 4:
			return d.ipv4(b, p)
		case 6:
			return d.ipv6(b, p)
		}
		d.st.NotIP++
		d.ets.add(etMPLS)
		return false, nil
	}
	return d.fail(LayerMPLS, ErrMalformed, "more than %d labels", 1, maxTags, 0)
}

func (d *Decoder) arp(b []byte, p *Packet) (bool, error) {
	// htype(2) ptype(2) hlen(1) plen(1) op(2) sha spa tha tpa
	if len(b) < 8 {
		return d.truncated(LayerARP, len(b), 8)
	}
	hlen, plen := int(b[4]), int(b[5])
	if ptype := be.Uint16(b[2:]); ptype != etIPv4 || plen != 4 {
		return d.fail(LayerARP, ErrMalformed, "protocol type %#04x length %d is not IPv4", 2, int(ptype), plen)
	}
	n := 8 + 2*hlen + 8
	if len(b) < n {
		return d.truncated(LayerARP, len(b), n)
	}
	p.Kind = KindARP
	p.ARPOp = be.Uint16(b[6:])
	p.Src = netip.AddrFrom4([4]byte(b[8+hlen : 12+hlen]))
	p.Dst = netip.AddrFrom4([4]byte(b[12+2*hlen : 16+2*hlen]))
	return true, nil
}

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
