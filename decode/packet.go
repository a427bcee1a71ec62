// Package decode turns raw frames into flat probe-relevant records without
// allocating: link layer (Ethernet, VLAN/QinQ, SLL, SLL2, raw IP, BSD
// loopback), IPv4 (with fragment reassembly up to the transport header),
// IPv6 (with extension headers), TCP, UDP, ICMP, ICMPv6, SCTP and ARP.
package decode

import (
	"net/netip"
	"time"

	"github.com/scanwatch/scanwatch/tcpflags"
)

// Kind says which transport a Packet carries.
type Kind uint8

const (
	KindOther Kind = iota // IP with a transport we do not parse (-sO probes); Proto says which
	KindTCP
	KindUDP
	KindICMP // ICMPv4 and ICMPv6 alike; Packet.IPv6 tells them apart
	KindSCTP
	KindARP
)

// Packet is the decoded view of one frame. Fields that do not apply to its
// Kind are zero. Options aliases the frame's bytes (or, for a reassembled
// fragment, the Decoder's buffer): valid until the next Decode; so does
// Data.
type Packet struct {
	Time     time.Time
	Kind     Kind
	IPv6     bool
	Src, Dst netip.Addr // for ARP: sender and target protocol addresses
	Proto    uint8      // IP protocol number of the transport (after IPv6 extension headers)
	TTL      uint8      // IPv4 TTL or IPv6 hop limit
	IPID     uint32     // IPv4 identification; IPv6 fragment identification if fragmented
	DF       bool       // IPv4 don't-fragment bit
	Fragment bool       // the transport header was reassembled from IP fragments
	// LinkGroup: the frame went to a link-layer broadcast or multicast
	// address (Ethernet group bit, SLL packet type), so a subnet's
	// broadcast address (x.y.z.255 of a /24) is told from a host's.
	LinkGroup bool
	// LinkUnicast: the link layer shows the frame went to one station (an
	// Ethernet destination without the group bit; a cooked capture's
	// "to us" or "to another host"). False where the link does not say (raw
	// IP, a cooked capture's outgoing frames).
	LinkUnicast bool
	// IPLen is the IP total length as the header states it (IPv6: 40 +
	// payload length). For a reassembled fragment it is the datagram's
	// length when its last fragment has been seen, else a lower bound (the
	// end of the furthest fragment seen so far).
	IPLen int

	SrcPort, DstPort uint16 // TCP, UDP, SCTP

	// Tunnel is the outermost encapsulation unwrapped to reach this packet
	// (GRE, ERSPAN, VXLAN, Geneve); the fields above describe the inner one.
	Tunnel Tunnel

	// TCP
	Flags   tcpflags.Flags // tcp[13]
	Res     uint8          // the 4 reserved bits of tcp[12] (nmap -O's ECN probe sets one)
	Seq     uint32
	Ack     uint32
	Window  uint16
	Urgent  uint16
	Options []byte // raw TCP option bytes
	// Payload is the transport payload length from the IP length, not the
	// captured bytes: TCP and UDP data; SCTP: the chunks after the common
	// header; ICMP: the bytes after the 8-byte ICMP header; KindOther: the
	// whole transport. A lower bound for a fragment (see IPLen).
	Payload int
	// Data is the start of the TCP payload as captured: at most MaxData
	// bytes, fewer when the capture cut the frame (nil when none was
	// captured). It aliases the frame, so taking it costs nothing; the
	// detector reads the first bytes of a connection's first request.
	Data []byte

	// ICMP / ICMPv6
	ICMPType, ICMPCode uint8
	ICMPID, ICMPSeq    uint16     // echo request/reply
	NDTarget           netip.Addr // ICMPv6 neighbour solicitation/advertisement target
	// Inner is the header quoted by an ICMP error (unreachable, time exceeded).
	Inner Quoted

	// SCTP: the type of the first chunk (1 INIT, 2 INIT-ACK, 6 ABORT, ...)
	SCTPChunk uint8
	// ARP: operation (1 request, 2 reply)
	ARPOp uint16
}

// MaxData bounds Packet.Data: enough for a request line or a protocol
// greeting, which is all the detector reads.
const MaxData = 128

// Quoted is the start of the packet an ICMP error quotes back.
type Quoted struct {
	Valid            bool // the quoted IP addresses and Proto are present
	Src, Dst         netip.Addr
	Proto            uint8 // IPv6: the last extension header type reached if the quote ends among them
	HasPorts         bool  // the quote reaches SrcPort/DstPort (TCP, UDP, SCTP)
	SrcPort, DstPort uint16
}
