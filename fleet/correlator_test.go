package fleet

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"testing"
	"time"
)

type contactKey struct {
	scanner, target netip.Addr
	port            uint16
	sensor          string
}

// fakeEngine stands in for the detector: a scanner is alerted once when it
// has reached threshold distinct targets over all sensors.
type fakeEngine struct {
	rec     *recorder
	emit    func(Output)
	seen    map[contactKey]bool
	targets map[netip.Addr]map[netip.Addr]bool
	sensors map[netip.Addr]map[string]bool
	alerted map[netip.Addr]bool
	clock   int64
}

func (e *fakeEngine) Contact(c *Contact) {
	k := contactKey{c.Scanner, c.Target, c.Port, c.Sensor}
	if e.seen[k] {
		e.rec.dup(k)
	}
	e.seen[k] = true
	if e.targets[c.Scanner] == nil {
		e.targets[c.Scanner] = map[netip.Addr]bool{}
		e.sensors[c.Scanner] = map[string]bool{}
	}
	e.targets[c.Scanner][c.Target] = true
	e.sensors[c.Scanner][c.Sensor] = true
	if len(e.targets[c.Scanner]) >= e.rec.threshold && !e.alerted[c.Scanner] {
		e.alerted[c.Scanner] = true
		var names []string
		for s := range e.sensors[c.Scanner] {
			names = append(names, s)
		}
		sort.Strings(names)
		e.emit(Output{ID: "alert/" + c.Scanner.String(), Record: fmt.Appendf(nil, "%s %v", c.Scanner, names)})
	}
}

func (e *fakeEngine) Advance(t int64) { e.clock = max(e.clock, t) }

// recorder keeps the newest engine of every partition and every output
// written, across correlators.
type recorder struct {
	threshold int
	mu        sync.Mutex
	engines   map[int]*fakeEngine
	dups      []contactKey
	outputs   map[string][]string // output id -> the correlators that wrote it
}

func newRecorder(threshold int) *recorder {
	return &recorder{threshold: threshold, engines: map[int]*fakeEngine{}, outputs: map[string][]string{}}
}

func (r *recorder) factory(p int, emit func(Output)) Engine {
	e := &fakeEngine{rec: r, emit: emit, seen: map[contactKey]bool{}, targets: map[netip.Addr]map[netip.Addr]bool{},
		sensors: map[netip.Addr]map[string]bool{}, alerted: map[netip.Addr]bool{}}
	r.mu.Lock()
	r.engines[p] = e
	r.mu.Unlock()
	return e
}

func (r *recorder) dup(k contactKey) {
	r.mu.Lock()
	r.dups = append(r.dups, k)
	r.mu.Unlock()
}

func (r *recorder) sink(id string) func(Output) error {
	return func(o Output) error {
		r.mu.Lock()
		r.outputs[o.ID] = append(r.outputs[o.ID], id)
		r.mu.Unlock()
		return nil
	}
}

func (r *recorder) outputCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.outputs)
}

// check: every scanner alerted exactly once, and the engines now owning
// the partitions hold every contact once.
func (r *recorder) check(t *testing.T, scanners []netip.Addr, contacts int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range scanners {
		if w := r.outputs["alert/"+s.String()]; len(w) != 1 {
			t.Errorf("scanner %s alerted %d times (by %v)", s, len(w), w)
		}
	}
	if len(r.outputs) != len(scanners) {
		t.Errorf("%d outputs, want %d", len(r.outputs), len(scanners))
	}
	n := 0
	for _, e := range r.engines {
		n += len(e.seen)
	}
	if n != contacts {
		t.Errorf("engines hold %d contacts, want %d", n, contacts)
	}
	if len(r.dups) > 0 {
		t.Errorf("%d contacts fed twice to one engine, first %+v", len(r.dups), r.dups[0])
	}
}

const testPartitions = 8

// sweep publishes, from each of three sensors, contact number i..j of
// every scanner: scanner s contacts target i on port 22, each sensor seeing
// every third target.
type sweep struct {
	t       *testing.T
	pubs    []*Publisher
	t0      time.Time
	scanner []netip.Addr
}

