package scanner

import (
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"net/netip"
)

// probeKind is what a probe asks.
type probeKind uint8

const (
	kindTCP        probeKind = iota + 1 // a TCP segment with spec.flags
	kindUDP                             // a UDP datagram (a protocol payload for well-known ports)
	kindSCTPInit                        // SCTP INIT
	kindSCTPCookie                      // SCTP COOKIE ECHO
	kindIPProto                         // a bare IP packet of protocol spec.port (-sO)
	kindEcho                            // ICMP / ICMPv6 echo request
	kindTimestamp                       // ICMP timestamp request
	kindMask                            // ICMP address mask request
	kindNeighbor                        // ARP request / IPv6 neighbour solicitation
)

// spec is one question to a host: a port of a technique, or a ping.
type spec struct {
	kind  probeKind
	port  uint16 // port, or protocol number for kindIPProto
	flags uint8  // TCP flags for kindTCP
}

// outPacket is one packet to send: an IP packet (header included), or an
// ARP payload for the link-layer socket.
type outPacket struct {
	data    []byte
	dst     netip.Addr
	arp     bool
	ifindex int // ARP requests and neighbour solicitations: the link
}

// link is a local Ethernet link: where ARP requests go out.
type link struct {
	ifindex int
	mac     []byte
}

// crafter builds probes for one phase. nmap's look: TCP window 1024, an
// MSS 1460 option on SYN only, a random TTL in 37-59, no DF, a random IP ID
// per probe (copies for decoys share it).
type crafter struct {
	sport   uint16 // TCP/SCTP source port; UDP try n sends from sport+n unless fixedPort
	fixed   bool   // -g: every try from sport
	seqBase uint32 // TCP sequence / SCTP tag of try 0; try n uses seqBase+n
	ackBase uint32 // TCP acknowledgment of try 0 for probes with ACK
	icmpID  uint16
	ttl     uint8  // 0: random 37-59
	payload []byte // --data/--data-string: replaces the per-port UDP payloads
	dataLen int    // --data-length: random bytes appended to every probe
	badsum  bool   // a wrong TCP/UDP/SCTP/ICMP checksum
	mtu     int    // fragment the IP payload into pieces of this many bytes (multiple of 8); 0: none
	decoys  []netip.Addr
	mePos   int                 // where the real source goes among the decoys
	links   map[netip.Addr]link // local Ethernet links by our address: ARP and ND go there
	rng     *rand.Rand
	arena   []byte
	l4buf   []byte
}

// srcPort returns the source port of try n.
func (c *crafter) srcPort(k probeKind, try int) uint16 {
	if c.fixed || k != kindUDP {
		return c.sport
	}
	return c.sport + uint16(try)
}

// reset lets the next batch reuse the arena (the last one has been sent).
func (c *crafter) reset() { c.arena = c.arena[:0] }

// alloc returns n bytes of the current batch's arena.
func (c *crafter) alloc(n int) []byte {
	if len(c.arena)+n > cap(c.arena) {
		c.arena = make([]byte, 0, max(1<<18, n))
	}
	c.arena = c.arena[:len(c.arena)+n]
	return c.arena[len(c.arena)-n:]
}

// build appends the packets of try number try (0 is the first) of probe
// sp from src to dst: one, or one per decoy, each split into fragments
// when fragmenting.
func (c *crafter) build(out []outPacket, src, dst netip.Addr, sp spec, try int) []outPacket {
	if sp.kind == kindNeighbor {
		return c.neighbor(out, src, dst)
	}
	ttl := c.ttl
	if ttl == 0 {
		ttl = uint8(37 + c.rng.IntN(23))
	}
	id := uint16(1 + c.rng.IntN(0xfffe))
	fragID := c.rng.Uint32()
	payload := c.probePayload(sp, dst.Is4())
	sources := []netip.Addr{src}
	if len(c.decoys) > 0 {
		sources = make([]netip.Addr, 0, len(c.decoys)+1)
		sources = append(sources, c.decoys[:c.mePos]...)
		sources = append(sources, src)
		sources = append(sources, c.decoys[c.mePos:]...)
	}
	for _, s := range sources {
		if s.Is4() != dst.Is4() {
			continue
		}
		proto, l4 := c.l4(s, dst, sp, try, payload)
		out = c.wrap(out, s, dst, proto, ttl, id, fragID, l4)
	}
	return out
}

