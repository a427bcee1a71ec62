package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The fleet's end-to-end tests: per-server captures of one sweep are
// replayed by one `scanwatch replay --fleet` each; `scanwatch correlate`
// must raise exactly one alert naming the sweeper, and the episode's
// record must name every sensor and every target. No sensor alerts alone,
// and the monitoring client that talks to every server is never reported.

const fleetServers = 20

// fleetRules shortens the idle timeout so that the correlator closes the
// episode (its record lists every target and sensor) a few seconds after
// the sweep.
const fleetRules = "timeouts:\n  idle: 3s\n"

type fleetBed struct {
	t     *testing.T
	dir   string
	caps  []string
	rules string
	t0    time.Time
}

func newFleetBed(t *testing.T) *fleetBed {
	dir := t.TempDir()
	b := &fleetBed{t: t, dir: dir, rules: filepath.Join(dir, "rules.yaml"), t0: time.Now().Add(-time.Hour).Truncate(time.Second)}
	if err := os.WriteFile(b.rules, []byte(fleetRules), 0o644); err != nil {
		t.Fatal(err)
	}
	b.caps = writeSweepCaptures(t, dir, fleetServers, b.t0)
	return b
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// correlator is a running `scanwatch correlate`.
type correlator struct {
	cmd    *exec.Cmd
	out    string
	mu     sync.Mutex
	stderr bytes.Buffer
}

func (c *correlator) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.Write(p)
}

func (b *fleetBed) startCorrelator(name string, args ...string) *correlator {
	b.t.Helper()
	c := &correlator{out: filepath.Join(b.dir, name+".json")}
	argv := append([]string{"correlate", "--out", c.out, "--rules", b.rules, "--lateness", "1s"}, args...)
	c.cmd = exec.Command(scanwatchBin, argv...)
	c.cmd.Stderr = c
	if err := c.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() {
		c.cmd.Process.Signal(syscall.SIGTERM)
		c.cmd.Wait()
		if b.t.Failed() {
			c.mu.Lock()
			b.t.Logf("%s stderr:\n%s", name, c.stderr.String())
			c.mu.Unlock()
		}
	})
	waitUntil(b.t, 10*time.Second, name+" consuming", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return bytes.Contains(c.stderr.Bytes(), []byte(" consuming "))
	})
	return c
}

// replay runs the sensors of servers [from, to), each publishing its own
// capture, and checks that no sensor alerted alone.
func (b *fleetBed) replay(url string, from, to int) {
	b.t.Helper()
	for i := from; i < to; i++ {
		out := filepath.Join(b.dir, sensorName(i)+".json")
		cmd := exec.Command(scanwatchBin, "replay", "-q", "--fleet", url, "--sensor", sensorName(i), "--out", out, b.caps[i])
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.t.Fatalf("replay %s: %v\n%s", sensorName(i), err, msg)
		}
		data, _ := os.ReadFile(out)
		for _, r := range parseRecords(b.t, data) {
			if r.EventType == "alert" {
				b.t.Errorf("sensor %s alerted on its own: %s", sensorName(i), r.raw)
			}
		}
	}
}

