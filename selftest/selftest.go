// Package selftest is scanwatch's one-command demo and end-to-end check
// (`scanwatch selftest`). It builds two throwaway network namespaces joined
// by a veth pair (attacker and target), opens TCP, UDP and SCTP services in
// the target, runs the real live sensor there, scans the target from the
// attacker with every technique, evasion and shape the sensor detects, and
// prints one row per check: what the sensor made of it, and whether that
// is what the check wanted.
//
// Layout (names carry this process's id, so runs never collide, and a later
// run can tell a stale pair from a live one):
//
//	swself-PID-a  attacker  veth swselfPIDa  10.75.0.2/24, fd75::2/64 (+ a source per scan)
//	swself-PID-b  target    veth swselfPIDb  10.75.0.10/24, fd75::10/64 (+ a target per check)
//
// No default routes: nothing sent inside can leave the pair. Every check
// scans from source addresses of its own and targets of its own (plan.go:
// host routes whose preferred source is the check's), so that the checks
// can run at once and still be told apart: the sensor keeps scanners
// apart by source, and would link two checks on one target into one
// distributed scan.
//
// The sensor is the pipeline of `scanwatch live` (package sensor), run in
// this process with the default rules but one override (a small SYN window,
// so that a scan at one probe a second is slow to it: rules.go): its
// capture socket is opened from a thread switched into the target's
// namespace (netns.Pair.Do), where it stays, and the sensor says when it
// captures through its Ready callback. The other children must run in
// another network namespace as whole processes, and the one portable way
// to get there is `ip netns exec` on a program, so they are Options.Exe run
// that way: the services as `scanwatch selftest internal-serve` (see
// [ServeArg] and [Serve]) and each scan as `scanwatch scan`, the very
// command a user runs (real nmap for -sV, which the built-in scanner
// refuses). Each child runs in a process group of its own so that a
// Ctrl-C at the terminal reaches only us; [Run] stops the sensor and the
// children and deletes the namespaces on success, failure and cancellation
// (SIGINT/SIGTERM arrive through ctx).
package selftest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
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
)

// The target's services (serve.go). They echo; bannerPort greets first,
// as SSH does, so that nmap -sV names it from its NULL probe at once
// (echo services keep it probing for tens of seconds). It is in no other
// check's ports: a greeting is data from the target, which a connect
// scan's contact must not see.
var (
	tcpServices = []uint16{22, 80, 443, 8080}
	udpServices = []uint16{53, 161}
)

const (
	bannerPort = 2022
	sshBanner  = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"
)

// Time limits: generous for a busy 2-core machine, small against the
// two minutes the whole run may take.
const (
	stepTimeout       = 15 * time.Second       // namespaces up, services ready, sensor capturing
	scanTimeout       = 30 * time.Second       // one scan
	sensorStopTimeout = 10 * time.Second       // sensor's shutdown (drain, flush, stats)
	settleTime        = 300 * time.Millisecond // after the last scan, before stopping the sensor
	catchUpTime       = 15 * time.Second       // longest wait for a lagging sensor's alerts
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

	rows, others, stats, err := st.run(ctx)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w (namespaces removed)", ctx.Err())
	}
	if err != nil {
		st.keep()
		return err
	}
	failed := writeReport(stdout, rows, others, stats)
	skipped := countSkipped(rows)
	ran := len(rows) - skipped
	fmt.Fprintf(stdout, "selftest: %d/%d checks detected, %d/%d rows ok, %d skipped (%.1f s)\n",
		countDetected(rows), ran, ran-failed, ran, skipped, time.Since(began).Seconds())
	if opts.Verbose {
		st.logf("sensor output kept in %s", st.sensorOut)
	}
	if failed > 0 {
		st.keep()
		return fmt.Errorf("%d of %d checks failed; sensor output kept in %s", failed, ran, st.sensorOut)
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
func (st *session) run(ctx context.Context) ([]row, []string, *sensor.Counters, error) {
	dir, err := os.MkdirTemp("", "scanwatch-selftest-")
	if err != nil {
		return nil, nil, nil, err
	}
	st.mu.Lock()
	st.dir, st.sensorOut = dir, dir+"/sensor.json"
	st.mu.Unlock()

	runs, err := st.setupNamespaces(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("set up namespaces: %w", err)
	}
	a, b := st.pair.A, st.pair.B
	st.logf("namespaces %s (attacker %s) and %s (target %s) up", a.NS, a.Addr, b.NS, b.Addr)
	if err := st.startServices(ctx); err != nil {
		return nil, nil, nil, fmt.Errorf("start target services: %w", err)
	}
	sn, err := st.startSensor(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("start sensor: %w", err)
	}

	st.runChecks(ctx, runs)
	if ctx.Err() != nil {
		return nil, nil, nil, ctx.Err()
	}
	// Give the sensor time to catch up: on a busy machine it may still be
	// working through its ring. Stop when every check has its alerts or
	// the deadline passes (a missing alert is then a finding).
	sleepCtx(ctx, settleTime)
	for deadline := time.Now().Add(catchUpTime); time.Now().Before(deadline); {
		if st.allAlerted(runs) || !sleepCtx(ctx, 100*time.Millisecond) {
			break
		}
	}
	if ctx.Err() != nil {
		return nil, nil, nil, ctx.Err()
	}

	if err := sn.stop(); err != nil {
		return nil, nil, nil, fmt.Errorf("sensor: %w", err)
	}
	if st.verbose {
		fmt.Fprintf(st.stderr, "--- sensor\n%s---\n", sn.summary())
	}
	f, err := os.Open(st.sensorOut)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sensor output: %w", err)
	}
	defer f.Close()
	out, err := parseSensorOutput(f)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sensor output %s: %w", st.sensorOut, err)
	}
	var counters *sensor.Counters
	if out.stats != nil {
		c := sn.s.LastCounters()
		counters = &c
	}
	rows, others := evaluate(runs, out)
	return rows, others, counters, nil
}

// runChecks runs the checks, maxParallel at once, the longest first; the
// report keeps the table's order.
func (st *session) runChecks(ctx context.Context, runs []*checkRun) {
	order := slices.Clone(runs)
	slices.SortStableFunc(order, func(x, y *checkRun) int { return cmp.Compare(y.check.cost(), x.check.cost()) })
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for _, cr := range order {
		if cr.skipped != "" {
			st.logf("%-20s %s", cr.check.label, cr.skipped)
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			began := time.Now()
			st.runCheck(ctx, cr)
			for _, r := range cr.scans {
				if r.err != nil {
					st.logf("%-20s from %s: FAILED after %.2fs: %v", cr.check.label, r.src, time.Since(began).Seconds(), r.err)
				} else {
					one := checkRun{scans: []scanRun{r}}
					st.logf("%-20s from %s: %d probes in %.2fs, open: %s", cr.check.label, r.src, r.probes, r.end.Sub(r.start).Seconds(), formatPorts(one.scanOpen()))
				}
			}
		}()
	}
	wg.Wait()
}

// allAlerted reports whether the sensor has written every alert the
// checks expect.
func (st *session) allAlerted(runs []*checkRun) bool {
	f, err := os.Open(st.sensorOut)
	if err != nil {
		return false
	}
	defer f.Close()
	out, err := parseSensorOutput(f)
	if err != nil {
		return false // a line being written
	}
	for _, cr := range runs {
		if !cr.complete(out) {
			return false
		}
	}
	return true
}
