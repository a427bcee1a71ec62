package sensor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/technique"
)

// TestReloadFrom: every reload is counted, a file that does not load and
// rules the kernel refuses alike as failures; LastSuccess moves only on a
// good one.
func TestReloadFrom(t *testing.T) {
	src := &fakeLive{}
	s := New(Options{Rules: rules.Default(), Sink: &recorder{}})
	r0 := s.Reloads()
	if r0.Total != 0 || !r0.LastOK || r0.LastSuccess.IsZero() {
		t.Fatalf("before any reload: %+v, want 0, last ok, the start time", r0)
	}
	stop := startLive(t, s, src)
	ctx := context.Background()
	good := func() (*rules.Rules, error) { return rules.Default(), nil }
	bad := func() (*rules.Rules, error) { return nil, errors.New("bad file") }

	time.Sleep(time.Millisecond)
	for _, tc := range []struct {
		name   string
		load   func() (*rules.Rules, error)
		refuse bool // the kernel refuses the patterns
		want   Reloads
		moved  bool // LastSuccess moved
	}{
		{"good", good, false, Reloads{Total: 1, LastOK: true}, true},
		{"bad file", bad, false, Reloads{Total: 2, Failed: 1}, false},
		{"kernel refuses", good, true, Reloads{Total: 3, Failed: 2}, false},
		{"good again", good, false, Reloads{Total: 4, Failed: 2, LastOK: true}, true},
	} {
		before := s.Reloads().LastSuccess
		src.mu.Lock()
		src.setErr = nil
		if tc.refuse {
			src.setErr = errors.New("map update refused")
		}
		src.mu.Unlock()
		err := s.ReloadFrom(ctx, tc.load)
		if (err == nil) != tc.want.LastOK {
			t.Errorf("%s: ReloadFrom: %v", tc.name, err)
		}
		got := s.Reloads()
		if got.Total != tc.want.Total || got.Failed != tc.want.Failed || got.LastOK != tc.want.LastOK {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
		if moved := got.LastSuccess.After(before); moved != tc.moved {
			t.Errorf("%s: LastSuccess moved %v, want %v", tc.name, moved, tc.moved)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestAlertsBy: alerts are counted by technique and add up to the
// detector's count.
func TestAlertsBy(t *testing.T) {
	src := &fakeLive{}
	rec := &recorder{}
	s := New(Options{Rules: rules.Default(), Sink: rec})
	src.push(synScan("10.0.0.2", "10.0.0.10", 20, time.Now())...)
	src.push(synScan("10.0.0.3", "10.0.0.10", 20, time.Now())...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // only the drain reads
	if err := s.Live(ctx, src); err != nil {
		t.Fatal(err)
	}
	c := s.LastCounters()
	var sum uint64
	for _, n := range c.AlertsBy {
		sum += n
	}
	if c.AlertsBy[technique.Syn] != 2 || sum != c.Detector.Alerts {
		t.Errorf("alerts by technique %v (syn %d), detector %d: want 2 syn, adding up", c.AlertsBy, c.AlertsBy[technique.Syn], c.Detector.Alerts)
	}
}
