// Floods: a global alert budget, and one summary for what exceeds it.
// 100,000 spoofed sources each sending 50 SYNs are 100,000 "scans"; past
// the budget (rules.Alerts, a token bucket in packet time) their alerts
// are suppressed and counted, and their episodes are summed up, per
// technique, in one flood record: one alert when the budget first runs
// out, one closing record when the flood is over, both with counts and
// what says the sources are spoofed.

package detector

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/scanwatch/scanwatch/technique"
)

// flood sums up the suppressed episodes of one technique.
type flood struct {
	tech        technique.Technique
	group       string
	first, last int64 // first and last probe of its episodes
	lastAdd     int64 // packet time an episode last joined
	open        int   // joined episodes not yet ended
	sources     int
	suppressed  int // alerts suppressed into it
	probes      int
	outcomes    [numOutcomes]int
	ports       portSet
	targets     map[netip.Addr]struct{} // at most maxFloodTargets
	targetCount int                     // exact up to maxFloodTargets; past it, an upper bound
	sample      []netip.Addr            // the first sources
	tools       toolVotes

	// What tells spoofed sources: each source's TTL (the first of its
	// probes), how its IP IDs went, and the sources' first IP IDs in turn.
	ttls       [256]int
	ttlVaried  int // sources whose own probes came with several TTLs
	ipidZero   int
	ipidRising int // sources whose first IP ID is just above the previous source's
	lastIPID   uint16
}

const (
	maxFloodTargets = 4096
	maxFloodSample  = 8
)

// allowAlert takes one alert from the budget, refilled at Alerts.Rate a
// second of packet time up to Alerts.Burst. Rules without a budget (built
// by hand) allow every alert.
func (s *Episodes) allowAlert() bool {
	a := s.r.Alerts
	if a.Rate <= 0 || a.Burst <= 0 {
		return true
	}
	switch dt := s.now - s.bucketAt; {
	case s.bucketAt == 0:
		s.tokens, s.bucketAt = float64(a.Burst), s.now
	case dt > 0: // a contact replayed from probation may be older
		s.tokens = min(float64(a.Burst), s.tokens+a.Rate*float64(dt)/1e9)
		s.bucketAt = s.now
	}
	if s.tokens < 1 {
		return false
	}
	s.tokens--
	return true
}

// floodKey separates floods by technique and by the tool the probes'
// fingerprint names, so that nmap probing through an hping3 flood does
// not vanish in its count.
type floodKey struct {
	tech technique.Technique
	tool tool
}

// suppress withholds e's alert when the budget is spent, or a flood of its
// technique and tool is on: e joins that flood (whose alert goes out when
// it starts), and its own summary will too. A source that answered a
// SYN-ACK or INIT-ACK (half-open or connect) receives replies, so is not
// spoofed: its alert always goes out. It reports whether it suppressed.
func (s *Episodes) suppress(t *tracker, tech technique.Technique, e *episode) bool {
	if e.outcomes[OutHalfOpen]+e.outcomes[OutConnect] > 0 {
		return false
	}
	switch tech {
	case technique.Version, technique.Script, technique.Idle, technique.FTPBounce:
		return false // their evidence is a conversation: no spoofed source holds one
	}
	k := floodKey{tech, e.tools.leader()}
	f := s.floods[k]
	if f == nil && s.allowAlert() {
		return false
	}
	s.alertsSuppressed++
	if f == nil {
		s.groups++
		f = &flood{tech: tech, group: fmt.Sprintf("flood-%d", s.groups), first: e.first, targets: make(map[netip.Addr]struct{})}
		s.floods[k] = f
		defer func() {
			s.floodCount++
			s.emit(Event{Kind: "alert", Time: time.Unix(0, s.now).UTC(), Scan: f.report(s)})
		}()
	}
	f.suppressed++
	f.open++
	f.lastAdd = s.now
	e.flood = f
	f.join(t, e)
	return true
}

// join counts a source into the flood when its alert is suppressed.
func (f *flood) join(t *tracker, e *episode) {
	f.sources++
	if len(f.sample) < maxFloodSample {
		f.sample = append(f.sample, t.addr)
	}
	f.ttls[e.ttl.lo]++
	if e.ttl.n > 1 {
		f.ttlVaried++
	}
	if t.ipid == 0 {
		f.ipidZero++
	} else if d := t.ipid - f.lastIPID; d > 0 && d < 256 {
		f.ipidRising++
	}
	f.lastIPID = t.ipid
	// Its targets and ports now, so that the flood's alert names some;
	// its counts when it ends (absorb).
	for a := range e.targets.keys() {
		f.addTarget(a)
	}
	e.ports.each(func(p uint16) { f.ports.add(p) })
	f.first = min(f.first, e.first)
	f.last = max(f.last, e.last)
}

// absorb takes the totals of an ended episode that joined a flood; it
// reports whether e was one (then it writes no summary of its own).
func (s *Episodes) absorb(e *episode) bool {
	f := e.flood
	if f == nil {
		return false
	}
	e.flood = nil
	f.open--
	f.probes += e.probes
	for o, n := range e.outcomes {
		f.outcomes[o] += n
	}
	e.ports.each(func(p uint16) { f.ports.add(p) })
	for a := range e.targets.keys() {
		f.addTarget(a)
	}
	for a := range e.overflow {
		f.addTarget(a)
	}
	for i, n := range e.tools.n {
		f.tools.n[i] += n
		if f.tools.evidence[i] == "" {
			f.tools.evidence[i] = e.tools.evidence[i]
		}
	}
	f.tools.total += e.tools.total
	f.first = min(f.first, e.first)
	f.last = max(f.last, e.last)
	return true
}

