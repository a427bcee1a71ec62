//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/eve"
)

// TestLiveSandbox: once it captures, the sensor holds no capability, has
// no_new_privs and a seccomp filter, on every thread, whether it started
// as root, as root with --user, or as an unprivileged user given CAP_BPF,
// CAP_PERFMON and CAP_NET_RAW (as the systemd unit starts it); and a rules
// reload and a scan's detection still work after the drop.
func TestLiveSandbox(t *testing.T) {
	needTools(t, "nmap", "setpriv")
	tb := newTestbed(t, "swlsbx")
	const none = "0000000000000000"
	dropped := map[string]string{"CapEff": none, "CapPrm": none, "CapInh": none, "CapAmb": none, "NoNewPrivs": "1", "Seccomp": "2"}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		wrap   []string
		args   []string
		status map[string]string // every thread's, while it captures
		stderr string
	}{
		{name: "root", status: with(dropped, "Uid", "0 0 0 0", "CapBnd", none), stderr: "capabilities kept: none"},
		{name: "root --user nobody", args: []string{"--user", "nobody"},
			status: with(dropped, "Uid", "65534 65534 65534 65534", "CapBnd", none), stderr: "running as nobody (uid 65534"},
		{name: "nobody with three capabilities",
			wrap: []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
				"--inh-caps=+bpf,+perfmon,+net_raw", "--ambient-caps=+bpf,+perfmon,+net_raw"},
			status: with(dropped, "Uid", "65534 65534 65534 65534"), stderr: "capabilities kept: none (dropped 3)"},
		{name: "root --seccomp off", args: []string{"--seccomp", "off"},
			status: with(dropped, "Seccomp", "0"), stderr: "no seccomp filter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A folder any user may write: the sensor that is not root
			// writes its output and reads its rules here.
			dir, err := os.MkdirTemp("", "swlsbx-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			rulesPath := filepath.Join(dir, "rules.yaml")
			if err := os.WriteFile(rulesPath, []byte("allow: {scanners: []}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			s := startSensorIn(t, tb.Pair, dir, tc.wrap, append([]string{"--rules", rulesPath}, tc.args...)...)
			if !strings.Contains(s.Stderr(), tc.stderr) {
				t.Errorf("stderr does not say %q:\n%s", tc.stderr, s.Stderr())
			}
			checkStatus := func(when string) {
				t.Helper()
				threads, err := procStatus(s.cmd.Process.Pid)
				if err != nil {
					t.Fatal(err)
				}
				for i, th := range threads {
					for k, want := range tc.status {
						if th[k] != want {
							t.Errorf("%s: thread %d of %d: %s %q, want %q", when, i+1, len(threads), k, th[k], want)
						}
					}
				}
				t.Logf("%s, %d threads, the first: %s", when, len(threads), formatStatus(threads[0]))
			}
			checkStatus("capturing")

			// A reload after the drop: the rules file is read again and
			// the kernel's patterns updated through the open map.
			if err := os.WriteFile(rulesPath, []byte("allow: {scanners: ["+srcSyn.String()+"]}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.Stderr(), "rules reloaded"); {
				if time.Now().After(deadline) {
					t.Fatalf("no \"rules reloaded\" on stderr after SIGHUP:\n%s", s.Stderr())
				}
				time.Sleep(50 * time.Millisecond)
			}
			steps := []scanStep{
				nmapStep("-sS", srcSyn, "syn", "1-100", []uint16{22, 80}),
				nmapStep("-sF", srcFin, "fin", "1-100", nil),
			}
			runSteps(t, tb.Pair, steps)
			s.waitAlerts(wantKeys(steps[1:]), 15*time.Second)
			checkStatus("after a reload and two scans")
			rs := s.stop()
			for _, r := range byType(rs, eve.EventAlert) {
				if r.SrcIP == srcSyn.String() {
					t.Errorf("allow-listed scanner %s alerted after the reload", srcSyn)
				}
			}
			checkAlerts(t, rs, steps[1:])
			if st := finalStats(t, rs); st.Capture.KernelPackets == 0 {
				t.Errorf("no kernel counters in the last stats record (the eBPF map read after the drop): %+v", st.Capture)
			}
		})
	}
}

// statusKeys are the /proc/PID/status lines the tests look at.
var statusKeys = []string{"Uid", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"}

// procStatus reads statusKeys of every thread of process pid: the
// capabilities, no_new_privs and seccomp are each thread's own.
func procStatus(pid int) ([]map[string]string, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		return nil, fmt.Errorf("threads of %d: %v", pid, err)
	}
	var all []map[string]string
	for _, path := range tasks {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread ended
		}
		m := map[string]string{}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				m[k] = strings.Join(strings.Fields(v), " ")
			}
		}
		all = append(all, m)
	}
	return all, nil
}

func formatStatus(m map[string]string) string {
	var parts []string
	for _, k := range statusKeys {
		parts = append(parts, k+" "+m[k])
	}
	return strings.Join(parts, ", ")
}

// seccompAudits are the kernel log's lines for system calls a seccomp
// filter refused or logged (audit type 1326), oldest first; none when the
// log cannot be read (or audit messages go to auditd instead).
func seccompAudits() []string {
	out, err := exec.Command("dmesg").Output()
	if err != nil {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "type=1326") {
			lines = append(lines, l)
		}
	}
	return lines
}

// checkSeccomp fails the test for each system call the sensor's filter
// refused while it ran: the call a feature makes that sandbox's list lacks.
func (s *liveSensor) checkSeccomp() {
	s.t.Helper()
	all := seccompAudits()
	if len(all) < s.audits {
		return // the kernel's ring buffer wrapped
	}
	pid := fmt.Sprintf(" pid=%d ", s.cmd.Process.Pid)
	for _, l := range all[s.audits:] {
		if strings.Contains(l, pid) {
			s.t.Errorf("the seccomp filter refused a call of the sensor (add it to sandbox/syscalls_linux.go if it needs it): %s", l)
		}
	}
}
