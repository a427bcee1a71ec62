//go:build linux

// Package netns builds throwaway network namespaces for tests that need real
// traffic: a pair of namespaces, A and B, joined by a veth pair, with
// addresses from a subnet the caller chooses, loopback up, and no default
// route, so that nothing sent inside can leave the pair.
//
// Each Pair gets names of its own (a prefix and a random suffix), so tests,
// packages and engineers running at once never share a namespace. t.Cleanup
// kills every process left in the namespaces and deletes them (which deletes
// the veths), whether the test passed or failed.
//
// Offloads: the veths get gso_max_segs 1, so that TCP hands the device one
// segment per packet, as a NIC without offloads shows them on the wire.
// Otherwise veth passes 64 KB GSO super-packets across, and a packet socket
// sees a bulk transfer as a few thousand giant frames instead of the real
// segment count. This needs no ethtool; TCP itself then builds MSS-sized
// packets.
//
// Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2's ip command;
// Require skips the test, saying why, when either is missing.
package netns

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Config describes the pair to build.
type Config struct {
	// Prefix starts every name (namespaces "<prefix>-<id>-a" and "-b", veths
	// "<prefix><id>a" and "b"). Use one per test package, e.g. "swlive". At
	// most 8 characters, so that the veth names fit IFNAMSIZ.
	Prefix string
	// Subnet is the IPv4 subnet of the link. A gets its host address 1 and
	// B its host address 2 (10.80.0.1 and 10.80.0.2 for 10.80.0.0/24).
	Subnet netip.Prefix
	// Subnet6, when valid, adds IPv6: A gets ::1, B ::2 in it. Addresses are
	// added with nodad, so they are usable at once.
	Subnet6 netip.Prefix
	// KeepOffloads leaves the veths' GSO settings alone (64 KB TCP
	// super-packets); by default they send one segment per packet.
	KeepOffloads bool
}

// End is one side of the pair.
type End struct {
	NS    string     // namespace name, for `ip netns exec`
	Veth  string     // its end of the veth pair
	Addr  netip.Addr // IPv4 address on Veth
	Addr6 netip.Addr // IPv6 address on Veth; invalid without Config.Subnet6
}

// Pair is two namespaces joined by a veth pair.
type Pair struct {
	A, B End

	t     testing.TB
	cfg   Config
	mu    sync.Mutex
	procs []*tracked
}

type tracked struct {
	cmd *exec.Cmd
	out *bytes.Buffer // output of commands started by Start; nil otherwise
}

// Require skips the test when it cannot build namespaces: not root, or no ip
// command. It never lets such a test pass silently.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root (creates network namespaces and veths); run the tests with sudo")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipped: needs iproute2's ip command (apt-get install iproute2)")
	}
}

// New builds the pair and registers its removal with t.Cleanup. It skips the
// test (see Require) when namespaces cannot be made, and fails it when a
// setup step fails.
func New(t testing.TB, cfg Config) *Pair {
	t.Helper()
	Require(t)
	if cfg.Prefix == "" {
		cfg.Prefix = "swt"
	}
	if len(cfg.Prefix) > 8 {
		t.Fatalf("netns: prefix %q longer than 8 characters", cfg.Prefix)
	}
	if !cfg.Subnet.IsValid() || !cfg.Subnet.Addr().Is4() || cfg.Subnet.Bits() > 30 {
		t.Fatalf("netns: Subnet %v: want an IPv4 prefix of /30 or shorter", cfg.Subnet)
	}
	if cfg.Subnet6.IsValid() && (cfg.Subnet6.Addr().Is4() || cfg.Subnet6.Bits() > 126) {
		t.Fatalf("netns: Subnet6 %v: want an IPv6 prefix of /126 or shorter", cfg.Subnet6)
	}
	p := &Pair{t: t, cfg: cfg}
	p.A.Addr, p.B.Addr = HostAddr(cfg.Subnet, 1), HostAddr(cfg.Subnet, 2)
	if cfg.Subnet6.IsValid() {
		p.A.Addr6, p.B.Addr6 = HostAddr(cfg.Subnet6, 1), HostAddr(cfg.Subnet6, 2)
	}

	// Pick free names: a random suffix, retried if a namespace of that
	// name exists (a killed run, or a very unlikely collision).
	var err error
	for try := 0; try < 5; try++ {
		id := strconv.FormatUint(rand.Uint64N(1<<16), 16)
		id = strings.Repeat("0", 4-len(id)) + id
		p.A.NS, p.B.NS = cfg.Prefix+"-"+id+"-a", cfg.Prefix+"-"+id+"-b"
		p.A.Veth, p.B.Veth = cfg.Prefix+id+"a", cfg.Prefix+id+"b"
		if err = ip("netns", "add", p.A.NS); err == nil {
			break
		}
		if strings.Contains(err.Error(), "Operation not permitted") {
			t.Skipf("skipped: cannot create network namespaces here (%v); needs CAP_SYS_ADMIN", err)
		}
	}
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	// From here on, remove what exists even if a later step fails.
	t.Cleanup(p.cleanup)
	if err := ip("netns", "add", p.B.NS); err != nil {
		_ = ip("netns", "del", p.A.NS)
		p.A.NS = ""
		t.Fatalf("netns: %v", err)
	}

	steps := [][]string{
		{"link", "add", p.A.Veth, "netns", p.A.NS, "type", "veth", "peer", "name", p.B.Veth, "netns", p.B.NS},
		{"-n", p.A.NS, "addr", "add", prefixed(p.A.Addr, cfg.Subnet), "dev", p.A.Veth},
		{"-n", p.B.NS, "addr", "add", prefixed(p.B.Addr, cfg.Subnet), "dev", p.B.Veth},
	}
	if cfg.Subnet6.IsValid() {
		steps = append(steps,
			[]string{"-n", p.A.NS, "-6", "addr", "add", prefixed(p.A.Addr6, cfg.Subnet6), "dev", p.A.Veth, "nodad"},
			[]string{"-n", p.B.NS, "-6", "addr", "add", prefixed(p.B.Addr6, cfg.Subnet6), "dev", p.B.Veth, "nodad"})
	}
	if !cfg.KeepOffloads {
		steps = append(steps,
			[]string{"-n", p.A.NS, "link", "set", p.A.Veth, "gso_max_segs", "1"},
			[]string{"-n", p.B.NS, "link", "set", p.B.Veth, "gso_max_segs", "1"})
	}
	steps = append(steps,
		[]string{"-n", p.A.NS, "link", "set", "lo", "up"},
		[]string{"-n", p.B.NS, "link", "set", "lo", "up"},
		[]string{"-n", p.A.NS, "link", "set", p.A.Veth, "up"},
		[]string{"-n", p.B.NS, "link", "set", p.B.Veth, "up"})
	for _, s := range steps {
		if err := ip(s...); err != nil {
			t.Fatalf("netns: %v", err)
		}
	}
	if err := p.waitUp(5 * time.Second); err != nil {
		t.Fatalf("netns: %v", err)
	}
	return p
}

