package main

// scanwatch selftest: the one-command demo. It builds two throwaway network
// namespaces joined by a veth pair (attacker and target), opens a few TCP
// and UDP services in the target, runs the real live sensor there, scans the
// target from the attacker with every technique of the built-in scanner, and
// prints what the sensor made of each scan.
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
// Children (services, sensor, scans) are this binary re-executed through
// `ip netns exec`, each in a process group of its own so that a Ctrl-C at the
// terminal reaches only us; we stop them and delete the namespaces on
// success, failure and cancellation (SIGINT/SIGTERM arrive through ctx).
//
// The services run in a child process rather than in sockets opened here
// after setns(2): setns exists only on Linux, and this file must build
// everywhere the rest of the command does.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/scanwatch/scanwatch/eve"
)

// selftestExe returns the scanwatch binary to re-execute in the namespaces.
// Tests point it at a freshly built binary (the test binary is not one).
var selftestExe = os.Executable

const (
	selfPrefix   = "swself"
	selfSubnet   = "10.75.0.0/24"
	selfAttacker = "10.75.0.2"
	selfTarget   = "10.75.0.10"
	selfAttack6  = "fd75::2"
	selfTarget6  = "fd75::10"
	selfSrcBase  = 21 // technique i scans from 10.75.0.(21+i)

	selfTCPPorts = "1-1024,8080" // every TCP service and many closed ports
	selfUDPPorts = "1-100,161"   // every UDP service and ~100 closed ports

	// serveArg runs the target's services (internal: the child of selftest).
	serveArg = "internal-serve"
)

var (
	selfTCPServices = []uint16{22, 80, 443, 8080}
	selfUDPServices = []uint16{53, 161}
)

// selfTechnique is one row of the report: a scan and what the sensor must
// call it.
type selfTechnique struct {
	label       string   // row name
	args        []string // scanwatch scan arguments before the target
	want        string   // expected scan.type
	compareOpen bool     // the sensor can know the open ports (it sees the answers)
}

var selfTechniques = []selfTechnique{
	{"-sS", []string{"-sS", "-p", selfTCPPorts}, "syn", true},
	{"-sT", []string{"-sT", "-p", selfTCPPorts}, "connect", true},
	{"-sF", []string{"-sF", "-p", selfTCPPorts}, "fin", false},
	{"-sN", []string{"-sN", "-p", selfTCPPorts}, "null", false},
	{"-sX", []string{"-sX", "-p", selfTCPPorts}, "xmas", false},
	{"-sA", []string{"-sA", "-p", selfTCPPorts}, "ack", false},
	{"-sW", []string{"-sW", "-p", selfTCPPorts}, "ack", false},
	{"-sM", []string{"-sM", "-p", selfTCPPorts}, "maimon", false},
	{"-sU", []string{"-sU", "-p", selfUDPPorts}, "udp", true},
	{"--scanflags SYNFIN", []string{"--scanflags", "SYNFIN", "-p", selfTCPPorts}, "custom", false},
}

// Time limits: generous for a busy 2-core machine, small against the ~60 s
// the whole run should take.
const (
	selfStepTimeout   = 15 * time.Second // namespaces up, services ready, sensor capturing
	selfScanTimeout   = 25 * time.Second // one scan
	selfSensorStop    = 10 * time.Second // sensor's shutdown after SIGINT
	selfGap           = 200 * time.Millisecond
	selfSettle        = 300 * time.Millisecond // after the last scan, before stopping the sensor
	selfCatchUp       = 5 * time.Second        // longest wait for a lagging sensor's alerts
	selfWindowBefore  = time.Second            // alert attribution window around a scan's run
	selfWindowAfter   = 3 * time.Second
	selfNeedRootError = "selftest needs root (network namespaces, raw sockets, eBPF)"
)

