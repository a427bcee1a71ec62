// Package netns builds throwaway network namespaces for real traffic: a pair
// of namespaces, A and B, joined by a veth pair, with addresses from a subnet
// the caller chooses, loopback up, and no default route, so that nothing
// sent inside can leave the pair. The self-test (package selftest) and the
// tests that need real traffic use it.
//
// Create builds a pair and Close removes it: it kills every process left in
// the namespaces and deletes them (which deletes the veths). Tests use New,
// which does both around the test and fails or skips it instead of
// returning errors (testing.go).
//
// Each pair gets names of its own (a prefix and a random or given id), so
// tests, packages, the self-test and engineers running at once never share a
// namespace.
//
// Offloads: the veths get gso_max_segs 1 (unless Config.KeepOffloads), so
// that TCP hands the device one segment per packet, as a NIC without
// offloads shows them on the wire. Otherwise veth passes 64 KB GSO
// super-packets across, and a packet socket sees a bulk transfer as a few
// thousand giant frames instead of the real segment count. This needs no
// ethtool; TCP itself then builds MSS-sized packets.
//
// Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2's ip command.
// Entering a namespace in this process (Do) needs Linux.
package netns

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config describes the pair to build.
type Config struct {
	// Prefix starts every name (namespaces "<prefix>-<id>-a" and "-b", veths
	// "<prefix><id>a" and "b"). Use one per user, e.g. "swlive". Prefix and
	// id together take at most 14 characters, so that the veth names fit
	// IFNAMSIZ (a random id has 4).
	Prefix string
	// ID, when set, is the id in the names instead of a random one (the
	// self-test uses its process id, so that a later run can tell a stale
	// pair from a live one). Create fails if the namespaces exist.
	ID string
	// Subnet is the IPv4 subnet of the link. A gets host address HostA and
	// B host address HostB (by default 1 and 2: 10.80.0.1 and 10.80.0.2 for
	// 10.80.0.0/24).
	Subnet netip.Prefix
	// Subnet6, when valid, adds IPv6: A gets host HostA, B host HostB in
	// it. Addresses are added with nodad, so they are usable at once.
	Subnet6 netip.Prefix
	// HostA and HostB are the host numbers of A's and B's addresses in
	// the subnets; zero means 1 and 2.
	HostA, HostB int
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

// ErrNotPermitted: namespaces cannot be created here (not root, or no
// CAP_SYS_ADMIN).
var ErrNotPermitted = errors.New("cannot create network namespaces (needs root: CAP_SYS_ADMIN)")

// Pair is two namespaces joined by a veth pair.
type Pair struct {
	A, B End

	cfg   Config
	t     TB // set by New: every failure also fails the test
	mu    sync.Mutex
	procs []*tracked
	added []nsAddr // addresses added by AddAddr, for CreateVeth
	done  bool
}

type nsAddr struct {
	ns   string
	addr netip.Addr
}

type tracked struct {
	cmd *exec.Cmd
	out *bytes.Buffer // output of commands started by Start; nil otherwise
}

// Create builds the pair. On error nothing of it is left.
func Create(cfg Config) (*Pair, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "swt"
	}
	idLen := 4
	if cfg.ID != "" {
		idLen = len(cfg.ID)
	}
	if len(cfg.Prefix)+idLen > 14 {
		return nil, fmt.Errorf("netns: prefix %q and id of %d characters: veth names longer than 15", cfg.Prefix, idLen)
	}
	if !cfg.Subnet.IsValid() || !cfg.Subnet.Addr().Is4() || cfg.Subnet.Bits() > 30 {
		return nil, fmt.Errorf("netns: Subnet %v: want an IPv4 prefix of /30 or shorter", cfg.Subnet)
	}
	if cfg.Subnet6.IsValid() && (cfg.Subnet6.Addr().Is4() || cfg.Subnet6.Bits() > 126) {
		return nil, fmt.Errorf("netns: Subnet6 %v: want an IPv6 prefix of /126 or shorter", cfg.Subnet6)
	}
	if cfg.HostA == 0 {
		cfg.HostA = 1
	}
	if cfg.HostB == 0 {
		cfg.HostB = 2
	}
	p := &Pair{cfg: cfg}
	p.A.Addr, p.B.Addr = HostAddr(cfg.Subnet, cfg.HostA), HostAddr(cfg.Subnet, cfg.HostB)
	if cfg.Subnet6.IsValid() {
		p.A.Addr6, p.B.Addr6 = HostAddr(cfg.Subnet6, cfg.HostA), HostAddr(cfg.Subnet6, cfg.HostB)
	}

	// Pick free names: a random id, retried if a namespace of that name
	// exists (a killed run, or a very unlikely collision).
	var err error
	for try := 0; try < 5; try++ {
		id := cfg.ID
		if id == "" {
			id = strconv.FormatUint(rand.Uint64N(1<<16), 16)
			id = strings.Repeat("0", 4-len(id)) + id
		}
		p.A.NS, p.B.NS = cfg.Prefix+"-"+id+"-a", cfg.Prefix+"-"+id+"-b"
		p.A.Veth, p.B.Veth = cfg.Prefix+id+"a", cfg.Prefix+id+"b"
		if err = ip("netns", "add", p.A.NS); err == nil || cfg.ID != "" {
			break
		}
		if strings.Contains(err.Error(), "Operation not permitted") {
			break
		}
	}
	if err != nil {
		if strings.Contains(err.Error(), "Operation not permitted") {
			return nil, fmt.Errorf("netns: %w: %v", ErrNotPermitted, err)
		}
		return nil, fmt.Errorf("netns: %w", err)
	}
	// From here on, remove what exists if a later step fails.
	if err := p.build(); err != nil {
		p.Close()
		return nil, fmt.Errorf("netns: %w", err)
	}
	return p, nil
}

