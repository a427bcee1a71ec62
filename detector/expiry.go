// Expiry without a walk: expire must end idle episodes and forget quiet
// trackers once a second, and walking every tracker to find the few that
// are due made each second of packet time cost O(trackers). Each tracker
// waits instead in a min-heap under the earliest packet time at which
// expire could change it (its due time); a sweep pops the trackers due and
// visits them in LRU order, least recently used first, as the walk did, so
// their records come out in the same order.

package detector

import (
	"math"
	"slices"
)

// noHeap is the heap index of a tracker that is not in the heap.
const noHeap = -1

// dueEntry is a tracker in the heap and its due time.
type dueEntry struct {
	at int64
	t  *tracker
}

// dueAt is the earliest packet time at which expire would end one of t's
// episodes or forget t, as t stands now: expire acts on a quiet time
// strictly greater than its limit. Changes that can only make it later
// (a later contact, a later probe, an episode gone) need not reschedule
// t; the ones that can make it earlier (a new episode, another contact,
// an alert) call reschedule.
func (s *Episodes) dueAt(t *tracker) int64 {
	idle := int64(s.r.Timeouts.Idle)
	memory := s.slowMemory()
	due := after(t.last, max(memory, idle))
	for _, e := range t.eps {
		if e != nil {
			due = min(due, s.episodeDue(e))
		}
	}
	return due
}

// episodeDue is the earliest packet time at which expire would end e.
func (s *Episodes) episodeDue(e *episode) int64 {
	if e.alerted {
		return after(e.last, episodeIdle(e, int64(s.r.Timeouts.Idle)))
	}
	return after(e.last, max(s.slowMemory(), int64(s.thresholds[e.tech].Window)))
}

// after is the first time strictly later than t+d, without overflow.
func after(t, d int64) int64 {
	if d >= math.MaxInt64-t {
		return math.MaxInt64
	}
	return t + d + 1
}

// reschedule moves t's place in the heap up when its episode e, just
// changed, may end sooner than t was due. Only e's limit is computed: the
// others' did not come any sooner, so the minimum with it bounds t's due
// time from below, which is all the sweep needs.
func (s *Episodes) reschedule(t *tracker, e *episode) {
	if t.hidx == noHeap {
		return // being swept: the sweep puts it back
	}
	if d := s.episodeDue(e); d < s.dueHeap[t.hidx].at {
		s.dueHeap[t.hidx].at = d
		s.siftUp(int(t.hidx))
	}
}

// schedule puts a tracker that is not in the heap into it.
func (s *Episodes) schedule(t *tracker) {
	t.hidx = int32(len(s.dueHeap))
	s.dueHeap = append(s.dueHeap, dueEntry{s.dueAt(t), t})
	s.siftUp(int(t.hidx))
}

// unschedule takes t out of the heap.
func (s *Episodes) unschedule(t *tracker) {
	i := int(t.hidx)
	if i == noHeap {
		return
	}
	last := len(s.dueHeap) - 1
	if i != last {
		s.swapDue(i, last)
	}
	s.dueHeap[last] = dueEntry{}
	s.dueHeap = s.dueHeap[:last]
	t.hidx = noHeap
	if i != last {
		s.siftDown(i)
		s.siftUp(i)
	}
}

// popDue takes out every tracker due at now, in LRU order (the least
// recently used first).
func (s *Episodes) popDue(now int64) []*tracker {
	due := s.dueBuf[:0]
	for len(s.dueHeap) > 0 && s.dueHeap[0].at <= now {
		t := s.dueHeap[0].t
		s.unschedule(t)
		due = append(due, t)
	}
	slices.SortFunc(due, func(a, b *tracker) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	s.dueBuf = due
	return due
}

// rescheduleAll recomputes every due time: the rules that set them changed.
func (s *Episodes) rescheduleAll() {
	for i := range s.dueHeap {
		s.dueHeap[i].at = s.dueAt(s.dueHeap[i].t)
	}
	for i := len(s.dueHeap)/2 - 1; i >= 0; i-- {
		s.siftDown(i)
	}
}

func (s *Episodes) swapDue(i, j int) {
	h := s.dueHeap
	h[i], h[j] = h[j], h[i]
	h[i].t.hidx, h[j].t.hidx = int32(i), int32(j)
}

func (s *Episodes) siftUp(i int) {
	h := s.dueHeap
	for i > 0 {
		p := (i - 1) / 2
		if h[p].at <= h[i].at {
			return
		}
		s.swapDue(i, p)
		i = p
	}
}

func (s *Episodes) siftDown(i int) {
	h := s.dueHeap
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && h[c+1].at < h[c].at {
			c++
		}
		if h[i].at <= h[c].at {
			return
		}
		s.swapDue(i, c)
		i = c
	}
}

// touch makes t the most recently used tracker; seq keeps the LRU order
// for the sweep's sort.
func (s *Episodes) touch(t *tracker) {
	s.byAge.touch(t)
	s.seq++
	t.seq = s.seq
}

// markDirty notes that t holds less than it is charged for (an episode ended,
// targets moved into ended): the sweep's recount sets its account.
func (s *Episodes) markDirty(t *tracker) {
	if t.flags&dirty == 0 {
		t.flags |= dirty
		s.dirtyList = append(s.dirtyList, t)
	}
}
