// Package selftest is scanwatch's one-command demo and end-to-end check
// (`scanwatch selftest`). It builds two throwaway network namespaces joined
// by a veth pair (attacker and target), opens a few TCP and UDP services in
// the target, runs the real live sensor there, scans the target from the
// attacker with every technique of the built-in scanner, and prints what the
// sensor made of each scan.
//
// Layout (names carry this process's id, so runs never collide, and a later
// run can tell a stale pair from a live one):
//
//	swself-PID-a  attacker  veth swselfPIDa  10.75.0.2/24 (+ .21-.30), fd75::2/64
//	swself-PID-b  target    veth swselfPIDb  10.75.0.10/24, fd75::10/64
//
// No default routes: nothing sent inside can leave the pair. Each technique
// scans from a source address of its own (a host route with a preferred
// source, changed before each scan), so that each scan is an episode of its
// own in the sensor: from one source, -sS and -sT would share one "syn
// family" episode and -sA and -sW one "ack" episode, and the second of each
// pair would raise no alert of its own within the idle timeout.
//
// The sensor is the pipeline of `scanwatch live` (package sensor), run in
// this process: its capture socket is opened from a thread switched into the
// target's namespace (netns.Pair.Do), where it stays, and the sensor says
// when it captures through its Ready callback. The other children must run
// in another network namespace as whole processes, and the one portable way
// to get there is `ip netns exec` on a program, so they are Options.Exe run
// that way: the services as `scanwatch selftest internal-serve` (see
// [ServeArg] and [Serve]) and each scan as `scanwatch scan`, the very
// command a user runs. Each child runs in a process group of its own so
// that a Ctrl-C at the terminal reaches only us; [Run] stops the sensor and
// the children and deletes the namespaces on success, failure and
// cancellation (SIGINT/SIGTERM arrive through ctx).
package selftest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"github.com/scanwatch/scanwatch/internal/netns"
	"github.com/scanwatch/scanwatch/sensor"
)

// ServeArg is the argument after `selftest` that makes the binary run the
// target's services ([Serve]) instead of a self-test: the command must hand
// `scanwatch selftest internal-serve` to Serve.
const ServeArg = "internal-serve"

// Options configures a self-test.
type Options struct {
	// Exe is the scanwatch binary to re-execute in the namespaces for the
	// services and the scans (usually os.Executable).
	Exe string
	// Capture is the sensor's kernel filter: "ebpf" (the default when
	// empty), or "cbpf" for kernels without eBPF.
	Capture string
	// Verbose also prints the sensor's summary and the scans' own output
	// on stderr, and keeps the sensor's JSON lines.
	Verbose bool
}

const (
	nsPrefix     = "swself"
	subnet       = "10.75.0.0/24"
	subnet6      = "fd75::/64"
	attackerHost = 2  // 10.75.0.2, fd75::2
	targetHost   = 10 // 10.75.0.10, fd75::10
	targetAddr   = "10.75.0.10"
	srcBase      = 21 // technique i scans from 10.75.0.(21+i)

	tcpPorts = "1-1024,8080" // every TCP service and many closed ports
	udpPorts = "1-100,161"   // every UDP service and ~100 closed ports
)

var (
	tcpServices = []uint16{22, 80, 443, 8080}
	udpServices = []uint16{53, 161}
)

// technique is one row of the report: a scan and what the sensor must
// call it.
type technique struct {
	label       string   // row name
	args        []string // scanwatch scan arguments before the target
	want        string   // expected scan.type
	compareOpen bool     // the sensor can know the open ports (it sees the answers)
}

var techniques = []technique{
	{"-sS", []string{"-sS", "-p", tcpPorts}, "syn", true},
	{"-sT", []string{"-sT", "-p", tcpPorts}, "connect", true},
	{"-sF", []string{"-sF", "-p", tcpPorts}, "fin", false},
	{"-sN", []string{"-sN", "-p", tcpPorts}, "null", false},
	{"-sX", []string{"-sX", "-p", tcpPorts}, "xmas", false},
	{"-sA", []string{"-sA", "-p", tcpPorts}, "ack", false},
	{"-sW", []string{"-sW", "-p", tcpPorts}, "ack", false},
	{"-sM", []string{"-sM", "-p", tcpPorts}, "maimon", false},
	{"-sU", []string{"-sU", "-p", udpPorts}, "udp", true},
	{"--scanflags SYNFIN", []string{"--scanflags", "SYNFIN", "-p", tcpPorts}, "custom", false},
}

// Time limits: generous for a busy 2-core machine, small against the ~60 s
// the whole run should take.
const (
	stepTimeout       = 15 * time.Second // namespaces up, services ready, sensor capturing
	scanTimeout       = 25 * time.Second // one scan
	sensorStopTimeout = 10 * time.Second // sensor's shutdown (drain, flush, stats)
	scanGap           = 200 * time.Millisecond
	settleTime        = 300 * time.Millisecond // after the last scan, before stopping the sensor
	catchUpTime       = 5 * time.Second        // longest wait for a lagging sensor's alerts
	windowBefore      = time.Second            // alert attribution window around a scan's run
	windowAfter       = 3 * time.Second
	needRootError     = "selftest needs root (network namespaces, raw sockets, eBPF)"
)

