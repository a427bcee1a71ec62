// Memory: every table the detector keeps is capped in bytes, from the
// rules' memory budget. Each table's share (rules.MemoryFor) divided by its
// measured bytes per entry gives its cap; the count caps of rules.State
// stay upper bounds.

package detector

import (
	"github.com/scanwatch/scanwatch/rules"
)

// Bytes per entry, measured: TestEntrySizes holds each to a heap
// measurement (runtime.MemStats after GC, 200,000 entries) within 20%. A
// struct's cost is its Go size class, not unsafe.Sizeof, plus its share of
// the containers that hold it.
const (
	// flowBytes: a flow (136 B, in the 144 B size class), up to 4 slots of
	// the hash table (it doubles at half full) and up to 2 references in
	// the pending-probe queue (24 B each; the queue is compacted at twice
	// the flow cap). Measured: 192 B per pending flow at 2.6 slots each.
	flowBytes = 144 + 4*8 + 2*24
	// trackerBytes: a tracker (216 B, in the 224 B class), its slot in
	// the tracker index (17 B with its control byte, a quarter to half
	// full), its LRU node (16 B), its place in the due heap (about 305 B
	// measured: a one-episode tracker less its episode).
	trackerBytes = 310
	// episodeBytes: an episode (632 B, in the 640 B class with its malloc
	// header) holding its first target in itself, with that target's
	// first ports inline (portset.go) and its window (672 B measured: a
	// tracker's second episode; a list and a map are made only for a
	// second target, targets.go; what few episodes have is in notes).
	episodeBytes = 690
	// targetBytes: each further target of an episode: its port set, its
	// entries in the target and window maps and the window (257 B
	// measured before the alert, 138 B after).
	targetBytes = 260
	// overflowBytes: a target past the episode's cap, counted in a set
	// without its ports (52 to 66 B measured, as the set doubles).
	overflowBytes = 70
	// endedBytes: a target a tracker remembers from a closed episode.
	endedBytes = 56
	// sigBytes: an entry of the decoy-signature map, with the map's
	// doubling (64 B key and value).
	sigBytes = 150
)

// limits are the caps the detector derives from its rules.
type limits struct {
	flows     int   // flow table entries
	trackers  int64 // bytes of trackers, episodes and targets
	probation int64 // bytes of the probation space
	episode   int64 // bytes one episode may keep port sets in
	sigs      int   // decoy signatures remembered
	evidence  int64 // bytes of the evidence filters and suspects
}

// limitsOf derives the detector's caps from r. A hand-built Rules value
// without a budget gets the default one.
func limitsOf(r *rules.Rules) limits {
	if r.Memory <= 0 {
		r = &rules.Rules{Memory: rules.DefaultMemory}
	}
	l := limits{
		flows:    int(r.MemoryFor(rules.FlowTable) / flowBytes),
		trackers: r.MemoryFor(rules.TrackerTable),
	}
	// The decoy signatures take at most a sixteenth of the trackers' share;
	// copies of one probe leave together, so a few thousand are plenty.
	l.sigs = clamp(int(l.trackers/16/sigBytes), 1024, maxSigs)
	l.trackers -= int64(l.sigs) * sigBytes
	// A quarter of the rest is the probation space.
	l.probation = l.trackers / 4
	l.trackers -= l.probation
	l.evidence = r.MemoryFor(rules.EvidenceTable)
	// One episode keeps port sets in at most an eighth of the trackers'
	// share, and as much again in targets counted without their ports.
	l.episode = l.trackers / 8
	return l
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// bytes is the heap a port set holds beyond its own struct.
func (s *portSet) bytes() int {
	if s.bits != nil {
		return len(s.bits) * 8
	}
	return cap(s.small) * 2
}

// addContact counts (target, port) into e as e.add does, and accounts the
// memory it took. Past its byte cap an episode stops growing: new targets
// are counted without their ports, port sets no longer become bitmaps (a
// port outside a full small set counts as new), and past twice the cap a
// new target only counts as a contact.
func (s *Episodes) addContact(t *tracker, e *episode, c *Contact, counted bool) bool {
	target, port, o := c.Target, c.Port, c.Outcome
	t.noteIPID(*c)
	if e.bytes == 0 {
		e.bytes = episodeBytes
		s.charge(t, episodeBytes)
	}
	ps := e.targets.get(target)
	full := int64(e.bytes) >= s.lim.episode
	if full {
		e.full = true
		if ps == nil {
			if _, seen := e.overflow[target]; !seen && int64(e.bytes) >= 2*s.lim.episode {
				e.ports.add(port)
				e.contacts++
				return true // counted; the target is not kept
			}
		} else {
			ps.frozen = true
		}
	}
	if ps != nil && ps.has(port) {
		// A contact counted before: only the port's being open can be new.
		n := 0
		if o.open() && !e.open.has(port) {
			n = e.open.bytes()
			e.open.add(port)
			n = e.open.bytes() - n
		}
		s.grew(t, e, n)
		return false
	}
	before := e.ports.bytes() + e.open.bytes()
	if ps != nil {
		before += ps.bytes()
	}
	nt, no := e.targets.len(), len(e.overflow)
	isNew := e.addTo(ps, target, port, o, s.now, counted)
	after := e.ports.bytes() + e.open.bytes()
	switch {
	case ps != nil:
		after += ps.bytes()
	case e.targets.len() > nt:
		if nt > 0 {
			after += targetBytes
		}
	case len(e.overflow) > no:
		after += overflowBytes
	}
	s.grew(t, e, after-before)
	return isNew
}

// grew charges t and e for n more bytes of e, and makes room if the
// trackers are over their budget (by this or, after a recount or new
// rules, by what was there).
func (s *Episodes) grew(t *tracker, e *episode, n int) {
	if n != 0 {
		s.charge(t, n)
		e.bytes += n
	}
	if s.used > s.lim.trackers {
		s.fit(t)
	}
}

// charge adds n bytes to t's account and the total.
func (s *Episodes) charge(t *tracker, n int) {
	t.bytes += n
	s.used += int64(n)
}

// trackerCost is what t holds now: itself, its episodes, the targets it
// remembers from closed ones.
func (s *Episodes) trackerCost(t *tracker) int {
	n := trackerBytes + len(s.ended[t])*endedBytes
	for _, e := range t.eps {
		if e != nil {
			n += e.bytes
		}
	}
	return n
}

// recount sets the account of every tracker that holds less than it is
// charged for, once a second: closed episodes and forgotten targets are
// not uncharged one by one. Every other tracker's account is what it
// holds already (charge follows each episode's growth).
func (s *Episodes) recount() {
	for _, t := range s.dirtyList {
		if t.flags&dirty == 0 {
			continue // forgotten, or listed twice
		}
		t.flags &^= dirty
		n := s.trackerCost(t)
		s.used += int64(n - t.bytes)
		t.bytes = n
	}
	clear(s.dirtyList)
	s.dirtyList = s.dirtyList[:0]
}
