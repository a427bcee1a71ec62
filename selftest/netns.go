package selftest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/scanwatch/scanwatch/internal/netns"
)

// setupNamespaces builds the attacker/target pair (package netns), gives
// every check its addresses (plan.go) and returns the checks to run.
func (st *session) setupNamespaces(ctx context.Context) ([]*checkRun, error) {
	p, err := netns.Create(netns.Config{
		Prefix:  nsPrefix,
		ID:      strconv.Itoa(os.Getpid()),
		Subnet:  netip.MustParsePrefix(subnet),
		Subnet6: netip.MustParsePrefix(subnet6),
		HostA:   attackerHost, HostB: targetHost,
		KeepOffloads: true, // small probes only: the kernel's defaults
	})
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	closed := st.closed
	if !closed {
		st.pair = p
	}
	st.mu.Unlock()
	if closed { // cleanup ran while the pair was being built
		p.Close()
		return nil, context.Canceled
	}
	plans := makePlans(checks, p.A.Veth, p.B.Veth)
	runs := make([]*checkRun, len(checks))
	var attacker, target, routes []string
	for i := range checks {
		cr := &checkRun{check: &checks[i], plan: plans[i], reassembled: -1}
		if checks[i].skip != nil {
			cr.skipped = checks[i].skip(st.mode)
		}
		runs[i] = cr
		if cr.skipped == "" {
			cr.skipped = makeLinks(ctx, p, &cr.plan)
		}
		if cr.skipped != "" {
			continue
		}
		attacker = append(attacker, addrCommands(cr.plan.attackerHold, p.A.Veth, true)...)
		target = append(target, addrCommands(cr.plan.hold, p.B.Veth, false)...)
		routes = append(routes, "route "+strings.Join(cr.plan.route, " "))
	}
	if err := ipBatch(ctx, p.A.NS, append(attacker, routes...)); err != nil {
		return nil, err
	}
	if err := ipBatch(ctx, p.B.NS, target); err != nil {
		return nil, err
	}
	return runs, nil
}

// makeLinks makes the devices a check needs (a VXLAN: plan.links) in both
// namespaces, and says why the check is skipped when the kernel cannot
// make them; "" when it did.
func makeLinks(ctx context.Context, p *netns.Pair, pl *plan) string {
	if err := ipBatch(ctx, p.A.NS, pl.attackerLinks); err != nil {
		return "skipped: this kernel cannot make the check's devices: " + err.Error()
	}
	if err := ipBatch(ctx, p.B.NS, pl.links); err != nil {
		return "skipped: this kernel cannot make the check's devices: " + err.Error()
	}
	return ""
}

// ipBatch runs ip's commands in namespace ns, one process for them all.
func ipBatch(ctx context.Context, ns string, lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	cmd := exec.CommandContext(ctx, "ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		msg := strings.TrimSpace(string(out))
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("ip -n %s -batch: %s", ns, msg)
	}
	return nil
}

// proc is a started child; done closes when it has been reaped.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // Wait's result, once done is closed
}

// start starts cmd (made by the pair's Exec: a process group of its own),
// reaps it in the background, and registers it for cleanup.
func (st *session) start(cmd *exec.Cmd) (*proc, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil, context.Canceled
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	st.procs = append(st.procs, p)
	return p, nil
}

// kill kills the child's whole process group.
func (p *proc) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.cmd.Process.Kill()
}

// cleanup stops the sensor, kills the children, deletes the namespaces and
// (unless a failure asks to keep it) the temp dir. Safe to call more than
// once, from any goroutine.
func (st *session) cleanup() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return
	}
	st.closed = true
	if st.sensor != nil {
		st.sensor.close()
	}
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
	if st.pair != nil {
		if err := st.pair.Close(); err != nil {
			st.logf("%v", err)
		}
	}
	if st.dir != "" && !st.keepDir {
		os.RemoveAll(st.dir)
	}
}

// removeStale deletes swself-PID-* namespaces whose PID no longer runs:
// left by a run that was killed with SIGKILL.
func (st *session) removeStale() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		pid, ok := staleOwner(f[0])
		if !ok || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			continue // still running (or not ours to judge)
		}
		st.logf("removing stale namespace %s (pid %d is gone)", f[0], pid)
		_ = netns.Delete(f[0])
	}
}

// staleOwner parses "swself-PID-a" or "-b".
func staleOwner(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, nsPrefix+"-")
	if !ok || len(rest) < 3 || (!strings.HasSuffix(rest, "-a") && !strings.HasSuffix(rest, "-b")) {
		return 0, false
	}
	pid, err := strconv.Atoi(rest[:len(rest)-2])
	return pid, err == nil && pid > 0
}
