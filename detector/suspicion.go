// Evidence: what the detector remembers of sources it no longer follows.
// A flood of spoofed one-packet sources churns the probation space in
// milliseconds, and a slow scanner's first probes go with it; these
// structures keep, in a few bits or bytes per source, how many failed
// first contacts each source had, so that its third contact makes it a
// tracker again with the evidence it had (see admit in probation.go).

package detector

import (
	"encoding/binary"
	"math/bits"
)

// suspicion holds, per source without a tracker: whether it was seen with
// one failed first contact (once), with two (twice), and for sources
// evicted from the trackers with more, their exact sequential-test state
// (suspects).
type suspicion struct {
	once, twice agingFilter
	suspects    suspectTable
	maxSuspects int
}

// suspect is the sequential-test state of a source whose tracker was
// evicted: its log likelihood ratio and when it last made a contact.
type suspect struct {
	llr  float64
	last int64
}

// suspectBytes: a suspect's map entry (16-byte key, 16-byte value) with
// the map's doubling.
const suspectBytes = 80

// Shares of the evidence table's budget, and the filters' shapes: the
// first filter takes most (a one-packet flood of 100,000 sources a second
// fills it), the second the sources it answered "seen" for, rightly or
// not.
const (
	onceShare, twiceShare = 0.67, 0.28 // suspects: the rest
	onceBits, onceK       = 7, 5       // false positives with every generation full (TestAgingFilter): 15%
	twiceBits, twiceK     = 16, 7      // 0.5%
	generations           = 4
)

func newEvidence(budget int64) suspicion {
	return suspicion{
		once:        newAgingFilter(int64(float64(budget)*onceShare), onceBits, onceK),
		twice:       newAgingFilter(int64(float64(budget)*twiceShare), twiceBits, twiceK),
		suspects:    newSuspectTable(),
		maxSuspects: max(64, int(float64(budget)*(1-onceShare-twiceShare))/suspectBytes),
	}
}

// recall returns how many failed first contacts key had that the evidence
// remembers (0, 1 or 2), or its exact sequential-test state (ok true),
// which it forgets: the caller makes a tracker of it.
func (ev *suspicion) recall(key [16]byte, now, memory int64) (prior int, sus suspect, ok bool) {
	return ev.recallHashed(key, hashKey(key), now, memory)
}

// recallHashed is recall of a key whose hashKey is h.
func (ev *suspicion) recallHashed(key [16]byte, h uint64, now, memory int64) (prior int, sus suspect, ok bool) {
	if ev.suspects.len() > 0 { // a Go map's lookup hashes the key even when empty
		if sus, ok = ev.suspects.take(key); ok {
			if memory > 0 && now-sus.last > memory {
				ok = false // past the evidence's memory
			} else {
				return 0, sus, true
			}
		}
	}
	// A source with two is in both filters (remember puts it there): a
	// spoofed one is taken for one in both at the product of their false
	// positive rates, and a tracker is made of it only then.
	switch {
	case !ev.once.has(h):
		return 0, suspect{}, false
	case ev.twice.has(h):
		return 2, suspect{}, false
	}
	return 1, suspect{}, false
}

// remember notes that key had total failed first contacts (1 or 2) and no
// tracker now. A source with two goes in both filters, so that its first
// contact is remembered as long as its second.
func (ev *suspicion) remember(key [16]byte, total int, now, memory int64) {
	h := hashKey(key)
	if total >= 2 {
		ev.twice.add(h, now, memory)
	}
	ev.once.add(h, now, memory)
}

// keep stores the sequential-test state of an evicted tracker. When the
// table is full, the weakest of a few entries (the oldest of equals) makes
// room, unless it is stronger than s. The few are sampled at a place the
// key's fixed hash picks, not in map order: a replay decides the same way
// every time.
func (ev *suspicion) keep(key [16]byte, s suspect) {
	t := &ev.suspects
	if i, ok := t.index[key]; ok {
		t.vals[i] = s
		return
	}
	if t.len() < ev.maxSuspects {
		t.add(key, s)
		return
	}
	victim := -1
	start := int(hashKey(key) % uint64(t.len()))
	for n := range min(8, t.len()) {
		i := (start + n) % t.len()
		v := t.vals[i]
		if v.llr <= s.llr && (victim < 0 || v.llr < t.vals[victim].llr ||
			v.llr == t.vals[victim].llr && v.last < t.vals[victim].last) {
			victim = i
		}
	}
	if victim < 0 {
		return
	}
	delete(t.index, t.keys[victim])
	t.keys[victim], t.vals[victim] = key, s
	t.index[key] = int32(victim)
}

