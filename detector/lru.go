package detector

import "iter"

// trackerLRU orders the trackers by last use. It is a queue of trackers
// in the order of their last touch, the least recently used first: a
// touch appends the tracker and clears the place it leaves (one store; no
// other tracker and no neighbour is read or written), so the queue has
// holes (nil), and the first tracker in it is the least recently used.
// When the holes outnumber the trackers the queue is compacted, each
// tracker's place rewritten: less than one store per touch, amortized.
// The eviction scan reads the queue in order (oldest), so its loads of
// the trackers do not wait on each other, and packs what it read, so that
// the holes among the oldest are read once.
type trackerLRU struct {
	q    []*tracker // from the least recently used on; nil: a place left
	head int        // q[:head] holds no tracker
	n    int        // trackers in q
	buf  []*tracker // oldest's
}

// noAge is the place of a tracker not in the queue.
const noAge = -1

func newTrackerLRU() trackerLRU { return trackerLRU{} }

// pushFront adds e, not in the queue, as the most recently used.
func (l *trackerLRU) pushFront(e *tracker) {
	l.n++
	l.put(e)
}

// put appends e, counted in n and not in the queue.
func (l *trackerLRU) put(e *tracker) {
	if len(l.q) >= 2*l.n+64 { // holes (before the head too) outnumber the trackers
		l.compact()
	}
	e.age = int32(len(l.q))
	l.q = append(l.q, e)
}

// leave clears e's place.
func (l *trackerLRU) leave(e *tracker) {
	l.q[e.age] = nil
	if int(e.age) == l.head {
		for l.head < len(l.q) && l.q[l.head] == nil {
			l.head++
		}
	}
}

// compact moves the trackers to the front of the queue, in order.
func (l *trackerLRU) compact() {
	j := 0
	for _, t := range l.q[l.head:] {
		if t != nil {
			l.q[j] = t
			t.age = int32(j)
			j++
		}
	}
	clear(l.q[j:])
	l.q, l.head = l.q[:j], 0
}

// unlink takes e out of the queue.
func (l *trackerLRU) unlink(e *tracker) {
	if e.age == noAge {
		return
	}
	l.leave(e)
	e.age = noAge
	l.n--
}

// touch makes e, in the queue, the most recently used.
func (l *trackerLRU) touch(e *tracker) {
	if int(e.age) != len(l.q)-1 {
		l.leave(e)
		l.put(e)
	}
}

// oldest returns the k least recently used trackers (fewer when there are
// not as many), the oldest first, valid until the next call. It moves
// them up to the place of the last, next to the newer ones, so the holes
// it passed are behind the head.
func (l *trackerLRU) oldest(k int) []*tracker {
	buf := l.buf[:0]
	i := l.head
	for ; i < len(l.q) && len(buf) < k; i++ {
		if t := l.q[i]; t != nil {
			buf = append(buf, t)
		}
	}
	if start := i - len(buf); start > l.head {
		clear(l.q[l.head:start])
		for j, t := range buf {
			l.q[start+j] = t
			t.age = int32(start + j)
		}
		l.head = start
	}
	l.buf = buf
	return buf
}

// fromOldest yields the trackers from the least recently used on.
func (l *trackerLRU) fromOldest() iter.Seq[*tracker] {
	return func(yield func(*tracker) bool) {
		for _, t := range l.q[l.head:] {
			if t != nil && !yield(t) {
				return
			}
		}
	}
}
