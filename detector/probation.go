// Probation: a source seen with one first contact and no evidence waits
// here, as that contact in a compact entry without pointers (nothing for
// the garbage collector to scan, nothing allocated per source), until a
// second contact makes it a tracker. A flood of spoofed one-packet sources
// churns this space only: it never pushes out a tracker, which holds
// failed-contact evidence. What leaves the space by eviction is remembered
// in the evidence filters, so that a slow scanner comes back with it.

package detector

import (
	"net/netip"

	"github.com/scanwatch/scanwatch/technique"
)

// probe is a source in probation: its one contact and what was seen of
// that contact's episode since, so that its tracker, when it gets one,
// is what it would have been had it had one all along.
type probe struct {
	scanner, target [16]byte
	scanner6        bool // scanner is an IPv6 address (not IPv4-mapped)
	target6         bool
	time, first     int64 // the contact's time and its first probe's
	last            int64 // the tracker's last contact (tracker.last)
	epLast          int64 // its episode's last probe (episode.last)
	llr             float64
	print           Print
	port, probes    uint16
	reprobes        uint16 // probes sent again after it was resolved
	alive           uint16 // replies of a pinged host
	open            [4]uint16
	nOpen           uint8
	tech            technique.Technique
	outcome         Outcome
	prior           uint8 // failed first contacts the evidence knew of before it
	dropped         bool  // its episode ended (expire) but the tracker would remain
	prev, next      int32 // LRU, most recent at head; -1 ends
}

// probeBytes: a probe (unsafe.Sizeof 136 B) in the probation slice, its
// index slots (8 B, a quarter to half full) and its free-list slot.
const probeBytes = 136 + 24 + 4

// probation is the bounded store of probes, least recently used evicted.
type probation struct {
	ents       []probe
	index      probeIndex // probeindex.go
	free       []int32
	head, tail int32
	max        int
	evicted    uint64
	warmed     int32 // the entry whose eviction was asked for (warm.go)
}

func newProbation() probation {
	return probation{index: newProbeIndex(), head: -1, tail: -1}
}

func key16(a netip.Addr) [16]byte { return a.As16() }

func addrOf(b [16]byte, is6 bool) netip.Addr {
	a := netip.AddrFrom16(b)
	if !is6 {
		a = a.Unmap()
	}
	return a
}

func (p *probation) len() int { return p.index.n }

func (p *probation) get(a netip.Addr) *probe {
	k := key16(a)
	if _, i := p.find(&k); i >= 0 {
		return &p.ents[i]
	}
	return nil
}

func (p *probation) unlink(i int32) {
	e := &p.ents[i]
	if e.prev >= 0 {
		p.ents[e.prev].next = e.next
	} else {
		p.head = e.next
	}
	if e.next >= 0 {
		p.ents[e.next].prev = e.prev
	} else {
		p.tail = e.prev
	}
}

// remove takes entry i out and returns a copy of it.
func (p *probation) remove(i int32) probe {
	e := p.ents[i]
	p.unlink(i)
	slot, _ := p.find(&e.scanner)
	p.delete(slot)
	p.free = append(p.free, i)
	return e
}

// evictTail removes the least recently used probe and returns what the
// evidence keeps of it, without copying the rest.
func (p *probation) evictTail() (scanner [16]byte, is6 bool, prior uint8) {
	i := p.tail
	e := &p.ents[i]
	scanner, is6, prior = e.scanner, e.scanner6, e.prior
	p.unlink(i)
	slot, _ := p.find(&scanner)
	p.delete(slot)
	p.free = append(p.free, i)
	return scanner, is6, prior
}

// put stores e, whose key's index hash is ph, at the head; the caller has
// made room.
func (p *probation) put(e probe, ph uint64) {
	var i int32
	if n := len(p.free); n > 0 {
		i = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		if len(p.ents) == cap(p.ents) {
			p.ents = growTo(p.ents, p.max)
		}
		p.ents = append(p.ents, probe{})
		i = int32(len(p.ents) - 1)
	}
	e.prev, e.next = -1, p.head
	p.ents[i] = e
	if p.head >= 0 {
		p.ents[p.head].prev = i
	} else {
		p.tail = i
	}
	p.head = i
	p.insert(ph, i)
}

// growTo doubles s's capacity, but never past limit entries.
func growTo[S ~[]E, E any](s S, limit int) S {
	n := min(max(2*cap(s), 64), max(limit, cap(s)+1))
	out := make(S, len(s), n)
	copy(out, s)
	return out
}

