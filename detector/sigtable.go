// The decoy-signature index: every first-contact probe is looked up and
// stored here, so it is a flat open-addressing table of pointer-free
// slots (nothing for the garbage collector to scan), hashed with a
// per-table seed (crafted probes cannot pile onto one run of slots) and
// emptied at once by a generation count, as a map of up to cap
// signatures that is cleared when full.

package detector

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// sigSlot is 64 bytes, one cache line: its fields fill the signature's
// padding first.
type sigSlot struct {
	sig     probeSig
	is6     bool
	tool    tool
	copied  bool
	gen     uint32 // the table's generation when stored: older ones are empty
	scanner [16]byte
	t       int64
}

type sigTable struct {
	slots []sigSlot // a power of two, at least 4/3 of cap
	gen   uint32
	n     int // signatures of the current generation
	cap   int
	seed  uint64
}

func newSigTable() sigTable { return sigTable{gen: 1, seed: rand.Uint64() | 1} }

func (t *sigTable) len() int { return t.n }

func (t *sigTable) hash(sig *probeSig) uint64 {
	a := binary.LittleEndian.Uint64(sig.target[:8])
	b := binary.LittleEndian.Uint64(sig.target[8:])
	c := uint64(sig.port) | uint64(sig.ipid)<<16 | uint64(sig.sport)<<32 | uint64(sig.proto)<<48
	h := fold(a^t.seed, b^0x9e3779b97f4a7c15)
	return fold(h^c, uint64(sig.seq)^t.seed^0xc2b2ae3d27d4eb4f)
}

// find returns the slot of sig, or the empty slot it would go in.
func (t *sigTable) find(sig *probeSig) (*sigSlot, bool) {
	mask := uint64(len(t.slots) - 1)
	for i := t.hash(sig) & mask; ; i = (i + 1) & mask {
		sl := &t.slots[i]
		if sl.gen != t.gen {
			return sl, false
		}
		if sl.sig == *sig {
			return sl, true
		}
	}
}

// get returns what was stored under sig in this generation.
func (t *sigTable) get(sig probeSig) (sigSeen, bool) {
	if t.n == 0 {
		return sigSeen{}, false
	}
	sl, ok := t.find(&sig)
	if !ok {
		return sigSeen{}, false
	}
	return sigSeen{scanner: addrOf(sl.scanner, sl.is6), t: sl.t, tool: sl.tool, copied: sl.copied}, true
}

// markCopied notes that another source sent sig.
func (t *sigTable) markCopied(sig probeSig) {
	if sl, ok := t.find(&sig); ok {
		sl.copied = true
	}
}

// set stores v under sig. The caller keeps the table under its cap
// (clear).
func (t *sigTable) set(sig probeSig, v sigSeen) {
	if len(t.slots) == 0 {
		t.slots = make([]sigSlot, 1<<bits.Len(uint(max(t.cap, 1)*4/3)))
	}
	sl, ok := t.find(&sig)
	if !ok {
		t.n++
	}
	*sl = sigSlot{sig: sig, gen: t.gen, scanner: v.scanner.As16(), t: v.t, is6: v.scanner.Is6(), tool: v.tool, copied: v.copied}
}

// clear empties the table.
func (t *sigTable) clear() {
	t.n = 0
	t.gen++
	if t.gen == 0 { // wrapped: slots of generation 0 would look current
		clear(t.slots)
		t.gen = 1
	}
}

// setCap sets how many signatures the table holds before noteProbe clears
// it. What it holds stays, as in a map whose bound changed.
func (t *sigTable) setCap(n int) {
	if n == t.cap {
		return
	}
	old, gen, held := t.slots, t.gen, t.n
	t.cap, t.slots, t.n = n, nil, 0
	if held == 0 {
		return
	}
	t.slots = make([]sigSlot, 1<<bits.Len(uint(max(n, held)*4/3)))
	for i := range old {
		if sl := &old[i]; sl.gen == gen {
			t.set(sl.sig, sigSeen{scanner: addrOf(sl.scanner, sl.is6), t: sl.t, tool: sl.tool, copied: sl.copied})
		}
	}
}
