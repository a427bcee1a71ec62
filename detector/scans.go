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
	if discoveryProbe(tech, port) && t.eps[technique.Ping] != nil && t.eps[technique.Ping].targets.has(target) {
		// nmap's host discovery sends SYN to 443 and ACK to 80 with its
		// echo request: part of the ping sweep, not a port scan.
		t.eps[technique.Ping].probes += probes
		t.eps[technique.Ping].tcpProbes += probes
		return
	}
	e, fresh := s.episodeFor(t, &c)
	if e == nil {
		return
	}
	e.tally(&c)
	e.note(c)
	ev := judge(c)
	counted := ev == evFailure || ev == evNone
	isNew := s.addContact(t, e, &c, counted)
	if fresh || e.alerted {
		// A new episode, or another contact of an alerted one (its mean
		// gap shrinks), may end sooner than t is due. A contact of an
		// episode that has not alerted only moves its end later.
		s.reschedule(t, e)
	}
	if !isNew {
		return // not a new contact: no new evidence
	}
	switch ev {
	case evFailure:
		e.failed++
		if s.alarmLLR > 0 {
			t.llr += s.failLLR
		}
		if tech == technique.IPProto {
			e.notes().protos.add(port)
		}
	case evSuccess:
		s.succeed(t) // t is c.Scanner's: addContact keeps it
	}
	if e.folded && !discoveryProbe(tech, port) {
		// A port scan after the sweep: what was folded into the ping
		// sweep is the start of a scan of its own (nmap -sn, then -sS).
		e.folded = false
	}
	if !counted || e.alerted || e.folded || s.holding {
		return // listed (an open port, a tunnel), already reported, or held
	}
	th := s.thresholds[tech]
	e.slide(s.now, th.Window)
	switch {
	case e.crossedPorts(target, th.Ports):
	case e.crossedHosts(th.Hosts) && s.failingMostly(t, tech):
	case s.sequential(t, e):
		e.slow = slowPace(e, th)
	case s.slowSweep(e, th):
		e.slow = true
	default:
		return
	}
	s.alert(t, tech, e)
}

// episodeFor returns the episode c counts in, started if need be (then
// fresh), or nil when c is a late answer to a scan that has ended. Another
// scan from the same source ends an alerted episode: decoy copies begin or
// end, or another tool's fingerprint takes over.
func (s *Episodes) episodeFor(t *tracker, c *Contact) (e *episode, fresh bool) {
	tech := c.Technique
	e = t.eps[tech]
	decoyed := s.inDecoyScan(c)
	switch {
	case e == nil:
	case decoyed && !e.decoyed && !e.alerted:
		e.decoyed = true // the decoy copies began
	case e.decoyed != decoyed && c.First < e.first:
		return nil, false
	case e.decoyed != decoyed && e.alerted, e.alerted && otherTool(e, c):
		s.endEpisode(t, tech)
		e = nil
	case e.decoyed != decoyed && e.deferred:
		s.decideNow(t, tech, e) // a decoy scan whose alert was waiting
		s.endEpisode(t, tech)
		e = nil
	case e.decoyed != decoyed:
		t.eps[tech] = nil // a decoy scan that never alerted, and a new one
		s.markDirty(t)
		e = nil
	}
	if e == nil {
		e = newEpisode(tech, c.First)
		e.decoyed = decoyed
		t.eps[tech] = e
		fresh = true
	}
	return e, fresh
}

// otherTool reports a TCP probe whose fingerprint names a tool other than
// the one an alerted episode was made with (at least 10 of its probes).
func otherTool(e *episode, c *Contact) bool {
	if !tcpProbe(c.Technique) {
		return false
	}
	cur, nt := e.tools.leader(), toolOf(c.Print)
	return cur != toolUnknown && e.tools.n[cur] >= 10 && nt != cur && nt != toolUnknown && nt != toolOS
}

