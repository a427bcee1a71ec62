package sensor

import (
	"context"
	"io"
	"runtime"
	"testing"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/internal/benchfiles"
	"github.com/scanwatch/scanwatch/rules"
)

// BenchmarkReadAhead runs the reader's side of a replay alone (read,
// decode, fill batches) over the capture files SCANWATCH_BENCH_FILES
// names, with a detector's side that reads what a detector reads of each
// packet first (time, addresses, ports, flags), so that the packets cross
// from one core to the other as in a replay, and gives the batches back:
// what the reader costs a packet, to set against BenchmarkReplayFiles.
// Besides wall time it reports the CPU time per packet of the reader's
// thread (reader-cpu-ns/pkt), which other processes on the machine inflate
// less, and of the detector's side (detect-cpu-ns/pkt: mostly the cache
// misses of reading what the reader's core wrote).
func BenchmarkReadAhead(b *testing.B) {
	benchfiles.Each(b, func(b *testing.B, f string) {
		var packets uint64
		var cpu, detCPU int64
		b.ReportAllocs()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for b.Loop() {
			src, err := capture.OpenFiles(f)
			if err != nil {
				b.Fatal(err)
			}
			s := New(Options{Rules: rules.Default(), Sink: EVE{eve.NewWriter(io.Discard, eve.Options{})}})
			s.perFile = make([]fileCount, 1)
			h := newHandover()
			go func() {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				cpu0 := benchfiles.ThreadCPU()
				if err := s.readAhead(context.Background(), src, src.(capture.Files), h); err != nil {
					b.Error(err)
				}
				cpu += benchfiles.ThreadCPU() - cpu0
				close(h.full)
			}()
			var sum uint64
			det0 := benchfiles.ThreadCPU()
			for bt := range h.full {
				for i := range bt.n {
					p := &bt.ents[i].pkt
					sum += uint64(p.Time.UnixNano()) + uint64(p.Src.BitLen()) + uint64(p.Dst.BitLen()) + uint64(p.SrcPort) + uint64(p.DstPort) + uint64(p.Flags)
				}
				bt.n, bt.publish, bt.arena = 0, false, bt.arena[:0]
				h.free <- bt
			}
			detCPU += benchfiles.ThreadCPU() - det0
			src.Close()
			packets += s.Packets()
			benchSink += sum
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/packet")
		b.ReportMetric(float64(cpu)/float64(packets), "reader-cpu-ns/pkt")
		b.ReportMetric(float64(detCPU)/float64(packets), "detect-cpu-ns/pkt")
	})
}

var benchSink uint64
