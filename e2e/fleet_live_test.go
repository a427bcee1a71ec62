//go:build linux

package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/internal/netns"
)

// fleetLAN is a bridge in its own namespace (where the correlator runs,
// on the bridge's address) and hosts in namespaces of their own, each on
// a veth whose other end is a bridge port.
type fleetLAN struct {
	t   *testing.T
	id  string
	sw  string // the bridge's namespace
	nss []string
}

const lanPrefix = "10.88.0."

func newFleetLAN(t *testing.T) *fleetLAN {
	var b [3]byte
	rand.Read(b[:])
	l := &fleetLAN{t: t, id: hex.EncodeToString(b[:])}
	l.sw = "swfl-" + l.id
	t.Cleanup(l.close)
	l.ip("netns", "add", l.sw)
	l.nss = append(l.nss, l.sw)
	l.ip("-n", l.sw, "link", "add", "br0", "type", "bridge")
	l.ip("-n", l.sw, "link", "set", "br0", "up")
	l.ip("-n", l.sw, "link", "set", "lo", "up") // the correlator reaches its own server
	l.ip("-n", l.sw, "addr", "add", lanPrefix+"1/24", "dev", "br0")
	return l
}

func (l *fleetLAN) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// host adds a namespace with address lanPrefix+n on the bridge; its
// interface is "eth0".
func (l *fleetLAN) host(name string, n int) string {
	ns := name + "-" + l.id
	l.ip("netns", "add", ns)
	l.nss = append(l.nss, ns)
	a, b := fmt.Sprintf("fa%d%s", n, l.id), fmt.Sprintf("fb%d%s", n, l.id)
	l.ip("link", "add", a, "type", "veth", "peer", "name", b)
	l.ip("link", "set", a, "netns", ns)
	l.ip("link", "set", b, "netns", l.sw)
	l.ip("-n", l.sw, "link", "set", b, "master", "br0")
	l.ip("-n", l.sw, "link", "set", b, "up")
	l.ip("-n", ns, "link", "set", a, "name", "eth0")
	l.ip("-n", ns, "link", "set", "lo", "up")
	l.ip("-n", ns, "link", "set", "eth0", "up")
	l.ip("-n", ns, "addr", "add", fmt.Sprintf("%s%d/24", lanPrefix, n), "dev", "eth0")
	return ns
}

func (l *fleetLAN) cmd(ns string, argv ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
}

func (l *fleetLAN) close() {
	for i := len(l.nss) - 1; i >= 0; i-- {
		netns.Delete(l.nss[i])
	}
}

// TestFleetLive: five sensors on one LAN, each running `scanwatch live
// --fleet`, an attacker sweeping ports 22, 80 and 443 of all five with
// nmap, and the correlator beside the bridge: the sweep is one fleet
// alert naming every sensor.
func TestFleetLive(t *testing.T) {
	needTools(t, "ip", "nmap")
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	// Five servers: a horizontal SYN scan from four hosts on; each sensor
	// alone sees one.
	os.WriteFile(rules, []byte("detect:\n  syn: {hosts: 4}\ntimeouts:\n  idle: 3s\n"), 0o644)
	l := newFleetLAN(t)
	att := l.host("atfl", 2)

	corr := &correlator{out: filepath.Join(dir, "fleet.json")}
	corr.cmd = l.cmd(l.sw, scanwatchBin, "correlate", "--listen", lanPrefix+"1:4222", "--store", filepath.Join(dir, "store"),
		"--out", corr.out, "--rules", rules, "--lateness", "1s")
	corr.cmd.Stderr = corr
	if err := corr.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			corr.mu.Lock()
			t.Logf("correlator stderr:\n%s", corr.stderr.String())
			corr.mu.Unlock()
		}
	})
	waitUntil(t, 15*time.Second, "the correlator", func() bool {
		corr.mu.Lock()
		defer corr.mu.Unlock()
		return strings.Contains(corr.stderr.String(), " consuming ")
	})

	var outs, sensors, targets []string
	for i := range 5 {
		name := fmt.Sprintf("srv%d", i)
		ns := l.host(name, 10+i)
		out := filepath.Join(dir, name+".json")
		ready := notifySocket(t, "READY=1")
		c := l.cmd(ns, scanwatchBin, "live", "-i", "eth0", "--rules", rules, "--out", out,
			"--fleet", "nats://"+lanPrefix+"1:4222", "--sensor", name)
		c.Env = append(os.Environ(), "NOTIFY_SOCKET="+ready.path)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ready.got:
		case <-time.After(15 * time.Second):
			t.Fatalf("sensor %s not ready", name)
		}
		outs, sensors = append(outs, out), append(sensors, name)
		targets = append(targets, fmt.Sprintf("%s%d", lanPrefix, 10+i))
	}

	nmap := l.cmd(att, "nmap", "-sS", "-Pn", "-n", "-p22,80,443", "--max-retries", "0", lanPrefix+"10-14")
	if out, err := nmap.CombinedOutput(); err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}

	var rs []record
	waitUntil(t, 30*time.Second, "the sweep's closing record from the correlator", func() bool {
		rs = readOutputs(t, corr.out)
		return len(byType(rs, "flow")) > 0
	})
	alerts, scans := byType(rs, "alert"), byType(rs, "flow")
	if len(alerts) != 1 || alerts[0].SrcIP != lanPrefix+"2" {
		t.Fatalf("fleet alerts: %v", rs)
	}
	s := scans[0].Scan()
	got := slices.Clone(s.Targets)
	slices.Sort(got)
	if s.Type != "syn" || !slices.Equal(s.Sensors, sensors) || !slices.Equal(got, targets) {
		t.Errorf("fleet record: %s", scans[0].raw)
	}
	for i, out := range outs {
		for _, r := range byType(readOutputs(t, out), "alert") {
			t.Logf("sensor %s alerted on its own (frames flooded by the bridge before it learned): %s", sensors[i], r.raw)
		}
	}
}

