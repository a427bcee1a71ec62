// Scans: each resolved first contact is counted into its scanner's episode,
// which becomes a scan (one alert) when it crosses a threshold or the
// sequential test, and ends with one summary.

package detector

import (
	"net/netip"
	"time"

	"github.com/scanwatch/scanwatch/rules"
)

// contact records one resolved first contact and decides whether the
// episode it belongs to has become a scan.
func (d *Detector) contact(scanner, target netip.Addr, port uint16, fam family, o outcome, probes int, f *flow, fp *synPrint) {
	t := d.tracker(scanner)
	if discoveryProbe(fam, port) && t.eps[famPing] != nil && t.eps[famPing].targets[target] != nil {
		// nmap's host discovery sends SYN to 443 and ACK to 80 with its
		// echo request: part of the ping sweep, not a port scan.
		t.eps[famPing].probes += probes
		t.eps[famPing].tcpProbes += probes
		return
	}
	e := t.eps[fam]
	if e != nil && e.alerted && f != nil && d.otherTool(e, f) {
		d.endEpisode(t, fam) // the same source, another tool: another scan
		e = nil
	}
	start := d.now
	if f != nil {
		start = f.first
	}
	if e == nil {
		e = newEpisode(fam, start)
		t.eps[fam] = e
	}
	if fam == famCustom && f != nil && e.name == "" {
		e.name = flagString(f.flags)
	}
	e.probes += probes
	e.first = min(e.first, start)
	e.last = max(e.last, start)
	e.outcomes[o]++
	if fp != nil {
		e.ttl.add(*fp)
	}
	if f != nil && f.proto() == 6 {
		e.tools.add(f.fp)
		if fam.synLike() {
			if f.fp.opts == optFull || f.fp.df && f.fp.opts != optMSSOnly && f.fp.opts != optNone {
				e.osSY++
			} else {
				e.craftedSY++
			}
		}
	}
	isNew := e.add(target, port, o, d.now)
	if isNew && d.alarmLLR > 0 {
		t.llr += d.failLLR
	}
	if e.alerted || e.folded || !isNew {
		return
	}
	th := d.thresholds[fam]
	e.slide(d.now, th.Window)
	switch {
	case e.crossed(target, th.Ports, th.Hosts):
	case d.slowScan(t, e, th):
		e.slow = true
	default:
		return
	}
	d.alert(t, fam, e)
}

// otherTool reports a TCP probe whose fingerprint names a tool other than
// the one an alerted episode was made with (at least 10 of its probes).
func (d *Detector) otherTool(e *episode, f *flow) bool {
	if f.proto() != 6 {
		return false
	}
	cur, nt := e.tools.leader(), toolOf(f.fp)
	return cur != toolUnknown && e.tools.n[cur] >= 10 && nt != cur && nt != toolUnknown && nt != toolOS
}

// slowScan applies the sequential test to an episode too slow for its
// window: the scanner's likelihood ratio has reached the alarm and the
// episode holds enough distinct failed contacts.
func (d *Detector) slowScan(t *tracker, e *episode, th rules.Threshold) bool {
	if d.alarmLLR <= 0 || t.llr < d.alarmLLR || d.now-e.first < int64(th.Window) {
		return false
	}
	n := d.r.Slow.MinPorts
	if e.fam == famPing || e.fam == famARP {
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

func (d *Detector) alert(t *tracker, fam family, e *episode) {
	if d.foldIntoPing(t, fam, e) {
		return
	}
	if t, e = d.decoyAlert(t, fam, e); e == nil {
		return
	}
	e.markAlerted()
	d.groupDistributed(t, fam, e)
	d.stats.Alerts++
	d.emit(Event{Kind: "alert", Time: time.Unix(0, d.now).UTC(), Scan: e.report(t.addr)})
}

func discoveryProbe(fam family, port uint16) bool {
	return fam.synLike() && port == 443 || fam == famAck && port == 80
}

// foldIntoPing keeps nmap's host discovery (echo, SYN to 443, ACK to 80,
// timestamp, to every host) one ping-sweep report instead of three.
func (d *Detector) foldIntoPing(t *tracker, fam family, e *episode) bool {
	ping := t.eps[famPing]
	if (!fam.synLike() && fam != famAck) || ping == nil {
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

func (d *Detector) endEpisode(t *tracker, fam family) {
	e := t.eps[fam]
	t.eps[fam] = nil
	if e == nil || !e.alerted {
		return
	}
	d.forgetTargets(t, e)
	if fam != famARP {
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
	s := e.report(t.addr)
	if fam == famPing {
		for _, other := range []family{famSyn, famConnect, famAck} {
			if o := t.eps[other]; o != nil && o.folded {
				s.Probes += o.probes
				s.Evidence += ", " + o.evidence()
			}
		}
	}
	d.emit(Event{Kind: "scan", Time: time.Unix(0, d.now).UTC(), Scan: s})
}
