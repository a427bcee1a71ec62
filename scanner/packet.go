package scanner

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// crafter builds probes for one scan. It is not safe for concurrent use.
type crafter struct {
	udp     bool
	flags   uint8  // TCP flags of every probe
	sport   uint16 // our source port, fixed for the scan
	seqBase uint32 // sequence number of first tries; try n sends seqBase+n
	ackBase uint32 // acknowledgment number of probes with ACK set; try n sends ackBase+n
	rng     *rand.Rand
	buf     gopacket.SerializeBuffer
}

var serializeOpts = gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}

// mssOption is the only option of nmap's SYN probes: MSS 1460.
var mssOption = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}}

// build returns the IP packet (header included) of try number try (0 is the
// first) of the probe to dst:dport. The slice is valid until the next call.
func (c *crafter) build(src, dst netip.Addr, dport uint16, try int) ([]byte, error) {
	ttl := uint8(37 + c.rng.IntN(23)) // 37-59, like nmap
	var l4 gopacket.SerializableLayer
	var payload gopacket.Payload
	var proto layers.IPProtocol
	if c.udp {
		proto = layers.IPProtocolUDP
		u := &layers.UDP{SrcPort: layers.UDPPort(c.sport), DstPort: layers.UDPPort(dport)}
		payload = udpPayload(dport, c.rng)
		l4 = u
	} else {
		proto = layers.IPProtocolTCP
		t := &layers.TCP{
			SrcPort: layers.TCPPort(c.sport),
			DstPort: layers.TCPPort(dport),
			Seq:     c.seqBase + uint32(try),
			Window:  1024,
			FIN:     c.flags&FlagFIN != 0,
			SYN:     c.flags&FlagSYN != 0,
			RST:     c.flags&FlagRST != 0,
			PSH:     c.flags&FlagPSH != 0,
			ACK:     c.flags&FlagACK != 0,
			URG:     c.flags&FlagURG != 0,
			ECE:     c.flags&FlagECE != 0,
			CWR:     c.flags&FlagCWR != 0,
		}
		if t.ACK {
			t.Ack = c.ackBase + uint32(try)
		}
		if t.SYN {
			t.Options = mssOption
		}
		l4 = t
	}
	var ip gopacket.SerializableLayer
	if dst.Is4() {
		ip4 := &layers.IPv4{
			Version:  4,
			IHL:      5,
			TTL:      ttl,
			Id:       uint16(c.rng.Uint32()),
			Protocol: proto,
			SrcIP:    net.IP(src.AsSlice()),
			DstIP:    net.IP(dst.AsSlice()),
		}
		ip = ip4
		if err := setChecksumNet(l4, ip4); err != nil {
			return nil, err
		}
	} else {
		ip6 := &layers.IPv6{
			Version:    6,
			NextHeader: proto,
			HopLimit:   ttl,
			SrcIP:      net.IP(src.AsSlice()),
			DstIP:      net.IP(dst.AsSlice()),
		}
		ip = ip6
		if err := setChecksumNet(l4, ip6); err != nil {
			return nil, err
		}
	}
	if c.buf == nil {
		c.buf = gopacket.NewSerializeBuffer()
	}
	var err error
	if len(payload) > 0 {
		err = gopacket.SerializeLayers(c.buf, serializeOpts, ip, l4, payload)
	} else {
		err = gopacket.SerializeLayers(c.buf, serializeOpts, ip, l4)
	}
	if err != nil {
		return nil, err
	}
	return c.buf.Bytes(), nil
}

func setChecksumNet(l4 gopacket.SerializableLayer, nl gopacket.NetworkLayer) error {
	switch l := l4.(type) {
	case *layers.TCP:
		return l.SetNetworkLayerForChecksum(nl)
	case *layers.UDP:
		return l.SetNetworkLayerForChecksum(nl)
	}
	return nil
}

