package detector

// link is the intrusive part of an LRU list element.
type link[T any] struct{ prev, next *T }

// linked is a pointer to an element that carries its own links.
type linked[T any] interface {
	*T
	links() *link[T]
}

// lru is an intrusive doubly linked list, most recently used at the head.
// Intrusive, so touching an element on every packet allocates nothing.
type lru[T any, P linked[T]] struct{ head, tail *T }

func (l *lru[T, P]) pushFront(e *T) {
	le := P(e).links()
	le.prev, le.next = nil, l.head
	if l.head != nil {
		P(l.head).links().prev = e
	}
	l.head = e
	if l.tail == nil {
		l.tail = e
	}
}

func (l *lru[T, P]) unlink(e *T) {
	le := P(e).links()
	if le.prev != nil {
		P(le.prev).links().next = le.next
	} else {
		l.head = le.next
	}
	if le.next != nil {
		P(le.next).links().prev = le.prev
	} else {
		l.tail = le.prev
	}
	le.prev, le.next = nil, nil
}

// touch moves e to the head.
func (l *lru[T, P]) touch(e *T) {
	if l.head != e {
		l.unlink(e)
		l.pushFront(e)
	}
}

// older returns the element used just before e.
func (l *lru[T, P]) older(e *T) *T { return P(e).links().prev }