// cmdSelftest runs the self-test and prints its report on stdout; progress
// goes to stderr. It returns an error (exit 1) when any technique fails.
func cmdSelftest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == serveArg {
		return selfServe(ctx, os.Stdin, stdout)
	}
	fs := flag.NewFlagSet("selftest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mode := fs.String("capture", "ebpf", "the sensor's kernel filter: ebpf, or cbpf for kernels without eBPF")
	verbose := fs.Bool("v", false, "also print the sensor's and the scans' own output, and keep the sensor's JSON lines")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *mode != "ebpf" && *mode != "cbpf" {
		return usagef("--capture must be ebpf or cbpf, not %q", *mode)
	}
	if runtime.GOOS != "linux" {
		return fmt.Errorf("selftest needs Linux (network namespaces), not %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return errors.New(selfNeedRootError)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("selftest needs iproute2's ip command (apt-get install iproute2)")
	}
	exe, err := selftestExe()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}

	began := time.Now()
	st := &selftest{exe: exe, stderr: stderr, verbose: *verbose, mode: *mode, keepDir: *verbose}
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
	failed := writeSelftestReport(stdout, rows, stats)
	fmt.Fprintf(stdout, "selftest: %d/%d techniques detected, %d/%d rows ok (%.1f s)\n",
		selfCountDetected(rows), len(rows), len(rows)-failed, len(rows), time.Since(began).Seconds())
	if *verbose {
		st.logf("sensor output kept in %s", st.sensorOut)
	}
	if failed > 0 {
		st.keep()
		return fmt.Errorf("%d of %d techniques failed; sensor output kept in %s", failed, len(rows), st.sensorOut)
	}
	return nil
}

// selftest holds the resources of one run, for cleanup.
type selftest struct {
	exe     string
	stderr  io.Writer
	verbose bool
	mode    string

	mu         sync.Mutex
	closed     bool
	nss        []string    // namespaces created, in order
	procs      []*selfProc // children started
	dir        string      // temp dir with the sensor's output
	sensorOut  string
	keepDir    bool
	servicesIn io.Closer

	attNS, tgtNS     string
	attVeth, tgtVeth string
}

// keep asks cleanup to leave the temp dir with the sensor's output.
func (st *selftest) keep() {
	st.mu.Lock()
	st.keepDir = true
	st.mu.Unlock()
}

func (st *selftest) logf(format string, a ...any) {
	fmt.Fprintf(st.stderr, "selftest: "+format+"\n", a...)
}

// run does everything but the report.
func (st *selftest) run(ctx context.Context) ([]selfRow, map[string]uint64, error) {
	pid := os.Getpid()
	st.attNS, st.tgtNS = fmt.Sprintf("%s-%d-a", selfPrefix, pid), fmt.Sprintf("%s-%d-b", selfPrefix, pid)
	st.attVeth, st.tgtVeth = fmt.Sprintf("%s%da", selfPrefix, pid), fmt.Sprintf("%s%db", selfPrefix, pid)

	dir, err := os.MkdirTemp("", "scanwatch-selftest-")
	if err != nil {
		return nil, nil, err
	}
	st.mu.Lock()
	st.dir, st.sensorOut = dir, dir+"/sensor.json"
	st.mu.Unlock()

	if err := st.setupNamespaces(ctx); err != nil {
		return nil, nil, fmt.Errorf("set up namespaces: %w", err)
	}
	st.logf("namespaces %s (attacker %s) and %s (target %s) up", st.attNS, selfAttacker, st.tgtNS, selfTarget)
	if err := st.startServices(ctx); err != nil {
		return nil, nil, fmt.Errorf("start target services: %w", err)
	}
	sensor, err := st.startSensor(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("start sensor: %w", err)
	}

	var runs []selfScanRun
	for i, tc := range selfTechniques {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		r := st.runScan(ctx, i, tc)
		runs = append(runs, r)
		if r.err != nil {
			st.logf("%-18s from %s: FAILED after %.2fs: %v", tc.label, r.src, r.end.Sub(r.start).Seconds(), r.err)
		} else {
			st.logf("%-18s from %s: %d ports in %.2fs, open: %s", tc.label, r.src, r.ports, r.end.Sub(r.start).Seconds(), selfPorts(r.open))
		}
		selfSleep(ctx, selfGap)
	}
	// Give the sensor time to catch up: on a busy machine it may still be
	// working through its ring. Stop when every scan has its alert or
	// the deadline passes (a missing alert is then a finding).
	selfSleep(ctx, selfSettle)
	for deadline := time.Now().Add(selfCatchUp); time.Now().Before(deadline); {
		if st.allAlerted(runs) || !selfSleep(ctx, 100*time.Millisecond) {
			break
		}
	}
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}

	if err := sensor.stop(); err != nil {
		return nil, nil, fmt.Errorf("sensor: %w\n%s", err, sensor.stderr())
	}
	if st.verbose {
		fmt.Fprintf(st.stderr, "--- sensor stderr\n%s---\n", sensor.stderr())
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
	return evaluateSelftest(runs, out), out.stats, nil
}

