package detector

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/rules"
)

// BenchmarkDetectFiles is the detector alone on the packets of the capture
// files SCANWATCH_BENCH_FILES names (the first million of each, or
// SCANWATCH_BENCH_PACKETS, decoded beforehand), fed in batches of 512 as a replay feeds them, with and
// without Prefetch (a look-ahead of 512 or fewer packets at a time). It
// reports the CPU time of the detector's thread per packet, which other
// processes on the machine inflate less than wall time.
func BenchmarkDetectFiles(b *testing.B) {
	files := strings.Fields(os.Getenv("SCANWATCH_BENCH_FILES"))
	if len(files) == 0 {
		b.Skip("SCANWATCH_BENCH_FILES names no capture files")
	}
	aheads := []int{0, 512}
	for _, f := range files {
		pkts := decodeFile(b, f, benchPackets())
		b.Run(filepath.Base(f), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu := make([][]float64, len(aheads))
			round := 0
			for b.Loop() {
				// Each round runs every variant, in an order that rotates,
				// so that the machine's load weighs on all alike.
				for v := range aheads {
					a := (v + round) % len(aheads)
					t0 := threadCPU()
					detectAll(pkts, aheads[a])
					cpu[a] = append(cpu[a], float64(threadCPU()-t0)/float64(len(pkts)))
				}
				round++
			}
			for a, ahead := range aheads {
				b.ReportMetric(medianOf(cpu[a]), fmt.Sprintf("cpu-ns/pkt-ahead%d", ahead))
			}
		})
	}
}

// detectAll runs a detector over pkts in batches of 512, telling it of
// ahead packets at a time (none for 0).
func detectAll(pkts []decode.Packet, ahead int) {
	d := New(rules.Default(), func(Event) {})
	for i := 0; i < len(pkts); i += 512 {
		batch := pkts[i:min(len(pkts), i+512)]
		for j := range batch {
			if ahead > 0 && j%ahead == 0 {
				chunk := batch[j:min(len(batch), j+ahead)]
				d.Prefetch(len(chunk), func(k int) *decode.Packet { return &chunk[k] })
			}
			d.Process(&batch[j])
		}
	}
	d.Flush()
}

func medianOf(x []float64) float64 {
	slices.Sort(x)
	return x[len(x)/2]
}

// benchPackets is how many packets of each file BenchmarkDetectFiles
// runs: SCANWATCH_BENCH_PACKETS, or a million.
func benchPackets() int {
	if n, err := strconv.Atoi(os.Getenv("SCANWATCH_BENCH_PACKETS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// decodeFile decodes the first max packets of path; their bytes alias the
// mapped file, which stays open.
func decodeFile(b *testing.B, path string, max int) []decode.Packet {
	src, err := capture.OpenFiles(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { src.Close() })
	dec := decode.NewDecoder(1024)
	var pkts []decode.Packet
	for len(pkts) < max {
		pk, err := src.ReadPacket()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			continue
		}
		var p decode.Packet
		if ok, err := dec.Decode(pk.LinkType, pk.Data, pk.Time, &p); ok && err == nil {
			p.Options, p.Data = clone(p.Options), clone(p.Data)
			pkts = append(pkts, p)
		}
	}
	return pkts
}

func clone(x []byte) []byte {
	if x == nil {
		return nil
	}
	return append([]byte{}, x...)
}

// threadCPU is the calling thread's CPU time, ns.
func threadCPU() int64 {
	var ru syscall.Rusage
	const rusageThread = 1
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
