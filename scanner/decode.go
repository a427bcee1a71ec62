package scanner

import (
	"encoding/binary"
	"net/netip"
)

// replyKind says what a received packet is.
type replyKind uint8

const (
	replyNone      replyKind = iota
	replyTCP                 // a TCP segment
	replyUDP                 // a UDP datagram
	replySCTP                // an SCTP packet (first chunk in chunk)
	replyICMP                // an ICMP/ICMPv6 destination unreachable quoting a probe
	replyEcho                // echo reply
	replyTimestamp           // ICMP timestamp reply
	replyMask                // ICMP address mask reply
	replyNeighbor            // ARP reply or IPv6 neighbour advertisement
	replyOther               // any other IP packet (for the protocol scan)
)

// reply is a decoded packet that may answer one of our probes. For ICMP
// errors the ports are those of the quoted probe: sport the target's,
// dport ours.
type reply struct {
	kind     replyKind
	from, to netip.Addr // sender (for ICMP errors: whoever sent the error)
	v6       bool
	ttl      uint8
	proto    uint8 // the packet's IP protocol
	sport    uint16
	dport    uint16
	flags    uint8 // TCP
	seq, ack uint32
	window   uint16
	chunk    uint8  // SCTP: first chunk type
	vtag     uint32 // SCTP: verification tag
	icmpType uint8
	icmpCode uint8
	icmpID   uint16 // echo/timestamp/mask replies
	icmpSeq  uint16
	qproto   uint8 // ICMP errors: the quoted probe
	qdst     netip.Addr
	qsrc     netip.Addr
	qseq     uint32 // quoted TCP sequence number or SCTP tag
	qid      uint16 // quoted ICMP echo id
	qiseq    uint16 // quoted ICMP echo sequence
}

// Ethernet types as AF_PACKET reports them.
const (
	ethIPv4 = 0x0800
	ethARP  = 0x0806
	ethIPv6 = 0x86dd
)

