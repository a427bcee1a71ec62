package detector

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestProbeIndex: random puts and removes of sources drawn from a small
// pool (long runs of colliding slots, removals inside runs) find what a
// map finds, through several doublings.
func TestProbeIndex(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		rng := rand.New(rand.NewPCG(seed, 7))
		p := newProbation()
		p.max = 1 << 20
		p.index.seed = seed // a weak seed: runs cluster
		want := map[[16]byte]bool{}
		for step := range 200_000 {
			a := spoofed(rng.IntN(5000))
			k := key16(a)
			_, i := p.find(&k)
			if (i >= 0) != want[k] {
				t.Fatalf("seed %d step %d: %v found %v, want %v", seed, step, a, i >= 0, want[k])
			}
			switch {
			case i >= 0 && rng.IntN(2) == 0:
				if e := p.remove(i); e.scanner != k {
					t.Fatalf("removed %v for %v", e.scanner, k)
				}
				delete(want, k)
			case i < 0:
				p.put(probe{scanner: k}, p.index.hash(&k))
				want[k] = true
			}
			if p.len() != len(want) {
				t.Fatalf("len %d, want %d", p.len(), len(want))
			}
		}
		for k := range want {
			if _, i := p.find(&k); i < 0 || p.ents[i].scanner != k {
				t.Fatalf("seed %d: %v lost", seed, k)
			}
		}
	}
}

// TestTrackerIndex: the same against the tracker index, with a seed of 1
// and IPv4 and IPv6 sources.
func TestTrackerIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 7))
	x := newTrackerIndex()
	x.seed = 1
	want := map[netip.Addr]*tracker{}
	for step := range 200_000 {
		a := spoofed(rng.IntN(3000))
		if rng.IntN(2) == 0 {
			a = netip.AddrFrom16(a.As16()) // the v4-mapped IPv6 address: another source
		}
		got := x.get(a)
		if got != want[a] {
			t.Fatalf("step %d: %v -> %p, want %p", step, a, got, want[a])
		}
		switch {
		case got != nil && rng.IntN(2) == 0:
			x.del(a)
			delete(want, a)
		case got == nil:
			tr := &tracker{addr: a}
			x.put(tr)
			want[a] = tr
		}
		if x.len() != len(want) {
			t.Fatalf("len %d, want %d", x.len(), len(want))
		}
	}
	n := 0
	for a, tr := range x.all() {
		if want[a] != tr {
			t.Fatalf("%v: %p, want %p", a, tr, want[a])
		}
		n++
	}
	if n != len(want) {
		t.Fatalf("all yields %d, want %d", n, len(want))
	}
}
