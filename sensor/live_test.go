package sensor

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/bpf"
	"github.com/scanwatch/scanwatch/rules"
)

// startLive runs Live on src in the background; the returned function
// stops it and returns Live's error.
func startLive(t *testing.T, s *Sensor, src LiveSource) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Live(ctx, src) }()
	t.Cleanup(cancel)
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Fatal("Live did not return within 5 s of the end of its context")
			return nil
		}
	}
}

// TestLiveReadyThenQuietClock: Ready comes before the first read; probes are
// reported as they arrive; a quiet interface still moves the detector's
// clock with wall time, so an episode whose last probe is older than the
// idle timeout ends (its scan record written) while Live runs; at the end a
// stats record holds the source's counters.
func TestLiveReadyThenQuietClock(t *testing.T) {
	src := &fakeLive{}
	rec := &recorder{}
	readsAtReady := -1
	s := New(Options{Rules: rules.Default(), Sink: rec, Ready: func() { readsAtReady = src.readCount() }})
	// Probes stamped long ago: only the wall clock can end their episode.
	src.push(synScan("10.0.0.2", "10.0.0.10", 20, time.Now().Add(-10*time.Minute))...)
	stop := startLive(t, s, src)
	waitFor(t, "alert", 2*time.Second, func() bool { return rec.has("alert", "10.0.0.2") })
	waitFor(t, "scan record from the quiet clock", 2*time.Second, func() bool { return rec.has("scan", "10.0.0.2") })
	if err := stop(); err != nil {
		t.Fatalf("Live: %v", err)
	}
	if readsAtReady != 0 {
		t.Errorf("Ready called after %d reads, want before the first", readsAtReady)
	}
	if rec.statsCount() != 1 {
		t.Fatalf("%d stats records, want 1 (at the end)", rec.statsCount())
	}
	if c := rec.stats[0]; c.Capture.Received != 20 || c.Frames != 20 || !c.Live || c.Uptime <= 0 || c.EVE().Decoder.Pkts != 20 {
		t.Errorf("stats %+v: want 20 received and read, live, an uptime", c)
	}
	if c := s.LastCounters(); c.Frames != 20 {
		t.Errorf("LastCounters %+v: want the last stats record's", c)
	}
	if s.Packets() != 20 || len(s.Scans()) != 1 {
		t.Errorf("Packets %d, Scans %d; want 20, 1", s.Packets(), len(s.Scans()))
	}
}

// TestLiveDrainsAndFlushes: packets the kernel already passed when the
// context ends are still read, and their open episodes are closed with
// their scan records.
func TestLiveDrainsAndFlushes(t *testing.T) {
	src := &fakeLive{}
	rec := &recorder{}
	s := New(Options{Rules: rules.Default(), Sink: rec})
	src.push(synScan("10.0.0.2", "10.0.0.10", 20, time.Now())...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // ended before Live starts: only the drain reads
	if err := s.Live(ctx, src); err != nil {
		t.Fatal(err)
	}
	if s.Packets() != 20 {
		t.Errorf("drained %d packets, want 20", s.Packets())
	}
	if !rec.has("alert", "10.0.0.2") || !rec.has("scan", "10.0.0.2") {
		t.Errorf("want the alert and, flushed at the end, the scan record: %+v", rec.events)
	}
}

// TestLiveStatsEvery: stats records come at the interval, and once more at
// the end.
func TestLiveStatsEvery(t *testing.T) {
	rec := &recorder{}
	s := New(Options{Rules: rules.Default(), Sink: rec, StatsEvery: 20 * time.Millisecond})
	stop := startLive(t, s, &fakeLive{})
	waitFor(t, "three periodic stats records", 2*time.Second, func() bool { return rec.statsCount() >= 3 })
	n := rec.statsCount()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if rec.statsCount() <= n {
		t.Errorf("no stats record at the end (%d before, %d after)", n, rec.statsCount())
	}
}

// TestLiveReload: Reload applies rules inside the loop, kernel patterns
// first; a refusal by the kernel keeps the old rules everywhere; after Live
// has returned, Reload says so.
func TestLiveReload(t *testing.T) {
	src := &fakeLive{}
	rec := &recorder{}
	// A short reply timeout: unanswered probes count within milliseconds.
	const fast = "timeouts: {reply: 20ms}\n"
	s := New(Options{Rules: mustRules(t, fast), Sink: rec})
	stop := startLive(t, s, src)
	ctx := context.Background()

	quiet := mustRules(t, fast+"allow: {scanners: [10.0.0.2]}\n")
	if err := s.Reload(ctx, quiet); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if len(src.patterns) != 1 || !slices.Equal(src.patterns[0], bpf.PatternsFor(quiet)) {
		t.Errorf("kernel patterns after reload %v, want %v", src.patterns, bpf.PatternsFor(quiet))
	}
	src.setErr = errors.New("map update refused")
	if err := s.Reload(ctx, mustRules(t, fast+"allow: {scanners: [10.0.0.3]}\n")); err == nil || err.Error() != "map update refused" {
		t.Fatalf("Reload with a refusing kernel: %v, want its error", err)
	}
	t0 := time.Now()
	src.push(synScan("10.0.0.2", "10.0.0.10", 20, t0)...)
	src.push(synScan("10.0.0.3", "10.0.0.10", 20, t0.Add(30*time.Millisecond))...)
	waitFor(t, "alert from 10.0.0.3 (its allow-listing was refused)", 2*time.Second, func() bool { return rec.has("alert", "10.0.0.3") })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if rec.has("alert", "10.0.0.2") {
		t.Error("10.0.0.2 alerted, allow-listed by the reload")
	}
	if src.overlap.Load() {
		t.Error("SetPatterns ran during a ReadPacket")
	}
	if err := s.Reload(ctx, quiet); !errors.Is(err, ErrStopped) {
		t.Errorf("Reload after Live: %v, want ErrStopped", err)
	}
}