// udpPayload returns a protocol probe for well-known UDP ports, so that
// services that ignore garbage still answer (as nmap does with its payloads);
// other ports get an empty datagram.
func udpPayload(port uint16, rng *rand.Rand) gopacket.Payload {
	switch port {
	case 53: // DNS: standard query for the root's NS records.
		id := uint16(rng.Uint32())
		return gopacket.Payload{byte(id >> 8), byte(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
			0x00, 0x00, 0x02, 0x00, 0x01}
	case 123: // NTP v4 client request.
		p := make([]byte, 48)
		p[0] = 0xe3
		return p
	case 161: // SNMPv1 GetRequest, community "public", OID 1.3.6.1.2.1.
		id := rng.Uint32() & 0x7fffffff
		return gopacket.Payload{0x30, 0x26, 0x02, 0x01, 0x00, 0x04, 0x06, 'p', 'u', 'b', 'l', 'i', 'c',
			0xa0, 0x19, 0x02, 0x04, byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id),
			0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0b, 0x30, 0x09,
			0x06, 0x05, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x05, 0x00}
	}
	return nil
}

// replyKind says what a received packet is.
type replyKind uint8

const (
	replyNone replyKind = iota
	replyTCP
	replyUDP
	replyICMP // an unreachable quoting a TCP or UDP packet
)

// reply is a decoded packet that may answer one of our probes.
type reply struct {
	kind  replyKind
	from  netip.Addr // sender (for ICMP: whoever sent the error)
	to    netip.Addr
	sport uint16 // target's port (TCP/UDP), or quoted destination port (ICMP)
	dport uint16 // our port, or quoted source port
	// TCP replies.
	flags    uint8
	seq, ack uint32
	window   uint16
	// ICMP errors: the quoted probe.
	v6       bool
	icmpType uint8
	icmpCode uint8
	qproto   uint8      // quoted IP protocol (6 or 17)
	qdst     netip.Addr // the probe's destination: the target
	qsrc     netip.Addr
	qseq     uint32 // quoted TCP sequence number
}

// decoder parses received packets (network layer first) with gopacket's
// DecodingLayerParser; the packet quoted in an ICMP error is parsed by hand
// because it is truncated.
type decoder struct {
	ip4     layers.IPv4
	ip6     layers.IPv6
	tcp     layers.TCP
	udp     layers.UDP
	icmp4   layers.ICMPv4
	icmp6   layers.ICMPv6
	payload gopacket.Payload
	p4, p6  *gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
}

func newDecoder() *decoder {
	d := &decoder{}
	d.p4 = gopacket.NewDecodingLayerParser(layers.LayerTypeIPv4, &d.ip4, &d.tcp, &d.udp, &d.icmp4, &d.payload)
	d.p6 = gopacket.NewDecodingLayerParser(layers.LayerTypeIPv6, &d.ip6, &d.tcp, &d.udp, &d.icmp6, &d.payload)
	d.p4.IgnoreUnsupported = true
	d.p6.IgnoreUnsupported = true
	return d
}

// decode parses one IP packet. ok is false for anything that cannot answer a probe.
func (d *decoder) decode(data []byte) (r reply, ok bool) {
	if len(data) < 20 {
		return r, false
	}
	var p *gopacket.DecodingLayerParser
	switch data[0] >> 4 {
	case 4:
		p = d.p4
	case 6:
		p = d.p6
	default:
		return r, false
	}
	d.decoded = d.decoded[:0]
	if err := p.DecodeLayers(data, &d.decoded); err != nil && len(d.decoded) < 2 {
		return r, false
	}
	for _, lt := range d.decoded {
		switch lt {
		case layers.LayerTypeIPv4:
			if d.ip4.FragOffset != 0 || d.ip4.Flags&layers.IPv4MoreFragments != 0 {
				return r, false
			}
			r.from, _ = netip.AddrFromSlice(d.ip4.SrcIP)
			r.to, _ = netip.AddrFromSlice(d.ip4.DstIP)
			r.from, r.to = r.from.Unmap(), r.to.Unmap()
		case layers.LayerTypeIPv6:
			r.v6 = true
			r.from, _ = netip.AddrFromSlice(d.ip6.SrcIP)
			r.to, _ = netip.AddrFromSlice(d.ip6.DstIP)
		case layers.LayerTypeTCP:
			r.kind = replyTCP
			r.sport, r.dport = uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort)
			r.seq, r.ack, r.window = d.tcp.Seq, d.tcp.Ack, d.tcp.Window
			r.flags = tcpFlags(&d.tcp)
			return r, true
		case layers.LayerTypeUDP:
			r.kind = replyUDP
			r.sport, r.dport = uint16(d.udp.SrcPort), uint16(d.udp.DstPort)
			return r, true
		case layers.LayerTypeICMPv4:
			if d.icmp4.TypeCode.Type() != layers.ICMPv4TypeDestinationUnreachable {
				return r, false
			}
			r.icmpType, r.icmpCode = d.icmp4.TypeCode.Type(), d.icmp4.TypeCode.Code()
			return r, parseQuoted(&r, d.icmp4.Payload)
		case layers.LayerTypeICMPv6:
			if d.icmp6.TypeCode.Type() != layers.ICMPv6TypeDestinationUnreachable || len(d.icmp6.Payload) < 4 {
				return r, false
			}
			r.icmpType, r.icmpCode = d.icmp6.TypeCode.Type(), d.icmp6.TypeCode.Code()
			return r, parseQuoted(&r, d.icmp6.Payload[4:]) // skip the unused word
		}
	}
	return r, false
}

