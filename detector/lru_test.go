package detector

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTrackerLRU holds the LRU queue to a plain list in order of use,
// through touches, additions, removals and eviction scans (which pack the
// oldest), many compactions among them.
func TestTrackerLRU(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	l := newTrackerLRU()
	var ref []*tracker // least recently used first
	for step := range 100_000 {
		switch k := rng.IntN(10); {
		case len(ref) < 3 || k == 0:
			tr := &tracker{}
			l.pushFront(tr)
			ref = append(ref, tr)
		case k == 1:
			i := rng.IntN(len(ref))
			if rng.IntN(2) == 0 {
				i = 0 // the oldest, as eviction takes it
			}
			l.unlink(ref[i])
			ref = slices.Delete(ref, i, i+1)
		case k == 3:
			n := rng.IntN(70)
			if got, want := l.oldest(n), ref[:min(n, len(ref))]; !slices.Equal(got, want) {
				t.Fatalf("step %d: the %d oldest are %v, want %v", step, n, got, want)
			}
		default:
			i := rng.IntN(len(ref))
			if k == 2 {
				i = len(ref) - 1 // the most recent, touched again
			}
			tr := ref[i]
			l.touch(tr)
			ref = append(slices.Delete(ref, i, i+1), tr)
		}
		if step%97 == 0 || step > 99_000 {
			if got := slices.Collect(l.fromOldest()); !slices.Equal(got, ref) || l.n != len(ref) {
				t.Fatalf("step %d: %d in order of use, want %d (counted %d)", step, len(got), len(ref), l.n)
			}
		}
	}
	if len(l.q) > 2*l.n+64+1 {
		t.Fatalf("queue of %d places for %d trackers: not compacted", len(l.q), l.n)
	}
}