// decodePacket parses one packet from its network header on (ethType says
// which). ok is false for anything that cannot answer a probe.
func decodePacket(data []byte, ethType uint16) (r reply, ok bool) {
	switch ethType {
	case ethARP:
		return decodeARP(data)
	case ethIPv4, ethIPv6, 0:
	default:
		return r, false
	}
	if len(data) < 20 {
		return r, false
	}
	var l4 []byte
	switch data[0] >> 4 {
	case 4:
		ihl := int(data[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(data[2:]))
		if ihl < 20 || total < ihl || len(data) < total {
			return r, false
		}
		if binary.BigEndian.Uint16(data[6:])&0x3fff != 0 {
			return r, false // a fragment
		}
		r.ttl, r.proto = data[8], data[9]
		r.from = netip.AddrFrom4([4]byte(data[12:16]))
		r.to = netip.AddrFrom4([4]byte(data[16:20]))
		l4 = data[ihl:total]
	case 6:
		if len(data) < 40 {
			return r, false
		}
		r.v6 = true
		plen := int(binary.BigEndian.Uint16(data[4:]))
		if len(data) < 40+plen {
			return r, false
		}
		r.proto, r.ttl = data[6], data[7]
		r.from = netip.AddrFrom16([16]byte(data[8:24]))
		r.to = netip.AddrFrom16([16]byte(data[24:40]))
		l4 = data[40 : 40+plen]
	default:
		return r, false
	}
	return decodeL4(r, l4)
}

func decodeL4(r reply, l4 []byte) (reply, bool) {
	switch r.proto {
	case protoTCP:
		if len(l4) < 20 {
			return r, false
		}
		r.kind = replyTCP
		r.sport, r.dport = binary.BigEndian.Uint16(l4[0:]), binary.BigEndian.Uint16(l4[2:])
		r.seq, r.ack = binary.BigEndian.Uint32(l4[4:]), binary.BigEndian.Uint32(l4[8:])
		r.flags, r.window = l4[13], binary.BigEndian.Uint16(l4[14:])
		return r, true
	case protoUDP:
		if len(l4) < 8 {
			return r, false
		}
		r.kind = replyUDP
		r.sport, r.dport = binary.BigEndian.Uint16(l4[0:]), binary.BigEndian.Uint16(l4[2:])
		return r, true
	case protoSCTP:
		if len(l4) < 16 {
			return r, false
		}
		r.kind = replySCTP
		r.sport, r.dport = binary.BigEndian.Uint16(l4[0:]), binary.BigEndian.Uint16(l4[2:])
		r.vtag, r.chunk = binary.BigEndian.Uint32(l4[4:]), l4[12]
		return r, true
	case protoICMP:
		if r.v6 || len(l4) < 8 {
			break
		}
		r.icmpType, r.icmpCode = l4[0], l4[1]
		r.icmpID, r.icmpSeq = binary.BigEndian.Uint16(l4[4:]), binary.BigEndian.Uint16(l4[6:])
		switch r.icmpType {
		case 0:
			r.kind = replyEcho
		case 14:
			r.kind = replyTimestamp
		case 18:
			r.kind = replyMask
		case 3:
			return r, parseQuoted(&r, l4[8:])
		default:
			return r, false
		}
		return r, true
	case protoICMPv6:
		if !r.v6 || len(l4) < 8 {
			break
		}
		r.icmpType, r.icmpCode = l4[0], l4[1]
		switch r.icmpType {
		case 129:
			r.kind = replyEcho
			r.icmpID, r.icmpSeq = binary.BigEndian.Uint16(l4[4:]), binary.BigEndian.Uint16(l4[6:])
			return r, true
		case 1, 4: // unreachable; parameter problem (code 1: unknown next header)
			return r, parseQuoted(&r, l4[8:])
		case 136:
			if len(l4) < 24 {
				return r, false
			}
			// The advertised target is the host that answered.
			r.kind = replyNeighbor
			r.from = netip.AddrFrom16([16]byte(l4[8:24]))
			return r, true
		}
		return r, false
	}
	r.kind = replyOther
	return r, true
}

// parseQuoted reads the IP header and first 8 bytes of the transport
// header an ICMP error quotes.
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
		if ihl < 20 || len(q) < ihl {
			return false
		}
		r.qproto = q[9]
		r.qsrc = netip.AddrFrom4([4]byte(q[12:16]))
		r.qdst = netip.AddrFrom4([4]byte(q[16:20]))
		l4 = q[ihl:]
	case 6:
		if len(q) < 40 {
			return false
		}
		r.qproto = q[6]
		r.qsrc = netip.AddrFrom16([16]byte(q[8:24]))
		r.qdst = netip.AddrFrom16([16]byte(q[24:40]))
		l4 = q[40:]
		if r.qproto == protoIPv6Frag && len(l4) >= 8 {
			r.qproto, l4 = l4[0], l4[8:]
		}
	default:
		return false
	}
	r.kind = replyICMP
	switch r.qproto {
	case protoTCP, protoUDP, protoSCTP:
		if len(l4) < 8 {
			return true // a bare protocol probe (-sO): no ports to read
		}
		r.dport = binary.BigEndian.Uint16(l4[0:2])
		r.sport = binary.BigEndian.Uint16(l4[2:4])
		r.qseq = binary.BigEndian.Uint32(l4[4:8])
	case protoICMP, protoICMPv6:
		if len(l4) >= 8 {
			r.qid, r.qiseq = binary.BigEndian.Uint16(l4[4:]), binary.BigEndian.Uint16(l4[6:])
		}
	}
	return true
}

// decodeARP reads an Ethernet/IPv4 ARP reply: the sender is the host.
func decodeARP(b []byte) (r reply, ok bool) {
	if len(b) < 28 || binary.BigEndian.Uint16(b[0:]) != 1 || binary.BigEndian.Uint16(b[2:]) != ethIPv4 ||
		b[4] != 6 || b[5] != 4 || binary.BigEndian.Uint16(b[6:]) != 2 {
		return r, false
	}
	r.kind = replyNeighbor
	r.from = netip.AddrFrom4([4]byte(b[14:18]))
	r.to = netip.AddrFrom4([4]byte(b[24:28]))
	return r, true
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
