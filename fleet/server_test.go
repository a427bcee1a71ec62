package fleet

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startServer runs an embedded server on 127.0.0.1:port (0: a free port)
// with its store in dir, and stops it when the test ends.
func startServer(t testing.TB, dir string, port int) *Server {
	t.Helper()
	s, err := Serve(context.Background(), fmt.Sprintf("127.0.0.1:%d", port), dir, ServeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func serverPort(t testing.TB, s *Server) int {
	t.Helper()
	return s.Addr().(*net.TCPAddr).Port
}

// dial connects a test client with the contact stream in place.
func dial(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := EnsureStream(ctx, js, StreamConfig{MaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// readStream decodes every contact in the stream, with the sensor taken
// from the subject, and checks each batch sits in its scanner's partition.
func readStream(t testing.TB, js jetstream.JetStream, partitions int) []Contact {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []Contact
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("seq %d: %v", seq, err)
		}
		part, sensor, ok := parseSubject(m.Subject)
		if !ok {
			t.Fatalf("subject %q", m.Subject)
		}
		name, cs, err := DecodeBatch(m.Data, nil)
		if err != nil || name != sensor {
			t.Fatalf("seq %d: sensor %q on subject of %q: %v", seq, name, sensor, err)
		}
		for _, c := range cs {
			if p := PartitionOf(c.Scanner, partitions); p != part {
				t.Errorf("scanner %s in partition %d, want %d", c.Scanner, part, p)
			}
		}
		out = append(out, cs...)
	}
	return out
}

func TestServeAndStream(t *testing.T) {
	s := startServer(t, t.TempDir(), 0)
	_, js := dial(t, s.URL())
	ctx := context.Background()
	// A second EnsureStream with other limits updates, not fails.
	st, err := EnsureStream(ctx, js, StreamConfig{MaxAge: 2 * time.Hour, MaxBytes: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	if cfg.MaxAge != 2*time.Hour || cfg.MaxBytes != 1<<30 || cfg.Storage != jetstream.FileStorage || cfg.Duplicates != 2*time.Minute {
		t.Errorf("stream config %+v", cfg)
	}
}

func TestServeBadAddress(t *testing.T) {
	for _, addr := range []string{"nope", "127.0.0.1:x", "127.0.0.1:70000"} {
		if _, err := Serve(context.Background(), addr, t.TempDir(), ServeOptions{}); err == nil {
			t.Errorf("%q: no error", addr)
		}
	}
}

// testContact is contact number i of scanner s (distinct targets and ports).
func testContact(scanner netip.Addr, i int, t0 time.Time) Contact {
	return Contact{
		Time:    t0.Add(time.Duration(i) * time.Millisecond).UnixNano(),
		Scanner: scanner, Target: netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 200)}),
		Port: uint16(1000 + i), Technique: TechSyn, Outcome: OutClosed, Probes: 1,
	}
}