// TestFleetSensorOverhead measures what --fleet adds to the sensor's CPU
// time (user + system, of the whole process) under the bulk transfer of
// TestLiveKernelFiltering with a 100-port SYN scan inside; the contacts go
// to a correlator in the target's namespace. It is a measurement (two
// 1 GiB transfers) that `make bench` runs: SCANWATCH_FLEET_OVERHEAD=1.
func TestFleetSensorOverhead(t *testing.T) {
	if os.Getenv("SCANWATCH_FLEET_OVERHEAD") == "" {
		t.Skip("a measurement: set SCANWATCH_FLEET_OVERHEAD=1 (make bench does)")
	}
	needTools(t, "nmap")
	base, baseWall := fleetBulkCPU(t, false)
	with, withWall := fleetBulkCPU(t, true)
	t.Logf("sensor CPU under 1 GiB bulk + 100-port SYN scan: %v without --fleet (%v wall), %v with (%v wall): %+.1f%%",
		base.Round(time.Millisecond), baseWall.Round(time.Millisecond), with.Round(time.Millisecond), withWall.Round(time.Millisecond),
		100*(float64(with)/float64(base)-1))
}

func fleetBulkCPU(t *testing.T, fleet bool) (cpu, wall time.Duration) {
	tb := newTestbed(t, "swlfo")
	var args []string
	if fleet {
		addr := tb.B.Addr.String() + ":4222"
		corr := tb.Exec(tb.B.NS, scanwatchBin, "correlate", "--listen", addr, "--store", filepath.Join(t.TempDir(), "store"), "--out", os.DevNull)
		if err := tb.StartCmd(corr); err != nil {
			t.Fatal(err)
		}
		args = []string{"--fleet", "nats://" + addr, "--sensor", "bulk"}
	}
	s := startSensor(t, tb.Pair, args...)
	sink, sinkOut := startHelper(t, tb.Pair, tb.B.NS, "ready", "sink", fmt.Sprint(bulkPort))
	send := helper(tb.Pair, tb.A.NS, "send", tb.B.Addr.String(), fmt.Sprint(bulkPort), fmt.Sprint(1<<30))
	start := time.Now()
	tb.StartCmd(send)
	if !waitLine(sinkOut, "flowing", 10*time.Second) {
		t.Fatal("bulk transfer did not start")
	}
	runSteps(t, tb.Pair, []scanStep{nmapStep("-sS", srcSyn, "syn", "1-100", []uint16{22, 80})})
	send.Wait()
	sink.Wait()
	wall = time.Since(start)
	s.stop()
	var n int
	if fleet {
		if i := strings.Index(s.Stderr(), "fleet: "); i < 0 {
			t.Errorf("no fleet line:\n%s", s.Stderr())
		} else if fmt.Sscanf(s.Stderr()[i:], "fleet: %d contacts published", &n); n < 100 {
			t.Errorf("the sensor published %d contacts, want the scan's 100:\n%s", n, s.Stderr())
		}
	}
	ps := s.cmd.ProcessState
	return ps.UserTime() + ps.SystemTime(), wall
}
