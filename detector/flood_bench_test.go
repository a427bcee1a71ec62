package detector

import (
	"net/netip"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/scanwatch/scanwatch/internal/benchfiles"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/technique"
)

// BenchmarkAdmitFlood is the episodes' side of a spoofed-source SYN flood:
// unanswered first contacts from sources never seen before, 100,000 a
// second, with the default budget, so that after the first few hundred
// thousand every contact evicts the oldest probe into the evidence. It
// reports the CPU time of its thread per contact (cpu-ns/contact).
func BenchmarkAdmitFlood(b *testing.B) {
	const n = 1_000_000
	cs := make([]Contact, n)
	x := uint64(0x2545f4914f6cdd1d)
	target := netip.MustParseAddr("10.2.0.10")
	for i := range cs {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		t := int64(1773478800e9) + int64(i)*10_000 + 3e9
		cs[i] = Contact{Time: t, First: t - 3e9, Scanner: netip.AddrFrom4([4]byte{byte(x), byte(x >> 8), byte(x >> 16), byte(x >> 24)}),
			Target: target, Port: 80, Probes: 1, Technique: technique.Syn, Outcome: OutNone}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	cpu0 := threadCPU()
	for b.Loop() {
		s := NewEpisodes(rules.Default(), func(Event) {})
		for i := range cs {
			s.Advance(cs[i].Time)
			s.Add(cs[i])
		}
	}
	b.ReportMetric(float64(threadCPU()-cpu0)/float64(b.N*n), "cpu-ns/contact")
}

// BenchmarkDetectFilesAhead is BenchmarkDetectFiles with the flow slot and
// the decoy-signature slot of the packet two ahead asked for (prefetch)
// before each packet is processed: what a caller that holds a batch of
// decoded packets (the replay's reader hands over 2048) could do.
func BenchmarkDetectFilesAhead(b *testing.B) {
	const ahead = 2
	for _, f := range benchfiles.Paths(b) {
		pkts := decodeFile(b, f, benchPackets())
		b.Run(filepath.Base(f), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0 := threadCPU()
			for b.Loop() {
				d := New(rules.Default(), func(Event) {})
				for i := range pkts {
					if i+ahead < len(pkts) {
						d.Prefetch(&pkts[i+ahead])
					}
					d.Process(&pkts[i])
				}
				d.Flush()
			}
			n := float64(b.N) * float64(len(pkts))
			b.ReportMetric(float64(threadCPU()-cpu0)/n, "cpu-ns/pkt")
		})
	}
}