// neighbor builds an ARP request (IPv4) or a neighbour solicitation
// (IPv6) for dst on src's link.
func (c *crafter) neighbor(out []outPacket, src, dst netip.Addr) []outPacket {
	l := c.links[src]
	if dst.Is4() {
		p := c.alloc(28)
		binary.BigEndian.PutUint16(p[0:], 1) // Ethernet
		binary.BigEndian.PutUint16(p[2:], ethIPv4)
		p[4], p[5] = 6, 4
		binary.BigEndian.PutUint16(p[6:], 1) // request
		copy(p[8:14], l.mac)
		s4, d4 := src.As4(), dst.As4()
		copy(p[14:18], s4[:])
		clear(p[18:24])
		copy(p[24:28], d4[:])
		return append(out, outPacket{data: p, dst: dst, arp: true, ifindex: l.ifindex})
	}
	_, l4 := c.l4(src, dst, spec{kind: kindNeighbor}, 0, nil)
	p := c.alloc(40 + len(l4))
	putIPv6(p, src, solicitedNode(dst), protoICMPv6, 255, len(l4))
	copy(p[40:], l4)
	return append(out, outPacket{data: p, dst: solicitedNode(dst), ifindex: l.ifindex})
}

// probePayload is what follows the probe's header.
func (c *crafter) probePayload(sp spec, v4 bool) []byte {
	var p []byte
	switch {
	case c.payload != nil:
		p = c.payload
	case sp.kind == kindUDP:
		p = udpPayload(sp.port, c.rng)
	}
	if c.dataLen > 0 {
		extra := make([]byte, c.dataLen)
		for i := range extra {
			extra[i] = byte(c.rng.Uint32())
		}
		p = append(append([]byte(nil), p...), extra...)
	}
	return p
}

