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

import "unsafe"

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
		next := &p.ents[e.prev].scanner
		prefetch(unsafe.Pointer(&next[0]))
		prefetch(unsafe.Pointer(&next[len(next)-1])) // it may straddle two lines
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