// allAlerted reports whether the sensor has written an alert for every scan.
func (st *selftest) allAlerted(runs []selfScanRun) bool {
	f, err := os.Open(st.sensorOut)
	if err != nil {
		return false
	}
	defer f.Close()
	out, err := parseSensorOutput(f)
	if err != nil {
		return false // a line being written
	}
	return selfCountDetected(evaluateSelftest(runs, out)) == len(runs)
}

// ---------------------------------------------------------------------------
// Namespaces.

func (st *selftest) setupNamespaces(ctx context.Context) error {
	for _, ns := range []string{st.attNS, st.tgtNS} {
		st.mu.Lock()
		if st.closed {
			st.mu.Unlock()
			return context.Canceled
		}
		// Registered before it exists, so that a cleanup racing with
		// this step still deletes it.
		st.nss = append(st.nss, ns)
		st.mu.Unlock()
		if err := selfIP(ctx, "netns", "add", ns); err != nil {
			return err
		}
	}
	a, b := st.attNS, st.tgtNS
	steps := [][]string{
		{"link", "add", st.attVeth, "netns", a, "type", "veth", "peer", "name", st.tgtVeth, "netns", b},
		{"-n", a, "addr", "add", selfAttacker + "/24", "dev", st.attVeth},
		{"-n", b, "addr", "add", selfTarget + "/24", "dev", st.tgtVeth},
		{"-n", a, "-6", "addr", "add", selfAttack6 + "/64", "dev", st.attVeth, "nodad"},
		{"-n", b, "-6", "addr", "add", selfTarget6 + "/64", "dev", st.tgtVeth, "nodad"},
	}
	for i := range selfTechniques {
		steps = append(steps, []string{"-n", a, "addr", "add", selfSource(i).String() + "/24", "dev", st.attVeth})
	}
	steps = append(steps,
		[]string{"-n", a, "link", "set", "lo", "up"},
		[]string{"-n", b, "link", "set", "lo", "up"},
		[]string{"-n", a, "link", "set", st.attVeth, "up"},
		[]string{"-n", b, "link", "set", st.tgtVeth, "up"})
	for _, s := range steps {
		if err := selfIP(ctx, s...); err != nil {
			return err
		}
	}
	// veth reports carrier asynchronously.
	deadline := time.Now().Add(selfStepTimeout)
	for {
		upA := selfLinkUp(ctx, a, st.attVeth)
		upB := selfLinkUp(ctx, b, st.tgtVeth)
		if upA && upB {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("veth %s/%s not up after %v", st.attVeth, st.tgtVeth, selfStepTimeout)
		}
		if !selfSleep(ctx, 20*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// selfSource is the attacker's source address for technique i.
func selfSource(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 75, 0, byte(selfSrcBase + i)})
}

func selfLinkUp(ctx context.Context, ns, dev string) bool {
	out, err := exec.CommandContext(ctx, "ip", "-n", ns, "-o", "link", "show", "dev", dev).Output()
	return err == nil && strings.Contains(string(out), "state UP")
}

// ipCmd runs ip with args; its error says which command failed and why.
func selfIP(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("ip %s: %s", strings.Join(args, " "), msg)
	}
	return nil
}

// nsExec prepares argv to run in namespace ns, in a process group of its own.
func selfNSExec(ns string, argv ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// selfProc is a started child; done closes when it has been reaped.
type selfProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // Wait's result, once done is closed
}

// start starts cmd, reaps it in the background, and registers it for
// cleanup.
func (st *selftest) start(cmd *exec.Cmd) (*selfProc, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil, context.Canceled
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &selfProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	st.procs = append(st.procs, p)
	return p, nil
}

// kill kills the child's whole process group.
func (p *selfProc) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.cmd.Process.Kill()
}

// cleanup kills the children, deletes the namespaces and (unless a failure
// asks to keep it) the temp dir. Safe to call more than once, from any
// goroutine.
func (st *selftest) cleanup() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return
	}
	st.closed = true
	if st.servicesIn != nil {
		st.servicesIn.Close()
	}
	for _, p := range st.procs {
		p.kill()
	}
	// Reap them, so that none is left a zombie.
	reapBy := time.After(3 * time.Second)
	for _, p := range st.procs {
		select {
		case <-p.done:
		case <-reapBy:
		}
	}
	for i := len(st.nss) - 1; i >= 0; i-- {
		selfDeleteNS(st.nss[i])
	}
	if st.dir != "" && !st.keepDir {
		os.RemoveAll(st.dir)
	}
}