// admit returns the tracker for c's scanner, making one when it is in
// probation (its second contact) or the evidence holds two earlier failed
// contacts of it; otherwise c waits in probation and admit returns nil.
func (s *Episodes) admit(c Contact) *tracker {
	if t := s.trackers.get(c.Scanner); t != nil {
		t.last = s.now
		s.touch(t)
		return t
	}
	key := key16(c.Scanner)
	// Most likely a new source, of a flood: its hashes are made once, and
	// what they point at asked for at once (warm.go).
	ph, eh := s.prob.index.hash(&key), hashKey(key)
	s.warm(ph, eh)
	if _, i := s.prob.findHashed(&key, ph); i >= 0 {
		return s.promote(s.prob.remove(i))
	}
	prior, sus, exact := s.ev.recallHashed(key, eh, s.now, s.slowMemory())
	llr := sus.llr
	if !exact {
		llr = 0
		if s.alarmLLR > 0 {
			llr = float64(prior) * s.failLLR
		}
	}
	if s.alarmLLR > 0 {
		// The successes the source had lately, before it had a tracker
		// (a client's answered requests), credit against its failures,
		// moved into its tracker or its probation probe.
		if n := s.credit.take(c.Scanner, eh, s.now, int64(s.r.Slow.Memory)); n > 0 {
			llr = max(llr+float64(n)*s.okLLR, -s.alarmLLR)
		}
	}
	if exact || prior >= 2 || !s.probationFor(c) {
		// Evidence alone does not push out a tracker with more of it; a
		// contact that alerts on its own does.
		if t := s.newTracker(c.Scanner, llr, !s.probationFor(c)); t != nil {
			return t
		}
		if exact {
			s.ev.keep(key, sus) // it waits in probation; its evidence stays
			prior = 2
		}
	}
	s.toProbation(c, key, ph, prior, llr)
	return nil
}

// probationFor reports whether c may wait in probation: not when one
// contact can make an alert (a threshold of one, a sequential test that
// needs one), as it would have at once.
func (s *Episodes) probationFor(c Contact) bool {
	switch c.Technique {
	case technique.Version, technique.Script, technique.Idle, technique.FTPBounce:
		return false // known by what the probe carries, which probation does not keep
	}
	if c.Outcome.open() {
		// What the scanner learned (an open port) is what the service
		// probes that follow are judged by (appscan.go): it needs a
		// tracker. A spoofed source learns nothing.
		return false
	}
	th := s.thresholds[c.Technique]
	if th.Ports == 1 || th.Hosts == 1 {
		return false
	}
	return s.alarmLLR <= 0 || s.failLLR < s.alarmLLR || s.r.Slow.MinPorts > 1
}

// toProbation stores c as a probe of a source with prior failed contacts
// and sequential-test state llr before it, evicting the least recently
// used probe into the evidence when the space is full.
func (s *Episodes) toProbation(c Contact, key [16]byte, ph uint64, prior int, llr float64) {
	evicted := false
	for s.prob.len() >= s.prob.max && s.prob.tail >= 0 {
		evicted = true
		scanner, is6, prior := s.prob.evictTail()
		s.prob.evicted++
		s.ev.remember(scanner, int(prior)+1, s.now, s.slowMemory())
		if len(s.decoys) > 0 {
			s.unlinkDecoy(addrOf(scanner, is6))
		}
	}
	if s.alarmLLR > 0 && judge(c) == evFailure {
		llr += s.failLLR
	}
	s.prob.put(probe{
		scanner: key, scanner6: c.Scanner.Is6(), target: key16(c.Target), target6: c.Target.Is6(),
		time: s.now, first: c.First, last: s.now, epLast: c.First, llr: llr, print: c.Print,
		port: c.Port, probes: c.Probes, tech: c.Technique, outcome: c.Outcome, prior: uint8(prior),
	}, ph)
	if evicted {
		s.warmEviction() // a flood: the next contact evicts the next probe
	}
}

// promote makes the tracker of a source leaving probation at its second
// contact: its first contact is counted as it was, at its time, then what
// was seen of its episode since is applied.
func (s *Episodes) promote(p probe) *tracker {
	scanner := addrOf(p.scanner, p.scanner6)
	// The replayed contact adds its failure to the state before it.
	before := p.llr
	if s.alarmLLR > 0 {
		before -= s.failLLR
	}
	t := s.newTracker(scanner, before, true)
	if !s.dropped(&p) {
		now := s.now
		s.now = p.time
		t.last = p.time
		s.count(Contact{Time: p.time, First: p.first, Scanner: scanner, Target: addrOf(p.target, p.target6), Print: p.print,
			Port: p.port, Probes: p.probes, Technique: p.tech, Outcome: p.outcome})
		s.now = now
		if e := t.eps[p.tech]; e != nil {
			e.probes += int(p.reprobes)
			e.last = max(e.last, p.epLast)
			e.outcomes[OutAlive] += int(p.alive)
			for _, port := range p.open[:p.nOpen] {
				e.open.add(port)
			}
		}
	}
	t.llr, t.last = p.llr, s.now
	s.touch(t)
	return t
}

