package fleet

import (
	"context"
	"net/netip"
	"sort"
	"testing"
	"time"
)

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPublisherDelivers(t *testing.T) {
	s := startServer(t, t.TempDir(), 0)
	_, js := dial(t, s.URL())
	p, err := NewPublisher(PublisherConfig{URL: s.URL(), Sensor: "web-01", BatchSize: 100, FlushInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_700_000_000, 0)
	var want []Contact
	for i := 0; i < 2500; i++ {
		c := testContact(netip.AddrFrom4([4]byte{10, 0, byte(i % 37), 1}), i, t0)
		if !p.Add(c) {
			t.Fatalf("contact %d dropped", i)
		}
		c.Sensor = "web-01"
		want = append(want, c)
	}
	if p.Add(Contact{Target: netip.MustParseAddr("10.0.0.1")}) {
		t.Error("contact without scanner accepted")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if st.Published != 2500 || st.Dropped != 0 || st.Invalid != 1 || st.Buffered != 0 {
		t.Errorf("stats %+v", st)
	}
	got := readStream(t, js, DefaultPartitions)
	byPort := func(cs []Contact) { sort.Slice(cs, func(i, j int) bool { return cs[i].Port < cs[j].Port }) }
	byPort(got)
	if len(got) != len(want) {
		t.Fatalf("%d contacts in the stream, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("contact %d: got %+v want %+v", i, got[i], want[i])
		}
	}
	// Batched: far fewer messages than contacts.
	info, _ := js.Stream(ctx, StreamName)
	if n := info.CachedInfo().State.Msgs; n > 100 {
		t.Errorf("%d messages for 2500 contacts", n)
	}
}

// TestPublisherServerDown: the server goes away; Add stays fast, the buffer
// fills and drops are counted; the server comes back (same port, same
// store) and the buffered contacts arrive once.
func TestPublisherServerDown(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, 0)
	port := serverPort(t, s)
	url := s.URL()
	dial(t, url)
	p, err := NewPublisher(PublisherConfig{URL: url, Sensor: "db-01", BatchSize: 10, FlushInterval: 20 * time.Millisecond, MaxBuffered: 100, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	t0 := time.Unix(1_700_000_000, 0)
	scanner := netip.MustParseAddr("198.51.100.7")
	for i := 0; i < 20; i++ {
		p.Add(testContact(scanner, i, t0))
	}
	waitFor(t, 5*time.Second, "first contacts published", func() bool { return p.Stats().Published == 20 })

	s.Shutdown()
	waitFor(t, 5*time.Second, "disconnect", func() bool { return !p.Stats().Connected })
	var slowest time.Duration
	for i := 20; i < 170; i++ {
		start := time.Now()
		p.Add(testContact(scanner, i, t0))
		slowest = max(slowest, time.Since(start))
	}
	if slowest > 20*time.Millisecond {
		t.Errorf("Add took %v with the server down", slowest)
	}
	st := p.Stats()
	if st.Dropped != 50 || st.Buffered != 100 {
		t.Errorf("server down: dropped %d buffered %d, want 50 and 100", st.Dropped, st.Buffered)
	}

	s2 := startServer(t, dir, port)
	waitFor(t, 10*time.Second, "buffered contacts published", func() bool { return p.Stats().Published == 120 })
	st = p.Stats()
	if st.Reconnects == 0 || !st.Connected || st.Buffered != 0 {
		t.Errorf("after restart: %+v", st)
	}
	_, js := dial(t, s2.URL())
	if got := readStream(t, js, DefaultPartitions); len(got) != 120 {
		t.Errorf("%d contacts in the stream, want 120", len(got))
	}
}

func TestPublisherNoServerAtStart(t *testing.T) {
	start := time.Now()
	p, err := NewPublisher(PublisherConfig{URL: "nats://127.0.0.1:1", Sensor: "s", MaxBuffered: 5})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		p.Add(testContact(netip.MustParseAddr("10.0.0.1"), i, time.Now()))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("start and Add took %v with no server", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	p.Close(ctx)
	if st := p.Stats(); st.Dropped != 10 || st.Published != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestPublisherRejectsBadName(t *testing.T) {
	if _, err := NewPublisher(PublisherConfig{URL: "nats://127.0.0.1:1", Sensor: "a.b"}); err == nil {
		t.Error("dotted sensor name accepted")
	}
}

func TestRedact(t *testing.T) {
	got := Redact("nats://web-01:secret@a:4222,nats://b:4222,tls://u@c:4222")
	if want := "nats://web-01:xxxxx@a:4222,nats://b:4222,tls://u@c:4222"; got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
}