// deleteNamespace kills whatever still runs inside ns (a namespace with
// live processes outlives `ip netns del`, and keeps its veth) and deletes it.
func selfDeleteNS(ns string) {
	for i := 0; i < 50; i++ {
		out, err := exec.Command("ip", "netns", "pids", ns).Output()
		if err != nil {
			break
		}
		pids := strings.Fields(string(out))
		if len(pids) == 0 {
			break
		}
		for _, f := range pids {
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = exec.Command("ip", "netns", "del", ns).Run()
}

// removeStale deletes swself-PID-* namespaces whose PID no longer runs:
// left by a run that was killed with SIGKILL.
func (st *selftest) removeStale() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		pid, ok := selfStaleOwner(f[0])
		if !ok || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			continue // still running (or not ours to judge)
		}
		st.logf("removing stale namespace %s (pid %d is gone)", f[0], pid)
		selfDeleteNS(f[0])
	}
}

// staleOwner parses "swself-PID-a" or "-b".
func selfStaleOwner(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, selfPrefix+"-")
	if !ok || len(rest) < 3 || (!strings.HasSuffix(rest, "-a") && !strings.HasSuffix(rest, "-b")) {
		return 0, false
	}
	pid, err := strconv.Atoi(rest[:len(rest)-2])
	return pid, err == nil && pid > 0
}

// ---------------------------------------------------------------------------
// The target's services.

// startServices runs `scanwatch selftest internal-serve` in the target and
// waits for its "ready". It exits when its stdin closes (when we exit).
func (st *selftest) startServices(ctx context.Context) error {
	cmd := selfNSExec(st.tgtNS, st.exe, "selftest", serveArg)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	st.servicesIn = stdin // held open for the child's lifetime: it exits at EOF
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var errBuf selfBuffer
	cmd.Stderr = &errBuf
	if _, err := st.start(cmd); err != nil {
		return err
	}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "ready" {
				ready <- nil
				io.Copy(io.Discard, stdout)
				return
			}
		}
		ready <- errors.New("services exited before they were ready")
	}()
	select {
	case err := <-ready:
		if err != nil {
			return fmt.Errorf("%w: %s", err, strings.TrimSpace(errBuf.String()))
		}
	case <-time.After(selfStepTimeout):
		return fmt.Errorf("services not ready after %v: %s", selfStepTimeout, strings.TrimSpace(errBuf.String()))
	case <-ctx.Done():
		return ctx.Err()
	}
	st.logf("target services: tcp %s, udp %s", selfPorts(selfTCPServices), selfPorts(selfUDPServices))
	return nil
}

// serveSelftest is the child in the target namespace: it lifts the ICMP rate
// limit (so that a UDP scan's unreachables all get out), opens the services,
// says "ready" and serves until stdin closes or ctx ends.
func selfServe(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	for key, v := range map[string]string{
		"net/ipv4/icmp_ratelimit": "0", // per-destination limit
		"net/ipv4/icmp_ratemask":  "0", // no type is rate limited, nor counted by the global limit
	} {
		if err := os.WriteFile("/proc/sys/"+key, []byte(v), 0o644); err != nil {
			return fmt.Errorf("sysctl %s=%s: %w", strings.ReplaceAll(key, "/", "."), v, err)
		}
	}
	for _, p := range selfTCPServices {
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", p))
		if err != nil {
			return fmt.Errorf("listen tcp %d: %w", p, err)
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				// Echo until the client closes, as a service that
				// waits for a request does. Closing first would
				// put the server's FIN before the scanner's close.
				go func() {
					defer c.Close()
					_ = c.SetDeadline(time.Now().Add(10 * time.Second))
					_, _ = io.Copy(c, c)
				}()
			}
		}()
	}
	for _, p := range selfUDPServices {
		c, err := net.ListenPacket("udp", fmt.Sprintf(":%d", p))
		if err != nil {
			return fmt.Errorf("listen udp %d: %w", p, err)
		}
		go func() {
			buf := make([]byte, 2048)
			for {
				_, from, err := c.ReadFrom(buf)
				if err != nil {
					return
				}
				_, _ = c.WriteTo([]byte("scanwatch selftest\n"), from)
			}
		}()
	}
	fmt.Fprintln(stdout, "ready")
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, stdin)
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}

