// Episodes: the one seam into episode state. Packet handlers hand it
// Contacts; its methods are the only code that changes trackers and
// episodes, so the same logic can run over contacts that come from
// elsewhere (a test, another sensor).

package detector

import (
	"math"
	"net/netip"
	"sort"
	"time"

	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/technique"
)

// Episodes keeps a tracker per would-be scanner and its scan episodes: it
// counts contacts, decides when an episode is a scan (one "alert" event),
// links decoys and distributed scans, and closes idle episodes (one "scan"
// event). It reads time only from the contacts and Advance calls it gets.
// It is not safe for concurrent use.
type Episodes struct {
	r    *rules.Rules
	emit func(Event)

	now       int64 // packet time, Unix ns: the latest Advance or contact
	nextSweep int64

	trackers   trackerIndex // trackerindex.go
	byAge      trackerLRU
	credit     credit // successes of sources without a tracker
	thresholds [technique.Count]rules.Threshold
	failLLR    float64
	okLLR      float64
	alarmLLR   float64

	sigs     sigTable // decoy signatures (correlate.go)
	decoys   map[netip.Addr]*decoySet
	deferred []deferredAlert
	noWait   bool                      // the capture ended, or a scan gives way to another: decide now
	byTarget map[netip.Addr][]*tracker // sources with an alerted episode, by target
	groups   int

	alerts  uint64
	evicted uint64

	holding bool // counting a batch: decide when it is all in (addBatch)

	lim       limits     // caps from the memory budget
	used      int64      // bytes charged to trackers (budget.go)
	dirtyList []*tracker // trackers to recount (budget.go)
	// ended holds, per tracker, targets of IP episodes it closed lately,
	// so that the ARP requests of their probes still count as resolutions
	// (probedOverIP). Few trackers have any.
	ended map[*tracker]map[netip.Addr]struct{}

	// The trackers by due time, and the LRU order for the sweep (expiry.go).
	dueHeap []dueEntry
	dueBuf  []*tracker
	seq     uint64

	prob probation // sources with one contact (probation.go)
	ev   suspicion // what is remembered of sources without a tracker (evidence.go)
	// The latest sweep's time and slow memory, which decide whether a
	// probe's episode has ended (probation.go).
	sweptAt, sweptMemory int64

	// The alert budget and the floods past it (floods.go).
	tokens           float64
	bucketAt         int64
	alertsSuppressed uint64
	floodCount       uint64
	floods           map[floodKey]*flood
}

// NewEpisodes returns empty episode state that calls emit for every event.
func NewEpisodes(r *rules.Rules, emit func(Event)) *Episodes {
	s := &Episodes{
		emit:     emit,
		trackers: newTrackerIndex(),
		byAge:    newTrackerLRU(),
		credit:   newCredit(),
		sigs:     newSigTable(),
		decoys:   make(map[netip.Addr]*decoySet),
		byTarget: make(map[netip.Addr][]*tracker),
		prob:     newProbation(),
		floods:   make(map[floodKey]*flood),
	}
	s.SetRules(r)
	return s
}

// SetRules swaps in new thresholds and limits and keeps every tracker and
// episode.
func (s *Episodes) SetRules(r *rules.Rules) {
	s.settleProbation()
	s.r = r
	lim := limitsOf(r)
	if lim.evidence != s.lim.evidence {
		s.ev = newEvidence(lim.evidence) // a new budget: the evidence starts afresh
	}
	s.lim = lim
	s.sigs.setCap(lim.sigs)
	s.prob.max = max(1, min(r.State.MaxTrackers, int(lim.probation/probeBytes)))
	for t := range technique.Count {
		s.thresholds[t] = r.Threshold(t)
	}
	s.rescheduleAll()
	s.failLLR, s.okLLR, s.alarmLLR = 0, 0, 0
	if sl := r.Slow; sl.Enabled {
		s.failLLR = math.Log((1 - sl.Theta1) / (1 - sl.Theta0))
		s.okLLR = math.Log(sl.Theta1 / sl.Theta0)
		s.alarmLLR = math.Log(sl.Alarm)
	}
}

// Add counts one resolved first contact into its scanner's episode and
// decides whether that episode has become a scan. A benign contact (one
// that carried data) only moves the scanner's sequential test towards
// "benign". The clock moves to c.Time first; contacts come in time order.
func (s *Episodes) Add(c Contact) {
	s.now = max(s.now, c.Time)
	if c.Outcome == OutBenign {
		s.success(c.Scanner)
		return
	}
	s.count(c)
}

// Advance moves the clock to now (never backwards). Once a second of
// packet time it ends idle episodes, with their summaries, and forgets
// trackers with nothing left to remember.
func (s *Episodes) Advance(now int64) {
	s.now = max(s.now, now)
	if len(s.deferred) > 0 {
		s.fireDeferred(s.now)
	}
	if s.now >= s.nextSweep {
		if s.nextSweep != 0 {
			s.expire()
		}
		s.nextSweep = s.now + int64(time.Second)
	}
}

