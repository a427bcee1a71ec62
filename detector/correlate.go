// Correlation across sources, part of Episodes: decoy sets (nmap -D) get
// one alert attributed to the likely real scanner, and sources that split
// one target's ports between them share a distributed group.

package detector

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"

	"github.com/scanwatch/scanwatch/technique"
)

// Decoys (nmap -D) send every probe several times, from spoofed sources,
// with the same IP ID, sequence number and source port. probeSig is that
// fingerprint; two sources sending the same one to the same target and
// port within decoyWindow are one scan.
type probeSig struct {
	target [16]byte
	port   uint16
	ipid   uint16
	sport  uint16
	seq    uint32
	proto  uint8
}

type sigSeen struct {
	scanner netip.Addr
	t       int64
	tool    tool // the fingerprint's tool (unknown for UDP)
	copied  bool // another source sent the same probe: a decoy copy
}

const (
	decoyWindow = int64(2e9) // copies of one probe leave within microseconds; allow for queues
	maxSigs     = 1 << 16    // at most; the memory budget may allow fewer (limits.sigs)
)

// decoySet is a group of sources found sending the same probes, and when:
// a decoy set belongs to the probes that went out while copies were seen,
// never to a scan its members make before or after.
type decoySet struct {
	members     []netip.Addr
	first, last int64 // packet times of the first and the latest copy linked
	tool        tool  // the copies' fingerprint
	reported    bool  // its alert is out: the members' copies fold into it
}

// noteProbe indexes a first-contact probe, with the tool its fingerprint
// names, and links its source with any other source that sent the
// identical probe just before.
func (s *Episodes) noteProbe(sig probeSig, src netip.Addr, tl tool) {
	prev, at := s.sigs.lookup(&sig)
	if prev != nil {
		if first := addrOf(prev.scanner, prev.is6); first != src && s.now-prev.t <= decoyWindow {
			prev.copied = true
			s.linkDecoys(first, src, prev.t)
			if ds := s.decoys[src]; ds != nil { // nil: the set is full (maxDecoys)
				ds.tool = prev.tool
			}
			return
		}
	}
	if s.sigs.len() >= s.lim.sigs {
		s.sigs.clear() // a cheap bound; decoy copies arrive together, so little is lost
		at = sigPlace{ent: -2}
	}
	s.sigs.store(at, &sig, sigSeen{scanner: src, t: s.now, tool: tl})
}

// sigOf is the signature noteProbe indexed c's first probe under, if any.
func sigOf(c Contact) (probeSig, bool) {
	sig := probeSig{target: c.Target.As16(), port: c.Port, ipid: c.Print.IPID, sport: c.Print.SrcPort}
	switch {
	case tcpProbe(c.Technique):
		sig.seq, sig.proto = c.Print.Seq, 6
	case c.Technique == technique.UDP && c.Print.IPID != 0:
		sig.proto = 17
	default:
		return probeSig{}, false
	}
	return sig, true
}

// linkDecoys puts a and b in one decoy set; since is when the first of the
// two copies went out.
// maxDecoys bounds a decoy set (nmap -D takes a handful): a flood of
// spoofed copies of one probe would otherwise grow one set, and the cost
// of every member's removal, without end.
const maxDecoys = 128

func (s *Episodes) linkDecoys(a, b netip.Addr, since int64) {
	sa, sb := s.liveDecoys(a), s.liveDecoys(b)
	if sa != nil && sb != sa && len(sa.members) >= maxDecoys || sb != nil && sb != sa && len(sb.members) >= maxDecoys {
		return
	}
	switch {
	case sa == nil && sb == nil:
		set := &decoySet{members: []netip.Addr{a, b}, first: since}
		s.decoys[a], s.decoys[b] = set, set
	case sa == nil:
		sb.members = append(sb.members, a)
		s.decoys[a] = sb
	case sb == nil:
		sa.members = append(sa.members, b)
		s.decoys[b] = sa
	case sa != sb:
		for _, m := range sb.members {
			sa.members = append(sa.members, m)
			s.decoys[m] = sa
		}
		sa.first = min(sa.first, sb.first)
	}
	set := s.decoys[a]
	set.first = min(set.first, since)
	set.last = max(set.last, s.now)
}

