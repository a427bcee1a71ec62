package scanner

import (
	"context"
	"sync"
	"time"
)

// rttEstimator is rtt (congestion.go) safe for the connect scan's
// goroutines.
type rttEstimator struct {
	mu     sync.Mutex
	r      rtt
	timing Timing
}

func (e *rttEstimator) init(t Timing) { e.timing = t }

func (e *rttEstimator) sample(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.r.sample(d)
}

func (e *rttEstimator) timeout() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.r.timeout(&e.timing)
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
	if l.rate <= 0 {
		return ctx.Err()
	}
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