// idle reports whether Advance(now) would only move the clock: no
// deferred alert waits, and no sweep is due. The detector's clock is never
// behind the episodes' (contacts carry its time), so now is not before
// s.now.
func (s *Episodes) idle(now int64) bool { return len(s.deferred) == 0 && now < s.nextSweep }

// Flush closes every open episode with its summary, scanners in address
// order, so that a replay's last records are deterministic.
func (s *Episodes) Flush() {
	s.noWait = true
	s.fireDeferred(math.MaxInt64)
	s.noWait = false
	var ts []*tracker
	for _, t := range s.trackers.all() {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].addr.Less(ts[j].addr) })
	for _, t := range ts {
		for f, e := range t.eps {
			if e != nil {
				s.endEpisode(t, technique.Technique(f))
			}
		}
	}
	for _, k := range s.floodKeys() {
		s.endFlood(k)
	}
	// Probes have no alerted episode: nothing to report.
	n, ev := s.prob.max, s.prob.evicted
	s.prob = newProbation()
	s.prob.max, s.prob.evicted = n, ev
}

// Stats fills the episode counters of Stats: trackers, probation,
// suspects, their evictions and memory, and alerts.
func (s *Episodes) Stats() Stats {
	return Stats{Trackers: s.trackers.len(), TrackersEvicted: s.evicted, Probation: s.prob.len(), ProbationEvicted: s.prob.evicted,
		Suspects: s.ev.suspects.len(), Alerts: s.alerts, TrackerBytes: s.used,
		AlertsSuppressed: s.alertsSuppressed, Floods: s.floodCount}
}

// OpenEpisodes is the number of episodes not yet closed.
func (s *Episodes) OpenEpisodes() int {
	n := 0
	for _, t := range s.trackers.all() {
		for _, e := range t.eps {
			if e != nil {
				n++
			}
		}
	}
	for i := s.prob.head; i >= 0; i = s.prob.ents[i].next {
		if !s.dropped(&s.prob.ents[i]) {
			n++
		}
	}
	return n
}

// The methods below refine episodes from packets that are not first
// contacts; they exist only on a sensor, which sees the packets.

// reprobe counts a probe sent again after its first contact was resolved.
func (s *Episodes) reprobe(scanner netip.Addr, tech technique.Technique) {
	if t := s.trackers.get(scanner); t != nil && t.eps[tech] != nil {
		e := t.eps[tech]
		e.probes++
		e.last = s.now
	} else if t == nil {
		s.probationReprobe(scanner, tech)
	}
}

// alive counts a reply of a probed host (an echo reply) to scanner.
func (s *Episodes) alive(scanner netip.Addr, tech technique.Technique) {
	t := s.trackers.get(scanner)
	if t == nil {
		s.probationAlive(scanner, tech)
		return
	}
	if t.eps[tech] == nil {
		return
	}
	t.eps[tech].outcomes[OutAlive]++
}

// openPort notes a port that answered an OS-fingerprint probe of scanner.
func (s *Episodes) openPort(scanner netip.Addr, tech technique.Technique, port uint16) {
	if t := s.trackers.get(scanner); t != nil && t.eps[tech] != nil {
		t.eps[tech].open.add(port)
	} else if t == nil {
		s.probationOpenPort(scanner, tech, port)
	}
}

// scanning reports whether src already has an episode of technique tech:
// then a packet that would pass for a reply (a UDP probe from source port
// 53 to an ephemeral port) is one more probe.
func (s *Episodes) scanning(src netip.Addr, tech technique.Technique) bool {
	t := s.trackers.get(src)
	return t != nil && t.eps[tech] != nil || t == nil && s.probeOf(src, tech) != nil
}

// probedOverIP reports whether scanner sent counted IP probes to target.
func (s *Episodes) probedOverIP(scanner, target netip.Addr) bool {
	t := s.trackers.get(scanner)
	if t == nil {
		return s.probationProbed(scanner, target)
	}
	for f, e := range t.eps {
		if e != nil && technique.Technique(f) != technique.ARP && e.targets.has(target) {
			return true
		}
	}
	_, ok := s.ended[t][target]
	return ok
}

// success is a first contact that carried data: evidence of a benign client.
// A source without a tracker is credited for when it gets one.
func (s *Episodes) success(scanner netip.Addr) {
	t := s.trackers.get(scanner)
	if t == nil {
		if s.alarmLLR > 0 {
			s.credit.add(scanner, s.now)
		}
		s.probationSuccess(scanner)
		return
	}
	s.succeed(t)
}

// succeed moves t's sequential test towards benign: one success.
func (s *Episodes) succeed(t *tracker) { t.llr = max(t.llr+s.okLLR, -s.alarmLLR) }