// liveDecoys returns a's decoy set while it is still sending copies; after
// an idle timeout without one, a leaves it: a later decoy scan is another
// set.
func (s *Episodes) liveDecoys(a netip.Addr) *decoySet {
	ds := s.decoys[a]
	if ds != nil && s.now-ds.last > int64(s.r.Timeouts.Idle) {
		delete(s.decoys, a)
		if i := slices.Index(ds.members, a); i >= 0 {
			ds.members = slices.Delete(ds.members, i, i+1)
		}
		return nil
	}
	return ds
}

// inDecoyScan reports whether c's probe was a decoy copy: another member
// of its scanner's decoy set sent the same probe. A probe not copied (yet:
// a live decoy first in nmap's order is answered before the next copy
// leaves), or no longer in the index, counts as one when it went out while
// the set was sending copies and with the copies' fingerprint; another
// tool's probes right after (masscan) are another scan.
func (s *Episodes) inDecoyScan(c *Contact) bool {
	if len(s.decoys) == 0 {
		return false // no decoy set: no map lookup
	}
	ds := s.decoys[c.Scanner]
	if ds == nil {
		return false
	}
	if sig, ok := sigOf(*c); ok {
		if seen, ok := s.sigs.get(sig); ok && seen.copied {
			return true
		}
	}
	tl := toolUnknown
	if tcpProbe(c.Technique) {
		tl = toolOf(c.Print)
	}
	return tl == ds.tool && c.First >= ds.first-decoyWindow && c.First <= ds.last+decoyWindow
}

// decoyAlert handles an episode made of decoy copies: the set gets one
// alert, attributed to the real scanner when the replies single it out. It
// returns the episode to report and the tracker it belongs to, or nil when
// the set has already been reported or the decision must wait: until every
// member has a resolved contact, or the reply timeout after the set's first
// copy, so that no member is compared before its copies could be answered.
func (s *Episodes) decoyAlert(t *tracker, tech technique.Technique, e *episode) (*tracker, *episode) {
	ds := s.decoys[t.addr]
	if ds == nil || !e.decoyed {
		return t, e
	}
	if ds.reported {
		e.folded = true
		return nil, nil
	}
	if due := ds.first + int64(s.r.Timeouts.Reply); s.now < due && !s.noWait && !s.allAnswered(ds, tech) {
		if !e.deferred {
			e.deferred = true
			s.deferred = append(s.deferred, deferredAlert{t, tech, e, due})
		}
		return nil, nil
	}
	ds.reported = true
	real, why := s.realScanner(ds, tech)
	rt := t
	if real.IsValid() {
		if x := s.trackers.get(real); x != nil && x.eps[tech] != nil {
			rt = x
		}
	}
	for _, m := range ds.members {
		if mt := s.trackers.get(m); mt != nil && mt != rt && mt.eps[tech] != nil && mt.eps[tech].decoyed {
			mt.eps[tech].folded = true
		}
	}
	re := rt.eps[tech]
	re.folded = false
	re.undetermined = !real.IsValid()
	n := re.notes()
	n.decoys = nil
	for _, m := range ds.members {
		if m != real {
			n.decoys = append(n.decoys, m)
		}
	}
	sort.Slice(n.decoys, func(i, j int) bool { return n.decoys[i].Less(n.decoys[j]) })
	n.decoyWhy = fmt.Sprintf("same probes (IP ID, sequence, source port) from %d sources; %s", len(ds.members), why)
	return rt, re
}

// minAnswered is how many answered contacts single out a decoy set's real
// scanner at least: one or two may be a stray reply.
const minAnswered = 3

// allAnswered reports whether every member of ds has resolved contacts of
// the decoy scan.
func (s *Episodes) allAnswered(ds *decoySet, tech technique.Technique) bool {
	for _, m := range ds.members {
		t := s.trackers.get(m)
		if t == nil || t.eps[tech] == nil || !t.eps[tech].decoyed || t.eps[tech].contacts == 0 {
			return false
		}
	}
	return true
}

// deferredAlert is a decoy set's alert waiting for every member's replies.
type deferredAlert struct {
	t    *tracker
	tech technique.Technique
	e    *episode
	due  int64
}

// decideNow raises e's waiting decoy alert at once: its scanner starts
// another scan, or the capture ends.
func (s *Episodes) decideNow(t *tracker, tech technique.Technique, e *episode) {
	s.noWait = true
	s.alert(t, tech, e)
	s.noWait = false
}

