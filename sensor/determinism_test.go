package sensor

import (
	"bytes"
	"context"
	"testing"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/internal/mixgen"
	"github.com/scanwatch/scanwatch/rules"
)

// TestReplayIsDeterministic replays one capture several times and wants
// the same bytes each time. The SYN-heavy mix makes many sources with a
// few failed contacts each: distributed-scan groups, sources sharing a
// credit slot, sources whose counts depend on what was evicted. A map
// iterated in Go's random order, or a hash seeded per run, on any path
// from packets to records shows up here as a different group id, alert
// order or alert. Which batches come with their flow keys from the reader
// depends on timing (readahead.go), so the runs mix keyed and unkeyed
// batches differently, and must still agree.
func TestReplayIsDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 400,000 packets four times")
	}
	var pcap bytes.Buffer
	if _, err := mixgen.Generate(&pcap, mixgen.Options{Packets: 400_000, Seed: 1, Snaplen: 96, Mix: mixgen.MixSYN}); err != nil {
		t.Fatal(err)
	}
	var first []byte
	for run := range 4 {
		src, err := capture.OpenReader("syn.pcap", bytes.NewReader(pcap.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		s := New(Options{Rules: rules.Default(), Sink: EVE{eve.NewWriter(&out, eve.Options{})}})
		if err := s.Replay(context.Background(), src); err != nil {
			t.Fatal(err)
		}
		src.Close()
		if bytes.Count(out.Bytes(), []byte(`"event_type":"alert"`)) < 10 {
			t.Fatalf("run %d: too few alerts to tell runs apart:\n%s", run, out.Bytes())
		}
		if run == 0 {
			first = out.Bytes()
		} else if !bytes.Equal(out.Bytes(), first) {
			t.Fatalf("run %d wrote other records than run 0 (%d and %d bytes)", run, out.Len(), len(first))
		}
	}
}
