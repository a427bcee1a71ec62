//go:build linux

package capture

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/scanwatch/scanwatch/internal/netns"
)

// BenchmarkLiveBulk measures what capturing a bulk TCP transfer costs with the
// eBPF filter, the classic filter, and no filter at all (every packet to user
// space), in CPU time per million packets on the wire. Run as root:
//
//	go test -run '^$' -bench LiveBulk ./capture
//
// capture-ms/Mpkt is this process (the reader). The kernel runs the filter
// and copies into the ring in softirq context, mostly charged to the helper
// processes that move the data; total-ms/Mpkt adds their CPU time, so it
// includes the TCP transfer itself, which is the same in every mode: compare
// the differences.
func BenchmarkLiveBulk(b *testing.B) {
	if testing.Short() {
		b.Skip("skipped in -short mode: moves 100 MB per iteration through network namespaces")
	}
	for _, mode := range []string{ModeEBPF, ModeCBPF, ModeNone} {
		b.Run(mode, func(b *testing.B) {
			p := setupNetns(b)
			src := openInB(b, p, p.B.Veth, LiveOptions{Mode: mode, Patterns: livePatterns, Snaplen: 256})
			var received atomic.Uint64
			stop, done := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(done)
				for {
					_, err := src.ReadPacket()
					switch {
					case err == nil:
						received.Add(1)
					case errors.Is(err, ErrTimeout):
						select {
						case <-stop:
							return
						default:
						}
					default:
						return
					}
				}
			}()

			const bytes = 100 << 20
			pkts0 := vethPackets(b, p)
			self0, children0 := cpuTimes()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bulkTransfer(b, p, bytes)
			}
			time.Sleep(50 * time.Millisecond) // let the reader drain the ring
			self1, children1 := cpuTimes()
			b.StopTimer()
			pkts := vethPackets(b, p) - pkts0
			close(stop)
			<-done

			st := src.Stats()
			mpkt := float64(pkts) / 1e6
			b.ReportMetric(float64(pkts)/float64(b.N), "pkts/op")
			b.ReportMetric(float64(received.Load())/float64(b.N), "received/op")
			b.ReportMetric(float64(st.RingLost)/float64(b.N), "lost/op")
			b.ReportMetric((self1-self0).Seconds()*1e3/mpkt, "capture-ms/Mpkt")
			b.ReportMetric(((self1-self0)+(children1-children0)).Seconds()*1e3/mpkt, "total-ms/Mpkt")
		})
	}
}

// cpuTimes returns the user+system CPU time of this process and of its
// waited-for children.
func cpuTimes() (self, children time.Duration) {
	var ru unix.Rusage
	t := func() time.Duration {
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) == nil {
		self = t()
	}
	if unix.Getrusage(unix.RUSAGE_CHILDREN, &ru) == nil {
		children = t()
	}
	return self, children
}

// vethPackets is the number of packets B's veth received and sent: what a
// packet socket on it sees.
func vethPackets(tb testing.TB, p *netns.Pair) uint64 {
	tb.Helper()
	var n uint64
	err := p.Do(p.B.NS, func() error {
		f, err := os.Open("/proc/thread-self/net/dev")
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			name, rest, ok := strings.Cut(sc.Text(), ":")
			if !ok || strings.TrimSpace(name) != p.B.Veth {
				continue
			}
			var v [16]uint64
			if _, err := fmt.Sscan(rest, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
				&v[8], &v[9], &v[10], &v[11], &v[12], &v[13], &v[14], &v[15]); err != nil {
				return err
			}
			n = v[1] + v[9] // rx packets + tx packets
			return nil
		}
		return fmt.Errorf("%s not in /proc/net/dev", p.B.Veth)
	})
	if err != nil {
		tb.Fatalf("read packet counters: %v", err)
	}
	return n
}
