package detector

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
)

func keyN(i int) [16]byte {
	var k [16]byte
	binary.BigEndian.PutUint32(k[12:], uint32(i))
	k[10], k[11] = 0xff, 0xff // IPv4-mapped, as As16 gives it
	return k
}

// TestAgingFilter: a key is remembered for at least generations-1
// generations of inserts (no false negative), forgotten after all of them,
// and a key never added is taken for a remembered one at the rate the
// filter's shape promises.
func TestAgingFilter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		bits, k  int
		maxFalse float64 // with every generation full
	}{{"once", onceBits, onceK, 0.16}, {"twice", twiceBits, twiceK, 0.006}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newAgingFilter(1<<18, tc.bits, tc.k)
			n := f.perGen * (generations + 1)
			for i := range n {
				f.add(hashKey(keyN(i)), 0, 0)
			}
			covered := f.perGen * (generations - 1)
			for i := n - covered; i < n; i++ {
				if !f.has(hashKey(keyN(i))) {
					t.Fatalf("key %d of %d forgotten; %d per generation", i, n, f.perGen)
				}
			}
			falses := 0
			const fresh = 200_000
			for i := range fresh {
				if f.has(hashKey(keyN(n + i))) {
					falses++
				}
			}
			rate := float64(falses) / fresh
			t.Logf("%d keys per generation (%d bytes in all), false positives %.2f%%", f.perGen, f.bytes(), 100*rate)
			if rate > tc.maxFalse {
				t.Errorf("false positives %.2f%%, want at most %.0f%%", 100*rate, 100*tc.maxFalse)
			}
			old := 0
			for i := range f.perGen {
				if f.has(hashKey(keyN(i))) {
					old++
				}
			}
			if float64(old)/float64(f.perGen) > tc.maxFalse {
				t.Errorf("%d of the first generation's keys still found after %d generations", old, generations+1)
			}
		})
	}
	// Time ages a filter too: past the memory, every generation turned.
	f := newAgingFilter(1<<16, onceBits, onceK)
	f.add(hashKey(keyN(1)), 0, 100)
	for now := int64(40); now <= 200; now += 40 {
		f.add(hashKey(keyN(int(now))), now, 100)
	}
	if f.has(hashKey(keyN(1))) {
		t.Errorf("key kept past the memory")
	}
}

// TestSuspectsAreDeterministic: which suspects a full table keeps
// depends only on what it was given (a replay decides the same every
// time); a sample taken in map order made the records of a replay under a
// tight budget differ from run to run.
func TestSuspectsAreDeterministic(t *testing.T) {
	kept := func() [][16]byte {
		ev := newEvidence(1 << 16)
		ev.maxSuspects = 100
		for i := range 2000 {
			ev.keep(keyN(i), suspect{llr: float64(i % 7), last: int64(i)})
			if i%3 == 0 {
				ev.recall(keyN(i/2), int64(i), 0)
			}
		}
		keys := slices.Clone(ev.suspects.keys)
		slices.SortFunc(keys, func(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) })
		return keys
	}
	first := kept()
	for run := range 5 {
		if got := kept(); !slices.Equal(got, first) {
			t.Fatalf("run %d kept other suspects than run 0", run+1)
		}
	}
}

// TestSuspects: the exact table keeps the strongest evidence when full.
func TestSuspects(t *testing.T) {
	ev := newEvidence(1 << 16)
	ev.maxSuspects = 100
	for i := range 1000 {
		ev.keep(keyN(i), suspect{llr: float64(i % 10), last: int64(i)})
	}
	low := 0
	for _, s := range ev.suspects.vals {
		if s.llr < 5 {
			low++
		}
	}
	if ev.suspects.len() != 100 || low > 10 {
		t.Errorf("%d suspects kept, %d of them weak", ev.suspects.len(), low)
	}
	k, want := ev.suspects.keys[0], ev.suspects.vals[0]
	if _, s, ok := ev.recall(k, 1000, 0); !ok || s != want {
		t.Errorf("recall of a kept suspect: %v %v, want %v", s, ok, want)
	}
	if _, _, ok := ev.recall(k, 1000, 0); ok {
		t.Errorf("a recalled suspect stays")
	}
	ev.keep(keyN(5), suspect{llr: 9, last: 0})
	if _, _, ok := ev.recall(keyN(5), 1000, 100); ok {
		t.Errorf("a suspect past the memory is recalled")
	}
}
