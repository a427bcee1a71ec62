//go:build linux

package e2e

// Operations tests of `scanwatch live`: log rotation, a full disk, a second
// sensor, metrics. Each runs the binary in a namespace pair, as the live
// tests do.

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// metricsAddr is where the sensor under test serves metrics, on the
// loopback of its namespace (the pair's own: nothing else listens there).
const metricsAddr = "127.0.0.1:9477"

// scrape GETs /metrics from inside ns and returns each sample by its name
// with labels as written (`scanwatch_alerts_total{technique="syn"}`).
func scrape(t *testing.T, tb testbed, ns string) map[string]float64 {
	t.Helper()
	var conn net.Conn
	if err := tb.Do(ns, func() (err error) {
		conn, err = net.DialTimeout("tcp", metricsAddr, 5*time.Second)
		return err
	}); err != nil {
		t.Fatalf("connect to the metrics server: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /metrics HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", metricsAddr)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples
}

// sameSnapshot reports whether a scrape holds exactly the counters of a
// stats record: the pipeline's metrics are those of the last stats record.
func sameSnapshot(m map[string]float64, st *eve.Stats) bool {
	var alerts float64
	for k, v := range m {
		if strings.HasPrefix(k, "scanwatch_alerts_total{") {
			alerts += v
		}
	}
	return st.Capture != nil &&
		m["scanwatch_kernel_passed_packets_total"] == float64(st.Capture.KernelPackets) &&
		m["scanwatch_ring_dropped_packets_total"] == float64(st.Capture.KernelDrops) &&
		m["scanwatch_received_packets_total"] == float64(st.Decoder.Pkts) &&
		m["scanwatch_received_bytes_total"] == float64(st.Decoder.Bytes) &&
		m["scanwatch_undecodable_packets_total"] == float64(st.Decoder.Invalid) &&
		m["scanwatch_flows"] == float64(st.Flow.Active) &&
		m["scanwatch_flow_memory_bytes"] == float64(st.Flow.Memuse) &&
		alerts == float64(st.Detect.Alert) &&
		uint64(m["scanwatch_uptime_seconds"]) == st.Uptime
}

// TestLiveMetrics scrapes /metrics while the sensor watches a real nmap
// scan: every scrape holds the very counters of one stats record the same
// run wrote, alerts are counted by technique, reloads (a bad one, a good
// one) and the output are counted, and the build is named.
func TestLiveMetrics(t *testing.T) {
	needTools(t, "nmap")
	tb := newTestbed(t, "swlmet")
	rulesPath := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte("allow: {scanners: []}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startSensor(t, tb.Pair, "--metrics", metricsAddr, "--stats-every", "100ms", "--rules", rulesPath)

	m := scrape(t, tb, tb.B.NS)
	if m["scanwatch_rules_last_reload_successful"] != 1 || m["scanwatch_rules_reloads_total"] != 0 {
		t.Errorf("at start: reload successful %v, reloads %v; want 1, 0", m["scanwatch_rules_last_reload_successful"], m["scanwatch_rules_reloads_total"])
	}
	build := ""
	for k := range m {
		if strings.HasPrefix(k, "scanwatch_build_info{") {
			build = k
		}
	}
	if !strings.Contains(build, `goversion="go1.`) || !strings.Contains(build, `version="`) {
		t.Errorf("build info %q: want version, commit and goversion", build)
	}

	step := nmapStep("-sS", srcSyn, "syn", "1-100", []uint16{22, 80})
	runSteps(t, tb.Pair, []scanStep{step})
	if !s.waitAlerts(wantKeys([]scanStep{step}), 15*time.Second) {
		t.Fatalf("no syn alert within 15 s")
	}
	hup := func(want string) {
		t.Helper()
		n := strings.Count(s.Stderr(), want)
		if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprintf("%q after SIGHUP", want), func() bool { return strings.Count(s.Stderr(), want) > n })
	}
	os.WriteFile(rulesPath, []byte("allow: {scaners: []}\n"), 0o644)
	hup("rules not reloaded")
	m = scrape(t, tb, tb.B.NS)
	if m["scanwatch_rules_last_reload_successful"] != 0 || m["scanwatch_rules_reload_failures_total"] != 1 {
		t.Errorf("after a bad reload: successful %v, failures %v; want 0, 1", m["scanwatch_rules_last_reload_successful"], m["scanwatch_rules_reload_failures_total"])
	}
	os.WriteFile(rulesPath, []byte("allow: {scanners: []}\n"), 0o644)
	hup("rules reloaded")

	var scrapes []map[string]float64
	for range 5 {
		time.Sleep(150 * time.Millisecond)
		scrapes = append(scrapes, scrape(t, tb, tb.B.NS))
	}
	rs := s.stop()
	stats := byType(rs, eve.EventStats)
	for i, m := range scrapes {
		found := false
		for _, r := range stats {
			found = found || sameSnapshot(m, r.Stats)
		}
		if !found {
			t.Errorf("scrape %d matches no stats record of the run: %v", i, m)
		}
	}
	last := scrapes[len(scrapes)-1]
	t.Logf("last scrape: received %v packets (%v bytes), kernel seen %v passed %v, probes %v, alerts syn %v, flows %v, output records %v",
		last["scanwatch_received_packets_total"], last["scanwatch_received_bytes_total"], last["scanwatch_kernel_seen_packets_total"],
		last["scanwatch_kernel_passed_packets_total"], last["scanwatch_probes_total"], last[`scanwatch_alerts_total{technique="syn"}`],
		last["scanwatch_flows"], last["scanwatch_output_records_total"])
	for name, want := range map[string]float64{
		`scanwatch_alerts_total{technique="syn"}`: 1,
		`scanwatch_alerts_total{technique="udp"}`: 0,
		"scanwatch_rules_reloads_total":           2,
		"scanwatch_rules_reload_failures_total":   1,
		"scanwatch_rules_last_reload_successful":  1,
		"scanwatch_output_write_errors_total":     0,
		"scanwatch_output_dropped_records_total":  0,
	} {
		if got, ok := last[name]; !ok || got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if last["scanwatch_probes_total"] < 100 || last["scanwatch_kernel_seen_packets_total"] < last["scanwatch_kernel_passed_packets_total"] {
		t.Errorf("probes %v (nmap sent 100), kernel seen %v < passed %v", last["scanwatch_probes_total"],
			last["scanwatch_kernel_seen_packets_total"], last["scanwatch_kernel_passed_packets_total"])
	}
	if n := last["scanwatch_output_records_total"]; n < 3 || n > float64(len(rs)) || n != last["scanwatch_output_written_records_total"] {
		t.Errorf("output records %v, written %v; the file holds %d", n, last["scanwatch_output_written_records_total"], len(rs))
	}
	if ts := last["scanwatch_rules_last_reload_success_timestamp_seconds"]; time.Since(time.Unix(int64(ts), 0)) > time.Minute {
		t.Errorf("last reload success at %v, not just now", ts)
	}
}
