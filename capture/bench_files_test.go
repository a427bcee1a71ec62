package capture

import (
	"io"
	"testing"

	"github.com/scanwatch/scanwatch/internal/benchfiles"
)

// BenchmarkReadFiles reads every packet of the capture files that
// SCANWATCH_BENCH_FILES names (space separated; make bench's mixes), one
// sub-benchmark each, without decoding them: the cost of the reader alone,
// pcap against pcapng of the same packets. Skipped when the variable is
// unset.
func BenchmarkReadFiles(b *testing.B) {
	benchfiles.Each(b, func(b *testing.B, f string) {
		var packets, bytes uint64
		b.ReportAllocs()
		for b.Loop() {
			src, err := OpenFiles(f)
			if err != nil {
				b.Fatal(err)
			}
			for {
				p, err := src.ReadPacket()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				bytes += uint64(len(p.Data))
			}
			packets += src.Stats().Received
			src.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/packet")
		b.ReportMetric(float64(bytes)/float64(packets), "bytes/packet")
	})
}
