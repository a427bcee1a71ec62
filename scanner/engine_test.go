package scanner

import (
	"context"
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeNet is a transport standing in for the network and a target: answer
// decides, per UDP probe (port, try), whether an ICMP port unreachable
// comes back, after delay.
type fakeNet struct {
	mu     sync.Mutex
	e      *engine
	sport  uint16
	delay  time.Duration
	answer func(port uint16, try int, at time.Time) bool
	sends  []time.Time
	// lag holds up every other send before its packet leaves: the
	// process descheduled between picking a probe and sending it.
	lag time.Duration
}

func (f *fakeNet) send(pkts []outPacket) (int, error) {
	for _, p := range pkts {
		if f.lag > 0 && len(f.sends)%2 == 0 {
			time.Sleep(f.lag)
		}
		now := time.Now()
		f.mu.Lock()
		f.sends = append(f.sends, now)
		f.mu.Unlock()
		if f.answer == nil {
			continue
		}
		l4 := p.data[20:]
		sport, port := binary.BigEndian.Uint16(l4[0:]), binary.BigEndian.Uint16(l4[2:])
		try := int(sport - f.sport)
		if !f.answer(port, try, now) {
			continue
		}
		time.AfterFunc(f.delay, func() {
			r := reply{kind: replyICMP, from: dst4, qdst: dst4, qsrc: src4, qproto: protoUDP, sport: port, dport: sport, icmpType: 3, icmpCode: 3}
			v, ok := f.e.pr.classify(&r)
			if ok {
				f.e.onReply(v, &r, f.e.now())
			}
		})
	}
	return len(pkts), nil
}

// fakeScan runs a UDP scan of n ports of dst4 over a fakeNet.
func fakeScan(t *testing.T, tm Timing, n int, f *fakeNet) (*engine, time.Duration) {
	return fakeScanBench(t, tm, n, f, benchWait)
}

func fakeScanBench(t *testing.T, tm Timing, n int, f *fakeNet, bench time.Duration) (*engine, time.Duration) {
	t.Helper()
	if err := tm.normalize(); err != nil {
		t.Fatal(err)
	}
	c := testCrafter()
	f.sport = c.sport
	specs := make([]spec, n)
	order := make([]int32, n)
	for i := range specs {
		specs[i], order[i] = spec{kind: kindUDP, port: uint16(1000 + i)}, int32(i)
	}
	pr := newProber(UDP, false, specs, c, tm.MaxRetries+1)
	e := newEngine(tm, pr, order, []netip.Addr{dst4}, map[netip.Addr]netip.Addr{dst4: src4}, OpenFiltered)
	e.benchWait = bench
	f.e = e
	start := time.Now()
	if err := e.run(context.Background(), f, func(*hostState, error) error { return nil }); err != nil {
		t.Fatal(err)
	}
	return e, time.Since(start)
}

func TestEngineRateLimits(t *testing.T) {
	tm, _ := TimingTemplate(4)
	tm.MaxRetries, tm.InitialRTTTimeout, tm.MinRTTTimeout = 0, 20*time.Millisecond, 20*time.Millisecond

	// --max-rate 1000: 100 probes take about 0.1 s.
	slow := tm
	slow.MaxRate = 1000
	f := &fakeNet{}
	_, took := fakeScan(t, slow, 100, f)
	if took < 80*time.Millisecond {
		t.Errorf("--max-rate 1000: 100 probes in %v", took)
	}

	// --scan-delay 10ms: at least 10 ms between probes to the host on
	// the wire, also when a send is held up after its probe was picked.
	delayed := tm
	delayed.ScanDelay = 10 * time.Millisecond
	for _, lag := range []time.Duration{0, 4 * time.Millisecond} {
		f = &fakeNet{lag: lag}
		fakeScan(t, delayed, 10, f)
		for i := 1; i < len(f.sends); i++ {
			if gap := f.sends[i].Sub(f.sends[i-1]); gap < 9*time.Millisecond {
				t.Errorf("--scan-delay 10ms, sends held up %v: probe %d sent %v after the one before", lag, i, gap)
			}
		}
	}

	// --min-rate 2000 with one probe in flight at most and long timeouts:
	// the floor sends past the window.
	floor := tm
	floor.MinRate, floor.MaxParallelism, floor.InitialRTTTimeout, floor.MaxRTTTimeout = 2000, 1, time.Second, time.Second
	f = &fakeNet{}
	fakeScan(t, floor, 200, f)
	if span := f.sends[len(f.sends)-1].Sub(f.sends[0]); span > 300*time.Millisecond {
		t.Errorf("--min-rate 2000: 200 unanswered probes sent over %v", span)
	}
}

// TestEngineRateLimitedUnreachables simulates Linux's ICMP rate limit (a
// token bucket with bursts of 6): the engine must slow down until every
// closed port's unreachable comes back. At 20 per second the answers to
// retransmissions show it; at one per refill period longer than the probe
// timeout (Linux's default: one per second; here one per 200 ms, with the
// bench wait scaled alike) only the bench rounds catch a token.
func TestEngineRateLimitedUnreachables(t *testing.T) {
	for _, tc := range []struct {
		perSecond float64
		ports     int
		bench     time.Duration
	}{{20, 40, benchWait}, {5, 20, 200 * time.Millisecond}} {
		tm, _ := TimingTemplate(3)
		tm.MinRTTTimeout = 50 * time.Millisecond
		var mu sync.Mutex
		tokens, last := 6.0, time.Now()
		f := &fakeNet{delay: 200 * time.Microsecond, answer: func(port uint16, try int, at time.Time) bool {
			mu.Lock()
			defer mu.Unlock()
			tokens = min(6, tokens+at.Sub(last).Seconds()*tc.perSecond)
			last = at
			if tokens < 1 {
				return false
			}
			tokens--
			return true
		}}
		e, took := fakeScanBench(t, tm, tc.ports, f, tc.bench)
		h := e.hosts[0]
		closed := 0
		for _, p := range h.probes {
			if p.state == Closed {
				closed++
			}
		}
		if closed != tc.ports {
			t.Errorf("%v unreachables/s: %d of %d ports closed; the others were given up too early", tc.perSecond, closed, tc.ports)
		}
		t.Logf("%d ports against %v unreachables/s: %v, %d probes, %d retransmits, scan delay %v, max try %d",
			tc.ports, tc.perSecond, took, e.sent, e.retrans, h.delay, h.maxTry)
	}
}
