// The decoy-signature index: every first-contact probe is looked up and
// stored here, and almost every one is new. So the table is a small
// open-addressing index over a dense array of pointer-free entries
// (nothing for the garbage collector to scan). Each slot has a control
// byte (a 4-bit generation, 4 bits of the hash) and 4 bytes (16 more
// bits of the hash, the entry's 16-bit place: maxSigs is 1<<16): a probe
// never seen reads the control bytes only, 2 per signature at most (64
// KiB for the default cap, which the cache keeps), where a map's groups
// hold whole keys and values. The hash has a per-table seed, so crafted
// probes cannot pile onto one run of slots, and a generation count
// empties the table at once, as a map of up to cap signatures that is
// cleared when full.

package detector

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// sigEntry is 64 bytes, one cache line: its fields fill the signature's
// padding first.
type sigEntry struct {
	sig     probeSig
	is6     bool
	tool    tool
	copied  bool
	scanner [16]byte
	t       int64
}

type sigTable struct {
	ctrl  []uint8    // per slot: gen<<4 | tag&15; slots of other generations are empty
	index []uint32   // as long, a power of two, at least twice cap: tag<<16 | entry
	ents  []sigEntry // the signatures of the current generation, in order stored (at most maxSigs)
	gen   uint8      // 1 to 15
	cap   int
	seed  uint64
}

// An entry's place fits the slot's 16 bits.
var _ [1<<16 - maxSigs]struct{}

func newSigTable() sigTable { return sigTable{gen: 1, seed: rand.Uint64() | 1} }

func (t *sigTable) len() int { return len(t.ents) }

func (t *sigTable) hash(sig *probeSig) uint64 {
	a := binary.LittleEndian.Uint64(sig.target[:8])
	b := binary.LittleEndian.Uint64(sig.target[8:])
	c := uint64(sig.port) | uint64(sig.ipid)<<16 | uint64(sig.sport)<<32 | uint64(sig.proto)<<48
	h := fold(a^t.seed, b^0x9e3779b97f4a7c15)
	return fold(h^c, uint64(sig.seq)^t.seed^0xc2b2ae3d27d4eb4f)
}

// find returns the index slot of sig and its entry (-1 when absent: the
// slot is the empty one it would take).
func (t *sigTable) find(sig *probeSig) (slot uint64, ent int, tag uint32) {
	h := t.hash(sig)
	tag = uint32(h >> 48)
	c := t.ctrlOf(tag)
	mask := uint64(len(t.index) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch t.ctrl[i] {
		case c:
			if v := t.index[i]; v>>16 == tag {
				if e := int(uint16(v)); t.ents[e].sig == *sig {
					return i, e, tag
				}
			}
		default:
			if t.ctrl[i]>>4 != t.gen {
				return i, -1, tag
			}
		}
	}
}

// ctrlOf is the control byte of a slot of this generation with tag.
func (t *sigTable) ctrlOf(tag uint32) uint8 { return t.gen<<4 | uint8(tag&15) }

// put fills the empty slot with entry e under tag.
func (t *sigTable) put(slot uint64, tag uint32, e int) {
	t.ctrl[slot] = t.ctrlOf(tag)
	t.index[slot] = tag<<16 | uint32(e)
}

// makeIndex makes an empty index for n signatures.
func (t *sigTable) makeIndex(n int) {
	size := 1 << bits.Len(uint(max(n, 1)*2-1))
	t.ctrl, t.index = make([]uint8, size), make([]uint32, size)
}

// get returns what was stored under sig in this generation.
func (t *sigTable) get(sig probeSig) (sigSeen, bool) {
	if len(t.ents) == 0 {
		return sigSeen{}, false
	}
	_, e, _ := t.find(&sig)
	if e < 0 {
		return sigSeen{}, false
	}
	en := &t.ents[e]
	return sigSeen{scanner: addrOf(en.scanner, en.is6), t: en.t, tool: en.tool, copied: en.copied}, true
}

// sigPlace is where find left off: sig's slot and entry (ent -1: absent,
// the slot is the empty one it would take), valid until the table changes.
type sigPlace struct {
	slot uint64
	tag  uint32
	ent  int
}

// lookup returns sig's entry in this generation (nil when absent) and its
// place, for store: a probe is looked up and stored with one search.
func (t *sigTable) lookup(sig *probeSig) (*sigEntry, sigPlace) {
	if len(t.ents) == 0 {
		return nil, sigPlace{ent: -2} // no index yet, or emptied: store searches
	}
	slot, e, tag := t.find(sig)
	if e < 0 {
		return nil, sigPlace{slot, tag, -1}
	}
	return &t.ents[e], sigPlace{slot, tag, e}
}

// store stores v under sig at the place lookup gave, when the table has
// not changed since.
func (t *sigTable) store(at sigPlace, sig *probeSig, v sigSeen) {
	en := sigEntry{sig: *sig, scanner: v.scanner.As16(), t: v.t, is6: v.scanner.Is6(), tool: v.tool, copied: v.copied}
	switch {
	case at.ent >= 0:
		t.ents[at.ent] = en
	case at.ent == -1:
		t.put(at.slot, at.tag, len(t.ents))
		t.ents = append(t.ents, en)
	default:
		t.set(*sig, v)
	}
}

// markCopied notes that another source sent sig.
func (t *sigTable) markCopied(sig probeSig) {
	if _, e, _ := t.find(&sig); e >= 0 {
		t.ents[e].copied = true
	}
}

// set stores v under sig. The caller keeps the table under its cap
// (clear).
func (t *sigTable) set(sig probeSig, v sigSeen) {
	if len(t.index) == 0 {
		t.makeIndex(t.cap)
	}
	en := sigEntry{sig: sig, scanner: v.scanner.As16(), t: v.t, is6: v.scanner.Is6(), tool: v.tool, copied: v.copied}
	slot, e, tag := t.find(&sig)
	if e >= 0 {
		t.ents[e] = en
		return
	}
	t.put(slot, tag, len(t.ents))
	t.ents = append(t.ents, en)
}

// clear empties the table.
func (t *sigTable) clear() {
	t.ents = t.ents[:0]
	t.gen++
	if t.gen == 1<<4 { // wrapped: slots of an old generation would look current
		clear(t.ctrl)
		t.gen = 1
	}
}

// setCap sets how many signatures the table holds before noteProbe clears
// it. What it holds stays, as in a map whose bound changed.
func (t *sigTable) setCap(n int) {
	if n == t.cap {
		return
	}
	held := t.ents
	t.cap, t.ctrl, t.index, t.ents = n, nil, nil, nil
	if len(held) == 0 {
		return
	}
	t.makeIndex(max(n, len(held)))
	for _, en := range held {
		t.set(en.sig, sigSeen{scanner: addrOf(en.scanner, en.is6), t: en.t, tool: en.tool, copied: en.copied})
	}
}
