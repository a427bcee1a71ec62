// Warming: under a flood of spoofed sources almost every contact admit
// sees is from a source never seen before, and the answer takes a handful
// of reads at random places in tables larger than the cache: the source's
// probation index slot, its evidence filter blocks and credit bit, and,
// with the probation space full, the index slot and filter block of the
// probe it evicts. Read one after another as admit needs them, each is a
// memory latency; asked for together first (prefetch), they are about one.
// The eviction's are asked for one contact ahead, so that they come in
// while the rest of a packet is handled.

package detector

import (
	"net/netip"
	"unsafe"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/tcpflags"
)

// warm asks for the places admit will read for a new source without a
// tracker, whose probation index hash is ph and evidence hash eh. It
// changes nothing.
func (s *Episodes) warm(ph, eh uint64) {
	p := &s.prob
	if n := uint64(len(p.index.slots)); n > 0 {
		prefetch(unsafe.Pointer(&p.index.slots[ph>>32&(n-1)]))
	}
	s.ev.once.prefetch(eh, false)
	prefetch(unsafe.Pointer(&s.credit.inUse[eh%creditSlots/64]))
	if p.len() >= p.max && p.tail != p.warmed {
		s.warmEviction() // not asked for by the contact before
	}
}

// warmEviction asks for the places evicting the tail probe reads: its
// index slot and the evidence filter block it goes into; and for the entry
// of the probe after it, whose key the next warming reads.
func (s *Episodes) warmEviction() {
	p := &s.prob
	t := p.tail
	if t < 0 || len(p.index.slots) == 0 {
		return
	}
	p.warmed = t
	e := &p.ents[t]
	prefetch(unsafe.Pointer(&p.index.slots[p.index.hash(&e.scanner)>>32&uint64(len(p.index.slots)-1)]))
	s.ev.once.prefetch(hashKey(e.scanner), true)
	if e.prev >= 0 {
		// An entry spans three lines; eviction copies it whole.
		next := unsafe.Pointer(&p.ents[e.prev])
		prefetch(next)
		prefetch(unsafe.Add(next, 64))
		prefetch(unsafe.Add(next, unsafe.Sizeof(probe{})-1))
	}
}

// prefetch asks for h's block in the current generation, where add puts
// it (cur), or in every generation, which has reads.
func (f *agingFilter) prefetch(h uint64, cur bool) {
	for i, g := range f.gens {
		if g != nil && (!cur || i == f.cur) {
			blk, _ := f.block(g, h)
			prefetch(unsafe.Pointer(&blk[0]))
		}
	}
}

// Expect asks for what admit will read when a contact of a new source a
// comes, which its caller knows is next (warm). The tracker index is left
// out: a flood makes few trackers, and their index stays in the cache.
func (s *Episodes) Expect(a netip.Addr) {
	key := key16(a)
	s.warm(s.prob.index.hash(&key), hashKey(key))
}

// warmAfter asks, as f leaves the flow table from its oldest end (evicted
// for room, or swept), for what the flow after it reads when it leaves in
// turn: its slot in the table and, for a probe that waits for a reply,
// what admitting its source reads. It asks too for the line of the flow
// after that, whose key the next call reads. Under a flood the flow table
// is full, and every new flow evicts the oldest this way.
func (d *Detector) warmAfter(f *flow) {
	t := d.flows
	id := t.slab.newer(f.id)
	if id == 0 {
		return
	}
	n := t.slab.at(id)
	prefetch(unsafe.Pointer(&t.slots[t.hash(&n.key)&t.mask]))
	if n.state == stPending || n.state == stSynAck {
		a, _ := n.initiator()
		d.episodes.Expect(a)
	}
	if id2 := t.slab.newer(id); id2 != 0 {
		prefetch(unsafe.Pointer(t.slab.at(id2)))
		prefetch(unsafe.Pointer(t.slab.link(id2)))
	}
}

// warmPending asks, as a probe whose reply time ran out is resolved, for
// what admitting the next one's source reads, and for the flow line of
// the one after it, which the next call reads.
func (d *Detector) warmPending() {
	if d.pendHead+1 < len(d.pending) {
		prefetch(unsafe.Pointer(d.flows.slab.at(d.pending[d.pendHead+1].id)))
	}
	if d.pendHead < len(d.pending) {
		if f := d.flows.deref(d.pending[d.pendHead]); f != nil && (f.state == stPending || f.state == stSynAck) {
			a, _ := f.initiator()
			d.episodes.Expect(a)
		}
	}
}

// Prefetch asks, for a TCP SYN, for the flow slot its lookup will read
// (the decoy-signature index's control bytes, which the probe reads next,
// are small enough to stay cached). A caller that holds a batch of decoded
// packets calls it for a packet a few ahead of the one it processes, with
// the packet's key when it has it (else nil): under a flood of new flows
// each is a miss on a table larger than the cache. It changes nothing.
//
// Only first contacts: the packets of a benign mix would pay for it. The
// check is inlined into the caller, so that other packets cost no call.
func (d *Detector) Prefetch(p *decode.Packet, k *Key) {
	if p.Kind == decode.KindTCP && p.Flags&(tcpflags.SYN|tcpflags.ACK) == tcpflags.SYN {
		d.prefetchSYN(p, k)
	}
}

// prefetchSYN is Prefetch of a SYN without ACK.
func (d *Detector) prefetchSYN(p *decode.Packet, k *Key) {
	var own Key
	if k == nil {
		own.setFlow(p)
		k = &own
	}
	t := d.flows
	prefetch(unsafe.Pointer(&t.slots[k.h&t.mask]))
}
