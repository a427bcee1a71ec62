// An episode's targets: most episodes (a probe or two of a source seen in
// passing) have one, so the first lives in the episode itself; the next
// few are a short list searched in order (a client's handful of servers:
// comparing addresses costs less than hashing one), and a map is made
// only past them.

package detector

import (
	"iter"
	"net/netip"
)

// targetMap maps each target of an episode to the ports probed on it.
type targetMap struct {
	first netip.Addr  // valid once the episode has a target
	rest  *targetRest // made for a second target
	// The port set of the first target, in the episode: one allocation
	// fewer per episode.
	firstPorts portSet
}

// targetRest holds the targets after the first: fewTargets in the order
// they came, their port sets beside them (no pointer to follow), then a
// map.
type targetRest struct {
	n     int // in few; first, in the cache line of few[0]
	few   [fewTargets]netip.Addr
	ports [fewTargets]portSet
	more  map[netip.Addr]*portSet
}

// fewTargets is how many targets after the first are searched in order:
// with them, a targetRest (320 B) takes no more than a map of two.
const fewTargets = 4

// get returns target's port set, nil when it has none.
func (m *targetMap) get(a netip.Addr) *portSet {
	if a == m.first && a.IsValid() {
		return &m.firstPorts
	}
	r := m.rest
	if r == nil {
		return nil
	}
	for i := range r.few[:r.n] {
		if r.few[i] == a {
			return &r.ports[i]
		}
	}
	if r.more == nil {
		return nil
	}
	return r.more[a]
}

// put adds a target not in m and returns its (empty) port set.
func (m *targetMap) put(a netip.Addr) *portSet {
	if !m.first.IsValid() {
		m.first = a
		return &m.firstPorts
	}
	r := m.rest
	if r == nil {
		// Written before it is read (flowSlab.alloc says why): a new
		// one, often in a page the kernel never mapped, is not asked
		// for its count.
		r = &targetRest{n: 1}
		r.few[0] = a
		m.rest = r
		return &r.ports[0]
	}
	if r.n < fewTargets {
		r.few[r.n] = a
		r.n++
		return &r.ports[r.n-1]
	}
	if r.more == nil {
		r.more = make(map[netip.Addr]*portSet)
	}
	ps := &portSet{}
	r.more[a] = ps
	return ps
}

func (m *targetMap) len() int {
	switch {
	case !m.first.IsValid():
		return 0
	case m.rest == nil:
		return 1
	}
	return 1 + m.rest.n + len(m.rest.more)
}

// keys yields every target: the first, the few in order, the others in
// map order.
func (m *targetMap) keys() iter.Seq[netip.Addr] {
	return func(yield func(netip.Addr) bool) {
		if !m.first.IsValid() || !yield(m.first) {
			return
		}
		r := m.rest
		if r == nil {
			return
		}
		for _, a := range r.few[:r.n] {
			if !yield(a) {
				return
			}
		}
		for a := range r.more {
			if !yield(a) {
				return
			}
		}
	}
}

// has reports whether a is a target.
func (m *targetMap) has(a netip.Addr) bool { return m.get(a) != nil }

// winSmall is the window length up to which an episode counts its window's
// entries per target by reading the window: a map of counts is made past it.
const winSmall = 8

// winCount is how many window entries target has.
func (e *episode) winCount(target netip.Addr) int {
	if e.winPerTarget != nil {
		return e.winPerTarget[target]
	}
	n := 0
	for i := range e.win {
		if e.win[i].target == target {
			n++
		}
	}
	return n
}

// winHosts is how many distinct targets the window holds.
func (e *episode) winHosts() int {
	if e.winPerTarget != nil {
		return len(e.winPerTarget)
	}
	n := 0
outer:
	for i := range e.win {
		for j := range i {
			if e.win[j].target == e.win[i].target {
				continue outer
			}
		}
		n++
	}
	return n
}

// winAppend adds a first contact with target to the window.
func (e *episode) winAppend(now int64, target netip.Addr) {
	e.win = append(e.win, winEntry{now, target})
	switch {
	case e.winPerTarget != nil:
		e.winPerTarget[target]++
	case len(e.win) > winSmall:
		e.winPerTarget = make(map[netip.Addr]int, len(e.win))
		for _, w := range e.win {
			e.winPerTarget[w.target]++
		}
	}
}
