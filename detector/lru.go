package detector

import "iter"

// trackerLRU orders the trackers by last use, most recent at the head. The
// list lives in a dense array of 16-byte nodes beside the trackers, one
// per tracker (its age index), so that moving a tracker to the head writes
// these few nodes and not its neighbours' cache lines (nor pointers: no
// write barriers), and the eviction scan walks the oldest without waiting
// on each tracker in turn to learn the next (their loads overlap).
type trackerLRU struct {
	nodes      []ageNode
	free       []int32
	head, tail int32 // noAge when empty
}

// ageNode is a tracker's place in the list: the tracker (nil when the node
// is free), the next older and the next newer.
type ageNode struct {
	t            *tracker
	older, newer int32
}

// noAge marks no node: the end of the list, or a tracker not in it.
const noAge = -1

func newTrackerLRU() trackerLRU { return trackerLRU{head: noAge, tail: noAge} }

// pushFront puts e, not in the list, at the head.
func (l *trackerLRU) pushFront(e *tracker) {
	var i int32
	if n := len(l.free); n > 0 {
		i = l.free[n-1]
		l.free = l.free[:n-1]
	} else {
		i = int32(len(l.nodes))
		l.nodes = append(l.nodes, ageNode{})
	}
	l.nodes[i].t = e
	e.age = i
	l.link(i)
}

// link makes node i the head.
func (l *trackerLRU) link(i int32) {
	n := &l.nodes[i]
	n.older, n.newer = l.head, noAge
	if l.head != noAge {
		l.nodes[l.head].newer = i
	} else {
		l.tail = i
	}
	l.head = i
}

// cut takes node i out of the list; it stays e's.
func (l *trackerLRU) cut(i int32) {
	n := l.nodes[i]
	if n.newer != noAge {
		l.nodes[n.newer].older = n.older
	} else {
		l.head = n.older
	}
	if n.older != noAge {
		l.nodes[n.older].newer = n.newer
	} else {
		l.tail = n.newer
	}
}

// unlink takes e out of the list.
func (l *trackerLRU) unlink(e *tracker) {
	i := e.age
	if i == noAge {
		return
	}
	l.cut(i)
	l.nodes[i].t = nil
	l.free = append(l.free, i)
	e.age = noAge
}

// touch moves e to the head.
func (l *trackerLRU) touch(e *tracker) {
	if i := e.age; i != l.head {
		l.cut(i)
		l.link(i)
	}
}

// fromOldest yields the trackers from the least recently used on. The next
// is read from the nodes, not from the tracker yielded: the caller's loads
// of successive trackers do not wait on each other.
func (l *trackerLRU) fromOldest() iter.Seq[*tracker] {
	return func(yield func(*tracker) bool) {
		for i := l.tail; i != noAge; {
			n := &l.nodes[i]
			i = n.newer
			if !yield(n.t) {
				return
			}
		}
	}
}