// waitUp waits until both veth ends report carrier (veth comes up at once,
// but the state change is asynchronous).
func (p *Pair) waitUp(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		a, errA := p.Output(p.A.NS, "cat", "/sys/class/net/"+p.A.Veth+"/operstate")
		b, errB := p.Output(p.B.NS, "cat", "/sys/class/net/"+p.B.Veth+"/operstate")
		if errA == nil && errB == nil && strings.TrimSpace(a) == "up" && strings.TrimSpace(b) == "up" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("veth %s/%s not up after %v (operstate %q %q)", p.A.Veth, p.B.Veth, timeout, strings.TrimSpace(a), strings.TrimSpace(b))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// HostAddr returns host number n of prefix (n=1: 10.80.0.1 for 10.80.0.0/24).
func HostAddr(prefix netip.Prefix, n int) netip.Addr {
	b := prefix.Masked().Addr().AsSlice()
	carry := n
	for i := len(b) - 1; i >= 0 && carry > 0; i-- {
		s := int(b[i]) + carry
		b[i] = byte(s)
		carry = s >> 8
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func prefixed(a netip.Addr, p netip.Prefix) string {
	return netip.PrefixFrom(a, p.Bits()).String()
}

// AddAddr adds one more address (in the subnet's prefix length) to ns's veth,
// e.g. a second scanner source on A. IPv6 addresses are added with nodad.
func (p *Pair) AddAddr(ns string, addr netip.Addr) {
	p.t.Helper()
	dev := p.endOf(ns).Veth
	var args []string
	if addr.Is6() {
		args = []string{"-n", ns, "-6", "addr", "add", prefixed(addr, p.cfg.Subnet6), "dev", dev, "nodad"}
	} else {
		args = []string{"-n", ns, "addr", "add", prefixed(addr, p.cfg.Subnet), "dev", dev}
	}
	if err := ip(args...); err != nil {
		p.t.Fatalf("netns: %v", err)
	}
}

// Sysctl sets a sysctl inside ns (net.* sysctls are per namespace), e.g.
// net.ipv4.icmp_ratelimit=0 so that a UDP scan's unreachables are not rate
// limited.
func (p *Pair) Sysctl(ns, key, value string) {
	p.t.Helper()
	if out, err := p.Output(ns, "sysctl", "-q", "-w", key+"="+value); err != nil {
		p.t.Fatalf("netns: sysctl %s=%s in %s: %v: %s", key, value, ns, err, strings.TrimSpace(out))
	}
}

func (p *Pair) endOf(ns string) End {
	switch ns {
	case p.A.NS:
		return p.A
	case p.B.NS:
		return p.B
	}
	p.t.Fatalf("netns: %q is not a namespace of this pair (%s, %s)", ns, p.A.NS, p.B.NS)
	return End{}
}

// Exec returns the command argv prepared to run in namespace ns (through
// `ip netns exec`, which execs it: the process id is argv[0]'s, so signals
// reach it). It is not started. It runs in a process group of its own, so
// that a Ctrl-C at the terminal reaches the test, not its helpers. Start it
// with StartCmd to have it killed at Cleanup, or run it to completion
// yourself.
//
// Cleanup kills every process still inside the pair's namespaces, started
// here or not. It does not Wait for them: Wait for what you start if you
// need its exit status (what you leave is reaped when the test binary exits).
func (p *Pair) Exec(ns string, argv ...string) *exec.Cmd {
	p.endOf(ns)
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// Do runs fn in this goroutine on its OS thread switched into namespace ns
// (unix.Setns), and switches the thread back afterwards. Sockets that fn
// opens stay in ns; goroutines that fn starts run on other threads, in the
// test's own namespace. The thread is locked meanwhile, so nothing else runs
// on it in ns; it is switched back also when fn panics or calls
// runtime.Goexit. Should switching back fail, the thread stays locked and is
// thrown away with the goroutine. Do returns fn's error, or the error of
// switching.
//
// Do does not touch the test (no t.Fatal), so any goroutine may call it.
func (p *Pair) Do(ns string, fn func() error) error {
	if ns == "" || (ns != p.A.NS && ns != p.B.NS) {
		return fmt.Errorf("netns: %q is not a namespace of this pair (%s, %s)", ns, p.A.NS, p.B.NS)
	}
	target, err := os.Open(nsPath(ns))
	if err != nil {
		return err
	}
	defer target.Close()
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", ns, err)
	}
	var backErr error
	func() {
		// Deferred, so that the thread is switched back even when fn
		// panics or calls runtime.Goexit (t.Fatal).
		defer func() {
			if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
				backErr = fmt.Errorf("setns back from %s: %w", ns, err)
				return // the thread stays locked: it dies with the goroutine
			}
			runtime.UnlockOSThread()
		}()
		err = fn()
	}()
	if backErr != nil {
		return backErr
	}
	return err
}

// nsPath is where `ip netns` keeps namespace ns.
func nsPath(ns string) string {
	return "/var/run/netns/" + ns
}

// Output runs argv in ns to completion and returns its combined output.
func (p *Pair) Output(ns string, argv ...string) (string, error) {
	out, err := p.Exec(ns, argv...).CombinedOutput()
	if err != nil {
		err = fmt.Errorf("%s (in %s): %w", strings.Join(argv, " "), ns, err)
	}
	return string(out), err
}

// Run runs argv in ns to completion and fails the test, with the command's
// output, if it fails. It returns the combined output.
func (p *Pair) Run(ns string, argv ...string) string {
	p.t.Helper()
	out, err := p.Output(ns, argv...)
	if err != nil {
		p.t.Fatalf("netns: %v\n%s", err, out)
	}
	return out
}

// Start starts argv in ns in the background and returns it. Its combined
// output is kept and logged if the test fails. Cleanup kills it if it still
// runs. Wait for it yourself if you need its exit status.
func (p *Pair) Start(ns string, argv ...string) *exec.Cmd {
	p.t.Helper()
	cmd := p.Exec(ns, argv...)
	buf := &bytes.Buffer{}
	w := &lockedWriter{w: buf}
	cmd.Stdout, cmd.Stderr = w, w
	p.start(cmd, buf)
	return cmd
}

// StartCmd starts a command made by Exec (with the pipes or outputs the
// caller set) and has Cleanup kill it if it still runs.
func (p *Pair) StartCmd(cmd *exec.Cmd) *exec.Cmd {
	p.t.Helper()
	p.start(cmd, nil)
	return cmd
}

func (p *Pair) start(cmd *exec.Cmd, out *bytes.Buffer) {
	p.t.Helper()
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("netns: start %s: %v", strings.Join(cmd.Args, " "), err)
	}
	p.mu.Lock()
	p.procs = append(p.procs, &tracked{cmd: cmd, out: out})
	p.mu.Unlock()
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// cleanup kills what runs in the namespaces and deletes them.
func (p *Pair) cleanup() {
	p.mu.Lock()
	procs := p.procs
	p.procs = nil
	p.mu.Unlock()
	for _, tr := range procs {
		// Process.Kill is safe while another goroutine Waits, and does
		// nothing to a process already reaped (it signals through a
		// pidfd, so a reused pid is never hit). Children are caught by
		// the sweep of the namespaces below.
		_ = tr.cmd.Process.Kill()
		if tr.out != nil && p.t.Failed() {
			p.t.Logf("netns: output of %s:\n%s", strings.Join(tr.cmd.Args, " "), tr.out.String())
		}
	}
	for _, ns := range []string{p.A.NS, p.B.NS} {
		if ns == "" {
			continue
		}
		// Anything else still inside (children that left their process
		// group, helpers started by hand): a namespace with live
		// processes outlives `ip netns del`, and keeps its veth.
		for i := 0; i < 50; i++ {
			pids := nsPids(ns)
			if len(pids) == 0 {
				break
			}
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := ip("netns", "del", ns); err != nil {
			p.t.Errorf("netns: cleanup: %v", err)
		}
	}
}

// nsPids lists the processes in namespace ns.
func nsPids(ns string) []int {
	out, err := exec.Command("ip", "netns", "pids", ns).Output()
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg == "" {
			msg = err.Error()
		}
		return errors.New("ip " + strings.Join(args, " ") + ": " + msg)
	}
	return nil
}
