//go:build linux

package e2e

// Operations tests of `scanwatch live`: log rotation, a full disk, a second
// sensor, metrics. Each runs the binary in a namespace pair, as the live
// tests do.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// tinyDisk mounts a 64 KiB tmpfs in a test-made directory and unmounts it
// at the end. `ip netns exec` gives the sensor a copy of our mounts, made
// before it starts, on the same file system.
func tinyDisk(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatalf("mount a 64k tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fillDisk writes a file until the disk is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// stopCode sends SIGINT and returns the sensor's exit code.
func (s *liveSensor) stopCode() int {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		s.t.Fatalf("SIGINT to scanwatch live: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		s.t.Fatalf("scanwatch live did not exit within 15 s of SIGINT:\n%s", s.Stderr())
	}
	var ee *exec.ExitError
	if errors.As(s.err, &ee) {
		return ee.ExitCode()
	}
	if s.err != nil {
		s.t.Fatal(s.err)
	}
	return 0
}

// TestLiveFullDisk: the disk of --out fills up while the sensor writes.
// Records are kept and written, in order and whole, when space returns;
// the write errors are counted; a sensor that stops while the disk is still
// full says how many records it lost and exits 1.
func TestLiveFullDisk(t *testing.T) {
	needTools(t)
	tb := newTestbed(t, "swlfull")
	disk := tinyDisk(t)
	s := startSensorOut(t, tb.Pair, filepath.Join(disk, "eve.json"), fastStats...)
	waitFor(t, "stats records", func() bool { return len(s.records()) >= 3 })

	filler := filepath.Join(disk, "filler")
	fillDisk(t, filler)
	waitFor(t, "a write error on stderr", func() bool { return strings.Contains(s.Stderr(), "no space left on device") })
	time.Sleep(500 * time.Millisecond) // more records come and are kept
	os.Remove(filler)
	waitFor(t, "writing again", func() bool { return strings.Contains(s.Stderr(), "works again") })
	waitFor(t, "more records", func() bool { return len(readRecords(t, s.out)) >= 3 })

	fillDisk(t, filler)
	waitFor(t, "a second write error", func() bool { return strings.Count(s.Stderr(), "no space left on device") >= 2 })
	code := s.stopCode()
	t.Logf("stderr:\n%s", s.Stderr())
	if code != 1 {
		t.Errorf("exit code %d with records lost on a full disk, want 1", code)
	}
	records, written := outputStats(t, s.Stderr())
	lines := uint64(len(readRecords(t, s.out)))
	if lines != written {
		t.Errorf("the file holds %d records, the sensor says it wrote %d", lines, written)
	}
	lost := records - written
	if lost == 0 {
		t.Fatalf("no record lost with the disk full at exit: the test did not fill it")
	}
	if want := fmt.Sprintf("%d of %d records not written", lost, records); !strings.Contains(s.Stderr(), want) {
		t.Errorf("stderr does not say %q", want)
	}
	var errs uint64
	if i := strings.LastIndex(s.Stderr(), "write errors "); i < 0 {
		t.Error("no write errors count on stderr")
	} else if fmt.Sscanf(s.Stderr()[i:], "write errors %d", &errs); errs == 0 {
		t.Error("write errors: 0")
	}
}

// TestLiveSecondSensor: a second sensor on the same interface, on every
// interface (any), or writing the same file is refused at start with exit
// 1 and a message naming the first (its pid); the first runs on unharmed.
func TestLiveSecondSensor(t *testing.T) {
	needTools(t, "nmap")
	tb := newTestbed(t, "swl2nd")
	first := startSensor(t, tb.Pair)
	pid := fmt.Sprintf("(pid %d)", first.pid(t))
	other := filepath.Join(t.TempDir(), "other.json")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"same interface", []string{"-i", tb.B.Veth, "--out", other}, tb.B.Veth + " is already captured by scanwatch " + pid},
		{"every interface", []string{"-i", "any", "--out", other}, "a scanwatch already captures " + tb.B.Veth + " " + pid + `, which "any" includes`},
		{"same file", []string{"-i", "lo", "--out", first.out}, first.out + " is already written by another scanwatch " + pid},
	} {
		argv := append([]string{scanwatchBin, "live"}, tc.args...)
		cmd := tb.Exec(tb.B.NS, argv...)
		done := make(chan struct{})
		var out []byte
		var err error
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			t.Errorf("%s: the second sensor still ran after 15 s", tc.name)
			continue
		}
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		t.Logf("%s: exit %d: %s", tc.name, code, strings.TrimSpace(string(out)))
		if code != 1 || !strings.Contains(string(out), tc.want) {
			t.Errorf("%s: exit %d, %q; want exit 1 and %q", tc.name, code, out, tc.want)
		}
		if b, _ := os.ReadFile(other); len(b) > 0 {
			t.Errorf("%s: the refused sensor wrote %d bytes", tc.name, len(b))
		}
	}
	step := nmapStep("-sS", srcSyn, "syn", "1-100", []uint16{22, 80})
	runSteps(t, tb.Pair, []scanStep{step})
	if !first.waitAlerts(wantKeys([]scanStep{step}), 15*time.Second) {
		t.Logf("no syn alert within 15 s; stopping the sensor to see the rest")
	}
	checkAlerts(t, first.stop(), []scanStep{step})
}

// pid is the sensor's process id (`ip netns exec` execs it in place).
func (s *liveSensor) pid(t *testing.T) int {
	t.Helper()
	return s.cmd.Process.Pid
}
