package sensor

import (
	"context"
	"io"
	"testing"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/internal/benchfiles"
	"github.com/scanwatch/scanwatch/rules"
)

// BenchmarkReplayFiles runs the whole pipeline over the capture files that
// SCANWATCH_BENCH_FILES names (space separated; make bench's mixes), one
// sub-benchmark each, the way `scanwatch replay` reads them (memory-mapped
// where it can). With -cpuprofile it shows where a replay's time goes on
// each mix. Skipped when the variable is unset.
func BenchmarkReplayFiles(b *testing.B) {
	benchfiles.Each(b, func(b *testing.B, f string) {
		benchReplay(b, func() (capture.Source, error) { return capture.OpenFiles(f) })
	})
}

// benchReplay replays the source open makes, once per iteration, through
// the whole pipeline into an EVE writer to io.Discard, and reports the
// packets per second.
func benchReplay(b *testing.B, open func() (capture.Source, error)) {
	var packets uint64
	b.ReportAllocs()
	for b.Loop() {
		src, err := open()
		if err != nil {
			b.Fatal(err)
		}
		s := New(Options{Rules: rules.Default(), Sink: EVE{eve.NewWriter(io.Discard, eve.Options{})}})
		if err := s.Replay(context.Background(), src); err != nil {
			b.Fatal(err)
		}
		src.Close()
		packets += s.Packets()
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
}
