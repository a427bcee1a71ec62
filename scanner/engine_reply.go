package scanner

import "time"

// The engine's side of the replies: each one updates its host's timing
// (round-trip estimate, congestion window) and its probe's state.

// onReply settles the probe a classified reply answers and adapts the
// timing to what it shows.
func (e *engine) onReply(v verdict, r *reply, now int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	h := e.byAddr[v.host.Unmap()]
	if h == nil || v.spec < 0 || v.spec >= len(h.probes) {
		return
	}
	if v.icmp && r.qsrc != h.src || !v.icmp && r.kind != replyNeighbor && r.to != h.src {
		return
	}
	p := &h.probes[v.spec]
	if p.tries == 0 || v.try >= int(p.tries) || v.try < -1 {
		return // not an answer to anything we sent
	}
	try := v.try
	if try < 0 {
		try = int(p.tries) - 1
	}
	if p.status == stDone {
		return
	}
	if try == int(p.tries)-1 && p.status == stFlight {
		d := time.Duration(now - p.sentAt)
		h.rtt.sample(d)
		e.rtt.sample(d)
	}
	if try > 0 {
		// An answer to a retransmission: an earlier try was lost.
		if p.sentAt > h.cc.lastDrop {
			h.cc.dropHost(e.params, h.active, now)
		}
		if p.sentAt > e.cc.lastDrop {
			e.cc.dropGroup(e.params, e.active, now)
		}
	}
	e.cc.ack(e.params)
	h.cc.ack(e.params)
	if try > h.maxTry {
		h.maxTry = try
		if try > e.boostAt {
			e.boost(h)
		}
		e.unpark(h)
	}
	if p.status == stFlight {
		h.active--
		e.active--
	}
	p.status, p.state, p.reason, p.ttl = stDone, v.state, e.reason(v.reason), r.ttl
	h.remaining--
	h.answered++
	h.benchAnswers++
	e.replies++
	if !h.up {
		h.up, h.upReason, h.upTTL = true, v.reason, r.ttl
	}
	if h.remaining == 0 || e.pr.discovery {
		e.finishHost(h, "no-response")
	}
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// boost doubles a host's scan delay (5 ms for TCP, 50 ms for UDP to
// start), up to the maximum scan delay.
func (e *engine) boost(h *hostState) {
	switch {
	case h.delay == 0 && e.udp:
		h.delay = 50 * time.Millisecond
	case h.delay == 0:
		h.delay = 5 * time.Millisecond
	default:
		h.delay *= 2
	}
	h.delay = max(min(h.delay, e.maxDly), e.minDly)
}

// unpark requeues parked probes that the host's allowed tries now cover.
func (e *engine) unpark(h *hostState) {
	kept := h.parked[:0]
	for _, s := range h.parked {
		p := &h.probes[s]
		switch {
		case p.status != stParked:
		case int(p.tries) <= e.allowedTry(h):
			p.status = stRetry
			h.retry = append(h.retry, s)
		default:
			kept = append(kept, s)
		}
	}
	h.parked = kept
}
