package scanner

import (
	"context"
	"math"
	"net/netip"
	"sync"
	"time"
)

// The engine sends one phase's probes to a group of hosts the way nmap's
// scan engine paces them: congestion windows per host and for the group
// (congestion.go), a per-host round-trip estimate for timeouts,
// retransmission of unanswered probes (at most one more try than the
// highest try that ever got an answer, within --max-retries), and a
// per-host scan delay that doubles when answers only come to late tries —
// what a target that rate-limits its ICMP errors or RSTs looks like.

// Probe status.
const (
	stNew uint8 = iota
	stFlight
	stRetry  // timed out, queued for retransmission
	stParked // out of tries for now; retried if the host's allowed tries grow
	stDone
)

// probeState is one (host, spec) probe.
type probeState struct {
	sentAt int64 // engine time of the last transmission
	tries  uint8 // transmissions so far
	status uint8
	state  PortState
	reason uint8 // index into engine.reasons
	ttl    uint8
}

// inflight is a transmission awaiting its answer, in send order.
type inflight struct {
	spec int32
	try  uint8
	at   int64
}

type hostState struct {
	addr, src    netip.Addr
	probes       []probeState
	next         int     // next never-sent position in engine.order
	retry        []int32 // specs to retransmit, oldest first
	parked       []int32
	fifo         []inflight
	head         int
	active       int // in flight
	remaining    int // not done
	cc           congestion
	rtt          rtt
	delay        time.Duration
	lastSend     int64
	maxTry       int // highest try that got an answer
	started      int64
	up           bool
	upReason     string
	upTTL        uint8
	done         bool
	sendErr      string
	answered     int  // probes of this phase answered
	benched      bool // a bench round has been sent
	benchAnswers int  // answers since the last bench round
}

// pick is one probe chosen for sending.
type pick struct {
	h    *hostState
	spec int32
	try  uint8
}

// transport sends packets. It stops at the first error and says how many
// were sent before it.
type transport interface {
	send(pkts []outPacket) (int, error)
}

type engine struct {
	mu      sync.Mutex
	timing  Timing
	params  ccParams
	pr      *prober
	order   []int32 // specs in send order (random unless -r)
	hosts   []*hostState
	byAddr  map[netip.Addr]*hostState
	cc      congestion
	rtt     rtt
	active  int
	start   time.Time
	maxDly  time.Duration
	minDly  time.Duration
	boostAt int // maxTry above this boosts the scan delay
	udp     bool
	// icmpNegative: the scan's negative answers are ICMP errors (UDP, IP
	// protocol scans), which targets rate-limit.
	icmpNegative bool
	benchWait    time.Duration
	tokens       float64
	lastTok      int64

	sent, retrans, replies, sendErrors int
	reasons                            []string
	reasonIdx                          map[string]uint8
	wake                               chan struct{}
	noReply                            PortState
}

const batchMax = 64

func newEngine(t Timing, pr *prober, order []int32, targets []netip.Addr, sources map[netip.Addr]netip.Addr, noReply PortState) *engine {
	e := &engine{
		timing: t, params: newCCParams(t), pr: pr, order: order, byAddr: make(map[netip.Addr]*hostState, len(targets)),
		start: time.Now(), reasonIdx: map[string]uint8{}, wake: make(chan struct{}, 1), noReply: noReply,
		udp: pr.tech == UDP, minDly: t.ScanDelay, boostAt: 3, icmpNegative: pr.tech == UDP || pr.tech == IPProto, benchWait: benchWait,
	}
	e.cc.init(e.params)
	e.cc.lastDrop = -1
	e.maxDly = t.MaxScanDelay
	if e.udp {
		e.maxDly = max(e.maxDly, t.MaxUDPScanDelay)
	}
	if t.Template >= 4 {
		e.boostAt = 4
	}
	e.reason("") // index 0: none
	for _, a := range targets {
		h := &hostState{addr: a, src: sources[a], probes: make([]probeState, len(pr.specs)), remaining: len(pr.specs),
			delay: t.ScanDelay, lastSend: math.MinInt64 / 2, started: -1}
		h.cc.init(e.params)
		h.cc.lastDrop = -1
		e.hosts = append(e.hosts, h)
		e.byAddr[a] = h
	}
	return e
}

func (e *engine) now() int64 { return int64(time.Since(e.start)) }

func (e *engine) reason(s string) uint8 {
	if i, ok := e.reasonIdx[s]; ok {
		return i
	}
	e.reasons = append(e.reasons, s)
	e.reasonIdx[s] = uint8(len(e.reasons) - 1)
	return uint8(len(e.reasons) - 1)
}