// parseQuoted reads the IP header and first 8 bytes of the transport header
// an ICMP error quotes.
func parseQuoted(r *reply, q []byte) bool {
	if len(q) < 1 {
		return false
	}
	var l4 []byte
	switch q[0] >> 4 {
	case 4:
		if len(q) < 20 {
			return false
		}
		ihl := int(q[0]&0x0f) * 4
		if ihl < 20 || len(q) < ihl+8 {
			return false
		}
		r.qproto = q[9]
		r.qsrc = netip.AddrFrom4([4]byte(q[12:16]))
		r.qdst = netip.AddrFrom4([4]byte(q[16:20]))
		l4 = q[ihl:]
	case 6:
		if len(q) < 48 {
			return false
		}
		r.qproto = q[6] // our probes carry no extension headers
		r.qsrc = netip.AddrFrom16([16]byte(q[8:24]))
		r.qdst = netip.AddrFrom16([16]byte(q[24:40]))
		l4 = q[40:]
	default:
		return false
	}
	if r.qproto != 6 && r.qproto != 17 {
		return false
	}
	r.kind = replyICMP
	r.dport = binary.BigEndian.Uint16(l4[0:2])
	r.sport = binary.BigEndian.Uint16(l4[2:4])
	if r.qproto == 6 {
		r.qseq = binary.BigEndian.Uint32(l4[4:8])
	}
	return true
}

func tcpFlags(t *layers.TCP) uint8 {
	var f uint8
	for _, b := range []struct {
		set bool
		bit uint8
	}{{t.FIN, FlagFIN}, {t.SYN, FlagSYN}, {t.RST, FlagRST}, {t.PSH, FlagPSH}, {t.ACK, FlagACK}, {t.URG, FlagURG}, {t.ECE, FlagECE}, {t.CWR, FlagCWR}} {
		if b.set {
			f |= b.bit
		}
	}
	return f
}

// icmpVerdict maps an ICMP destination unreachable to a port state and
// nmap's reason, per nmap's reference guide: for UDP port unreachable means
// closed; for TCP it, and for both the other listed codes, mean filtered.
// ok is false for codes that say nothing about the port.
func icmpVerdict(v6, udp bool, code uint8) (PortState, string, bool) {
	if !v6 {
		switch code {
		case 3:
			if udp {
				return Closed, "port-unreach", true
			}
			return Filtered, "port-unreach", true
		case 0:
			return Filtered, "net-unreach", true
		case 1:
			return Filtered, "host-unreach", true
		case 2:
			return Filtered, "proto-unreach", true
		case 9:
			return Filtered, "net-prohibited", true
		case 10:
			return Filtered, "host-prohibited", true
		case 13:
			return Filtered, "admin-prohibited", true
		}
		return 0, "", false
	}
	switch code {
	case 4:
		if udp {
			return Closed, "port-unreach", true
		}
		return Filtered, "port-unreach", true
	case 0:
		return Filtered, "no-route", true
	case 1:
		return Filtered, "admin-prohibited", true
	case 2:
		return Filtered, "beyond-scope", true
	case 3:
		return Filtered, "addr-unreach", true
	case 5:
		return Filtered, "failed-policy", true
	case 6:
		return Filtered, "reject-route", true
	}
	return 0, "", false
}