// ---------------------------------------------------------------------------
// The sensor.

type selfSensor struct {
	proc   *selfProc
	errBuf *selfBuffer
}

func (s *selfSensor) stderr() string { return s.errBuf.String() }

// startSensor runs `scanwatch live` on the target's veth and waits until it
// captures.
func (st *selftest) startSensor(ctx context.Context) (*selfSensor, error) {
	cmd := selfNSExec(st.tgtNS, st.exe, "live", "-i", st.tgtVeth, "--capture", st.mode, "--out", st.sensorOut)
	s := &selfSensor{errBuf: &selfBuffer{}}
	cmd.Stderr = s.errBuf
	var err error
	if s.proc, err = st.start(cmd); err != nil {
		return nil, err
	}
	deadline := time.After(selfStepTimeout)
	for !strings.Contains(s.errBuf.String(), "capturing on") {
		select {
		case <-s.proc.done:
			return nil, fmt.Errorf("sensor exited (%v):\n%s", s.proc.err, s.stderr())
		case <-deadline:
			return nil, fmt.Errorf("sensor not capturing after %v:\n%s", selfStepTimeout, s.stderr())
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	st.logf("sensor: %s", strings.TrimSpace(strings.TrimPrefix(selfFirstLine(s.stderr(), "capturing on"), "scanwatch live: ")))
	return s, nil
}

// stop sends SIGINT, as a user would, and waits for the sensor to write its
// summaries and exit.
func (s *selfSensor) stop() error {
	if err := s.proc.cmd.Process.Signal(os.Interrupt); err != nil {
		return fmt.Errorf("interrupt: %w", err)
	}
	select {
	case <-s.proc.done:
		if s.proc.err != nil {
			return fmt.Errorf("exited with %w", s.proc.err)
		}
		return nil
	case <-time.After(selfSensorStop):
		s.proc.kill()
		return fmt.Errorf("did not stop within %v of SIGINT", selfSensorStop)
	}
}

// ---------------------------------------------------------------------------
// The scans.

// selfScanRun is one scan as it ran.
type selfScanRun struct {
	tech       selfTechnique
	src        netip.Addr
	start, end time.Time // wall clock, around the scan process
	ports      int       // ports scanned
	open       []uint16  // ports the scanner found open
	err        error
}

// runScan scans the target from the attacker with technique i.
func (st *selftest) runScan(ctx context.Context, i int, tc selfTechnique) selfScanRun {
	r := selfScanRun{tech: tc, src: selfSource(i)}
	r.start = time.Now()
	defer func() {
		if r.end.IsZero() {
			r.end = time.Now()
		}
	}()
	// A host route to the target whose preferred source is this
	// technique's own address: raw and connect scans both take their
	// source from the routing table.
	if err := selfIP(ctx, "-n", st.attNS, "route", "replace", selfTarget+"/32", "dev", st.attVeth, "src", r.src.String()); err != nil {
		r.err = err
		return r
	}
	args := append([]string{st.exe, "scan"}, tc.args...)
	args = append(args, "--json", "--host-timeout", (selfScanTimeout - 5*time.Second).String(), selfTarget)
	cmd := selfNSExec(st.attNS, args...)
	var out, errOut selfBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	r.start = time.Now()
	proc, err := st.start(cmd)
	if err != nil {
		r.err = err
		return r
	}
	select {
	case <-proc.done:
		err = proc.err
	case <-time.After(selfScanTimeout):
		proc.kill()
		<-proc.done
		err = fmt.Errorf("no result after %v", selfScanTimeout)
	case <-ctx.Done():
		proc.kill()
		<-proc.done
		err = ctx.Err()
	}
	r.end = time.Now()
	if st.verbose {
		fmt.Fprintf(st.stderr, "--- scan %s\n%s%s---\n", tc.label, errOut.String(), out.String())
	}
	if err != nil {
		r.err = fmt.Errorf("scanwatch %s: %w: %s", strings.Join(cmd.Args[5:], " "), err, strings.TrimSpace(errOut.String()))
		return r
	}
	var res struct {
		Source string `json:"source"`
		Hosts  []struct {
			Addr  string `json:"addr"`
			Ports []struct {
				Port  uint16 `json:"port"`
				State string `json:"state"`
			} `json:"ports"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		r.err = fmt.Errorf("scan result: %w", err)
		return r
	}
	if res.Source != "" && res.Source != r.src.String() {
		r.err = fmt.Errorf("scanned from %s, not %s", res.Source, r.src)
		return r
	}
	for _, h := range res.Hosts {
		for _, p := range h.Ports {
			r.ports++
			if p.State == "open" {
				r.open = append(r.open, p.Port)
			}
		}
	}
	slices.Sort(r.open)
	return r
}

// ---------------------------------------------------------------------------
// The sensor's output and the report.

// sensorRecord is the part of an EVE line the self-test reads.
type sensorRecord struct {
	Timestamp string `json:"timestamp"`
	EventType string `json:"event_type"`
	SrcIP     string `json:"src_ip"`
	Scan      struct {
		Type      string   `json:"type"`
		Probes    int      `json:"probes"`
		FirstSeen string   `json:"first_seen"`
		OpenPorts []uint16 `json:"open_ports"`
	} `json:"scan"`
	Stats map[string]uint64 `json:"stats"`

	time, first time.Time // parsed Timestamp and Scan.FirstSeen
	used        bool
}

// sensorOutput is the sensor's records by kind.
type sensorOutput struct {
	alerts []*sensorRecord
	scans  []*sensorRecord
	stats  map[string]uint64 // the last stats record
}

func parseSensorOutput(r io.Reader) (*sensorOutput, error) {
	out := &sensorOutput{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		rec := &sensorRecord{}
		if err := json.Unmarshal(line, rec); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		var err error
		if rec.time, err = time.Parse(eve.TimeFormat, rec.Timestamp); err != nil {
			return nil, fmt.Errorf("line %d: timestamp: %w", n, err)
		}
		switch rec.EventType {
		case "alert", "scan":
			if rec.first, err = time.Parse(eve.TimeFormat, rec.Scan.FirstSeen); err != nil {
				return nil, fmt.Errorf("line %d: scan.first_seen: %w", n, err)
			}
			if rec.EventType == "alert" {
				out.alerts = append(out.alerts, rec)
			} else {
				out.scans = append(out.scans, rec)
			}
		case "stats":
			out.stats = rec.Stats
		}
	}
	return out, sc.Err()
}

// selfRow is one line of the report.
type selfRow struct {
	label      string
	want       string
	detected   bool
	got        string
	probes     int
	msToAlert  int64
	compare    bool
	scanOpen   []uint16
	sensorOpen []uint16
	problems   []string
}

func (r *selfRow) ok() bool { return len(r.problems) == 0 }

// evaluateSelftest attributes the sensor's alerts to the scans, by time
// window (alert timestamps are packet times, from the clock the scans were
// timed with) and source address, and judges each row.
func evaluateSelftest(runs []selfScanRun, out *sensorOutput) []selfRow {
	inWindow := func(t time.Time, r *selfScanRun) bool {
		return !t.Before(r.start.Add(-selfWindowBefore)) && !t.After(r.end.Add(selfWindowAfter))
	}
	// pick returns the first unused record in r's window, preferring r's
	// source and the expected type.
	pick := func(recs []*sensorRecord, r *selfScanRun, at func(*sensorRecord) time.Time) *sensorRecord {
		var best *sensorRecord
		bestScore := -1
		for _, rec := range recs {
			if rec.used || !inWindow(at(rec), r) {
				continue
			}
			score := 0
			if rec.SrcIP == r.src.String() {
				score += 2
			}
			if rec.Scan.Type == r.tech.want {
				score++
			}
			if score > bestScore {
				best, bestScore = rec, score
			}
		}
		return best
	}
	// Alerts from a scan's own source are claimed first, so that a
	// window-only match never takes another row's alert.
	claimed := make([]*sensorRecord, len(runs))
	for pass := 0; pass < 2; pass++ {
		for i := range runs {
			r := &runs[i]
			if claimed[i] != nil {
				continue
			}
			rec := pick(out.alerts, r, func(x *sensorRecord) time.Time { return x.time })
			if rec == nil || (pass == 0 && rec.SrcIP != r.src.String()) {
				continue
			}
			rec.used = true
			claimed[i] = rec
		}
	}

	rows := make([]selfRow, len(runs))
	for i := range runs {
		r := &runs[i]
		row := selfRow{label: r.tech.label, want: r.tech.want, compare: r.tech.compareOpen, scanOpen: r.open}
		if r.err != nil {
			row.problems = append(row.problems, "scan failed: "+r.err.Error())
		}
		a := claimed[i]
		if a == nil {
			row.problems = append(row.problems, "no alert")
		} else {
			row.detected, row.got = true, a.Scan.Type
			row.probes = a.Scan.Probes
			row.msToAlert = a.time.Sub(a.first).Milliseconds()
			if a.Scan.Type != r.tech.want {
				row.problems = append(row.problems, fmt.Sprintf("type %s, want %s", a.Scan.Type, r.tech.want))
			}
			if a.SrcIP != r.src.String() {
				row.problems = append(row.problems, fmt.Sprintf("alert from %s, scan from %s", a.SrcIP, r.src))
			}
			// Open ports: the episode's closing record has the final
			// list; the alert has the list as it stood at the alert.
			row.sensorOpen = a.Scan.OpenPorts
			for _, s := range out.scans {
				if !s.used && s.SrcIP == a.SrcIP && s.first.Equal(a.first) {
					s.used = true
					row.sensorOpen = s.Scan.OpenPorts
					break
				}
			}
		}
		if row.compare && row.detected && r.err == nil && !slices.Equal(selfSorted(row.sensorOpen), selfSorted(row.scanOpen)) {
			row.problems = append(row.problems, fmt.Sprintf("open ports: scanner %s, sensor %s", selfPorts(row.scanOpen), selfPorts(row.sensorOpen)))
		}
		rows[i] = row
	}
	return rows
}

// writeSelftestReport prints the table, the problems under it and the
// sensor's counters. It returns the number of failed rows.
func writeSelftestReport(w io.Writer, rows []selfRow, stats map[string]uint64) int {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TECHNIQUE\tDETECTED\tTYPE (GOT/WANT)\tPROBES\tMS TO ALERT\tOPEN (SCANNER)\tOPEN (SENSOR)\tRESULT")
	failed := 0
	for i := range rows {
		r := &rows[i]
		det, typ, probes, ms := "no", "-/"+r.want+" FAIL", "-", "-"
		if r.detected {
			det = "yes"
			verdict := "ok"
			if r.got != r.want {
				verdict = "FAIL"
			}
			typ = r.got + "/" + r.want + " " + verdict
			probes, ms = strconv.Itoa(r.probes), strconv.FormatInt(r.msToAlert, 10)
		}
		scanOpen, sensorOpen := "-", "-"
		if r.compare {
			scanOpen = selfPorts(r.scanOpen)
			if r.detected {
				sensorOpen = selfPorts(r.sensorOpen)
			}
		}
		result := "ok"
		if !r.ok() {
			result = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.label, det, typ, probes, ms, scanOpen, sensorOpen, result)
	}
	tw.Flush()
	for _, r := range rows {
		for _, p := range r.problems {
			fmt.Fprintf(w, "  %s: %s\n", r.label, p)
		}
	}
	if stats != nil {
		fmt.Fprintf(w, "sensor: kernel seen %d, passed %d, dropped %d; ring lost %d; received %d, decoded %d, probes %d, alerts %d\n",
			stats["kernel_seen"], stats["kernel_passed"], stats["kernel_dropped"], stats["ring_lost"],
			stats["received"], stats["decoded"], stats["probes"], stats["alerts"])
	} else {
		fmt.Fprintln(w, "sensor: no stats record")
	}
	return failed
}

func selfCountDetected(rows []selfRow) int {
	n := 0
	for _, r := range rows {
		if r.detected {
			n++
		}
	}
	return n
}

// ---------------------------------------------------------------------------
// Small helpers.

func selfPorts(ports []uint16) string {
	if len(ports) == 0 {
		return "none"
	}
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(int(p))
	}
	return strings.Join(s, ",")
}

func selfSorted(p []uint16) []uint16 {
	p = slices.Clone(p)
	slices.Sort(p)
	return p
}

func selfFirstLine(s, containing string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, containing) {
			return l
		}
	}
	return ""
}

// sleepCtx sleeps d or until ctx ends; it reports whether it slept fully.
func selfSleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// selfBuffer is a bytes.Buffer safe for a child's writer goroutine and
// our reads.
type selfBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *selfBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *selfBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *selfBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.b.Bytes())
}