// suspectTable holds the suspects in two dense slices, in an order that
// depends only on what was kept and taken, and a map from key to place.
type suspectTable struct {
	keys  [][16]byte
	vals  []suspect
	index map[[16]byte]int32
}

func newSuspectTable() suspectTable { return suspectTable{index: make(map[[16]byte]int32)} }

func (t *suspectTable) len() int { return len(t.keys) }

func (t *suspectTable) add(key [16]byte, s suspect) {
	t.index[key] = int32(len(t.keys))
	t.keys = append(t.keys, key)
	t.vals = append(t.vals, s)
}

// take returns key's state and removes it; the last entry fills its place.
func (t *suspectTable) take(key [16]byte) (suspect, bool) {
	i, ok := t.index[key]
	if !ok {
		return suspect{}, false
	}
	s := t.vals[i]
	delete(t.index, key)
	last := int32(len(t.keys) - 1)
	if i != last {
		t.keys[i], t.vals[i] = t.keys[last], t.vals[last]
		t.index[t.keys[i]] = i
	}
	t.keys, t.vals = t.keys[:last], t.vals[:last]
	return s, true
}

// hashKey mixes an address into 64 bits. The constants are fixed, so a
// replay gives the same answers every time; a crafted collision can only
// make a spoofed source look seen before, which admit guards against.
func hashKey(k [16]byte) uint64 {
	a, b := binary.LittleEndian.Uint64(k[:8]), binary.LittleEndian.Uint64(k[8:])
	return fold(fold(a^0x9e3779b97f4a7c15, b^0xc2b2ae3d27d4eb4f), 0x165667b19e3779f9)
}

// agingFilter is a Bloom filter that forgets: a ring of generations, each a
// blocked Bloom filter (all of a key's bits in one 64-byte block, one cache
// miss), of which the newest takes inserts; when it holds its capacity, or
// is older than the memory allows, the oldest is cleared and becomes the
// newest. A key is found if any generation has it: it is remembered for at
// least generations-1 generations' worth of inserts.
type agingFilter struct {
	gens    [generations][]uint64
	cur     int
	n       int   // keys added to the current generation
	perGen  int   // its capacity
	started int64 // packet time the current generation began
	words   int   // per generation, a multiple of 8
	k       int
}

func newAgingFilter(budget int64, bitsPerKey, k int) agingFilter {
	words := max(8, int(budget/generations/8)&^7)
	return agingFilter{words: words, k: k, perGen: words * 64 / bitsPerKey}
}

// bytes is the filter's memory once every generation is in use.
func (f *agingFilter) bytes() int64 { return generations * int64(f.words) * 8 }

// block returns h's block (8 words) in generation g and the first of its
// k bit positions, each 9 bits (one of 512) of a remix of h.
func (f *agingFilter) block(g []uint64, h uint64) ([]uint64, uint64) {
	hi, _ := bits.Mul64(h, uint64(f.words/8))
	return g[hi*8 : hi*8+8 : hi*8+8], h * 0xff51afd7ed558ccd
}

func (f *agingFilter) has(h uint64) bool {
	for _, g := range f.gens {
		if g == nil {
			continue
		}
		blk, x := f.block(g, h)
		found := true
		for range f.k {
			i := x >> 55
			if blk[i>>6]&(1<<(i&63)) == 0 {
				found = false
				break
			}
			x = bits.RotateLeft64(x, 9)
		}
		if found {
			return true
		}
	}
	return false
}

func (f *agingFilter) add(h uint64, now, memory int64) {
	if f.gens[f.cur] == nil || f.n >= f.perGen || memory > 0 && now-f.started > memory/(generations-1) {
		f.rotate(now)
	}
	blk, x := f.block(f.gens[f.cur], h)
	for range f.k {
		i := x >> 55
		blk[i>>6] |= 1 << (i & 63)
		x = bits.RotateLeft64(x, 9)
	}
	f.n++
}

// rotate starts a new generation in place of the oldest.
func (f *agingFilter) rotate(now int64) {
	if f.gens[f.cur] != nil {
		f.cur = (f.cur + 1) % generations
	}
	if f.gens[f.cur] == nil {
		f.gens[f.cur] = make([]uint64, f.words) // untouched pages cost nothing until used
	} else {
		clear(f.gens[f.cur])
	}
	f.n, f.started = 0, now
}
