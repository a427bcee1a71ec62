// Scans: each contact is counted into its scanner's episode of its
// technique, which becomes a scan (one alert) when it crosses a threshold
// or the sequential test, and ends with one summary.

package detector

import (
	"net/netip"
	"time"

	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/technique"
)

// count records one resolved first contact and decides whether the
// episode it belongs to has become a scan.
func (s *Episodes) count(c Contact) {
	tech, target, port, probes := c.Technique, c.Target, c.Port, int(c.Probes)
	t := s.admit(c)
	if t == nil {
		return // it waits in probation
	}
	if discoveryProbe(tech, port) && t.eps[technique.Ping] != nil && t.eps[technique.Ping].targets[target] != nil {
		// nmap's host discovery sends SYN to 443 and ACK to 80 with its
		// echo request: part of the ping sweep, not a port scan.
		t.eps[technique.Ping].probes += probes
		t.eps[technique.Ping].tcpProbes += probes
		return
	}
	e := t.eps[tech]
	if e != nil && e.alerted && otherTool(e, c) {
		s.endEpisode(t, tech) // the same source, another tool: another scan
		e = nil
	}
	start := c.First
	if e == nil {
		e = newEpisode(tech, start)
		t.eps[tech] = e
	}
	if tech == technique.Custom && e.name == "" {
		e.name = c.Print.Flags.String()
	}
	e.probes += probes
	e.first = min(e.first, start)
	e.last = max(e.last, start)
	e.outcomes[c.Outcome]++
	e.ttl.add(c.Print)
	if tcpProbe(tech) {
		fp := c.Print
		e.tools.add(fp)
		if synLike(tech) {
			if fp.Options == OptFull || fp.DF && fp.Options != OptMSSOnly && fp.Options != OptNone {
				e.osSY++
			} else {
				e.craftedSY++
			}
		}
	}
	isNew := s.addContact(t, e, c)
	if isNew && s.alarmLLR > 0 {
		t.llr += s.failLLR
	}
	if e.alerted || e.folded || !isNew {
		return
	}
	th := s.thresholds[tech]
	e.slide(s.now, th.Window)
	switch {
	case e.crossed(target, th.Ports, th.Hosts):
	case s.slowScan(t, e, th):
		e.slow = true
	default:
		return
	}
	s.alert(t, tech, e)
}

// otherTool reports a TCP probe whose fingerprint names a tool other than
// the one an alerted episode was made with (at least 10 of its probes).
func otherTool(e *episode, c Contact) bool {
	if !tcpProbe(c.Technique) {
		return false
	}
	cur, nt := e.tools.leader(), toolOf(c.Print)
	return cur != toolUnknown && e.tools.n[cur] >= 10 && nt != cur && nt != toolUnknown && nt != toolOS
}

// slowScan applies the sequential test to an episode too slow for its
// window: the scanner's likelihood ratio has reached the alarm and the
// episode holds enough distinct failed contacts.
func (s *Episodes) slowScan(t *tracker, e *episode, th rules.Threshold) bool {
	if s.alarmLLR <= 0 || t.llr < s.alarmLLR || s.now-e.first < int64(th.Window) {
		return false
	}
	n := s.r.Slow.MinPorts
	if e.tech == technique.Ping || e.tech == technique.ARP {
		return len(e.targets) >= n
	}
	if len(e.targets) >= n {
		return true
	}
	for _, ps := range e.targets {
		if ps.len() >= n {
			return true
		}
	}
	return false
}

func (s *Episodes) alert(t *tracker, tech technique.Technique, e *episode) {
	if foldIntoPing(t, tech, e) {
		return
	}
	if t, e = s.decoyAlert(t, tech, e); e == nil {
		return
	}
	e.markAlerted()
	if s.suppress(t, tech, e) {
		return // past the alert budget: part of a flood summary (floods.go)
	}
	s.groupDistributed(t, tech, e)
	s.alerts++
	s.emit(Event{Kind: "alert", Time: time.Unix(0, s.now).UTC(), Scan: e.report(t.addr)})
}

func discoveryProbe(tech technique.Technique, port uint16) bool {
	return synLike(tech) && port == 443 || tech == technique.Ack && port == 80
}

// foldIntoPing keeps nmap's host discovery (echo, SYN to 443, ACK to 80,
// timestamp, to every host) one ping-sweep report instead of three.
func foldIntoPing(t *tracker, tech technique.Technique, e *episode) bool {
	ping := t.eps[technique.Ping]
	if (!synLike(tech) && tech != technique.Ack) || ping == nil {
		return false
	}
	onlyWeb := true
	e.ports.each(func(p uint16) { onlyWeb = onlyWeb && (p == 80 || p == 443) })
	if !onlyWeb {
		return false
	}
	shared := 0
	for a := range e.targets {
		if ping.targets[a] != nil {
			shared++
		}
	}
	if shared*2 < len(e.targets) {
		return false
	}
	e.folded = true
	return true
}

func (s *Episodes) endEpisode(t *tracker, tech technique.Technique) {
	e := t.eps[tech]
	t.eps[tech] = nil
	if e == nil || !e.alerted {
		return
	}
	s.forgetTargets(t, e)
	if tech != technique.ARP {
		if t.ended == nil {
			t.ended = make(map[netip.Addr]struct{})
		}
		for a := range e.targets {
			if len(t.ended) >= maxEnded {
				break
			}
			t.ended[a] = struct{}{}
		}
	}
	if s.absorb(e) {
		return // summed up in its flood's record
	}
	rec := e.report(t.addr)
	if tech == technique.Ping {
		for _, other := range []technique.Technique{technique.Syn, technique.Connect, technique.Ack} {
			if o := t.eps[other]; o != nil && o.folded {
				rec.Probes += o.probes
				rec.Evidence += ", " + o.evidence()
			}
		}
	}
	s.emit(Event{Kind: "scan", Time: time.Unix(0, s.now).UTC(), Scan: rec})
}
