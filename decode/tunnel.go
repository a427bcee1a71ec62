package decode

// Tunnels: a sensor on a mirror port or an overlay network sees scans
// wrapped in GRE, ERSPAN (types I, II and III, carried in GRE), VXLAN or
// Geneve. Decode unwraps them, at most maxTunnels deep, and returns the
// innermost packet; Packet.Tunnel says which wrapper was outermost.

// Tunnel is an encapsulation Decode unwrapped.
type Tunnel uint8

const (
	TunnelNone Tunnel = iota
	TunnelGRE
	TunnelERSPAN
	TunnelVXLAN
	TunnelGeneve
	NumTunnels
)

var tunnelNames = [NumTunnels]string{"", "gre", "erspan", "vxlan", "geneve"}

func (t Tunnel) String() string {
	if t < NumTunnels {
		return tunnelNames[t]
	}
	return "tunnel?"
}

const (
	protoGRE = 47

	// GRE protocol types beyond the ethertypes.
	greTEB       = 0x6558 // transparent Ethernet bridging (NVGRE, gretap)
	greERSPAN2   = 0x88be // ERSPAN type I (no sequence number) and II
	greERSPAN3   = 0x22eb // ERSPAN type III
	udpVXLAN     = 4789   // IANA
	udpVXLANLinx = 8472   // the Linux kernel's default VXLAN port
	udpGeneve    = 6081

	// maxTunnels bounds nested encapsulations: a frame crafted as tunnels
	// inside tunnels costs at most this many header walks.
	maxTunnels = 4
)

// enter begins unwrapping one tunnel: it counts it, bounds the depth, and
// resets p for the inner packet (keeping the capture time and the
// outermost tunnel's name).
func (d *Decoder) enter(t Tunnel, p *Packet) bool {
	if d.depth >= maxTunnels {
		return false
	}
	d.depth++
	d.st.Tunnels[t]++
	outer := p.Tunnel
	if outer == TunnelNone {
		outer = t
	}
	*p = Packet{Time: p.Time, Tunnel: outer}
	return true
}

// gre unwraps a GRE packet (RFC 2784/2890). Version 1 (PPTP) and protocol
// types that carry no IP are not unwrapped (handled is false): they stay an
// IP-protocol-47 packet.
func (d *Decoder) gre(p *Packet, b []byte) (handled, ok bool, err error) {
	if len(b) < 4 {
		return false, false, nil
	}
	flags, pt := be.Uint16(b), be.Uint16(b[2:])
	if flags&0x7 != 0 || flags&0x4000 != 0 { // version 1, or source routing (obsolete)
		return false, false, nil
	}
	n := 4
	if flags&0x8000 != 0 { // checksum + reserved
		n += 4
	}
	if flags&0x2000 != 0 { // key
		n += 4
	}
	seq := flags&0x1000 != 0
	if seq {
		n += 4
	}
	if len(b) < n {
		ok, err = d.truncated(LayerGRE, len(b), n)
		return true, ok, err
	}
	b = b[n:]
	t := TunnelGRE
	switch pt {
	case etIPv4, etIPv6, greTEB:
	case greERSPAN2:
		t = TunnelERSPAN
		if seq { // type II: an 8-byte header before the mirrored frame; type I has none
			if len(b) < 8 {
				ok, err = d.truncated(LayerERSPAN, len(b), 8)
				return true, ok, err
			}
			b = b[8:]
		}
		pt = greTEB
	case greERSPAN3:
		t = TunnelERSPAN
		if len(b) < 12 {
			ok, err = d.truncated(LayerERSPAN, len(b), 12)
			return true, ok, err
		}
		hl := 12
		if b[11]&1 != 0 { // O: an 8-byte platform-specific subheader follows
			hl += 8
		}
		if len(b) < hl {
			ok, err = d.truncated(LayerERSPAN, len(b), hl)
			return true, ok, err
		}
		b = b[hl:]
		pt = greTEB
	default:
		return false, false, nil
	}
	if !d.enter(t, p) {
		return true, false, nil
	}
	ok, err = d.inner(pt, b, p)
	return true, ok, err
}

// inner decodes an encapsulated payload: an Ethernet frame (protocol type
// 0x6558) or an IP packet named by its ethertype.
func (d *Decoder) inner(pt uint16, b []byte, p *Packet) (bool, error) {
	if pt == greTEB {
		if len(b) < 14 {
			return d.truncated(LayerEthernet, len(b), 14)
		}
		p.LinkGroup = b[0]&1 != 0 // the inner frame's destination
		p.LinkUnicast = !p.LinkGroup
		return d.ether(be.Uint16(b[12:]), b[14:], p)
	}
	return d.ether(pt, b, p)
}

// udpTunnel unwraps VXLAN (RFC 7348) or Geneve (RFC 8926) when p is a UDP
// datagram to their port whose header is well formed. handled is false
// when p is to be taken as the plain datagram it is: the port alone does
// not make a tunnel, so a datagram whose inner frame does not decode stays
// what it was.
func (d *Decoder) udpTunnel(p *Packet, b []byte) (handled, ok bool) {
	var (
		t  Tunnel
		pt uint16
	)
	switch p.DstPort {
	case udpVXLAN, udpVXLANLinx:
		// flags(1: only I set) reserved(3) VNI(3) reserved(1)
		if len(b) < 8 || b[0] != 0x08 {
			return false, false
		}
		t, pt, b = TunnelVXLAN, greTEB, b[8:]
	case udpGeneve:
		// ver(2) optlen(6) | O C rsvd(6) | protocol type(2) | VNI(3) rsvd(1) | options
		if len(b) < 8 || b[0]>>6 != 0 {
			return false, false
		}
		hl := 8 + int(b[0]&0x3f)*4
		if len(b) < hl {
			return false, false
		}
		t, pt, b = TunnelGeneve, be.Uint16(b[2:]), b[hl:]
		if pt != greTEB && pt != etIPv4 && pt != etIPv6 {
			return false, false
		}
	default:
		return false, false
	}
	outer, depth := *p, d.depth
	if !d.enter(t, p) {
		return false, false
	}
	ok, err := d.inner(pt, b, p)
	if err != nil { // not a tunnel after all, or a damaged one: the datagram as seen
		*p, d.depth = outer, depth
		d.st.Tunnels[t]--
		return false, false
	}
	return true, ok
}