// l4 builds the transport part of a probe into c.l4buf.
func (c *crafter) l4(src, dst netip.Addr, sp spec, try int, payload []byte) (uint8, []byte) {
	b := c.l4buf[:0]
	v4 := dst.Is4()
	var proto uint8
	switch sp.kind {
	case kindTCP:
		proto = protoTCP
		hl := 20
		if sp.flags&FlagSYN != 0 {
			hl = 24
		}
		b = append(b, make([]byte, hl)...)
		binary.BigEndian.PutUint16(b[0:], c.sport)
		binary.BigEndian.PutUint16(b[2:], sp.port)
		binary.BigEndian.PutUint32(b[4:], c.seqBase+uint32(try))
		if sp.flags&FlagACK != 0 {
			binary.BigEndian.PutUint32(b[8:], c.ackBase+uint32(try))
		}
		b[12], b[13] = byte(hl/4)<<4, sp.flags
		binary.BigEndian.PutUint16(b[14:], 1024)
		if hl == 24 {
			copy(b[20:], []byte{2, 4, 0x05, 0xb4}) // MSS 1460
		}
		b = append(b, payload...)
		c.transportSum(b, 16, src, dst, proto)
	case kindUDP:
		proto = protoUDP
		b = append(b, make([]byte, 8)...)
		binary.BigEndian.PutUint16(b[0:], c.srcPort(kindUDP, try))
		binary.BigEndian.PutUint16(b[2:], sp.port)
		b = append(b, payload...)
		binary.BigEndian.PutUint16(b[4:], uint16(len(b)))
		c.transportSum(b, 6, src, dst, proto)
	case kindSCTPInit, kindSCTPCookie:
		proto = protoSCTP
		b = append(b, make([]byte, 12)...)
		binary.BigEndian.PutUint16(b[0:], c.sport)
		binary.BigEndian.PutUint16(b[2:], sp.port)
		tag := c.seqBase + uint32(try)
		if sp.kind == kindSCTPInit {
			// INIT: our initiate tag names the try; the common header's tag is 0.
			chunk := make([]byte, 20)
			chunk[0] = 1
			binary.BigEndian.PutUint16(chunk[2:], 20)
			binary.BigEndian.PutUint32(chunk[4:], tag)
			binary.BigEndian.PutUint32(chunk[8:], 32768) // a_rwnd
			binary.BigEndian.PutUint16(chunk[12:], 10)   // outbound streams
			binary.BigEndian.PutUint16(chunk[14:], 2048) // inbound streams
			binary.BigEndian.PutUint32(chunk[16:], c.rng.Uint32())
			b = append(b, chunk...)
		} else {
			// COOKIE ECHO with a cookie no association issued.
			binary.BigEndian.PutUint32(b[4:], tag)
			chunk := make([]byte, 8)
			chunk[0] = 10
			binary.BigEndian.PutUint16(chunk[2:], 8)
			binary.BigEndian.PutUint32(chunk[4:], c.rng.Uint32())
			b = append(b, chunk...)
		}
		crc := crc32.Checksum(b, castagnoli)
		if c.badsum {
			crc ^= 0x5a5a5a5a
		}
		binary.LittleEndian.PutUint32(b[8:], crc)
	case kindEcho, kindTimestamp, kindMask:
		proto = protoICMP
		typ := map[probeKind]byte{kindEcho: 8, kindTimestamp: 13, kindMask: 17}[sp.kind]
		if !v4 {
			proto, typ = protoICMPv6, 128
		}
		b = append(b, typ, 0, 0, 0, 0, 0, 0, 0)
		binary.BigEndian.PutUint16(b[4:], c.icmpID)
		binary.BigEndian.PutUint16(b[6:], uint16(try))
		switch sp.kind {
		case kindTimestamp:
			b = append(b, make([]byte, 12)...)
		case kindMask:
			b = append(b, make([]byte, 4)...)
		}
		b = append(b, payload...)
		if v4 {
			sum := csumFold(csumAdd(0, b))
			if c.badsum {
				sum ^= 0x5a5a
			}
			binary.BigEndian.PutUint16(b[2:], sum)
		} else {
			c.transportSum(b, 2, src, dst, proto)
		}
	case kindIPProto:
		proto = uint8(sp.port)
		b = c.protoPayload(b, src, dst, proto, try)
		b = append(b, payload...)
	case kindNeighbor:
		// IPv6 neighbour solicitation (ARP goes out by arpRequest).
		proto = protoICMPv6
		b = append(b, 135, 0, 0, 0, 0, 0, 0, 0)
		t := dst.As16()
		b = append(b, t[:]...)
		if l, ok := c.links[src]; ok && len(l.mac) == 6 {
			b = append(b, 1, 1)
			b = append(b, l.mac...)
		}
		c.transportSum(b, 2, src, solicitedNode(dst), proto)
	}
	c.l4buf = b
	return proto, b
}

