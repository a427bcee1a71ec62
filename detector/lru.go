package detector

// link is the intrusive part of an LRU list element.
type link struct{ prev, next *tracker }

// trackerLRU is an intrusive doubly linked list of trackers, most recently
// used at the head. Intrusive, so touching a tracker on every contact
// allocates nothing; not generic, so that touch inlines.
type trackerLRU struct{ head, tail *tracker }

func (l *trackerLRU) pushFront(e *tracker) {
	e.prev, e.next = nil, l.head
	if l.head != nil {
		l.head.prev = e
	}
	l.head = e
	if l.tail == nil {
		l.tail = e
	}
}

func (l *trackerLRU) unlink(e *tracker) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

// touch moves e to the head.
func (l *trackerLRU) touch(e *tracker) {
	if l.head != e {
		l.unlink(e)
		l.pushFront(e)
	}
}

// older returns the element used just before e.
func (l *trackerLRU) older(e *tracker) *tracker { return e.prev }
