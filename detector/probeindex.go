// The probation index: every first contact of a source without a tracker
// looks its source up here, and under a flood of spoofed sources almost
// every lookup misses and almost every entry is soon removed. So it is an
// open-addressing table of 8-byte slots (32 bits of the hash, the entry's
// place) over the probation entries, which hold the keys: a lookup that
// misses reads a run of slots in one cache line, where a Go map's groups
// hold whole 16-byte keys; removal shifts the run back (no tombstones),
// reading the slots only: a slot's home is in its hash bits.
// The hash has a per-table seed, so crafted sources cannot pile onto one
// run of slots; the probation's order and contents do not depend on it.

package detector

import (
	"encoding/binary"
	"math/rand/v2"
)

// probeIndex maps a source's 16-byte address to its probation entry.
type probeIndex struct {
	slots []uint64 // a power of two, at most half full: hash>>32<<32 | entry+1; 0 is empty
	// A slot's home is its hash's bits from 32 up: at most 2^32 slots.
	n    int
	seed uint64
}

func newProbeIndex() probeIndex { return probeIndex{seed: rand.Uint64() | 1} }

func (x *probeIndex) hash(k *[16]byte) uint64 {
	a, b := binary.LittleEndian.Uint64(k[:8]), binary.LittleEndian.Uint64(k[8:])
	return fold(fold(a^x.seed, b^0x9e3779b97f4a7c15), x.seed^0xc2b2ae3d27d4eb4f)
}

const slotTag = uint64(0xffffffff) << 32

// find returns k's slot and entry, or the empty slot it would take and -1.
func (p *probation) find(k *[16]byte) (slot uint64, ent int32) {
	return p.findHashed(k, p.index.hash(k))
}

// findHashed is find of a key whose hash is h.
func (p *probation) findHashed(k *[16]byte, h uint64) (slot uint64, ent int32) {
	x := &p.index
	if len(x.slots) == 0 {
		return 0, -1
	}
	mask := uint64(len(x.slots) - 1)
	for i := h >> 32 & mask; ; i = (i + 1) & mask {
		v := x.slots[i]
		if v == 0 {
			return i, -1
		}
		if v&slotTag == h&slotTag {
			if e := int32(uint32(v)) - 1; p.ents[e].scanner == *k {
				return i, e
			}
		}
	}
}

// insert adds the key whose hash is h, not in the index, for entry ent:
// in the first empty slot from its home, where find would stop.
func (p *probation) insert(h uint64, ent int32) {
	x := &p.index
	if 2*(x.n+1) > len(x.slots) {
		p.growIndex()
	}
	mask := uint64(len(x.slots) - 1)
	i := h >> 32 & mask
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = h&slotTag | uint64(uint32(ent+1))
	x.n++
}

// growIndex doubles the slots and places every entry again.
func (p *probation) growIndex() {
	x := &p.index
	old := x.slots
	x.slots = make([]uint64, max(64, 2*len(old)))
	mask := uint64(len(x.slots) - 1)
	for _, v := range old {
		if v == 0 {
			continue
		}
		i := v >> 32 & mask
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = v
	}
}

// delete empties slot and moves back the entries of its run that would
// not be found past the gap.
func (p *probation) delete(slot uint64) {
	x := &p.index
	mask := uint64(len(x.slots) - 1)
	x.slots[slot] = 0
	x.n--
	for j := (slot + 1) & mask; x.slots[j] != 0; j = (j + 1) & mask {
		v := x.slots[j]
		home := v >> 32 & mask
		// The entry stays when its home is cyclically in (slot, j].
		if (j-home)&mask < (j-slot)&mask {
			continue
		}
		x.slots[slot], x.slots[j] = v, 0
		slot = j
	}
}
