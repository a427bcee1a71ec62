package sensor

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/scanwatch/scanwatch/bpf"
	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/rules"
)

// LiveSource is a live capture: a source whose kernel filter takes the
// rules' probe patterns anew on a reload.
type LiveSource interface {
	capture.Source
	SetPatterns([]bpf.Pattern) error
}

// OpenLive opens a live capture on iface (see capture.OpenLive) whose kernel
// filter passes r's probe patterns, with a flow table of r's size:
// opts.Patterns and opts.FlowEntries are filled from r.
func OpenLive(iface string, r *rules.Rules, opts capture.LiveOptions) (*capture.Live, error) {
	opts.Patterns, opts.FlowEntries = bpf.PatternsFor(r), r.State.MaxFlows
	return capture.OpenLive(iface, opts)
}

// drainFor is how long Live keeps reading after ctx ends, for what the
// kernel already passed.
const drainFor = time.Second

// ErrStopped: Reload was called when Live had already returned.
var ErrStopped = errors.New("sensor: not running")

type reload struct {
	r    *rules.Rules
	done chan error
}

// Live reads src until ctx ends (or src ends or fails), then drains what the
// kernel already passed, closes every open episode and writes a last stats
// record. Quiet periods (capture.ErrTimeout) advance the detector's clock
// with wall time, so that probes time out and idle episodes end without
// traffic. Rule reloads (Reload) are applied between two packets, never
// during one. It returns nil when ctx ended or src ended cleanly; src stays
// open (the caller closes it).
func (s *Sensor) Live(ctx context.Context, src LiveSource) error {
	defer close(s.stopped)
	s.started = time.Now()
	if s.opts.Ready != nil {
		s.opts.Ready()
	}
	err := s.live(ctx, src)
	s.det.Flush()
	s.writeStats(time.Now(), src)
	return err
}

func (s *Sensor) live(ctx context.Context, src LiveSource) error {
	nextStats := time.Now().Add(s.opts.StatsEvery)
	for ctx.Err() == nil {
		select {
		case rl := <-s.reloads:
			rl.done <- s.apply(src, rl.r)
		default:
		}
		pk, err := src.ReadPacket()
		switch {
		case errors.Is(err, capture.ErrTimeout):
			s.det.Advance(time.Now())
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		default:
			s.handle(pk)
		}
		if now := time.Now(); now.After(nextStats) {
			s.writeStats(now, src)
			nextStats = now.Add(s.opts.StatsEvery)
		}
	}
	// Drain what the kernel already passed, so nothing seen is lost.
	for deadline := time.Now().Add(drainFor); time.Now().Before(deadline); {
		pk, err := src.ReadPacket()
		if err != nil {
			break
		}
		s.handle(pk)
	}
	return nil
}

// apply swaps in new rules: the kernel's patterns first, so that a refusal
// there leaves the old rules everywhere.
func (s *Sensor) apply(src LiveSource, r *rules.Rules) error {
	if err := src.SetPatterns(bpf.PatternsFor(r)); err != nil {
		return err
	}
	s.det.SetRules(r)
	rules.ApplyMemoryLimit(r)
	return nil
}

// Reload hands new rules to the running Live loop, which applies them
// between two packets (kernel patterns included) and keeps every flow,
// tracker and episode. It waits for the result: an error means the old
// rules stay. It may be called from any goroutine; before Live starts it
// waits for it, after Live returned it returns ErrStopped.
func (s *Sensor) Reload(ctx context.Context, r *rules.Rules) error {
	rl := reload{r: r, done: make(chan error, 1)}
	select {
	case s.reloads <- rl:
		return <-rl.done
	case <-s.stopped:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}