func (f *flood) addTarget(a netip.Addr) {
	if _, ok := f.targets[a]; ok {
		return
	}
	f.targetCount++
	if len(f.targets) < maxFloodTargets {
		f.targets[a] = struct{}{}
	}
}

// expireFloods writes the closing record of each flood whose episodes
// have all ended and that no episode joined for the idle timeout.
func (s *Episodes) expireFloods(idle int64) {
	for _, k := range s.floodKeys() {
		if f := s.floods[k]; f.open == 0 && s.now-f.lastAdd > idle {
			s.endFlood(k)
		}
	}
}

// floodKeys lists the open floods in a fixed order.
func (s *Episodes) floodKeys() []floodKey {
	keys := make([]floodKey, 0, len(s.floods))
	for k := range s.floods {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].tech < keys[j].tech || keys[i].tech == keys[j].tech && keys[i].tool < keys[j].tool
	})
	return keys
}

func (s *Episodes) endFlood(k floodKey) {
	f := s.floods[k]
	delete(s.floods, k)
	s.emit(Event{Kind: "scan", Time: time.Unix(0, s.now).UTC(), Scan: f.report(s)})
}

// report is the flood's record: the technique's type, shape "flood", no
// single scanner (the unspecified address), counts, and the evidence.
func (f *flood) report(s *Episodes) Scan {
	e := episode{tech: f.tech}
	var src netip.Addr = netip.IPv4Unspecified()
	if len(f.sample) > 0 && f.sample[0].Is6() {
		src = netip.IPv6Unspecified()
	}
	targets := make([]netip.Addr, 0, len(f.targets))
	for a := range f.targets {
		targets = append(targets, a)
	}
	sort.Slice(targets, func(i, j int) bool { return targets[i].Less(targets[j]) })
	if len(targets) > MaxListedTargets {
		targets = targets[:MaxListedTargets]
	}
	sc := Scan{
		Type: e.scanType(), Proto: e.proto(src.Is6()), Shape: "flood", Scanner: src,
		Targets: targets, TargetCount: f.targetCount, PortCount: f.ports.len(), Ports: f.ports.ranges(maxPortRanges),
		Probes: f.probes, FirstSeen: time.Unix(0, f.first).UTC(), LastSeen: time.Unix(0, f.last).UTC(),
		Group: f.group, Sources: f.sources,
	}
	sc.Tool, sc.ToolEvidence = f.tools.verdict()
	sc.Evidence = f.evidence(s)
	return sc
}

// evidence says what the flood is and why its sources look spoofed.
func (f *flood) evidence(s *Episodes) string {
	var b strings.Builder
	a := s.r.Alerts
	fmt.Fprintf(&b, "spoofed-source %s flood or distributed scan: %d sources (", strings.ToUpper(f.tech.String()), f.sources)
	for i, x := range f.sample {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(x.String())
	}
	if f.sources > len(f.sample) {
		b.WriteString(", ...")
	}
	fmt.Fprintf(&b, "), %d alerts past the budget of %g a second (burst %d) suppressed", f.suppressed, a.Rate, a.Burst)
	if f.probes > 0 {
		fmt.Fprintf(&b, ", %d probes", f.probes)
	}
	var why []string
	o := f.outcomes
	switch synAcks, kept := o[OutOpen], o[OutHalfOpen]+o[OutConnect]; {
	case synAcks > 0 && kept == 0:
		why = append(why, fmt.Sprintf("no reply reached them (none of %d SYN-ACKs was reset or completed by its source)", synAcks))
	case f.probes > 0 && o[OutNone] == f.sumOutcomes():
		why = append(why, "no probe was answered")
	}
	if f.sources >= 2 {
		best, n := 0, 0
		for ttl, c := range f.ttls {
			if c > f.ttls[best] {
				best = ttl
			}
			if c > 0 {
				n++
			}
		}
		switch share := 100 * f.ttls[best] / f.sources; {
		case share >= 90:
			why = append(why, fmt.Sprintf("TTL %d on %d%% of the sources (one sender's distance)", best, share))
		case n >= 32 && f.ttlVaried*2 < f.sources:
			why = append(why, fmt.Sprintf("%d different TTLs, each source one (drawn at random)", n))
		}
		switch {
		case f.ipidZero*10 >= f.sources*9:
			why = append(why, "IP ID 0 from every source")
		case f.ipidRising*2 >= f.sources:
			why = append(why, fmt.Sprintf("IP IDs rising from source to source on %d%% (one sender's counter)", 100*f.ipidRising/f.sources))
		}
	}
	if len(why) > 0 {
		b.WriteString("; the sources look spoofed: ")
		b.WriteString(strings.Join(why, ", "))
	}
	return b.String()
}

func (f *flood) sumOutcomes() int {
	n := 0
	for _, c := range f.outcomes {
		n += c
	}
	return n
}

// noteIPID remembers the IP ID of a tracker's first probe, for the flood
// evidence.
func (t *tracker) noteIPID(c Contact) {
	if t.flags&ipidSeen == 0 {
		t.ipid = c.Print.IPID
		t.flags |= ipidSeen
	}
}