// allowedTry is the last try a host's probes may have: one more than the
// highest that ever got an answer, at least 1, at most --max-retries.
func (e *engine) allowedTry(h *hostState) int {
	return min(max(1, h.maxTry+1), e.timing.MaxRetries)
}

func (h *hostState) hasWork(e *engine) bool {
	if h.done {
		return false
	}
	for len(h.retry) > 0 && h.probes[h.retry[0]].status != stRetry {
		h.retry = h.retry[1:]
	}
	return len(h.retry) > 0 || h.next < len(e.order)
}

func (e *engine) timeout(h *hostState) time.Duration {
	if h.rtt.have {
		return h.rtt.timeout(&e.timing)
	}
	return e.rtt.timeout(&e.timing)
}

// expire moves timed-out transmissions to the retry queue (or parks them)
// and returns the engine time of the next expiry.
func (e *engine) expire(now int64) int64 {
	next := int64(math.MaxInt64)
	for _, h := range e.hosts {
		if h.done {
			continue
		}
		if e.timing.HostTimeout > 0 && h.started >= 0 && now-h.started > int64(e.timing.HostTimeout) {
			e.finishHost(h, "host-timeout")
			continue
		}
		if h.active > 0 {
			to := int64(e.timeout(h))
			for h.head < len(h.fifo) {
				f := h.fifo[h.head]
				p := &h.probes[f.spec]
				if p.status != stFlight || p.tries != f.try+1 {
					h.head++
					continue
				}
				if f.at+to > now {
					next = min(next, f.at+to)
					break
				}
				h.head++
				h.active--
				e.active--
				if int(p.tries) <= e.allowedTry(h) {
					p.status = stRetry
					h.retry = append(h.retry, f.spec)
				} else {
					p.status = stParked
					h.parked = append(h.parked, f.spec)
				}
			}
			if h.head > 1024 && h.head > len(h.fifo)/2 {
				h.fifo = append(h.fifo[:0], h.fifo[h.head:]...)
				h.head = 0
			}
		}
		if h.active == 0 && !h.hasWork(e) {
			if at, again := e.benchRound(h, now); again {
				next = min(next, at)
				continue
			}
			e.finishHost(h, "no-response")
		}
	}
	return next
}

// benchWait is how long a bench round waits after a host's last probe:
// Linux's default ICMP rate limit (net.ipv4.icmp_ratelimit) lets one error
// per second through to a host once its burst is spent.
const benchWait = time.Second

// benchRound decides what becomes of a host whose only unsettled probes
// are parked (out of tries): in a scan whose negative answers are ICMP
// errors, which targets rate-limit, a host that answered some probes may
// just be holding the rest back. Its parked probes are then sent once more,
// a second after its last probe (when the limiter has a token again), and
// again while each round draws an answer; the answers to late tries raise
// its allowed tries and scan delay as any answer does. again is false when
// the host is done; otherwise at is when to look again.
func (e *engine) benchRound(h *hostState, now int64) (at int64, again bool) {
	if !e.icmpNegative || len(h.parked) == 0 || h.answered == 0 || (h.benched && h.benchAnswers == 0) {
		return 0, false
	}
	if wait := h.lastSend + int64(e.benchWait); now < wait {
		return wait, true
	}
	h.benched, h.benchAnswers = true, 0
	kept := h.parked[:0]
	for _, s := range h.parked {
		p := &h.probes[s]
		switch {
		case p.status != stParked:
		case int(p.tries) > e.timing.MaxRetries:
			kept = append(kept, s) // out of tries for good
		default:
			p.status = stRetry
			h.retry = append(h.retry, s)
		}
	}
	h.parked = kept
	return now, len(h.retry) > 0
}

// finishHost settles a host's unanswered probes with the no-reply state.
func (e *engine) finishHost(h *hostState, why string) {
	r := e.reason(why)
	for i := range h.probes {
		p := &h.probes[i]
		if p.status == stDone {
			continue
		}
		if p.status == stFlight {
			h.active--
			e.active--
		}
		p.status, p.state, p.reason = stDone, e.noReply, r
	}
	h.remaining, h.retry, h.parked, h.done = 0, nil, nil, true
}

