// Correlation across sources, part of Episodes: decoy sets (nmap -D) get
// one alert attributed to the likely real scanner, and sources that split
// one target's ports between them share a distributed group.

package detector

import (
	"fmt"
	"net/netip"
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
}

const (
	decoyWindow = int64(2e9) // copies of one probe leave within microseconds; allow for queues
	maxSigs     = 1 << 16    // at most; the memory budget may allow fewer (limits.sigs)
)

// decoySet is a group of sources found sending the same probes.
type decoySet struct {
	members []netip.Addr
}

// noteProbe indexes a first-contact probe and links its source with any
// other source that sent the identical probe just before.
func (s *Episodes) noteProbe(sig probeSig, src netip.Addr) {
	if prev, ok := s.sigs[sig]; ok && prev.scanner != src && s.now-prev.t <= decoyWindow {
		s.linkDecoys(prev.scanner, src)
		return
	}
	if len(s.sigs) >= s.lim.sigs {
		clear(s.sigs) // a cheap bound; decoy copies arrive together, so little is lost
	}
	s.sigs[sig] = sigSeen{src, s.now}
}

// maxDecoys bounds a decoy set (nmap -D takes a handful): a flood of
// spoofed copies of one probe would otherwise grow one set, and the cost
// of every member's removal, without end.
const maxDecoys = 128

func (s *Episodes) linkDecoys(a, b netip.Addr) {
	sa, sb := s.decoys[a], s.decoys[b]
	if sa != nil && sb != sa && len(sa.members) >= maxDecoys || sb != nil && sb != sa && len(sb.members) >= maxDecoys {
		return
	}
	switch {
	case sa == nil && sb == nil:
		set := &decoySet{members: []netip.Addr{a, b}}
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
	}
}

// decoyAlert handles an episode of a source that belongs to a decoy set:
// the set gets one alert, attributed to the likely real scanner. It returns
// the episode to report and the tracker it belongs to, or nil when the set
// has already been reported.
func (s *Episodes) decoyAlert(t *tracker, tech technique.Technique, e *episode) (*tracker, *episode) {
	ds := s.decoys[t.addr]
	if ds == nil {
		return t, e
	}
	for _, m := range ds.members {
		if mt := s.trackers[m]; mt != nil && mt != t && mt.eps[tech] != nil && mt.eps[tech].alerted {
			e.folded = true
			return nil, nil
		}
	}
	real, why := s.realScanner(ds, tech)
	rt := t
	if real.IsValid() {
		if x := s.trackers[real]; x != nil && x.eps[tech] != nil {
			rt = x
		}
	}
	for _, m := range ds.members {
		if mt := s.trackers[m]; mt != nil && mt != rt && mt.eps[tech] != nil {
			mt.eps[tech].folded = true
		}
	}
	re := rt.eps[tech]
	re.decoys = nil
	for _, m := range ds.members {
		if m != rt.addr {
			re.decoys = append(re.decoys, m)
		}
	}
	sort.Slice(re.decoys, func(i, j int) bool { return re.decoys[i].Less(re.decoys[j]) })
	re.decoyWhy = fmt.Sprintf("same probes (IP ID, sequence, source port) from %d sources; %s", len(ds.members), why)
	return rt, re
}

// realScanner picks the member whose probes the target answered and whose
// own stack reset the SYN-ACKs: spoofed decoys that do not exist (or are
// not on the path) never do. When no member stands out it says so.
func (s *Episodes) realScanner(ds *decoySet, tech technique.Technique) (netip.Addr, string) {
	var best netip.Addr
	bestScore, tie := -1, false
	for _, m := range ds.members {
		t := s.trackers[m]
		if t == nil || t.eps[tech] == nil {
			continue
		}
		o := t.eps[tech].outcomes
		score := 3*(o[OutHalfOpen]+o[OutConnect]) + o[OutClosed] + o[OutOpen]
		switch {
		case score > bestScore:
			best, bestScore, tie = m, score, false
		case score == bestScore:
			tie = true
		}
	}
	if tie || bestScore <= 0 {
		return netip.Addr{}, "real scanner undetermined (no source drew distinct replies)"
	}
	return best, fmt.Sprintf("real scanner %s: the only source answered by the target or resetting its SYN-ACKs", best)
}

// groupDistributed links an alerted episode with alerted episodes of other
// sources that scan the same target in the same period, with the same
// technique, over (mostly) different ports: a port range split between
// several sources. They share one group id.
func (s *Episodes) groupDistributed(t *tracker, tech technique.Technique, e *episode) {
	if len(e.targets) > 4 {
		return // horizontal and block scans are not split this way
	}
	for target := range e.targets {
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
			if oe.group == "" {
				s.groups++
				oe.group = fmt.Sprintf("dist-%d", s.groups)
			}
			e.group = oe.group
		}
	}
	for target := range e.targets {
		s.byTarget[target] = append(s.byTarget[target], t)
	}
}

func (s *Episodes) forgetTargets(t *tracker, e *episode) {
	for target := range e.targets {
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
