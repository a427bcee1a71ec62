//go:build linux

package e2e

// Operations tests of `scanwatch live`: log rotation, a full disk, a second
// sensor, metrics. Each runs the binary in a namespace pair, as the live
// tests do.

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/eve"
)

// fastStats makes the sensor write a stats record at each wake-up of its
// loop (some 5 a second without traffic): a steady stream of records.
var fastStats = []string{"--stats-every", "10ms"}

// outputStats reads the "output:" line `scanwatch live` prints when it ends.
func outputStats(t *testing.T, stderr string) (records, written uint64) {
	t.Helper()
	i := strings.LastIndex(stderr, "output: ")
	if i < 0 {
		t.Fatalf("no output line on stderr:\n%s", stderr)
	}
	if _, err := fmt.Sscanf(stderr[i:], "output: records %d, written %d,", &records, &written); err != nil {
		t.Fatalf("output line: %v\n%s", err, stderr[i:])
	}
	return records, written
}

// waitFor polls cond every 20 ms for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10 s", what)
		}
	}
}

func readRecords(t *testing.T, path string) []record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("%s ends in a torn line", path)
	}
	return parseRecords(t, b)
}

// TestLiveRotate: logrotate's way, `mv eve.json eve.json.1` then SIGHUP
// (create makes the new file, or scanwatch does): records go to the new
// file after the HUP, and the two files together hold every record the
// sensor wrote, in order.
func TestLiveRotate(t *testing.T) {
	needTools(t)
	tb := newTestbed(t, "swlrot")
	s := startSensor(t, tb.Pair, fastStats...)
	waitFor(t, "stats records", func() bool { return len(s.records()) >= 5 })
	rotated := s.out + ".1"
	if err := os.Rename(s.out, rotated); err != nil {
		t.Fatal(err)
	}
	moved := len(s.records()) // 0: the path is gone
	before := len(readRecords(t, rotated))
	waitFor(t, "records in the moved file", func() bool { return len(readRecords(t, rotated)) >= before+2 })
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "records in the new file", func() bool { return len(s.records()) >= 5 })
	cur := s.stop()
	old := readRecords(t, rotated)
	records, written := outputStats(t, s.Stderr())
	if !strings.Contains(s.Stderr(), "reopened "+s.out) {
		t.Errorf("stderr does not say the output was reopened:\n%s", s.Stderr())
	}
	t.Logf("old file %d records, new file %d; the sensor wrote %d of %d", len(old), len(cur), written, records)
	if got := uint64(len(old) + len(cur)); got != records || written != records {
		t.Errorf("the two files hold %d records, the sensor wrote %d of %d: records lost", got, written, records)
	}
	if moved != 0 || len(old) < before+2 {
		t.Errorf("%d records at the path after the move, the moved file %d (had %d): before the HUP records must go on to the moved file", moved, len(old), before)
	}
	// Every record in the old file comes before every record in the new.
	last, err := eve.ParseTime(old[len(old)-1].Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	first, err := eve.ParseTime(cur[0].Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	if first.Before(last) {
		t.Errorf("the new file starts at %v, before the old file ends (%v)", first, last)
	}
}
