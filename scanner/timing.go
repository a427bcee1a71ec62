package scanner

import (
	"context"
	"sync"
	"time"
)

// rttEstimator keeps a smoothed round-trip time like TCP (RFC 6298) and
// derives the probe timeout, clamped to [min, max]; before the first sample
// it is the initial timeout.
type rttEstimator struct {
	mu                sync.Mutex
	srtt, rttvar      time.Duration
	min, max, initial time.Duration
	have              bool
}

func (e *rttEstimator) init(t Timing) {
	e.min, e.max, e.initial = t.MinRTTTimeout, t.MaxRTTTimeout, t.InitialRTTTimeout
}

func (e *rttEstimator) sample(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
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

func (e *rttEstimator) timeout() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.have {
		return e.initial
	}
	return min(max(e.srtt+4*e.rttvar, e.min), e.max)
}

// limiter is a token bucket: rate tokens per second, bursts of up to 5 ms
// worth (at least one).
type limiter struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newLimiter(rate int) *limiter {
	l := &limiter{rate: float64(rate), burst: max(1, float64(rate)/200)}
	l.tokens, l.last = 1, time.Now()
	return l
}

func (l *limiter) wait(ctx context.Context) error {
	for {
		now := time.Now()
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
		l.last = now
		if l.tokens >= 1 {
			l.tokens--
			return nil
		}
		need := time.Duration((1 - l.tokens) / l.rate * float64(time.Second))
		t := time.NewTimer(max(need, 50*time.Microsecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (l *limiter) refund() { l.tokens = min(l.burst, l.tokens+1) }