// protoPayload is what an IP protocol probe carries: a valid header for
// the protocols that have one, so the target's stack answers, nothing for
// the others (as nmap sends them).
func (c *crafter) protoPayload(b []byte, src, dst netip.Addr, proto uint8, try int) []byte {
	switch proto {
	case protoTCP:
		b = append(b, make([]byte, 20)...)
		binary.BigEndian.PutUint16(b[0:], c.sport)
		binary.BigEndian.PutUint16(b[2:], 80)
		binary.BigEndian.PutUint32(b[8:], c.ackBase+uint32(try))
		b[12], b[13] = 5<<4, FlagACK
		binary.BigEndian.PutUint16(b[14:], 1024)
		c.transportSum(b, 16, src, dst, proto)
	case protoUDP:
		b = append(b, make([]byte, 8)...)
		binary.BigEndian.PutUint16(b[0:], c.sport)
		binary.BigEndian.PutUint16(b[2:], 40125)
		binary.BigEndian.PutUint16(b[4:], 8)
		c.transportSum(b, 6, src, dst, proto)
	case protoICMP:
		if dst.Is4() {
			b = append(b, 8, 0, 0, 0, 0, 0, 0, 0)
			binary.BigEndian.PutUint16(b[4:], c.icmpID)
			binary.BigEndian.PutUint16(b[6:], uint16(try))
			binary.BigEndian.PutUint16(b[2:], csumFold(csumAdd(0, b)))
		}
	case protoICMPv6:
		if !dst.Is4() {
			b = append(b, 128, 0, 0, 0, 0, 0, 0, 0)
			binary.BigEndian.PutUint16(b[4:], c.icmpID)
			binary.BigEndian.PutUint16(b[6:], uint16(try))
			c.transportSum(b, 2, src, dst, proto)
		}
	}
	return b
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// transportSum fills the checksum at off of a TCP/UDP/ICMPv6 packet.
func (c *crafter) transportSum(b []byte, off int, src, dst netip.Addr, proto uint8) {
	b[off], b[off+1] = 0, 0
	sum := csumFold(csumAdd(pseudoSum(src, dst, proto, len(b)), b))
	if proto == protoUDP && sum == 0 {
		sum = 0xffff
	}
	if c.badsum {
		sum ^= 0x5a5a
		if sum == 0 {
			sum = 1
		}
	}
	binary.BigEndian.PutUint16(b[off:], sum)
}

// wrap puts the IP header around l4, fragmenting when asked.
func (c *crafter) wrap(out []outPacket, src, dst netip.Addr, proto, ttl uint8, id uint16, fragID uint32, l4 []byte) []outPacket {
	mtu := c.mtu
	if mtu <= 0 || mtu >= len(l4) {
		mtu = len(l4)
	}
	first := mtu
	if !dst.Is4() && mtu < len(l4) {
		// IPv6 hosts drop a first fragment without the whole transport
		// header (RFC 7112): it goes first, the rest is split.
		first = max(mtu, (transportHeaderLen(proto, l4)+7)/8*8)
	}
	for off := 0; off == 0 || off < len(l4); {
		size := mtu
		if off == 0 {
			size = first
		}
		end := min(off+size, len(l4))
		more := end < len(l4)
		frag := off > 0 || more
		var p []byte
		if dst.Is4() {
			p = c.alloc(20 + end - off)
			f := uint16(off / 8)
			if more {
				f |= 0x2000
			}
			putIPv4(p, src, dst, proto, ttl, id, f, len(p))
			copy(p[20:], l4[off:end])
		} else {
			hops, to := ttl, dst
			if !frag {
				p = c.alloc(40 + len(l4))
				putIPv6(p, src, to, proto, hops, len(l4))
				copy(p[40:], l4)
			} else {
				p = c.alloc(48 + end - off)
				putIPv6(p, src, to, protoIPv6Frag, hops, 8+end-off)
				p[40], p[41] = proto, 0
				f := uint16(off)
				if more {
					f |= 1
				}
				binary.BigEndian.PutUint16(p[42:], f)
				binary.BigEndian.PutUint32(p[44:], fragID)
				copy(p[48:], l4[off:end])
			}
		}
		out = append(out, outPacket{data: p, dst: dst})
		if end >= len(l4) {
			return out
		}
		off = end
	}
	return out
}

// transportHeaderLen is the length of the header at the start of l4.
func transportHeaderLen(proto uint8, l4 []byte) int {
	switch proto {
	case protoTCP:
		if len(l4) > 12 {
			return int(l4[12]>>4) * 4
		}
	case protoUDP, protoICMP, protoICMPv6:
		return 8
	case protoSCTP:
		return 16
	}
	return 0
}

// solicitedNode is the IPv6 solicited-node multicast address of a.
func solicitedNode(a netip.Addr) netip.Addr {
	t := a.As16()
	return netip.AddrFrom16([16]byte{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, t[13], t[14], t[15]})
}

// udpPayload returns a protocol probe for well-known UDP ports, so that
// services that ignore garbage still answer (as nmap does with its payloads);
// other ports get an empty datagram.
func udpPayload(port uint16, rng *rand.Rand) []byte {
	switch port {
	case 53: // DNS: standard query for the root's NS records.
		id := uint16(rng.Uint32())
		return []byte{byte(id >> 8), byte(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
			0x00, 0x00, 0x02, 0x00, 0x01}
	case 123: // NTP v4 client request.
		p := make([]byte, 48)
		p[0] = 0xe3
		return p
	case 161: // SNMPv1 GetRequest, community "public", OID 1.3.6.1.2.1.
		id := rng.Uint32() & 0x7fffffff
		return []byte{0x30, 0x26, 0x02, 0x01, 0x00, 0x04, 0x06, 'p', 'u', 'b', 'l', 'i', 'c',
			0xa0, 0x19, 0x02, 0x04, byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id),
			0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0b, 0x30, 0x09,
			0x06, 0x05, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x05, 0x00}
	}
	return nil
}
