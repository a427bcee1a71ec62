package fleet

// inflight is one stream message whose contacts wait in the reorder
// buffer; it is acknowledged when the last of them has been fed.
type inflight struct {
	ack  func() error // nil for messages read while rebuilding
	left int
}

type held struct {
	c   Contact
	msg *inflight
}

// key orders held contacts: event time, then stream sequence and position
// in the batch (a total order, so a replay releases in the same order).
type key struct {
	time int64
	seq  uint64
	idx  int32
	slot int32 // index of the contact in reorder.slab
}

func (a *key) less(b *key) bool {
	if a.time != b.time {
		return a.time < b.time
	}
	if a.seq != b.seq {
		return a.seq < b.seq
	}
	return a.idx < b.idx
}

// reorder holds contacts until the watermark passes them, so that the
// engine sees the merged contacts of all sensors in event-time order even
// when a sensor's batches arrive late. The watermark is the newest contact
// time seen minus the allowed lateness; a contact older than what was
// already released is fed at once and counted late.
type reorder struct {
	h        []key // a min-heap of small keys; the contacts stay put in slab
	slab     []held
	free     []int32
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
	var slot int32
	if n := len(r.free); n > 0 {
		slot, r.free = r.free[n-1], r.free[:n-1]
	} else {
		slot = int32(len(r.slab))
		r.slab = append(r.slab, held{})
	}
	r.slab[slot] = held{c: *c, msg: msg}
	r.h = append(r.h, key{time: c.Time, seq: seq, idx: int32(idx), slot: slot})
	r.up(len(r.h) - 1)
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
	for len(r.h) > 0 && r.h[0].time <= t {
		k := r.h[0]
		n := len(r.h) - 1
		r.h[0] = r.h[n]
		r.h = r.h[:n]
		r.down(0)
		h := &r.slab[k.slot]
		late := k.time < r.released
		r.released = max(r.released, k.time)
		f(h, late)
		*h = held{}
		r.free = append(r.free, k.slot)
	}
}

// releaseOver pops the oldest contacts until at most n wait: a bound on
// memory when event time stalls or the lateness is long for the rate.
func (r *reorder) releaseOver(n int, f func(h *held, late bool)) int {
	popped := 0
	for len(r.h) > n {
		r.release(r.h[0].time, func(h *held, late bool) {
			popped++
			f(h, late)
		})
	}
	return popped
}

func (r *reorder) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !r.h[i].less(&r.h[parent]) {
			return
		}
		r.h[i], r.h[parent] = r.h[parent], r.h[i]
		i = parent
	}
}

func (r *reorder) down(i int) {
	n := len(r.h)
	for {
		least := i
		if l := 2*i + 1; l < n && r.h[l].less(&r.h[least]) {
			least = l
		}
		if rt := 2*i + 2; rt < n && r.h[rt].less(&r.h[least]) {
			least = rt
		}
		if least == i {
			return
		}
		r.h[i], r.h[least] = r.h[least], r.h[i]
		i = least
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
