package detector

import "github.com/scanwatch/scanwatch/decode"

// Key is a TCP or UDP packet's flow key and its hash. Set needs no
// detector state, so a replay's reader can compute it on its own core
// while the detector is the slower side, and hand it over with the packet
// (ProcessKey): on captures of many short flows the detector's core is the
// bottleneck, and the key is about an eighth of its instructions.
type Key struct {
	k      flowKey
	h      uint64
	srcIsA bool
	ok     bool // a TCP or UDP packet: k, h and srcIsA are set
}

// Set makes k p's Key; for packets other than TCP and UDP one that is not
// ok.
func (k *Key) Set(p *decode.Packet) {
	var proto uint8
	switch p.Kind {
	case decode.KindTCP:
		proto = 6
	case decode.KindUDP:
		proto = 17
	default:
		k.ok = false
		return
	}
	k.srcIsA = k.k.set(ip128Of(p.Src), ip128Of(p.Dst), p.SrcPort, p.DstPort, proto)
	k.h = k.k.hash()
	k.ok = true
}
