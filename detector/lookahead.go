package detector

import "github.com/scanwatch/scanwatch/decode"

// Look-ahead: a packet of a known flow costs two cache misses in the flow
// table, its slot and then the flow the slot names, each waited for before
// the next can start. A caller that holds a run of packets (the replay's
// batches) says which come next; their slots, then their flows, are read
// in passes over the run, where the loads of different packets do not
// depend on each other, so the core has many misses in flight at once.
// Go has no prefetch instruction: the loads are plain ones folded into a
// field the compiler cannot drop. It is only a hint: the table changes as
// the packets are processed, and Process looks every packet up again.

// aheadMax is the most packets one Prefetch call reads ahead: their slots
// and flows (64 bytes each) stay in the core's cache until processed.
const aheadMax = 512

// lookahead is the detector's scratch for Prefetch.
type lookahead struct {
	slot [aheadMax]uint32 // slot index of each packet's key (0 for a packet without one)
	sink uint64           // what the loads read, so that they are kept
}

// Prefetch hints that the n packets at(0) .. at(n-1) are processed next, in
// that order: it brings their flows' slots and flows into the cache. A nil
// packet is skipped. The passes that load are tight loops of independent
// loads, so that many of them fit in the core's window at once.
func (d *Detector) Prefetch(n int, at func(i int) *decode.Packet) {
	t, la := d.flows, &d.ahead
	n = min(n, aheadMax)
	idx := la.slot[:n]
	for i := range idx {
		idx[i] = 0
		if k, ok := transportKey(at(i)); ok {
			idx[i] = uint32(t.hash(&k) & t.mask)
		}
	}
	slots := t.slots
	var sink uint64
	for _, j := range idx {
		sink += uint64(slots[j].id)
	}
	for _, j := range idx {
		if id := slots[j].id; id != 0 {
			sink += uint64(t.slab.at(id).last)
		}
	}
	la.sink += sink
}

// transportKey is the flow key Process looks p up by, for the kinds whose
// every packet has one.
func transportKey(p *decode.Packet) (flowKey, bool) {
	var k flowKey
	if p == nil {
		return k, false
	}
	var proto uint8
	switch p.Kind {
	case decode.KindTCP:
		proto = 6
	case decode.KindUDP:
		proto = 17
	case decode.KindSCTP:
		proto = 132
	default:
		return k, false
	}
	k.set(ip128Of(p.Src), ip128Of(p.Dst), p.SrcPort, p.DstPort, proto)
	return k, true
}