// Run runs the self-test and prints its report on stdout; progress goes to
// stderr. It returns an error when the machine cannot run it (not Linux,
// not root, no ip command), when a step of the setup fails, when ctx ends
// (the namespaces are removed first), or when any technique fails.
func Run(ctx context.Context, opts Options, stdout, stderr io.Writer) error {
	mode := opts.Capture
	if mode == "" {
		mode = "ebpf"
	}
	if mode != "ebpf" && mode != "cbpf" {
		return fmt.Errorf("capture must be ebpf or cbpf, not %q", mode)
	}
	if opts.Exe == "" {
		return errors.New("no scanwatch binary to re-execute (Options.Exe is empty)")
	}
	if runtime.GOOS != "linux" {
		return fmt.Errorf("selftest needs Linux (network namespaces), not %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return errors.New(needRootError)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("selftest needs iproute2's ip command (apt-get install iproute2)")
	}

	began := time.Now()
	st := &session{exe: opts.Exe, stderr: stderr, verbose: opts.Verbose, mode: mode, keepDir: opts.Verbose}
	st.removeStale()
	defer st.cleanup()
	// Also clean up the moment ctx ends, even if a step is blocked.
	stopAfter := context.AfterFunc(ctx, st.cleanup)
	defer stopAfter()

	rows, stats, err := st.run(ctx)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w (namespaces removed)", ctx.Err())
	}
	if err != nil {
		st.keep()
		return err
	}
	failed := writeReport(stdout, rows, stats)
	fmt.Fprintf(stdout, "selftest: %d/%d techniques detected, %d/%d rows ok (%.1f s)\n",
		countDetected(rows), len(rows), len(rows)-failed, len(rows), time.Since(began).Seconds())
	if opts.Verbose {
		st.logf("sensor output kept in %s", st.sensorOut)
	}
	if failed > 0 {
		st.keep()
		return fmt.Errorf("%d of %d techniques failed; sensor output kept in %s", failed, len(rows), st.sensorOut)
	}
	return nil
}

// session holds the resources of one run, for cleanup.
type session struct {
	exe     string
	stderr  io.Writer
	verbose bool
	mode    string

	mu         sync.Mutex
	closed     bool
	pair       *netns.Pair // attacker A, target B
	sensor     *liveSensor
	procs      []*proc // children started
	dir        string  // temp dir with the sensor's output
	sensorOut  string
	keepDir    bool
	servicesIn io.Closer
}

// keep asks cleanup to leave the temp dir with the sensor's output.
func (st *session) keep() {
	st.mu.Lock()
	st.keepDir = true
	st.mu.Unlock()
}

func (st *session) logf(format string, a ...any) {
	fmt.Fprintf(st.stderr, "selftest: "+format+"\n", a...)
}

// run does everything but the report.
func (st *session) run(ctx context.Context) ([]row, *sensor.Counters, error) {
	dir, err := os.MkdirTemp("", "scanwatch-selftest-")
	if err != nil {
		return nil, nil, err
	}
	st.mu.Lock()
	st.dir, st.sensorOut = dir, dir+"/sensor.json"
	st.mu.Unlock()

	if err := st.setupNamespaces(); err != nil {
		return nil, nil, fmt.Errorf("set up namespaces: %w", err)
	}
	a, b := st.pair.A, st.pair.B
	st.logf("namespaces %s (attacker %s) and %s (target %s) up", a.NS, a.Addr, b.NS, b.Addr)
	if err := st.startServices(ctx); err != nil {
		return nil, nil, fmt.Errorf("start target services: %w", err)
	}
	sn, err := st.startSensor(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("start sensor: %w", err)
	}

	var runs []scanRun
	for i, tc := range techniques {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		r := st.runScan(ctx, i, tc)
		runs = append(runs, r)
		if r.err != nil {
			st.logf("%-18s from %s: FAILED after %.2fs: %v", tc.label, r.src, r.end.Sub(r.start).Seconds(), r.err)
		} else {
			st.logf("%-18s from %s: %d ports in %.2fs, open: %s", tc.label, r.src, r.ports, r.end.Sub(r.start).Seconds(), formatPorts(r.open))
		}
		sleepCtx(ctx, scanGap)
	}
	// Give the sensor time to catch up: on a busy machine it may still be
	// working through its ring. Stop when every scan has its alert or
	// the deadline passes (a missing alert is then a finding).
	sleepCtx(ctx, settleTime)
	for deadline := time.Now().Add(catchUpTime); time.Now().Before(deadline); {
		if st.allAlerted(runs) || !sleepCtx(ctx, 100*time.Millisecond) {
			break
		}
	}
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}

	if err := sn.stop(); err != nil {
		return nil, nil, fmt.Errorf("sensor: %w", err)
	}
	if st.verbose {
		fmt.Fprintf(st.stderr, "--- sensor\n%s---\n", sn.summary())
	}
	f, err := os.Open(st.sensorOut)
	if err != nil {
		return nil, nil, fmt.Errorf("sensor output: %w", err)
	}
	defer f.Close()
	out, err := parseSensorOutput(f)
	if err != nil {
		return nil, nil, fmt.Errorf("sensor output %s: %w", st.sensorOut, err)
	}
	var counters *sensor.Counters
	if out.stats != nil {
		c := sn.s.LastCounters()
		counters = &c
	}
	return evaluate(runs, out), counters, nil
}

// allAlerted reports whether the sensor has written an alert for every scan.
func (st *session) allAlerted(runs []scanRun) bool {
	f, err := os.Open(st.sensorOut)
	if err != nil {
		return false
	}
	defer f.Close()
	out, err := parseSensorOutput(f)
	if err != nil {
		return false // a line being written
	}
	return countDetected(evaluate(runs, out)) == len(runs)
}
