package detector

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/internal/benchfiles"
	"github.com/scanwatch/scanwatch/rules"
)

// BenchmarkDetectFiles is the detector alone on the packets of the capture
// files SCANWATCH_BENCH_FILES names (the first million of each, or
// SCANWATCH_BENCH_PACKETS, decoded beforehand), fed in order as a replay
// feeds them. Besides wall time it reports the CPU time of the detector's
// thread per packet, which other processes on the machine inflate less:
// the replay's own benchmark (sensor) has the reader on a second core.
func BenchmarkDetectFiles(b *testing.B) { benchDetectFiles(b, 0, false) }

// BenchmarkDetectFilesKeyed is BenchmarkDetectFiles with every packet's
// Key computed beforehand, as a replay's reader computes them while the
// detector is the slower side: the detector's own share of the work.
func BenchmarkDetectFilesKeyed(b *testing.B) { benchDetectFiles(b, 2, true) }

// BenchmarkDetectFilesFloor is the flow table alone on the packets of
// BenchmarkDetectFilesKeyed (followFlows): the floor under the detector's
// cost per packet that following each flow sets, on the same packets and
// machine, to set its figure against.
func BenchmarkDetectFilesFloor(b *testing.B) {
	eachKeyedFile(b, func(b *testing.B, pkts []decode.Packet, keys []Key) {
		cpu0 := benchfiles.ThreadCPU()
		for b.Loop() {
			followFlows(pkts, keys)
		}
		n := float64(b.N) * float64(len(pkts))
		b.ReportMetric(float64(benchfiles.ThreadCPU()-cpu0)/n, "cpu-ns/pkt")
		b.ReportMetric(n/b.Elapsed().Seconds(), "packets/s")
	})
}

// BenchmarkDetectVsFloor is the detector's figure of make bench: the
// detector with keys computed beforehand (as BenchmarkDetectFilesKeyed)
// against the flow table alone (BenchmarkDetectFilesFloor) on the same
// packets, in alternated rounds on one thread, with the median of each and
// of their ratios: how many times what following the flows costs the whole
// detector costs. The rounds share the machine's state as it drifts, so
// the ratio holds still where each figure alone moves by a third.
func BenchmarkDetectVsFloor(b *testing.B) {
	eachKeyedFile(b, func(b *testing.B, pkts []decode.Packet, keys []Key) {
		const rounds = 7
		var det, floor, ratio []float64
		cpu := func(run func()) float64 {
			c0 := benchfiles.ThreadCPU()
			run()
			return float64(benchfiles.ThreadCPU()-c0) / float64(len(pkts))
		}
		for range rounds {
			d := cpu(func() { detectKeyed(pkts, keys) })
			fl := cpu(func() { followFlows(pkts, keys) })
			det, floor, ratio = append(det, d), append(floor, fl), append(ratio, d/fl)
		}
		for b.Loop() {
		}
		b.ReportMetric(median(det), "detector-ns/pkt")
		b.ReportMetric(median(floor), "floor-ns/pkt")
		b.ReportMetric(median(ratio), "ratio")
	})
}

// eachKeyedFile runs bench on the keyed packets (keyedFile) of each file
// of SCANWATCH_BENCH_FILES, a sub-benchmark each, on a thread of its own.
func eachKeyedFile(b *testing.B, bench func(b *testing.B, pkts []decode.Packet, keys []Key)) {
	for _, f := range benchfiles.Paths(b) {
		pkts, keys := keyedFile(b, f)
		b.Run(filepath.Base(f), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			bench(b, pkts, keys)
		})
	}
}

// keyedFile is the first packets of path (benchPackets) with their keys.
func keyedFile(b testing.TB, path string) ([]decode.Packet, []Key) {
	pkts := decodeFile(b, path, benchPackets())
	keys := make([]Key, len(pkts))
	for i := range pkts {
		keys[i].Set(&pkts[i])
	}
	return pkts, keys
}

// detectKeyed runs the packets through a new detector as a replay's
// detector side does with keys from the reader.
func detectKeyed(pkts []decode.Packet, keys []Key) {
	d := New(rules.Default(), func(Event) {})
	for i := range pkts {
		if j := i + 2; j < len(pkts) {
			d.Prefetch(&pkts[j], &keys[j])
		}
		d.ProcessKey(&pkts[i], &keys[i])
	}
	d.Flush()
}

// followFlows is the flow table alone on keyed packets: a lookup for every
// TCP and UDP packet, a new flow for each miss, the LRU moved once a
// second of packet time, and flows dropped once idle for twice the reply
// timeout (the detector keeps benign flows longer, so its table is
// larger). No classification, no first contacts, no episodes.
func followFlows(pkts []decode.Packet, keys []Key) {
	r := rules.Default()
	keep, second := 2*int64(r.Timeouts.Reply), int64(time.Second)
	t := newFlowTable(flowCap(r))
	var sweep int64
	for i := range pkts {
		now := pkts[i].Time.UnixNano()
		if now >= sweep {
			for f := t.oldest(); f != nil && f.last < now-keep; {
				older := f
				f = t.newer(f)
				t.remove(older)
			}
			sweep = now + second
		}
		k := &keys[i]
		if !k.ok {
			continue
		}
		f := t.lookupHashed(&k.k, k.h)
		if f == nil {
			f = t.insertHashed(k.k, k.h, func(*flow) {})
			f.touched = now
		}
		f.last = now
		if now-f.touched >= second {
			f.touched = now
			t.touch(f)
		}
	}
}

// benchDetectFiles runs the packets of each file through a new detector,
// asking for (Detector.Prefetch) the packet ahead places before each
// packet when ahead > 0, as the replay's detector side does with 2; with
// keyed, each packet's Key is computed before the timer starts.
func benchDetectFiles(b *testing.B, ahead int, keyed bool) {
	for _, f := range benchfiles.Paths(b) {
		pkts := decodeFile(b, f, benchPackets())
		var keys []Key
		if keyed {
			keys = make([]Key, len(pkts))
			for i := range pkts {
				keys[i].Set(&pkts[i])
			}
		}
		b.Run(filepath.Base(f), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ReportAllocs()
			cpu0 := benchfiles.ThreadCPU()
			for b.Loop() {
				d := New(rules.Default(), func(Event) {})
				for i := range pkts {
					switch {
					case keyed:
						if i+ahead < len(pkts) {
							d.Prefetch(&pkts[i+ahead], &keys[i+ahead])
						}
						d.ProcessKey(&pkts[i], &keys[i])
					case ahead > 0:
						if i+ahead < len(pkts) {
							d.Prefetch(&pkts[i+ahead], nil)
						}
						d.Process(&pkts[i])
					default:
						d.Process(&pkts[i])
					}
				}
				d.Flush()
			}
			n := float64(b.N) * float64(len(pkts))
			b.ReportMetric(float64(benchfiles.ThreadCPU()-cpu0)/n, "cpu-ns/pkt")
			b.ReportMetric(n/b.Elapsed().Seconds(), "packets/s")
		})
	}
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
func decodeFile(b testing.TB, path string, max int) []decode.Packet {
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
