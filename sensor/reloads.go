package sensor

import (
	"context"
	"sync"
	"time"

	"github.com/scanwatch/scanwatch/rules"
)

// Reloads count the rule reloads of a Sensor (ReloadFrom), for metrics:
// how many, how many were refused, and whether the rules in force are the
// last ones asked for. Prometheus's own config reload metrics have the
// same shape.
type Reloads struct {
	Total  uint64 // reloads asked for
	Failed uint64 // of those, refused: a bad file, or rules the kernel refused; the old rules stayed
	// LastOK is whether the last reload succeeded (true before any).
	LastOK bool
	// LastSuccess is when rules were last put in force: the last good
	// reload, or New.
	LastSuccess time.Time
}

// reloadLog is a Sensor's Reloads, safe from any goroutine.
type reloadLog struct {
	mu sync.Mutex
	r  Reloads
}

func newReloadLog(now time.Time) *reloadLog {
	return &reloadLog{r: Reloads{LastOK: true, LastSuccess: now}}
}

func (l *reloadLog) record(err error, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.r.Total++
	l.r.LastOK = err == nil
	if err != nil {
		l.r.Failed++
	} else {
		l.r.LastSuccess = now
	}
}

// ReloadFrom loads rules with load and hands them to the running Live loop
// (Reload), counting the outcome in Reloads: a file that does not load is
// a failed reload as much as rules the kernel refuses. It returns load's
// or Reload's error; the old rules stay then.
func (s *Sensor) ReloadFrom(ctx context.Context, load func() (*rules.Rules, error)) error {
	r, err := load()
	if err == nil {
		err = s.Reload(ctx, r)
	}
	s.reloadLog.record(err, time.Now())
	return err
}

// Reloads returns the reload counters: safe to call from any goroutine.
func (s *Sensor) Reloads() Reloads {
	s.reloadLog.mu.Lock()
	defer s.reloadLog.mu.Unlock()
	return s.reloadLog.r
}