// pickBatch chooses what to send now: retransmissions first, then new
// probes, host by host in turn, within the windows, the scan delays and
// the rate limits. It returns the engine time worth waking up at when it
// could pick nothing more.
func (e *engine) pickBatch(now int64, picks []pick) ([]pick, int64) {
	wakeAt := int64(math.MaxInt64)
	forced := false
	if e.timing.MinRate > 0 {
		forced = float64(e.sent) < e.timing.MinRate*float64(now)/1e9
		// When the floor next calls for a probe.
		wakeAt = min(wakeAt, int64(float64(e.sent+1)/e.timing.MinRate*1e9)+1)
	}
	e.refill(now)
	for progress := true; progress && len(picks) < batchMax; {
		progress = false
		for _, h := range e.hosts {
			if len(picks) >= batchMax {
				break
			}
			if !h.hasWork(e) {
				continue
			}
			if t := h.lastSend + int64(h.delay); t > now {
				wakeAt = min(wakeAt, t)
				continue
			}
			if !forced && (float64(h.active) >= math.Floor(h.cc.cwnd) || float64(e.active) >= math.Floor(e.cc.cwnd)) {
				continue
			}
			if e.timing.MaxRate > 0 && e.tokens < 1 {
				wakeAt = min(wakeAt, now+int64((1-e.tokens)/e.timing.MaxRate*1e9)+1)
				return picks, wakeAt
			}
			picks = append(picks, e.take(h, now))
			progress = true
		}
	}
	return picks, wakeAt
}

// take marks the host's next probe as sent now.
func (e *engine) take(h *hostState, now int64) pick {
	var s int32
	if len(h.retry) > 0 {
		s, h.retry = h.retry[0], h.retry[1:]
		e.retrans++
	} else {
		s = e.order[h.next]
		h.next++
	}
	p := &h.probes[s]
	try := p.tries
	p.tries++
	p.status, p.sentAt = stFlight, now
	h.fifo = append(h.fifo, inflight{spec: s, try: try, at: now})
	h.active++
	e.active++
	h.lastSend = now
	if h.started < 0 {
		h.started = now
	}
	h.cc.sent()
	e.cc.sent()
	e.sent++
	if e.timing.MaxRate > 0 {
		e.tokens--
	}
	return pick{h: h, spec: s, try: try}
}

// refill adds --max-rate tokens, with bursts of at most 10 ms worth.
func (e *engine) refill(now int64) {
	if e.timing.MaxRate <= 0 {
		return
	}
	burst := max(1, e.timing.MaxRate/100)
	e.tokens = min(burst, e.tokens+float64(now-e.lastTok)/1e9*e.timing.MaxRate)
	e.lastTok = now
}

// run sends every probe and waits out the answers. On a context error it
// returns at once; what is unanswered stays unsettled.
func (e *engine) run(ctx context.Context, tr transport, onSendErr func(h *hostState, err error) error) error {
	var picks []pick
	var pkts []outPacket
	owner := make([]*hostState, 0, batchMax)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		e.mu.Lock()
		now := e.now()
		next := e.expire(now)
		var wakeAt int64
		picks, wakeAt = e.pickBatch(now, picks[:0])
		finished := len(picks) == 0 && e.allDone()
		e.mu.Unlock()
		if finished {
			return nil
		}
		if len(picks) > 0 {
			e.pr.craft.reset()
			pkts, owner = pkts[:0], owner[:0]
			for _, pk := range picks {
				n := len(pkts)
				pkts = e.pr.craft.build(pkts, pk.h.src, pk.h.addr, e.pr.specs[pk.spec], int(pk.try))
				for range len(pkts) - n {
					owner = append(owner, pk.h)
				}
			}
			for len(pkts) > 0 {
				n, err := tr.send(pkts)
				if err == nil {
					break
				}
				if ferr := onSendErr(owner[n], err); ferr != nil {
					return ferr
				}
				e.mu.Lock()
				e.sendErrors++
				e.mu.Unlock()
				pkts, owner = pkts[n+1:], owner[n+1:]
			}
			e.sentAfterDelay(picks)
			continue
		}
		wait := time.Duration(min(next, wakeAt) - e.now())
		if wait <= 0 {
			continue
		}
		timer.Reset(min(wait, time.Second))
		select {
		case <-ctx.Done():
		case <-e.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// sentAfterDelay counts a host's scan delay from when its probe left, not
// from when it was picked: a send held up (the process descheduled, a full
// socket buffer) must not shorten the gap to the next probe on the wire.
func (e *engine) sentAfterDelay(picks []pick) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var done int64
	for _, pk := range picks {
		if pk.h.delay > 0 {
			if done == 0 {
				done = e.now()
			}
			pk.h.lastSend = max(pk.h.lastSend, done)
		}
	}
}

func (e *engine) allDone() bool {
	for _, h := range e.hosts {
		if !h.done {
			return false
		}
	}
	return true
}
