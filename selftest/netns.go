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
)

func (st *session) setupNamespaces(ctx context.Context) error {
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
		if err := ipCmd(ctx, "netns", "add", ns); err != nil {
			return err
		}
	}
	a, b := st.attNS, st.tgtNS
	steps := [][]string{
		{"link", "add", st.attVeth, "netns", a, "type", "veth", "peer", "name", st.tgtVeth, "netns", b},
		{"-n", a, "addr", "add", attackerAddr + "/24", "dev", st.attVeth},
		{"-n", b, "addr", "add", targetAddr + "/24", "dev", st.tgtVeth},
		{"-n", a, "-6", "addr", "add", attackerAddr6 + "/64", "dev", st.attVeth, "nodad"},
		{"-n", b, "-6", "addr", "add", targetAddr6 + "/64", "dev", st.tgtVeth, "nodad"},
	}
	for i := range techniques {
		steps = append(steps, []string{"-n", a, "addr", "add", sourceAddr(i).String() + "/24", "dev", st.attVeth})
	}
	steps = append(steps,
		[]string{"-n", a, "link", "set", "lo", "up"},
		[]string{"-n", b, "link", "set", "lo", "up"},
		[]string{"-n", a, "link", "set", st.attVeth, "up"},
		[]string{"-n", b, "link", "set", st.tgtVeth, "up"})
	for _, s := range steps {
		if err := ipCmd(ctx, s...); err != nil {
			return err
		}
	}
	// veth reports carrier asynchronously.
	deadline := time.Now().Add(stepTimeout)
	for {
		upA := linkUp(ctx, a, st.attVeth)
		upB := linkUp(ctx, b, st.tgtVeth)
		if upA && upB {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("veth %s/%s not up after %v", st.attVeth, st.tgtVeth, stepTimeout)
		}
		if !sleepCtx(ctx, 20*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// sourceAddr is the attacker's source address for technique i.
func sourceAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 75, 0, byte(srcBase + i)})
}

func linkUp(ctx context.Context, ns, dev string) bool {
	out, err := exec.CommandContext(ctx, "ip", "-n", ns, "-o", "link", "show", "dev", dev).Output()
	return err == nil && strings.Contains(string(out), "state UP")
}

// ipCmd runs ip with args; its error says which command failed and why.
func ipCmd(ctx context.Context, args ...string) error {
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
func nsExec(ns string, argv ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// proc is a started child; done closes when it has been reaped.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // Wait's result, once done is closed
}

// start starts cmd, reaps it in the background, and registers it for
// cleanup.
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

// cleanup kills the children, deletes the namespaces and (unless a failure
// asks to keep it) the temp dir. Safe to call more than once, from any
// goroutine.
func (st *session) cleanup() {
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
		deleteNamespace(st.nss[i])
	}
	if st.dir != "" && !st.keepDir {
		os.RemoveAll(st.dir)
	}
}

// deleteNamespace kills whatever still runs inside ns (a namespace with
// live processes outlives `ip netns del`, and keeps its veth) and deletes it.
func deleteNamespace(ns string) {
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
		deleteNamespace(f[0])
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
