// Trackers: the per-scanner state, bounded by an LRU that protects scanners
// in an alerted episode, and the once-a-second sweep that ends idle episodes.

package detector

import (
	"net/netip"
	"slices"
	"time"
)

// tracker is the state kept per would-be scanner.
type tracker struct {
	addr netip.Addr
	llr  float64 // log likelihood ratio of the sequential test
	eps  [numFamilies]*episode
	last int64
	// ended holds targets of IP episodes closed lately, so that the ARP
	// requests of their probes still count as resolutions (probedOverIP).
	ended map[netip.Addr]struct{}
	link[tracker]
}

func (t *tracker) links() *link[tracker] { return &t.link }

func (t *tracker) active() bool {
	for _, e := range t.eps {
		if e != nil && e.alerted {
			return true
		}
	}
	return false
}

// scanning reports whether src already has an episode of family fam:
// then a packet that would pass for a reply (a UDP probe from source port
// 53 to an ephemeral port) is one more probe.
func (d *Detector) scanning(src netip.Addr, fam family) bool {
	t := d.trackers[src]
	return t != nil && t.eps[fam] != nil
}

// probedOverIP reports whether scanner sent counted IP probes to target.
func (d *Detector) probedOverIP(scanner, target netip.Addr) bool {
	t := d.trackers[scanner]
	if t == nil {
		return false
	}
	for f, e := range t.eps {
		if e != nil && family(f) != famARP && e.targets[target] != nil {
			return true
		}
	}
	_, ok := t.ended[target]
	return ok
}

// maxEnded bounds the targets a tracker remembers from closed episodes.
const maxEnded = 4096

func (d *Detector) tracker(a netip.Addr) *tracker {
	t := d.trackers[a]
	if t != nil {
		t.last = d.now
		d.byAge.touch(t)
		return t
	}
	if len(d.trackers) >= d.r.State.MaxTrackers {
		d.evictTracker()
	}
	t = &tracker{addr: a, last: d.now}
	d.trackers[a] = t
	d.byAge.pushFront(t)
	return t
}

// evictTracker drops the least recently used tracker that is not in an
// alerted episode; if every tracker is, the least recently used one goes
// (after its summary is written).
func (d *Detector) evictTracker() {
	victim := d.byAge.tail
	for t, n := d.byAge.tail, 0; t != nil && n < 64; t, n = d.byAge.older(t), n+1 {
		if !t.active() {
			victim = t
			break
		}
	}
	if victim == nil {
		return
	}
	d.dropTracker(victim)
	d.stats.TrackersEvicted++
}

func (d *Detector) dropTracker(t *tracker) {
	for f := range t.eps {
		if t.eps[f] != nil {
			d.endEpisode(t, family(f))
		}
	}
	d.forget(t)
}

// forget removes a tracker with nothing left to report.
func (d *Detector) forget(t *tracker) {
	d.byAge.unlink(t)
	delete(d.trackers, t.addr)
	if ds := d.decoys[t.addr]; ds != nil {
		delete(d.decoys, t.addr)
		if i := slices.Index(ds.members, t.addr); i >= 0 {
			ds.members = slices.Delete(ds.members, i, i+1)
		}
	}
}

// sweep runs once a second of packet time: it ends idle episodes, forgets
// trackers with nothing left to remember, and drops long-idle flows.
func (d *Detector) sweep() {
	now := d.now
	idle := int64(d.r.Timeouts.Idle)
	memory := int64(d.r.Slow.Memory)
	if !d.r.Slow.Enabled {
		memory = 0
	}
	for t := d.byAge.tail; t != nil; {
		prev := d.byAge.older(t)
		keep := false
		for f, e := range t.eps {
			if e == nil {
				continue
			}
			quiet := now - e.last
			switch {
			case e.alerted && quiet > episodeIdle(e, idle):
				d.endEpisode(t, family(f))
			case !e.alerted && quiet > max(memory, int64(d.thresholds[f].Window)):
				t.eps[f] = nil
			default:
				keep = true
			}
		}
		if !keep && now-t.last > max(memory, idle) {
			d.forget(t)
		}
		t = prev
	}
	// Flows: the LRU tail holds the longest idle ones. A connection silent
	// for flowIdle that speaks again is picked up as mid-stream traffic.
	// A resolved probe's flow goes sooner: later packets (a retransmission,
	// masscan's extra RST) can no longer change its verdict.
	done := now - 2*int64(d.r.Timeouts.Reply)
	for f := d.flows.oldest(); f != nil && f.last < done; {
		older := d.flows.older(f)
		if f.state == stResolved || now-f.last > int64(flowIdle) {
			d.evictFlow(f)
			d.flows.remove(f)
		}
		f = older
	}
}

// flowIdle is how long a flow is remembered without packets.
const flowIdle = 5 * time.Minute

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
