package sensor

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/internal/mixgen"
	"github.com/scanwatch/scanwatch/rules"
)

// TestReplayTwoGoroutines: a replay of capture files runs on two goroutines
// (readahead.go), each way of handing packets over (frames in place from a
// mapped file, copied from a stream, a merge of files) writing the records
// the same packets give read on one goroutine. The mix of short flows has
// payloads (DNS, HTTP) and more frames than a progress period.
func TestReplayTwoGoroutines(t *testing.T) {
	var mix bytes.Buffer
	if _, err := mixgen.Generate(&mix, mixgen.Options{Packets: 70_000, Seed: 3, Snaplen: 256, Mix: mixgen.MixShort}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "short.pcap")
	if err := os.WriteFile(path, mix.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../testdata/*.pcap")
	for _, tc := range []struct {
		name string
		open func() (capture.Source, error)
	}{
		{"mapped file", func() (capture.Source, error) { return capture.OpenFiles(path) }},
		{"stream", func() (capture.Source, error) { return capture.OpenReader(path, bytes.NewReader(mix.Bytes())) }},
		{"merge", func() (capture.Source, error) { return capture.OpenFiles(files...) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			split, frames := replayOnce(t, tc.open, false)
			inline, want := replayOnce(t, tc.open, true)
			if frames != want || frames < 50_000 {
				t.Errorf("%d frames read, %d on one goroutine", frames, want)
			}
			if bytes.Count(split, []byte(`"event_type":"alert"`)) == 0 {
				t.Errorf("no alerts: nothing to compare")
			}
			if !bytes.Equal(withoutFile(split), withoutFile(inline)) {
				t.Errorf("records differ from those of one goroutine:\n%s\n--- one goroutine:\n%s", split, inline)
			}
		})
	}
}

// replayOnce replays the source open gives, on one goroutine when inline
// (a source that hides that it reads files), and returns the records and
// the frames read.
func replayOnce(t *testing.T, open func() (capture.Source, error), inline bool) ([]byte, uint64) {
	t.Helper()
	src, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if inline {
		src = struct{ capture.Source }{src}
	}
	var out bytes.Buffer
	s := New(Options{Rules: rules.Default(), Sink: EVE{eve.NewWriter(&out, eve.Options{})}})
	s.Replay(context.Background(), src) // errors: the test files include ones the decoder skips
	return out.Bytes(), s.Packets()
}
