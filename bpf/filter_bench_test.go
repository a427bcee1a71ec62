package bpf

import (
	"testing"
)

// BenchmarkFilter times the kernel program alone (BPF_PROG_TEST_RUN with
// repeat) on the packets that dominate a busy server: segments of a known
// bulk flow, which it drops, and a SYN, which it passes. The end-to-end cost
// of a capture with and without the filter is capture's BenchmarkLiveBulk.
func BenchmarkFilter(b *testing.B) {
	for _, c := range []struct {
		name  string
		frame func(testing.TB) []byte
	}{
		{"bulk-data-ipv4", func(tb testing.TB) []byte {
			return tcpFrame(tb, seg{sport: 40000, dport: 443, flags: fACK | fPSH, payload: 1448, options: true})
		}},
		{"bulk-ack-ipv6", func(tb testing.TB) []byte {
			return tcpFrame(tb, seg{v6: true, sport: 40000, dport: 443, flags: fACK, options: true})
		}},
		{"syn-ipv4", func(tb testing.TB) []byte {
			return tcpFrame(tb, seg{sport: 40001, dport: 22, flags: fSYN})
		}},
		// A bulk segment inside a VXLAN overlay: the outer parse, the tail
		// call and the inner packet's.
		{"bulk-data-vxlan", func(tb testing.TB) []byte {
			inner := tcpFrame(tb, seg{sport: 40002, dport: 443, flags: fACK | fPSH, payload: 1398, options: true})
			return udpBodyFrame(tb, seg{sport: 51000, dport: 4789}, cat(vxlanHdr, inner))
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			f := loadTest(b, Options{Patterns: testPatterns})
			data := append(make([]byte, 14), c.frame(b)...)
			run(b, f, false, data[14:]) // the flow is now known
			if c.name != "syn-ipv4" && run(b, f, false, data[14:]) != 0 {
				b.Fatal("a bulk segment of a known flow passes")
			}
			b.ResetTimer()
			_, per, err := f.objs.ScanwatchFilter.Benchmark(data, b.N, b.ResetTimer)
			if err != nil {
				b.Fatal(err)
			}
			// ns per packet is also ms of CPU per million packets.
			b.ReportMetric(float64(per.Nanoseconds()), "ns/pkt")
		})
	}
}
