package detector

import (
	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/tcpflags"
)

// Key is a TCP or UDP packet's flow key and its hash. Set needs no
// detector state, so a replay's reader can compute it on its own core
// while the detector is the slower side, and hand it over with the packet
// (ProcessKey): on captures of many short flows the detector's core is the
// bottleneck, and the key is about an eighth of its instructions.
//
// For a TCP SYN without ACK, almost always a first contact, it holds what
// the detector reads of the segment when the flow is new: its fingerprint
// and its OS-probe kind, the walk of its options included.
type Key struct {
	k      flowKey
	h      uint64
	srcIsA bool
	ok     bool // a TCP or UDP packet: k, h and srcIsA are set
	syn    bool // a TCP SYN without ACK: fp and osKind are set
	osKind uint16
	fp     Print
}

// Set makes k p's Key; for packets other than TCP and UDP one that is not
// ok.
func (k *Key) Set(p *decode.Packet) {
	k.setFlow(p)
	k.syn = k.ok && p.Kind == decode.KindTCP && p.Flags&(tcpflags.SYN|tcpflags.ACK) == tcpflags.SYN
	if k.syn {
		k.osKind, k.fp = osProbeTCP(p), printOf(p)
	}
}

// setFlow sets k's flow key and hash only (what Prefetch needs); k.syn is
// left false.
func (k *Key) setFlow(p *decode.Packet) {
	var proto uint8
	switch p.Kind {
	case decode.KindTCP:
		proto = 6
	case decode.KindUDP:
		proto = 17
	default:
		k.ok, k.syn = false, false
		return
	}
	k.srcIsA = k.k.set(ip128Of(p.Src), ip128Of(p.Dst), p.SrcPort, p.DstPort, proto)
	k.h = k.k.hash()
	k.ok, k.syn = true, false
}