func newSweep(t *testing.T, url string, scanners int) *sweep {
	sw := &sweep{t: t, t0: time.Now().Add(-time.Minute)}
	for i := 0; i < scanners; i++ {
		sw.scanner = append(sw.scanner, netip.AddrFrom4([4]byte{203, 0, byte(i), 7}))
	}
	for i := 0; i < 3; i++ {
		p, err := NewPublisher(PublisherConfig{URL: url, Sensor: fmt.Sprintf("web-%02d", i), Partitions: testPartitions, BatchSize: 50, FlushInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close(context.Background()) })
		sw.pubs = append(sw.pubs, p)
	}
	return sw
}

func (sw *sweep) publish(scanners []netip.Addr, from, to int) int {
	n := 0
	for i := from; i < to; i++ {
		for _, s := range scanners {
			c := Contact{Time: sw.t0.Add(time.Duration(i) * time.Millisecond).UnixNano(), Scanner: s,
				Target: netip.AddrFrom4([4]byte{10, 9, 0, byte(i)}), Port: 22, Technique: TechSyn, Outcome: OutClosed, Probes: 1}
			if !sw.pubs[i%3].Add(c) {
				sw.t.Fatal("publisher dropped a contact")
			}
			n++
		}
	}
	return n
}

func (sw *sweep) flushed(total int) {
	waitFor(sw.t, 10*time.Second, "publishers flushed", func() bool {
		n := uint64(0)
		for _, p := range sw.pubs {
			n += p.Stats().Published
		}
		return n == uint64(total)
	})
}

type running struct {
	c      *Correlator
	cancel context.CancelFunc
	done   chan error
}

func startCorrelator(t *testing.T, url, id string, rec *recorder) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c, err := NewCorrelator(ctx, CorrelatorConfig{URL: url, ID: id, Partitions: testPartitions,
		Lateness: 100 * time.Millisecond, LeaseTTL: 900 * time.Millisecond, AckWait: 2 * time.Second,
		Stream: StreamConfig{MaxAge: time.Hour}, Engine: rec.factory, Sink: rec.sink(id),
		Logf: func(f string, a ...any) { t.Logf(id+": "+f, a...) }})
	if err != nil {
		t.Fatal(err)
	}
	r := &running{c: c, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// kill drops the correlator's connection without releasing anything, as a
// crash would: its leases stay until they expire.
func (r *running) kill(t *testing.T) {
	r.c.Close()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Logf("killed correlator: %v", err)
	}
	r.done <- nil
}

func TestCorrelatorAlertsOnMergedContacts(t *testing.T) {
	s := startServer(t, t.TempDir(), 0)
	rec := newRecorder(25) // each sensor sees 10 of 30 targets: only the merge crosses 25
	a := startCorrelator(t, s.URL(), "corr-a", rec)
	sw := newSweep(t, s.URL(), 20)
	n := sw.publish(sw.scanner, 0, 30)
	sw.flushed(n)
	waitFor(t, 10*time.Second, "20 alerts", func() bool { return rec.outputCount() == 20 })
	waitFor(t, 5*time.Second, "every contact fed", func() bool { return a.c.Stats().Contacts == uint64(n) })
	rec.check(t, sw.scanner, n)
	st := a.c.Stats()
	if st.Owned != testPartitions || st.Misrouted != 0 || st.BadBatches != 0 || st.Outputs != 20 {
		t.Errorf("stats %+v", st)
	}
	rec.mu.Lock()
	if got := string(rec.outputsRecord(t, a, sw.scanner[0])); got != "203.0.0.7 [web-00 web-01 web-02]" {
		t.Errorf("record %q", got)
	}
	rec.mu.Unlock()
}

// outputsRecord reads an output back from the alerted bucket.
func (r *recorder) outputsRecord(t *testing.T, a *running, scanner netip.Addr) []byte {
	keys, err := a.c.alerted.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		e, err := a.c.alerted.Get(context.Background(), k)
		if err == nil && len(e.Value()) > 0 && string(e.Value()[:len(scanner.String())]) == scanner.String() {
			return e.Value()
		}
	}
	return nil
}

// TestCorrelatorTakeover kills a correlator half-way through a sweep that
// goes on meanwhile; another takes its partitions over after the lease TTL,
// rebuilds them from the stream and goes on: every scanner alerted once,
// every contact in the new engines once.
func TestCorrelatorTakeover(t *testing.T) {
	s := startServer(t, t.TempDir(), 0)
	takeover(t, s.URL())
}

