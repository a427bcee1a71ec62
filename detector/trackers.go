// Trackers: the per-scanner state, bounded by an LRU that protects scanners
// in an alerted episode, and the once-a-second expiry that ends idle
// episodes.

package detector

import (
	"math"
	"net/netip"
	"slices"

	"github.com/scanwatch/scanwatch/technique"
)

// tracker is the state kept per would-be scanner.
type tracker struct {
	// What a lookup, a contact's touch and the eviction scan read come
	// first, in 64 bytes: the address, llr, the LRU place and alerted.
	addr netip.Addr
	llr  float64 // log likelihood ratio of the sequential test
	last int64
	seq  uint64 // when it was last used, in LRU order (expiry.go)
	hidx int32  // its place in the due heap (expiry.go), noHeap when out
	age  int32  // its place in the LRU queue (lru.go), noAge when out
	// alerted counts its episodes that alerted: eviction skips their
	// episodes when none.
	alerted uint8
	flags   uint8 // ipidSeen, dirty
	// The IP ID of its first probe, for the evidence of a flood it joins.
	ipid  uint16
	bytes int // memory charged to it (budget.go)
	eps   [technique.Count]*episode
	// The targets of IP episodes it closed lately are in Episodes.ended.
}

const (
	ipidSeen = 1 << iota // ipid holds its first probe's
	dirty                // charged for more than it holds: the sweep recounts it (budget.go)
)

// active reports whether t is in an alerted episode of its own (one
// summed up in a flood does not count): eviction spares it.
func (s *Episodes) active(t *tracker) bool {
	if t.alerted == 0 {
		return false
	}
	for i := range t.eps { // by index: no copy of the array
		if e := t.eps[i]; e != nil && e.alerted && e.flood == nil {
			return true
		}
	}
	return false
}

// flooding reports whether t's alerted episodes are all summed up in a
// flood: such a tracker goes first when room is needed.
func (s *Episodes) flooding(t *tracker) bool {
	if t.alerted == 0 {
		return false
	}
	in := false
	for i := range t.eps {
		if e := t.eps[i]; e != nil && e.alerted {
			if e.flood == nil {
				return false
			}
			in = true
		}
	}
	return in
}

// maxEnded bounds the targets a tracker remembers from closed episodes.
const maxEnded = 4096

// fit evicts trackers other than keep until they fit their byte budget.
func (s *Episodes) fit(keep *tracker) {
	for s.used > s.lim.trackers {
		v := s.victim(keep)
		if v == nil {
			return
		}
		s.evict(v)
	}
}

// victim picks the tracker to evict: among the 64 least recently used,
// one whose alerts a flood summed up, else the one with the least evidence
// (the lowest sequential-test ratio; the least recently used of equals)
// that is not in an alerted episode; if every one is, the least recently
// used. Never keep; nil if there is no other.
func (s *Episodes) victim(keep *tracker) *tracker {
	var best, lru *tracker
	for _, t := range s.byAge.oldest(64) {
		if t == keep {
			continue
		}
		if lru == nil {
			lru = t
		}
		if s.flooding(t) {
			return t
		}
		if !s.active(t) && (best == nil || t.llr < best.llr) {
			best = t
		}
	}
	if best == nil {
		return lru
	}
	return best
}

// evict drops t to make room; its episodes end (alerted ones with their
// summary) and its sequential-test state stays in the evidence.
func (s *Episodes) evict(t *tracker) {
	switch {
	case s.alarmLLR <= 0:
	case t.llr > 0:
		s.ev.keep(key16(t.addr), suspect{llr: t.llr, last: t.last})
	case t.llr < 0:
		// Its record of successes goes back to the credit, which a new
		// tracker for it starts from, as the state of one leaning towards
		// scanner goes to the suspects: evicting a benign client must not
		// leave it with its next failures only.
		s.credit.giveBack(t.addr, uint32(math.Ceil(t.llr/s.okLLR-1e-9)), t.last)
	}
	s.dropTracker(t)
	s.evicted++
}

func (s *Episodes) dropTracker(t *tracker) {
	for f := range t.eps {
		if t.eps[f] != nil {
			s.endEpisode(t, technique.Technique(f))
		}
	}
	s.forget(t)
}

// forget removes a tracker with nothing left to report.
func (s *Episodes) forget(t *tracker) {
	s.byAge.unlink(t)
	s.unschedule(t)
	t.flags &^= dirty
	delete(s.ended, t)
	s.trackers.del(t.addr)
	s.used -= int64(t.bytes)
	s.unlinkDecoy(t.addr)
}

// unlinkDecoy takes a source no longer followed out of its decoy set.
func (s *Episodes) unlinkDecoy(a netip.Addr) {
	if ds := s.decoys[a]; ds != nil {
		delete(s.decoys, a)
		if i := slices.Index(ds.members, a); i >= 0 {
			ds.members = slices.Delete(ds.members, i, i+1)
		}
	}
}

// expire runs once a second of packet time: it ends idle episodes and
// forgets trackers with nothing left to remember. It visits the trackers
// due (expiry.go), least recently used first.
func (s *Episodes) expire() {
	now := s.now
	idle := int64(s.r.Timeouts.Idle)
	memory := s.slowMemory()
	for _, t := range s.popDue(now) {
		keep := false
		for f, e := range t.eps {
			if e == nil {
				continue
			}
			quiet := now - e.last
			switch {
			case e.alerted && quiet > episodeIdle(e, idle):
				s.endEpisode(t, technique.Technique(f))
			case !e.alerted && quiet > max(memory, int64(s.thresholds[f].Window)):
				t.eps[f] = nil
				s.markDirty(t)
			default:
				keep = true
			}
		}
		if !keep && now-t.last > max(memory, idle) {
			s.forget(t)
		} else {
			s.schedule(t)
		}
	}
	clear(s.dueBuf)
	s.expireProbation(memory, idle)
	s.expireFloods(idle)
	s.recount()
}

// episodeIdle is how long an alerted episode may stay quiet before it ends:
// the idle timeout, or three times its mean gap between contacts for slow
// scans, whose probes may be minutes apart.
func episodeIdle(e *episode, idle int64) int64 {
	if e.contacts > 1 {
		gap := (e.last - e.first) / int64(e.contacts-1)
		return max(idle, 3*gap)
	}
	return idle
}
