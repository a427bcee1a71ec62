package fleet

import "container/heap"

// inflight is one stream message whose contacts wait in the reorder
// buffer; it is acknowledged when the last of them has been fed.
type inflight struct {
	ack  func() error // nil for messages read while rebuilding
	left int
}

type held struct {
	c   Contact
	seq uint64 // stream sequence, then position in the batch: a total order
	idx int
	msg *inflight
}

// reorder holds contacts until the watermark passes them, so that the
// engine sees the merged contacts of all sensors in event-time order even
// when a sensor's batches arrive late. The watermark is the newest contact
// time seen minus the allowed lateness; a contact older than what was
// already released is fed at once and counted late.
type reorder struct {
	h        heldHeap
	lateness int64
	maxSeen  int64
	released int64 // time of the last contact released
	started  bool
}

func newReorder(lateness int64) *reorder { return &reorder{lateness: lateness} }

func (r *reorder) add(c *Contact, seq uint64, idx int, msg *inflight) {
	if !r.started || c.Time > r.maxSeen {
		r.maxSeen, r.started = c.Time, true
	}
	heap.Push(&r.h, held{c: *c, seq: seq, idx: idx, msg: msg})
}

// watermark is the event time up to which contacts are released.
func (r *reorder) watermark() int64 {
	if !r.started {
		return 0
	}
	return satSub(r.maxSeen, r.lateness)
}

// release pops the contacts at or before t, oldest first, and calls f for
// each with whether it came after a newer contact had been released.
func (r *reorder) release(t int64, f func(h *held, late bool)) {
	for len(r.h) > 0 && r.h[0].c.Time <= t {
		h := heap.Pop(&r.h).(held)
		late := h.c.Time < r.released
		r.released = max(r.released, h.c.Time)
		f(&h, late)
	}
}

func (r *reorder) len() int { return len(r.h) }

// satSub is a-b without wrapping below the smallest int64.
func satSub(a, b int64) int64 {
	if b > 0 && a < -1<<63+b {
		return -1 << 63
	}
	return a - b
}

type heldHeap []held

func (h heldHeap) Len() int { return len(h) }
func (h heldHeap) Less(i, j int) bool {
	a, b := &h[i], &h[j]
	if a.c.Time != b.c.Time {
		return a.c.Time < b.c.Time
	}
	if a.seq != b.seq {
		return a.seq < b.seq
	}
	return a.idx < b.idx
}
func (h heldHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *heldHeap) Push(x any)   { *h = append(*h, x.(held)) }
func (h *heldHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = held{}
	*h = old[:len(old)-1]
	return x
}
