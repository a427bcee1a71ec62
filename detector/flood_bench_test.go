package detector

import (
	"net/netip"
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
	cpu0 := benchfiles.ThreadCPU()
	for b.Loop() {
		s := NewEpisodes(rules.Default(), func(Event) {})
		for i := range cs {
			s.Advance(cs[i].Time)
			s.Add(cs[i])
		}
	}
	b.ReportMetric(float64(benchfiles.ThreadCPU()-cpu0)/float64(b.N*n), "cpu-ns/contact")
}

// BenchmarkDetectFilesAhead is BenchmarkDetectFiles with the flow slot of
// the packet two ahead asked for before each packet is processed, as the
// replay's detector side does.
func BenchmarkDetectFilesAhead(b *testing.B) { benchDetectFiles(b, 2, false) }