// failingMostly reports whether a scanner's contacts failed more often
// than they succeeded, as far as the sequential test has seen: a client
// whose many requests are answered (a resolver, a poller) is not made a
// scanner by the few peers that are dead, however many hosts it talks to.
// Techniques without reply evidence, or the test switched off: true.
func (s *Episodes) failingMostly(t *tracker, tech technique.Technique) bool {
	return !replyTechnique(tech) || s.alarmLLR <= 0 || t.llr > 0
}

// sequential applies the sequential test (Jung, Paxson, Berger,
// Balakrishnan 2004) at any speed: the scanner's likelihood ratio has
// reached the alarm (with the defaults, four failed first contacts in a
// row: 4^4 = 256 > 99), and this episode holds min_ports distinct failed
// first contacts of its own (an ipproto episode: protocol numbers, which a
// protocol scan cycles). A rate window would wait for 8 to 15.
func (s *Episodes) sequential(t *tracker, e *episode) bool {
	if s.alarmLLR <= 0 || !replyTechnique(e.tech) || t.llr < s.alarmLLR {
		return false
	}
	n := s.r.Slow.MinPorts
	if e.tech == technique.IPProto {
		return e.read().protos.len() >= n
	}
	return e.failed >= n
}

// slowSweep catches ping and ARP sweeps too slow for their window: they
// carry no reply evidence, so hosts over more than a window decide, more
// of them than failures decide a scan (a host's kernel asks for a few dead
// neighbours now and then).
func (s *Episodes) slowSweep(e *episode, th rules.Threshold) bool {
	return s.alarmLLR > 0 && !replyTechnique(e.tech) && e.tech != technique.OSProbe &&
		s.now-e.first >= int64(th.Window) && e.targets.len() >= max(s.r.Slow.MinPorts, minSlowSweep)
}

// minSlowSweep is the fewest hosts of a slow ping or ARP sweep (what the
// slow path asked before the sequential test decided fast scans too).
const minSlowSweep = 6

// slowPace reports an episode whose first contacts came further apart than
// its rate threshold could ever see (the window over the smaller count):
// a slow scan, nmap -T1 and slower.
func slowPace(e *episode, th rules.Threshold) bool {
	k := th.Ports
	if th.Hosts > 0 && (k == 0 || th.Hosts < k) {
		k = th.Hosts
	}
	if k == 0 || e.contacts < 2 {
		return false
	}
	return (e.last-e.first)*int64(k) > int64(th.Window)*int64(e.contacts-1)
}

func (s *Episodes) alert(t *tracker, tech technique.Technique, e *episode) {
	if foldIntoPing(t, tech, e) {
		return
	}
	if t, e = s.decoyAlert(t, tech, e); e == nil {
		return
	}
	if !e.alerted {
		t.alerted++
	}
	e.markAlerted()
	s.reschedule(t, e) // its idle timeout may be sooner than the window
	e.notes().id = episodeID(t.addr, tech, e.first, s.alerts)
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
	onlyDiscovery := true
	e.ports.each(func(p uint16) { onlyDiscovery = onlyDiscovery && discoveryProbe(tech, p) })
	if !onlyDiscovery {
		return false
	}
	shared := 0
	for a := range e.targets.keys() {
		if ping.targets.has(a) {
			shared++
		}
	}
	if shared*2 < e.targets.len() {
		return false
	}
	e.folded = true
	return true
}

func (s *Episodes) endEpisode(t *tracker, tech technique.Technique) {
	e := t.eps[tech]
	t.eps[tech] = nil
	if e == nil {
		return
	}
	s.markDirty(t)
	if !e.alerted {
		return
	}
	t.alerted--
	s.forgetTargets(t, e)
	if tech != technique.ARP {
		ended := s.ended[t]
		if ended == nil {
			if s.ended == nil {
				s.ended = make(map[*tracker]map[netip.Addr]struct{})
			}
			ended = make(map[netip.Addr]struct{})
			s.ended[t] = ended
		}
		for a := range e.targets.keys() {
			if len(ended) >= maxEnded {
				break
			}
			ended[a] = struct{}{}
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
