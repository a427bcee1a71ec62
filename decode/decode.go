package decode

import (
	"encoding/binary"
	"time"

	"github.com/scanwatch/scanwatch/linktype"
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
	depth int // tunnels unwrapped in the current frame
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
func (d *Decoder) Decode(linkType linktype.LinkType, data []byte, ts time.Time, p *Packet) (bool, error) {
	*p = Packet{Time: ts}
	d.st.Frames++
	d.depth = 0
	var (
		ok  bool
		err error
	)
	// The common cases, calls shorter than link's walk: an Ethernet frame
	// of IPv4 or IPv6 with at most one 802.1Q tag. Anything else is link's,
	// from the start.
	et, b := uint16(0), data
	if linkType == linktype.Ethernet && len(data) >= 14 {
		et, b = be.Uint16(data[12:]), data[14:]
		if et == etVLAN && len(b) >= 4 {
			et, b = be.Uint16(b[2:]), b[4:]
		}
		p.LinkGroup = data[0]&1 != 0
		p.LinkUnicast = !p.LinkGroup
	}
	switch et {
	case etIPv4:
		ok, err = d.ipv4(b, p)
	case etIPv6:
		ok, err = d.ipv6(b, p)
	default:
		ok, err = d.link(linkType, data, p)
	}
	if ok {
		d.st.ByKind[p.Kind]++
	}
	return ok, err
}