func takeover(t *testing.T, url string) {
	rec := newRecorder(25)
	a := startCorrelator(t, url, "corr-a", rec)
	sw := newSweep(t, url, 20)
	early, late := sw.scanner[:10], sw.scanner[10:]
	n := sw.publish(early, 0, 30) + sw.publish(late, 0, 15)
	sw.flushed(n)
	waitFor(t, 10*time.Second, "the early scanners' alerts", func() bool { return rec.outputCount() == 10 })

	a.kill(t)
	n += sw.publish(late, 15, 22) // published while no correlator runs
	b := startCorrelator(t, url, "corr-b", rec)
	n += sw.publish(late, 22, 30)
	sw.flushed(n)
	waitFor(t, 10*time.Second, "20 alerts", func() bool { return rec.outputCount() == 20 })
	waitFor(t, 5*time.Second, "every contact fed", func() bool {
		return b.c.Stats().Contacts >= uint64(n) && b.c.Stats().Owned == testPartitions
	})
	time.Sleep(200 * time.Millisecond) // a duplicate alert would come now
	rec.check(t, sw.scanner, n)
	st := b.c.Stats()
	if st.Duplicates != 10 || st.Outputs != 10 || st.Replayed == 0 {
		t.Errorf("new owner: %+v (want the 10 early alerts recognised as written, 10 new)", st)
	}
}

// TestCorrelatorsShare runs two correlators on one server: they split the
// partitions, alert each scanner once between them, and when one stops the
// other takes its partitions.
func TestCorrelatorsShare(t *testing.T) {
	s := startServer(t, t.TempDir(), 0)
	share(t, s.URL())
}

func share(t *testing.T, url string) {
	rec := newRecorder(25)
	a := startCorrelator(t, url, "corr-a", rec)
	b := startCorrelator(t, url, "corr-b", rec)
	waitFor(t, 10*time.Second, "partitions split", func() bool {
		sa, sb := a.c.Stats().Owned, b.c.Stats().Owned
		return sa == testPartitions/2 && sb == testPartitions/2
	})
	sw := newSweep(t, url, 20)
	first, second := sw.scanner[:12], sw.scanner[12:]
	n := sw.publish(first, 0, 30)
	sw.flushed(n)
	waitFor(t, 10*time.Second, "12 alerts", func() bool { return rec.outputCount() == 12 })
	rec.mu.Lock()
	writers := map[string]int{}
	for _, w := range rec.outputs {
		writers[w[0]]++
	}
	rec.mu.Unlock()
	if writers["corr-a"] == 0 || writers["corr-b"] == 0 {
		t.Errorf("one correlator did all the work: %v", writers)
	}

	b.cancel() // a clean stop hands its partitions back at once
	<-b.done
	b.done <- nil
	waitFor(t, 10*time.Second, "a owns everything", func() bool { return a.c.Stats().Owned == testPartitions })
	n += sw.publish(second, 0, 30)
	sw.flushed(n)
	waitFor(t, 10*time.Second, "20 alerts", func() bool { return rec.outputCount() == 20 })
	time.Sleep(200 * time.Millisecond)
	rec.check(t, sw.scanner, n)
}

// TestCorrelatorRestartSameID: a correlator killed and started again under
// its ID takes its partitions back at once, and alerts nothing twice.
func TestCorrelatorRestartSameID(t *testing.T) {
	s := startServer(t, t.TempDir(), 0)
	rec := newRecorder(25)
	a := startCorrelator(t, s.URL(), "corr-a", rec)
	sw := newSweep(t, s.URL(), 4)
	n := sw.publish(sw.scanner[:2], 0, 30) + sw.publish(sw.scanner[2:], 0, 10)
	sw.flushed(n)
	waitFor(t, 10*time.Second, "2 alerts", func() bool { return rec.outputCount() == 2 })
	a.kill(t)
	start := time.Now()
	a2 := startCorrelator(t, s.URL(), "corr-a", rec)
	waitFor(t, 5*time.Second, "partitions back", func() bool { return a2.c.Stats().Owned == testPartitions })
	if d := time.Since(start); d > 600*time.Millisecond {
		t.Errorf("took %v to take the partitions back (lease TTL 900ms)", d)
	}
	n += sw.publish(sw.scanner[2:], 10, 30)
	sw.flushed(n)
	waitFor(t, 10*time.Second, "4 alerts", func() bool { return rec.outputCount() == 4 })
	waitFor(t, 5*time.Second, "every contact fed", func() bool { return a2.c.Stats().Contacts >= uint64(n) })
	time.Sleep(200 * time.Millisecond)
	rec.check(t, sw.scanner, n)
}
