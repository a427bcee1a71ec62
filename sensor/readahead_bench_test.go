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

// BenchmarkReadAhead runs the reader's side of a replay alone (read,
// decode, fill batches) over the capture files SCANWATCH_BENCH_FILES
// names, with a detector's side that only gives the batches back: what
// the reader costs a packet, to set against BenchmarkReplayFiles.
func BenchmarkReadAhead(b *testing.B) {
	benchfiles.Each(b, func(b *testing.B, f string) {
		var packets uint64
		b.ReportAllocs()
		for b.Loop() {
			src, err := capture.OpenFiles(f)
			if err != nil {
				b.Fatal(err)
			}
			s := New(Options{Rules: rules.Default(), Sink: EVE{eve.NewWriter(io.Discard, eve.Options{})}})
			s.perFile = make([]fileCount, 1)
			h := newHandover()
			go func() {
				if err := s.readAhead(context.Background(), src, src.(capture.Files), h); err != nil {
					b.Error(err)
				}
				close(h.full)
			}()
			for bt := range h.full {
				bt.n, bt.publish, bt.arena = 0, false, bt.arena[:0]
				h.free <- bt
			}
			src.Close()
			packets += s.Packets()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/packet")
	})
}