// fireDeferred raises the waiting decoy alerts that are due at now.
func (s *Episodes) fireDeferred(now int64) {
	n := 0
	for _, d := range s.deferred {
		if d.due > now {
			s.deferred[n] = d
			n++
			continue
		}
		if d.t.eps[d.tech] == d.e && !d.e.alerted && !d.e.folded && s.trackers.get(d.t.addr) == d.t {
			s.alert(d.t, d.tech, d.e)
		}
	}
	clear(s.deferred[n:])
	s.deferred = s.deferred[:n]
}

// realScanner names the member of a decoy set that the replies single out,
// or says why none is. Spoofed decoys that do not exist, or are not on the
// path, draw no answers (the target cannot reach them) or never reset the
// target's SYN-ACKs; the real scanner's stack does. Shares of contacts are
// compared, not counts, since members' copies resolve at different times;
// when the members were answered alike the honest answer is "undetermined".
func (s *Episodes) realScanner(ds *decoySet, tech technique.Technique) (netip.Addr, string) {
	type view struct {
		addr                    netip.Addr
		n, answered, reset, ign int
	}
	var vs []view
	for _, m := range ds.members {
		v := view{addr: m}
		if t := s.trackers.get(m); t != nil && t.eps[tech] != nil && t.eps[tech].decoyed {
			o := t.eps[tech].outcomes
			for _, k := range o {
				v.n += k
			}
			v.answered = v.n - o[OutNone]
			v.reset = o[OutHalfOpen] + o[OutConnect]
			v.ign = o[OutOpen]
		}
		vs = append(vs, v)
	}
	// Only one member reset SYN-ACKs, and another let its SYN-ACKs go.
	var resetter view
	resetters, ignorers := 0, 0
	for _, v := range vs {
		if v.reset > 0 {
			resetter = v
			resetters++
		} else if v.ign > 0 {
			ignorers++
		}
	}
	if resetters == 1 && ignorers > 0 {
		return resetter.addr, fmt.Sprintf("real scanner %s: the only source whose stack reset the target's SYN-ACKs", resetter.addr)
	}
	// Only one member was answered: a few of its contacts at least (a
	// target under load may answer far from all), and every other member
	// at most a quarter of its share.
	share := func(v view) float64 {
		if v.n == 0 {
			return 0
		}
		return float64(v.answered) / float64(v.n)
	}
	best := -1
	for i, v := range vs {
		if best < 0 || share(v) > share(vs[best]) {
			best = i
		}
	}
	if best >= 0 && vs[best].answered >= minAnswered {
		alone := true
		for i, v := range vs {
			alone = alone && (i == best || share(v) <= share(vs[best])/4)
		}
		if alone {
			return vs[best].addr, fmt.Sprintf("real scanner %s: the only source the target answered", vs[best].addr)
		}
	}
	return netip.Addr{}, "real scanner undetermined: the target answered every source alike"
}

// groupDistributed links an alerted episode with alerted episodes of other
// sources that scan the same target in the same period, with the same
// technique, over (mostly) different ports: a port range split between
// several sources. They share one group id.
func (s *Episodes) groupDistributed(t *tracker, tech technique.Technique, e *episode) {
	if e.targets.len() > 4 {
		return // horizontal and block scans are not split this way
	}
	// In address order: the first group found names the episode's, and a
	// replay must name it the same way every time.
	targets := slices.SortedFunc(e.targets.keys(), netip.Addr.Compare)
	for _, target := range targets {
		for _, ot := range s.byTarget[target] {
			if ot == t {
				continue
			}
			oe := ot.eps[tech]
			if oe == nil || !oe.alerted || oe.folded || oe.last+int64(s.thresholds[tech].Window) < e.first {
				continue
			}
			if overlap(&e.ports, &oe.ports)*5 > min(e.ports.len(), oe.ports.len()) {
				continue // more than 20% shared: not a split range
			}
			if oe.read().group == "" {
				s.groups++
				oe.notes().group = fmt.Sprintf("dist-%d", s.groups)
			}
			e.notes().group = oe.read().group
		}
	}
	for _, target := range targets {
		s.byTarget[target] = append(s.byTarget[target], t)
	}
}

func (s *Episodes) forgetTargets(t *tracker, e *episode) {
	for target := range e.targets.keys() {
		list := s.byTarget[target]
		for i, x := range list {
			if x == t {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(s.byTarget, target)
		} else {
			s.byTarget[target] = list
		}
	}
}

func overlap(a, b *portSet) int {
	if a.len() > b.len() {
		a, b = b, a
	}
	n := 0
	a.each(func(p uint16) {
		if b.has(p) {
			n++
		}
	})
	return n
}
