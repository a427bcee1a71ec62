package decode

import (
	"net/netip"

	"github.com/scanwatch/scanwatch/linktype"
)

// Link layers: the frame header of each capture link type, Ethernet with
// its VLAN tags, MPLS and PPPoE, down to IPv4, IPv6 or ARP.

func (d *Decoder) link(lt linktype.LinkType, data []byte, p *Packet) (bool, error) {
	switch lt {
	case linktype.Ethernet:
		if len(data) < 14 {
			return d.truncated(LayerEthernet, len(data), 14)
		}
		et := be.Uint16(data[12:])
		if et < 0x0600 { // 802.3 length: LLC/SNAP frame
			et = 0
		}
		p.LinkGroup = data[0]&1 != 0 // the destination's group bit
		p.LinkUnicast = !p.LinkGroup
		return d.ether(et, data[14:], p)
	case linktype.LinuxSLL:
		// packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2)
		if len(data) < 16 {
			return d.truncated(LayerSLL, len(data), 16)
		}
		p.LinkGroup, p.LinkUnicast = sllGroup(be.Uint16(data)), sllUnicast(be.Uint16(data))
		return d.ether(be.Uint16(data[14:]), data[16:], p)
	case linktype.LinuxSLL2:
		// protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) addr len(1) addr(8)
		if len(data) < 20 {
			return d.truncated(LayerSLL2, len(data), 20)
		}
		p.LinkGroup, p.LinkUnicast = sllGroup(uint16(data[10])), sllUnicast(uint16(data[10]))
		return d.ether(be.Uint16(data), data[20:], p)
	case linktype.Raw, linktype.IPv4, linktype.IPv6, 12, 14:
		return d.rawIP(data, p)
	case linktype.Null, linktype.Loop:
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

// sllUnicast: a cooked capture's packet type "to us" (0) or "to another
// host" (3); outgoing frames (4) do not say where they went.
func sllUnicast(pktType uint16) bool { return pktType == 0 || pktType == 3 }

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