func readOutputs(t *testing.T, paths ...string) []record {
	var rs []record
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		rs = append(rs, parseRecords(t, data)...)
	}
	return rs
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkFleetAlert: over all the correlators' outputs, exactly one alert and
// one closing record, both for the sweeper; the closing record names every
// server and every sensor; the monitoring client appears in none.
func (b *fleetBed) checkFleetAlert(outs ...string) {
	b.t.Helper()
	var rs []record
	waitUntil(b.t, 20*time.Second, "the episode's closing record", func() bool {
		rs = readOutputs(b.t, outs...)
		return len(byType(rs, "flow")) > 0
	})
	time.Sleep(500 * time.Millisecond) // a duplicate would come now
	rs = readOutputs(b.t, outs...)
	alerts, scans := byType(rs, "alert"), byType(rs, "flow")
	if len(alerts) != 1 || len(scans) != 1 {
		b.t.Fatalf("%d alerts and %d closing records, want 1 and 1:\n%v", len(alerts), len(scans), rs)
	}
	for _, r := range rs {
		if r.SrcIP != sweeper.String() {
			b.t.Errorf("record for %s: %s", r.SrcIP, r.raw)
		}
	}
	var wantTargets, wantSensors []string
	for i := range fleetServers {
		wantTargets = append(wantTargets, fleetServer(i).String())
		wantSensors = append(wantSensors, sensorName(i))
	}
	s := scans[0].Scan()
	targets := slices.Clone(s.Targets)
	slices.Sort(targets)
	slices.Sort(wantTargets)
	if s.Type != "syn" || s.Scanner != sweeper.String() || s.TargetCount != fleetServers || !slices.Equal(targets, wantTargets) {
		b.t.Errorf("closing record: %s", scans[0].raw)
	}
	if !slices.Equal(s.Sensors, wantSensors) {
		b.t.Errorf("closing record names sensors %v, want all %d", s.Sensors, fleetServers)
	}
	if a := alerts[0].Scan(); a.Scanner != sweeper.String() || len(a.Sensors) == 0 || alerts[0].FlowID != scans[0].FlowID {
		b.t.Errorf("alert: %s", alerts[0].raw)
	}
}

// TestFleetSweep: one correlator with the embedded server.
func TestFleetSweep(t *testing.T) {
	b := newFleetBed(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	c := b.startCorrelator("correlator", "--listen", addr, "--store", filepath.Join(b.dir, "store"))
	b.replay("nats://"+addr, 0, fleetServers)
	b.checkFleetAlert(c.out)
}

// TestFleetSweepCorrelatorKilled: the correlator is killed (SIGKILL, its
// embedded server with it) after it alerted and before the sweep ends; it
// is started again on the same store and the last sensors publish: still
// one alert, and the closing record counts every contact.
func TestFleetSweepCorrelatorKilled(t *testing.T) {
	b := newFleetBed(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	store := filepath.Join(b.dir, "store")
	c1 := b.startCorrelator("correlator-1", "--listen", addr, "--store", store)
	b.replay("nats://"+addr, 0, 16)
	waitUntil(t, 10*time.Second, "the alert", func() bool { return len(byType(readOutputs(t, c1.out), "alert")) == 1 })
	c1.cmd.Process.Kill()
	c1.cmd.Wait()
	c2 := b.startCorrelator("correlator-2", "--listen", addr, "--store", store)
	b.replay("nats://"+addr, 16, fleetServers)
	b.checkFleetAlert(c1.out, c2.out)
	// The second rebuilt the episode from the stream and knew the alert
	// was written.
	c2.cmd.Process.Signal(syscall.SIGTERM)
	c2.cmd.Wait()
	c2.mu.Lock()
	defer c2.mu.Unlock()
	if !bytes.Contains(c2.stderr.Bytes(), []byte(" 1 already written by another owner")) {
		t.Errorf("the restarted correlator did not meet the alert its predecessor wrote:\n%s", c2.stderr.String())
	}
}

// TestFleetSweepTwoCorrelators: the second joins the first's server and
// they split the partitions.
func TestFleetSweepTwoCorrelators(t *testing.T) {
	b := newFleetBed(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	c1 := b.startCorrelator("correlator-1", "--listen", addr, "--store", filepath.Join(b.dir, "store"))
	c2 := b.startCorrelator("correlator-2", "--nats", "nats://"+addr, "--id", "second")
	time.Sleep(4 * time.Second) // a lease round or two: the second takes half the partitions
	b.replay("nats://"+addr, 0, fleetServers)
	b.checkFleetAlert(c1.out, c2.out)
}

// TestFleetSweepDebianServer: Debian's nats-server in place of the
// embedded one.
func TestFleetSweepDebianServer(t *testing.T) {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("no nats-server binary (apt-get install nats-server; make deps installs it)")
	}
	b := newFleetBed(t)
	port := freePort(t)
	srv := exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-sd", filepath.Join(b.dir, "nats"))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	waitUntil(t, 10*time.Second, "nats-server listening", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	c := b.startCorrelator("correlator", "--nats", url)
	b.replay(url, 0, fleetServers)
	b.checkFleetAlert(c.out)
}
