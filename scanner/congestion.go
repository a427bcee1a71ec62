package scanner

import "time"

// Congestion control as nmap's scan engine does it (nmap's timing.cc, as
// its documentation and "Nmap Network Scanning" ch. 6 describe): a window
// of probes in flight per host and one for all hosts, grown on every reply
// (slow start below ssthresh, then about one probe per window of replies),
// and cut when a reply shows that an earlier transmission was lost. Growth
// is scaled by how many probes it takes to get a reply, so scans of mostly
// silent ports (filtered, open|filtered) still speed up.
type congestion struct {
	cwnd, ssthresh float64
	expected       float64 // probes sent
	received       float64 // replies
	lastDrop       int64   // engine time of the last cut
}

// ccParams are the window limits of a scan.
type ccParams struct {
	low, max, initial, ssthresh float64
	caIncr                      float64 // congestion-avoidance increment per window
	scaleMax                    float64
	dropDivisor                 float64 // ssthresh = in flight / dropDivisor on loss
}

func newCCParams(t Timing) ccParams {
	p := ccParams{low: 1, max: 300, initial: 10, ssthresh: 75, caIncr: 1, scaleMax: 50, dropDivisor: 2}
	if t.MinParallelism > 0 {
		p.low = float64(t.MinParallelism)
	}
	if t.MaxParallelism > 0 {
		p.max = float64(t.MaxParallelism)
	}
	p.max = max(p.max, p.low)
	p.initial = min(max(p.initial, p.low), p.max)
	if t.Template >= 4 {
		p.caIncr, p.dropDivisor = 2, 1.5
	}
	return p
}

func (c *congestion) init(p ccParams) {
	c.cwnd, c.ssthresh = p.initial, p.ssthresh
}

// sent counts a transmission.
func (c *congestion) sent() { c.expected++ }

// ack grows the window for one reply.
func (c *congestion) ack(p ccParams) {
	c.received++
	scale := 1.0
	if c.received > 0 {
		scale = min(max(c.expected/c.received, 1), p.scaleMax)
	}
	if c.cwnd < c.ssthresh {
		c.cwnd = min(c.cwnd+scale, c.ssthresh)
	} else {
		c.cwnd += p.caIncr / c.cwnd * scale
	}
	c.cwnd = min(c.cwnd, p.max)
}

// dropHost cuts a host's window to the minimum (a loss seen at one host).
func (c *congestion) dropHost(p ccParams, inFlight int, now int64) {
	c.ssthresh = max(float64(inFlight)/p.dropDivisor, 2)
	c.cwnd = p.low
	c.lastDrop = now
}

// dropGroup halves the window of all hosts together.
func (c *congestion) dropGroup(p ccParams, inFlight int, now int64) {
	c.cwnd = max(p.low, c.cwnd/2)
	c.ssthresh = max(float64(inFlight)/p.dropDivisor, 2)
	c.lastDrop = now
}

// rtt is a smoothed round-trip time (RFC 6298's estimator, which nmap
// uses too) and the probe timeout derived from it.
type rtt struct {
	srtt, rttvar time.Duration
	have         bool
}

func (e *rtt) sample(d time.Duration) {
	if !e.have {
		e.srtt, e.rttvar, e.have = d, d/2, true
		return
	}
	diff := e.srtt - d
	if diff < 0 {
		diff = -diff
	}
	e.rttvar = (3*e.rttvar + diff) / 4
	e.srtt = (7*e.srtt + d) / 8
}

// timeout is srtt + 4 rttvar within the timing's bounds, or the initial
// timeout before any sample.
func (e *rtt) timeout(t *Timing) time.Duration {
	if !e.have {
		return t.InitialRTTTimeout
	}
	return min(max(e.srtt+4*e.rttvar, t.MinRTTTimeout), t.MaxRTTTimeout)
}
