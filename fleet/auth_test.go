package fleet

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// authConfig gives each sensor a user that may publish only to its own
// subjects (and read the stream's acknowledgements), and the correlator a
// user that may do everything.
const authConfig = `
authorization {
  users = [
    {user: correlator, password: c-secret}
    {user: web-01, password: s1-secret, permissions: {
      publish: {allow: ["scanwatch.contacts.*.web-01"]}
      subscribe: {allow: ["_INBOX.>"]}
    }}
  ]
}
`

func startAuthServer(t *testing.T) *Server {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(conf, []byte(authConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Serve(context.Background(), "127.0.0.1:0", t.TempDir(), ServeOptions{ConfigFile: conf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// TestCredentialsBindSensorNames: with credentials, a sensor publishes
// under its own name only, and a batch whose payload names another sensor
// than its subject is refused by the correlator.
func TestCredentialsBindSensorNames(t *testing.T) {
	s := startAuthServer(t)
	rec := newRecorder(1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := NewCorrelator(ctx, CorrelatorConfig{URL: s.URL(), Conn: ConnOptions{User: "correlator", Password: "c-secret"},
		ID: "corr", Partitions: testPartitions, Lateness: 50 * time.Millisecond, LeaseTTL: 900 * time.Millisecond,
		Stream: StreamConfig{MaxAge: time.Hour}, Engine: rec.factory, Sink: rec.sink("corr")})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	scanner := netip.MustParseAddr("198.51.100.1")
	publish := func(sensor, password string, n int) *Publisher {
		p, err := NewPublisher(PublisherConfig{URL: s.URL(), Sensor: sensor, Partitions: testPartitions,
			Conn: ConnOptions{User: "web-01", Password: password}, FlushInterval: 20 * time.Millisecond, Timeout: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			p.Close(ctx)
		})
		for i := range n {
			p.Add(testContact(scanner, i, time.Now()))
		}
		return p
	}
	own := publish("web-01", "s1-secret", 3)
	waitFor(t, 5*time.Second, "own name published", func() bool { return own.Stats().Published == 3 })
	other := publish("web-02", "s1-secret", 2) // web-01's credentials, another's name
	waitFor(t, 5*time.Second, "publish refused", func() bool { return other.Stats().Retries > 0 })
	wrong := publish("web-01", "nope", 1)
	time.Sleep(300 * time.Millisecond)
	if st := other.Stats(); st.Published != 0 {
		t.Errorf("web-01 published as web-02: %+v", st)
	}
	if st := wrong.Stats(); st.Published != 0 || st.Connected {
		t.Errorf("wrong password connected: %+v", st)
	}

	// A forged payload on the sensor's own subject.
	nc, err := nats.Connect(s.URL(), nats.UserInfo("web-01", "s1-secret"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	forged, _ := AppendBatch(nil, "web-02", []Contact{testContact(scanner, 99, time.Now())})
	if _, err := js.Publish(ctx, Subject(PartitionOf(scanner, testPartitions), "web-01"), forged); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "forged batch refused", func() bool { return c.Stats().BadBatches == 1 })
	waitFor(t, 5*time.Second, "own contacts fed", func() bool { return c.Stats().Contacts == 3 })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, e := range rec.engines {
		for k := range e.seen {
			if k.sensor != "web-01" {
				t.Errorf("contact from %q reached the engine", k.sensor)
			}
		}
	}
}
