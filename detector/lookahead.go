package detector

import "github.com/scanwatch/scanwatch/decode"

// Look-ahead: a packet of a known flow costs two cache misses in the flow
// table, its slot and then the flow the slot names, each waited for before
// the next can start. A caller that holds a run of packets (the replay's
// batches) tells the detector of them first (Prefetch): it computes each
// packet's flow key and hash, then reads their slots, then their flows, in
// tight passes of loads that do not depend on each other, so the core has
// many misses in flight at once. Go has no prefetch instruction: the loads
// are plain ones folded into a field the compiler cannot drop. Process
// takes the key and hash of a packet of the run from there. The slots and
// flows read are only a hint: the table changes as the packets are
// processed, and Process looks every packet up again.

// aheadMax is the most packets one run holds: their slots and flows (64
// bytes each) stay in the core's cache until processed.
const aheadMax = 512

// aheadMinFlows is the fewest flows the table holds for Prefetch to read
// ahead: a smaller table (2 MiB of flows) stays in the core's own cache,
// where reading ahead only costs.
const aheadMinFlows = 1 << 14

// lookahead is the run of packets Prefetch was told of, in order, with
// their keys and hashes; next is the one Process expects next, cur the one
// it processes (-1 when that is none of the run).
type lookahead struct {
	minFlows     int // aheadMinFlows; tests lower it
	n, next, cur int
	pkt          [aheadMax]*decode.Packet
	key          [aheadMax]flowKey
	hash         [aheadMax]uint64
	srcIsA       [aheadMax]bool
	sink         uint64 // what the loads read, so that they are kept
}

// Prefetch tells the detector that the packets at(0) .. at(n-1) are the
// next it processes, in that order (a nil one is skipped), and brings their
// flows' slots and flows into the cache. They must not change until they
// have been processed. It only hints: processing other packets is correct,
// and only slower.
func (d *Detector) Prefetch(n int, at func(i int) *decode.Packet) {
	t, la := d.flows, &d.ahead
	la.n, la.next, la.cur = 0, 0, -1
	if t.n < la.minFlows {
		return
	}
	for i := range min(n, aheadMax) {
		p := at(i)
		if p == nil {
			continue
		}
		j := la.n
		la.pkt[j] = p
		if proto, ok := flowProto(p); ok {
			k := &la.key[j]
			la.srcIsA[j] = k.set(ip128Of(p.Src), ip128Of(p.Dst), p.SrcPort, p.DstPort, proto)
			la.hash[j] = t.hash(k)
		} else {
			la.hash[j] = 0 // slot 0: a harmless load
		}
		la.n++
	}
	hs, slots, mask := la.hash[:la.n], t.slots, t.mask
	var sink uint64
	for _, h := range hs {
		sink += uint64(slots[h&mask].id)
	}
	for _, h := range hs {
		if id := slots[h&mask].id; id != 0 {
			sink += uint64(t.slab.at(id).last)
		}
	}
	la.sink += sink
}

// flowProto is the protocol of the flow key Process looks p up by, for the
// kinds looked up by their ports (0 for other IP protocols) and protocol.
func flowProto(p *decode.Packet) (uint8, bool) {
	switch p.Kind {
	case decode.KindTCP:
		return 6, true
	case decode.KindUDP:
		return 17, true
	case decode.KindSCTP:
		return 132, true
	}
	return 0, false
}

// take notes that Process is at p: the run's next packet, or none of it
// (then the rest of the run is not used).
func (la *lookahead) take(p *decode.Packet) {
	la.cur = -1
	if la.next < la.n {
		if la.pkt[la.next] == p {
			la.cur = la.next
			la.next++
		} else {
			la.n = 0
		}
	}
}

// flowKeyOf is p's flow key, whether p's source is side a, and the key's
// hash: from the run Prefetch was told of when Process is at p in it.
func (d *Detector) flowKeyOf(p *decode.Packet, proto uint8) (k flowKey, srcIsA bool, h uint64) {
	if la := &d.ahead; la.cur >= 0 && la.pkt[la.cur] == p {
		j := la.cur
		la.cur = -1
		return la.key[j], la.srcIsA[j], la.hash[j]
	}
	srcIsA = k.set(ip128Of(p.Src), ip128Of(p.Dst), p.SrcPort, p.DstPort, proto)
	return k, srcIsA, d.flows.hash(&k)
}
