package detector

// trackerLRU orders the trackers by last use, most recent at the head. The
// list lives in a dense array of 8-byte nodes beside the trackers, one per
// tracker (its age index), so that moving a tracker to the head writes
// these few nodes and not its neighbours' cache lines, and the eviction
// scan walks the oldest without waiting on each tracker in turn to learn
// the next (their loads overlap). No pointers in the nodes: nothing to
// scan, no write barriers.
type trackerLRU struct {
	nodes      []ageNode
	who        []*tracker // the tracker of each node, nil when free
	free       []int32
	head, tail int32 // noAge when empty
}

// ageNode is a tracker's place in the list: the next older and newer.
type ageNode struct{ older, newer int32 }

// noAge marks no node: the end of the list, or a tracker not in it.
const noAge = -1

func newTrackerLRU() trackerLRU { return trackerLRU{head: noAge, tail: noAge} }

// pushFront puts e, not in the list, at the head.
func (l *trackerLRU) pushFront(e *tracker) {
	var i int32
	if n := len(l.free); n > 0 {
		i = l.free[n-1]
		l.free = l.free[:n-1]
		l.who[i] = e
	} else {
		i = int32(len(l.nodes))
		l.nodes = append(l.nodes, ageNode{})
		l.who = append(l.who, e)
	}
	e.age = i
	l.link(i)
}

// link makes node i the head.
func (l *trackerLRU) link(i int32) {
	l.nodes[i] = ageNode{older: l.head, newer: noAge}
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
	l.who[i] = nil
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

// oldest returns the least recently used tracker, nil when there is none.
func (l *trackerLRU) oldest() *tracker { return l.at(l.tail) }

// newer returns the tracker used next after e, nil when e is the head.
func (l *trackerLRU) newer(e *tracker) *tracker { return l.at(l.nodes[e.age].newer) }

func (l *trackerLRU) at(i int32) *tracker {
	if i == noAge {
		return nil
	}
	return l.who[i]
}
