package fleet

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestReorder(t *testing.T) {
	type in struct {
		time int64
		seq  uint64
	}
	tests := []struct {
		name     string
		lateness int64
		adds     []in
		release  int64 // release up to the watermark, or this when not zero
		want     []int64
		late     int
		left     int
	}{
		{"in order, lateness holds the newest", 10, []in{{1, 1}, {5, 2}, {20, 3}}, 0, []int64{1, 5}, 0, 1},
		{"out of order merged", 10, []in{{5, 1}, {1, 2}, {3, 3}, {30, 4}}, 0, []int64{1, 3, 5}, 0, 1},
		{"ties by stream sequence", 0, []in{{5, 9}, {5, 2}}, 0, []int64{5, 5}, 0, 0},
		{"flush all", 10, []in{{1, 1}, {5, 2}}, math.MaxInt64, []int64{1, 5}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReorder(tt.lateness)
			for _, a := range tt.adds {
				r.add(&Contact{Time: a.time, Port: uint16(a.seq)}, a.seq, 0, nil)
			}
			upTo := r.watermark()
			if tt.release != 0 {
				upTo = tt.release
			}
			var got []int64
			var seqs []uint64
			late := 0
			r.release(upTo, func(h *held, l bool) {
				got = append(got, h.c.Time)
				seqs = append(seqs, uint64(h.c.Port))
				if l {
					late++
				}
			})
			if len(got) != len(tt.want) {
				t.Fatalf("released %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("released %v, want %v", got, tt.want)
				}
			}
			if tt.name == "ties by stream sequence" && seqs[0] != 2 {
				t.Errorf("tie released seq %v first", seqs)
			}
			if late != tt.late || r.len() != tt.left {
				t.Errorf("late %d left %d, want %d and %d", late, r.len(), tt.late, tt.left)
			}
		})
	}
}

func TestReorderLate(t *testing.T) {
	r := newReorder(0)
	r.add(&Contact{Time: 100}, 1, 0, nil)
	r.release(r.watermark(), func(*held, bool) {})
	r.add(&Contact{Time: 50}, 2, 0, nil)
	late := false
	r.release(r.watermark(), func(_ *held, l bool) { late = l })
	if !late {
		t.Error("a contact older than one already released is not counted late")
	}
	if satSub(math.MinInt64+5, 10) != math.MinInt64 {
		t.Error("satSub wraps")
	}
}

func TestReorderBound(t *testing.T) {
	r := newReorder(math.MaxInt64 / 2) // nothing passes the watermark
	for i := range 10 {
		r.add(&Contact{Time: int64(10 - i)}, uint64(i), 0, nil)
	}
	var got []int64
	n := r.releaseOver(7, func(h *held, _ bool) { got = append(got, h.c.Time) })
	if n != 3 || r.len() != 7 || len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Errorf("released %d %v, %d left", n, got, r.len())
	}
}

// TestReorderRandom checks the heap against a sort.
func TestReorderRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := newReorder(50)
	var want, got []int64
	for i := range 5000 {
		tm := int64(i) + rng.Int64N(100)
		want = append(want, tm)
		r.add(&Contact{Time: tm}, uint64(i), 0, nil)
		if i%97 == 0 {
			r.release(r.watermark(), func(h *held, _ bool) { got = append(got, h.c.Time) })
		}
	}
	r.release(math.MaxInt64, func(h *held, _ bool) { got = append(got, h.c.Time) })
	if len(got) != len(want) {
		t.Fatalf("released %d of %d", len(got), len(want))
	}
	late := 0
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			late++
		}
	}
	// With a lateness of 50 and jitter of 100 a few come late; most not.
	if late > len(got)/10 {
		t.Errorf("%d of %d released out of order", late, len(got))
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Error("released contacts differ from those added")
	}
}
