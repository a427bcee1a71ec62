package scanner

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// runConnect is the connect scan (-sT): the operating system's connect(),
// closed at once when it succeeds. Refused means closed; a timeout after the
// retries, or an unreachable error, means filtered.
func runConnect(ctx context.Context, cfg phase, res *Result) error {
	np := len(cfg.Ports)
	ports := make([][]PortResult, len(cfg.Targets))
	up := make([]bool, len(cfg.Targets))
	for h := range ports {
		ports[h] = make([]PortResult, np)
	}
	done := make([][]bool, len(cfg.Targets)) // false: interrupted before an answer
	for h := range done {
		done[h] = make([]bool, np)
	}
	var mu sync.Mutex // guards lim, up and the counters
	lim := newLimiter(cfg.rate())
	wait := func() error {
		mu.Lock()
		defer mu.Unlock()
		return lim.wait(ctx)
	}
	sem := make(chan struct{}, cfg.Concurrency)
	var wg sync.WaitGroup
	// The per-connect timeout adapts to measured connect times, like the raw
	// scan's probe timeout: within the timing's RTT timeout bounds.
	var rtt rttEstimator
	rtt.init(cfg.Timing)
	var ctxErr error
	var maxTry atomic.Int32
	order := rand.Perm(np)
	routeErr := make([]error, len(cfg.Targets))
	for h, addr := range cfg.Targets {
		if _, err := sourceFor(addr); err != nil {
			routeErr[h] = err // reported with the results
		}
	}
loop:
	for _, pi := range order {
		for h, addr := range cfg.Targets {
			if routeErr[h] != nil {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				ctxErr = ctx.Err()
				break loop
			}
			wg.Add(1)
			go func(h, pi int, addr netip.Addr) {
				defer func() { <-sem; wg.Done() }()
				port := cfg.Ports[pi]
				state, reason := cfg.Technique.noReplyState(), "no-response"
				// As the raw engine: one more try than the highest that
				// ever got an answer, at least 1, at most --max-retries.
				for try := 0; try <= min(max(1, int(maxTry.Load())+1), cfg.Timing.MaxRetries); try++ {
					if wait() != nil {
						return
					}
					mu.Lock()
					res.ProbesSent++
					if try > 0 {
						res.Retransmits++
					}
					mu.Unlock()
					dialer := net.Dialer{Timeout: rtt.timeout(), KeepAlive: -1}
					start := time.Now()
					c, err := dialer.DialContext(ctx, "tcp", netip.AddrPortFrom(addr, port).String())
					var done bool
					state, reason, done = connectVerdict(c, err)
					if done {
						rtt.sample(time.Since(start))
						for cur := maxTry.Load(); int32(try) > cur && !maxTry.CompareAndSwap(cur, int32(try)); cur = maxTry.Load() {
						}
						break
					}
					if ctx.Err() != nil {
						return
					}
				}
				if reason != "no-response" {
					mu.Lock()
					up[h] = true
					res.Replies++
					mu.Unlock()
				}
				ports[h][pi] = PortResult{Port: port, Proto: "tcp", State: state, Reason: reason, Service: Service("tcp", port)}
				done[h][pi] = true
			}(h, pi, addr)
		}
	}
	wg.Wait()
	if ctxErr == nil {
		ctxErr = ctx.Err()
	}
	for h, addr := range cfg.Targets {
		hr := HostResult{Addr: addr, Up: up[h]}
		if routeErr[h] != nil {
			hr.Error = routeErr[h].Error()
		}
		for pi, p := range ports[h] {
			if done[h][pi] {
				hr.Ports = append(hr.Ports, p)
			}
		}
		res.Hosts = append(res.Hosts, hr)
	}
	return ctxErr
}

// connectVerdict classifies the outcome of one connect; done is false when
// the attempt timed out and may be retried.
func connectVerdict(c net.Conn, err error) (state PortState, reason string, done bool) {
	if err == nil {
		c.Close()
		return Open, "syn-ack", true
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Closed, "conn-refused", true
	case errors.Is(err, syscall.EHOSTUNREACH):
		return Filtered, "host-unreach", true
	case errors.Is(err, syscall.ENETUNREACH):
		return Filtered, "net-unreach", true
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return Filtered, "admin-prohibited", true
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return Filtered, "no-response", false
	}
	return Filtered, "no-response", false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