// build does everything after the first namespace exists.
func (p *Pair) build() error {
	if err := ip("netns", "add", p.B.NS); err != nil {
		p.B.NS = "" // not ours: never delete it
		return err
	}
	steps := [][]string{
		{"-n", p.A.NS, "link", "set", "lo", "up"},
		{"-n", p.B.NS, "link", "set", "lo", "up"},
	}
	for _, s := range append(steps, p.vethSteps()...) {
		if err := ip(s...); err != nil {
			return err
		}
	}
	return p.waitUp(5 * time.Second)
}

// vethSteps are the ip commands that make the veth pair, with its
// addresses and settings, up.
func (p *Pair) vethSteps() [][]string {
	cfg := p.cfg
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
	return append(steps,
		[]string{"-n", p.A.NS, "link", "set", p.A.Veth, "up"},
		[]string{"-n", p.B.NS, "link", "set", p.B.Veth, "up"})
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

// fail returns err, and first fails the test of a pair made by New with it.
func (p *Pair) fail(err error) error {
	if err != nil && p.t != nil {
		p.t.Helper()
		p.t.Fatalf("netns: %v", err)
	}
	return err
}

// AddAddr adds one more address (in the subnet's prefix length) to ns's veth,
// e.g. a second scanner source on A. IPv6 addresses are added with nodad.
func (p *Pair) AddAddr(ns string, addr netip.Addr) error {
	end, err := p.endOf(ns)
	if err != nil {
		return p.fail(err)
	}
	if err := ip(p.addrArgs(ns, end.Veth, addr)...); err != nil {
		return p.fail(err)
	}
	p.mu.Lock()
	p.added = append(p.added, nsAddr{ns, addr})
	p.mu.Unlock()
	return nil
}

func (p *Pair) addrArgs(ns, veth string, addr netip.Addr) []string {
	if addr.Is6() {
		return []string{"-n", ns, "-6", "addr", "add", prefixed(addr, p.cfg.Subnet6), "dev", veth, "nodad"}
	}
	return []string{"-n", ns, "addr", "add", prefixed(addr, p.cfg.Subnet), "dev", veth}
}

// Sysctl sets a sysctl inside ns (net.* sysctls are per namespace), e.g.
// net.ipv4.icmp_ratelimit=0 so that a UDP scan's unreachables are not rate
// limited.
func (p *Pair) Sysctl(ns, key, value string) error {
	if out, err := p.Output(ns, "sysctl", "-q", "-w", key+"="+value); err != nil {
		return p.fail(fmt.Errorf("sysctl %s=%s in %s: %v: %s", key, value, ns, err, strings.TrimSpace(out)))
	}
	return nil
}

func (p *Pair) endOf(ns string) (End, error) {
	switch {
	case ns == "":
	case ns == p.A.NS:
		return p.A, nil
	case ns == p.B.NS:
		return p.B, nil
	}
	return End{}, fmt.Errorf("%q is not a namespace of this pair (%s, %s)", ns, p.A.NS, p.B.NS)
}

// Exec returns the command argv prepared to run in namespace ns (through
// `ip netns exec`, which execs it: the process id is argv[0]'s, so signals
// reach it). It is not started. It runs in a process group of its own, so
// that a Ctrl-C at the terminal reaches us, not our children. Start it with
// StartCmd to have it killed at Close, or run it to completion yourself.
//
// Close kills every process still inside the pair's namespaces, started
// here or not. It does not Wait for them: Wait for what you start if you
// need its exit status. An ns not of this pair gives a command that fails
// when run.
func (p *Pair) Exec(ns string, argv ...string) *exec.Cmd {
	if _, err := p.endOf(ns); err != nil {
		p.fail(err)
		ns = "" // `ip netns exec ""` fails, saying why
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// Output runs argv in ns to completion and returns its combined output.
func (p *Pair) Output(ns string, argv ...string) (string, error) {
	out, err := p.Exec(ns, argv...).CombinedOutput()
	if err != nil {
		err = fmt.Errorf("%s (in %s): %w", strings.Join(argv, " "), ns, err)
	}
	return string(out), err
}

// StartCmd starts a command made by Exec (with the pipes or outputs the
// caller set) and has Close kill it if it still runs.
func (p *Pair) StartCmd(cmd *exec.Cmd) error {
	return p.fail(p.start(cmd, nil))
}

func (p *Pair) start(cmd *exec.Cmd, out *bytes.Buffer) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return errors.New("pair already closed")
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %v", strings.Join(cmd.Args, " "), err)
	}
	p.procs = append(p.procs, &tracked{cmd: cmd, out: out})
	return nil
}

// Close kills what runs in the namespaces and deletes them. It may be
// called more than once, from any goroutine.
func (p *Pair) Close() error {
	p.mu.Lock()
	procs, done := p.procs, p.done
	p.procs, p.done = nil, true
	p.mu.Unlock()
	if done {
		return nil
	}
	for _, tr := range procs {
		// Process.Kill is safe while another goroutine Waits, and does
		// nothing to a process already reaped (it signals through a
		// pidfd, so a reused pid is never hit). Children are caught by
		// the sweep of the namespaces below.
		_ = tr.cmd.Process.Kill()
		if tr.out != nil && p.t != nil && p.t.Failed() {
			p.t.Logf("netns: output of %s:\n%s", strings.Join(tr.cmd.Args, " "), tr.out.String())
		}
	}
	var errs []error
	for _, ns := range []string{p.A.NS, p.B.NS} {
		if ns != "" {
			errs = append(errs, Delete(ns))
		}
	}
	return errors.Join(errs...)
}

// Delete kills every process inside namespace ns (a namespace with live
// processes outlives `ip netns del`, and keeps its veth) and deletes it:
// for Close, and for namespaces a killed run left behind.
func Delete(ns string) error {
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
		return fmt.Errorf("netns: %w", err)
	}
	return nil
}

// nsPids lists the processes in namespace ns, this one excepted.
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
