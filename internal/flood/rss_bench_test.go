package flood

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/rules"
)

// BenchmarkFloodRSS replays 5 million spoofed sources (SYN, ACK, UDP; and
// 10 million SYNs within one reply timeout) with an nmap scan of 100 ports
// inside, through the built binary under /usr/bin/time -v, and holds its
// peak resident size to the default memory budget plus 64 MiB, with the
// scan alerted. The captures are written to /tmp once and kept
// (SCANWATCH_FLOOD_SOURCES changes the size).
//
//	go test -run '^$' -bench FloodRSS ./internal/flood
func BenchmarkFloodRSS(b *testing.B) {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		b.Skip("needs /usr/bin/time (apt-get install time)")
	}
	n := 5_000_000
	if v, err := strconv.Atoi(os.Getenv("SCANWATCH_FLOOD_SOURCES")); err == nil && v > 0 {
		n = v
	}
	bin := buildBinary(b)
	limit := int64(rules.DefaultMemory + 64<<20)
	for _, tc := range []struct {
		name string
		c    Config
	}{
		{"syn", Config{Kind: SYN, Sources: n}},
		{"ack", Config{Kind: ACK, Sources: n}},
		{"udp", Config{Kind: UDP, Sources: n}},
		// Every probe within one reply timeout of the last: 2M a second.
		{"syn-fast", Config{Kind: SYN, Sources: 2 * n, Rate: 2_000_000}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := tc.c
			c.Scan = Scan{Ports: 100, Gap: time.Millisecond, At: time.Second, Open: []uint16{22, 80}}
			pcap := writeOnce(b, fmt.Sprintf("/tmp/scanwatch-flood-%s-%d.pcap", tc.name, c.Sources), c)
			for b.Loop() {
				rss, alerted, err := replayRSS(bin, pcap)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(rss)/(1<<20), "MiB-peak-RSS")
				if rss > limit {
					b.Errorf("peak RSS %d MiB, budget %d MiB + 64 MiB", rss>>20, rules.DefaultMemory>>20)
				}
				if !alerted {
					b.Errorf("the scan from %s was not alerted", c.Scan.Scanner)
				}
			}
		})
	}
}

// buildBinary builds cmd/scanwatch into a temporary directory.
func buildBinary(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "scanwatch")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/scanwatch")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// writeOnce writes the capture c to path unless a file of that name is
// there already.
func writeOnce(tb testing.TB, path string, c Config) string {
	tb.Helper()
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	_, err = WritePcap(w, c)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		tb.Fatal(err)
	}
	return path
}

var maxRSS = regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`)

// replayRSS replays pcap with the binary under /usr/bin/time -v and returns
// its peak resident size in bytes and whether the hidden scan was alerted.
func replayRSS(bin, pcap string) (int64, bool, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("/usr/bin/time", "-v", bin, "replay", "-q", pcap)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return 0, false, fmt.Errorf("replay: %v\n%s", err, stderr.Bytes())
	}
	m := maxRSS.FindSubmatch(stderr.Bytes())
	if m == nil {
		return 0, false, fmt.Errorf("no peak RSS in:\n%s", stderr.Bytes())
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	alerted := regexp.MustCompile(`"event_type":"alert"[^\n]*"src_ip":"10\.77\.0\.2"`).Match(stdout.Bytes())
	return kb << 10, alerted, nil
}