// newTracker makes a tracker with sequential-test state llr, making room
// as the caps require. A source with evidence (strong) does not push out a
// tracker with more: then it gets none and newTracker returns nil.
func (s *Episodes) newTracker(a netip.Addr, llr float64, strong bool) *tracker {
	for s.trackers.len() >= s.r.State.MaxTrackers || s.used+trackerBytes+episodeBytes > s.lim.trackers {
		victim := s.victim(nil)
		if victim == nil {
			break
		}
		if !strong && victim.llr > llr+s.failLLR {
			return nil // it takes the place of the oldest of equals, not of more
		}
		s.evict(victim)
	}
	t := &tracker{addr: a, last: s.now, llr: llr, hidx: noHeap}
	s.charge(t, trackerBytes)
	s.trackers.put(t)
	s.byAge.pushFront(t)
	s.seq++
	t.seq = s.seq
	s.schedule(t)
	return t
}

// slowMemory is how long evidence is kept: the sequential test's memory,
// or nothing when the test is off.
func (s *Episodes) slowMemory() int64 {
	if !s.r.Slow.Enabled {
		return 0
	}
	return int64(s.r.Slow.Memory)
}

// expireProbation applies expire's rules to the probes, once a second: a
// probe's episode ends when quiet for max(slow memory, window); the probe
// is forgotten when it has no episode and its source has been quiet for
// max(slow memory, idle timeout). The space is in order of last contact,
// so the walk stops at the first probe too recent to be forgotten; the
// episodes of the others end when next looked at (dropped).
func (s *Episodes) expireProbation(memory, idle int64) {
	now := s.now
	s.sweptAt, s.sweptMemory = now, memory
	for i := s.prob.tail; i >= 0; {
		p := &s.prob.ents[i]
		if now-p.last <= max(memory, idle) {
			return
		}
		prev := p.prev
		if s.dropped(p) {
			a := addrOf(p.scanner, p.scanner6)
			s.prob.remove(i)
			s.unlinkDecoy(a)
		}
		i = prev
	}
}

// dropped reports whether p's episode has ended: whether it was quiet for
// max(slow memory, window) at the latest sweep. A probe whose episode
// ended is no longer refined (its episode's last probe stays put), so the
// answer is the one the sweep would have given; it is kept once true.
func (s *Episodes) dropped(p *probe) bool {
	if !p.dropped && s.sweptAt-p.epLast > max(s.sweptMemory, int64(s.thresholds[p.tech].Window)) {
		p.dropped = true
	}
	return p.dropped
}

// settleProbation marks every probe whose episode the sweeps so far
// ended, before the rules they were judged by change.
func (s *Episodes) settleProbation() {
	for i := s.prob.tail; i >= 0; i = s.prob.ents[i].prev {
		s.dropped(&s.prob.ents[i])
	}
}

// The refinements of a probe's episode, as Episodes' methods apply them to
// a tracker's.

func (s *Episodes) probeOf(a netip.Addr, tech technique.Technique) *probe {
	if p := s.prob.get(a); p != nil && !s.dropped(p) && p.tech == tech {
		return p
	}
	return nil
}

func (s *Episodes) probationReprobe(scanner netip.Addr, tech technique.Technique) {
	if p := s.probeOf(scanner, tech); p != nil {
		p.reprobes++
		p.epLast = s.now
	}
}

func (s *Episodes) probationAlive(scanner netip.Addr, tech technique.Technique) {
	if p := s.probeOf(scanner, tech); p != nil {
		p.alive++
	}
}

func (s *Episodes) probationOpenPort(scanner netip.Addr, tech technique.Technique, port uint16) {
	if p := s.probeOf(scanner, tech); p != nil && int(p.nOpen) < len(p.open) {
		for _, q := range p.open[:p.nOpen] {
			if q == port {
				return
			}
		}
		p.open[p.nOpen] = port
		p.nOpen++
	}
}

func (s *Episodes) probationSuccess(scanner netip.Addr) {
	if p := s.prob.get(scanner); p != nil {
		p.llr = max(p.llr+s.okLLR, -s.alarmLLR)
	}
}

// probationProbed reports whether scanner's probe in probation is an IP
// probe of target (probedOverIP).
func (s *Episodes) probationProbed(scanner, target netip.Addr) bool {
	p := s.prob.get(scanner)
	return p != nil && !s.dropped(p) && p.tech != technique.ARP && p.target == key16(target)
}
