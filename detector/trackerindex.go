// The tracker index: every first contact and every reply-side refinement
// looks its source up here. An open-addressing table of 16-byte slots (the
// key's 64-bit hash, the tracker) keeps a lookup to one run of slots; the
// tracker, which holds the address, is read only when the whole hash
// matches. Beside the slots, one control byte each (0: empty, else 7 bits
// of the hash) lets a miss (a source without a tracker, the common case
// under a flood) read 1 byte per slot, not 16: a table of 28,000
// trackers has 64 KiB of them, which the cache keeps, against 1 MiB of
// slots. Removal shifts the run back (no tombstones). The hash has a per-table seed, so crafted sources cannot
// pile onto one run; nothing the detector reports depends on it.

package detector

import (
	"encoding/binary"
	"iter"
	"math/rand/v2"
	"net/netip"
)

type trackerSlot struct {
	h uint64 // the key's hash, never 0; 0 marks an empty slot
	t *tracker
}

// trackerIndex maps a source address to its tracker.
type trackerIndex struct {
	ctrl  []uint8       // per slot: 0 when empty, else ctrlOf its hash
	slots []trackerSlot // a power of two, at most half full
	n     int
	seed  uint64
}

func newTrackerIndex() trackerIndex { return trackerIndex{seed: rand.Uint64() | 1} }

func (x *trackerIndex) hash(a netip.Addr) uint64 {
	k := a.As16()
	lo, hi := binary.LittleEndian.Uint64(k[:8]), binary.LittleEndian.Uint64(k[8:])
	return fold(fold(lo^x.seed, hi^0x9e3779b97f4a7c15), x.seed^0xc2b2ae3d27d4eb4f) | 1
}

// ctrlOf is the control byte of a slot holding hash h: never 0.
func ctrlOf(h uint64) uint8 { return uint8(h>>56) | 1 }

// find returns a's slot and tracker, or the empty slot a would take and nil.
func (x *trackerIndex) find(a netip.Addr, h uint64) (uint64, *tracker) {
	mask := uint64(len(x.slots) - 1)
	c := ctrlOf(h)
	for i := h & mask; ; i = (i + 1) & mask {
		switch x.ctrl[i] {
		case 0:
			return i, nil
		case c:
			if s := &x.slots[i]; s.h == h && s.t.addr == a {
				return i, s.t
			}
		}
	}
}

// get returns a's tracker, nil when it has none.
func (x *trackerIndex) get(a netip.Addr) *tracker {
	if x.n == 0 {
		return nil
	}
	_, t := x.find(a, x.hash(a))
	return t
}

func (x *trackerIndex) len() int { return x.n }

// put adds t, whose address has no tracker.
func (x *trackerIndex) put(t *tracker) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	h := x.hash(t.addr)
	i, _ := x.find(t.addr, h)
	x.slots[i] = trackerSlot{h, t}
	x.ctrl[i] = ctrlOf(h)
	x.n++
}

func (x *trackerIndex) grow() {
	old := x.slots
	x.slots = make([]trackerSlot, max(64, 2*len(old)))
	x.ctrl = make([]uint8, len(x.slots))
	mask := uint64(len(x.slots) - 1)
	for _, s := range old {
		if s.h == 0 {
			continue
		}
		i := s.h & mask
		for x.ctrl[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = s
		x.ctrl[i] = ctrlOf(s.h)
	}
}

// del removes a's tracker, if any.
func (x *trackerIndex) del(a netip.Addr) {
	if x.n == 0 {
		return
	}
	slot, t := x.find(a, x.hash(a))
	if t == nil {
		return
	}
	mask := uint64(len(x.slots) - 1)
	x.slots[slot], x.ctrl[slot] = trackerSlot{}, 0
	x.n--
	for j := (slot + 1) & mask; x.ctrl[j] != 0; j = (j + 1) & mask {
		home := x.slots[j].h & mask
		// The entry stays when its home is cyclically in (slot, j].
		if (j-home)&mask < (j-slot)&mask {
			continue
		}
		x.slots[slot], x.slots[j] = x.slots[j], trackerSlot{}
		x.ctrl[slot], x.ctrl[j] = x.ctrl[j], 0
		slot = j
	}
}

// all yields every tracker, in no particular order.
func (x *trackerIndex) all() iter.Seq2[netip.Addr, *tracker] {
	return func(yield func(netip.Addr, *tracker) bool) {
		for _, s := range x.slots {
			if s.h != 0 && !yield(s.t.addr, s.t) {
				return
			}
		}
	}
}
