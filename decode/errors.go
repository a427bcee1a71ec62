package decode

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by every *Error, for errors.Is.
var (
	// ErrUnsupportedLink: the capture's link type is not one Decode knows.
	ErrUnsupportedLink = errors.New("unsupported link type")
	// ErrTruncated: the frame ends inside a header.
	ErrTruncated = errors.New("truncated")
	// ErrMalformed: a header field holds an impossible value.
	ErrMalformed = errors.New("malformed")
)

// Layer names the header where decoding stopped; it indexes Stats.Errors.
type Layer uint8

const (
	LayerLink     Layer = iota // the link type itself (unsupported)
	LayerEthernet              // Ethernet II header
	LayerSLL                   // Linux cooked v1
	LayerSLL2                  // Linux cooked v2
	LayerNull                  // BSD loopback / NULL / LOOP
	LayerVLAN                  // 802.1Q / 802.1ad tags
	LayerMPLS                  // MPLS label stack
	LayerPPPoE                 // PPPoE session header
	LayerRawIP                 // raw IP: version nibble
	LayerARP
	LayerIPv4
	LayerIPv6
	LayerFragment // IP fragment reassembly
	LayerTCP
	LayerUDP
	LayerSCTP
	LayerICMP
	LayerICMPv6
	LayerGRE
	LayerERSPAN
	NumLayers // number of Layer values
)

var layerNames = [NumLayers]string{
	"link", "ethernet", "sll", "sll2", "null", "vlan", "mpls", "pppoe", "raw",
	"arp", "ipv4", "ipv6", "fragment", "tcp", "udp", "sctp", "icmp", "icmpv6",
	"gre", "erspan",
}

func (l Layer) String() string {
	if l < NumLayers {
		return layerNames[l]
	}
	return fmt.Sprintf("layer(%d)", uint8(l))
}

// Error is the error Decode returns: which layer failed and why. It wraps
// one of ErrTruncated, ErrMalformed or ErrUnsupportedLink. The message is
// formatted only when Error() is called; creating one costs a single small
// allocation (errors are off the steady-state path).
type Error struct {
	Layer Layer
	Err   error // ErrTruncated, ErrMalformed or ErrUnsupportedLink
	// format and up to two integer arguments, e.g. "header length %d < %d"
	format string
	n      int8
	a, b   int
}

func (e *Error) Error() string {
	var msg string
	switch e.n {
	case 0:
		msg = e.format
	case 1:
		msg = fmt.Sprintf(e.format, e.a)
	default:
		msg = fmt.Sprintf(e.format, e.a, e.b)
	}
	return e.Layer.String() + ": " + msg
}

func (e *Error) Unwrap() error { return e.Err }

// fail counts the error and builds it. n is the number of integer
// arguments format uses.
//
//go:noinline
func (d *Decoder) fail(l Layer, sentinel error, format string, n int8, a, b int) (bool, error) {
	d.st.Errors[l]++
	return false, &Error{Layer: l, Err: sentinel, format: format, n: n, a: a, b: b}
}

// truncated is the common "ipv4: truncated: 15 bytes < 20" error.
//
//go:noinline
func (d *Decoder) truncated(l Layer, have, need int) (bool, error) {
	return d.fail(l, ErrTruncated, "truncated: %d bytes < %d", 2, have, need)
}

// short reports a transport header that does not fit: malformed when the IP
// length leaves too little room for it (tl), truncated when the capture
// ends early (have).
//
//go:noinline
func (d *Decoder) short(l Layer, have, tl, need int) (bool, error) {
	if tl < need {
		return d.fail(l, ErrMalformed, "IP length leaves %d bytes < %d", 2, tl, need)
	}
	return d.truncated(l, have, need)
}
