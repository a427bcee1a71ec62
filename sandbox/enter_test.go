//go:build linux && (amd64 || arm64)

package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Enter cannot be undone, so each case runs in a child: this test binary
// again, with childEnv naming the case. The child enters the sandbox, makes
// a set of calls and reports, as JSON on stdout, each call's result and
// every thread's /proc status lines.
const childEnv = "SANDBOX_TEST_CHILD"

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		os.Exit(runChild(name))
	}
	os.Exit(m.Run())
}

// childReport is what a child says.
type childReport struct {
	Err     string
	Report  string
	Threads []map[string]string // per thread: Uid, CapEff, ..., Seccomp
	Calls   map[string]string   // call: "ok" or its errno's name
}

// Needs of the cases: succeed only with a capability in effect.
func needCap(c int) func() error {
	return func() error {
		now, err := readCaps()
		if err != nil {
			return err
		}
		if !now.effective.Has(c) {
			return unix.EPERM
		}
		return nil
	}
}

var childCases = map[string]Options{
	"drop":         {},
	"keep-all":     {Needs: needCap(unix.CAP_NET_RAW)}, // none of the candidates but all: everything is kept
	"keep-all-off": {Needs: needCap(unix.CAP_NET_RAW), Seccomp: SeccompOff},
	"user-bpf":     {Needs: needCap(unix.CAP_BPF), User: &Credentials{Name: "nobody", UID: 65534, GID: 65534}},
	"log":          {Seccomp: SeccompLog},
}

func runChild(name string) int {
	var r childReport
	rep, err := Enter(childCases[name])
	r.Report = rep.String()
	if err != nil {
		r.Err = err.Error()
	}
	r.Calls = map[string]string{}
	result := func(call string, err error) {
		var e syscall.Errno
		switch {
		case err == nil:
			r.Calls[call] = "ok"
		case errors.As(err, &e):
			r.Calls[call] = unix.ErrnoName(e)
		default:
			r.Calls[call] = err.Error()
		}
	}
	raw := func(call string, nr, a1, a2, a3 uintptr) {
		_, _, e := unix.RawSyscall(nr, a1, a2, a3)
		if e != 0 {
			result(call, e)
		} else {
			result(call, nil)
		}
	}
	socket := func(call string, domain, typ int) {
		fd, err := unix.Socket(domain, typ, 0)
		if err == nil {
			unix.Close(fd)
		}
		result(call, err)
	}
	raw("getppid", unix.SYS_GETPPID, 0, 0, 0)
	socket("socket inet", unix.AF_INET, unix.SOCK_DGRAM)
	socket("socket packet", unix.AF_PACKET, unix.SOCK_RAW)
	raw("bpf prog load", unix.SYS_BPF, unix.BPF_PROG_LOAD, 0, 0)
	result("kill init", unix.Kill(1, 0))
	result("exec", exec.Command("/bin/true").Run())
	_, err = os.ReadFile("/proc/self/status")
	result("read file", err)
	result("new threads", newThreads(16))
	r.Threads, err = threadStatus()
	if err != nil {
		r.Err += "; " + err.Error()
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		return 1
	}
	return 0
}

// newThreads makes the runtime start n more threads (each goroutine holds
// its own while it sleeps): they must start under the filter, and inherit
// the dropped privileges.
func newThreads(n int) error {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runLocked(func() { time.Sleep(20 * time.Millisecond) })
		}()
	}
	wg.Wait()
	return nil
}

// statusKeys are the /proc/PID/status lines the tests look at.
var statusKeys = []string{"Uid", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"}

// threadStatus reads statusKeys of every thread of this process.
func threadStatus() ([]map[string]string, error) {
	return procStatus(os.Getpid())
}

// procStatus reads statusKeys of every thread of process pid.
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
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			for _, want := range statusKeys {
				if k == want {
					m[k] = strings.Join(strings.Fields(v), " ")
				}
			}
		}
		all = append(all, m)
	}
	return all, nil
}

// TestEnter runs each case in a child as root and checks what it kept and
// what it may still do.
func TestEnter(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root (drops capabilities it must have first); run `sudo go test ./sandbox`")
	}
	const none = "0000000000000000"
	bpfOnly := fmt.Sprintf("%016x", uint64(1)<<unix.CAP_BPF)
	held, err := readCaps()
	if err != nil {
		t.Fatal(err)
	}
	all := fmt.Sprintf("%016x", uint64(held.permitted))
	for _, tc := range []struct {
		name   string
		status map[string]string // every thread's
		calls  map[string]string
		report string
	}{
		{
			name:   "drop",
			status: map[string]string{"Uid": "0 0 0 0", "CapEff": none, "CapPrm": none, "CapInh": none, "CapAmb": none, "CapBnd": none, "NoNewPrivs": "1", "Seccomp": "2"},
			calls: map[string]string{"getppid": "EPERM", "socket inet": "ok", "socket packet": "EPERM", "bpf prog load": "EPERM",
				"kill init": "EPERM", "exec": "EPERM", "read file": "ok", "new threads": "ok"},
			report: "capabilities kept: none",
		},
		{
			// Every capability kept: what the filter refuses is refused
			// by the filter, not for want of a capability.
			name:   "keep-all",
			status: map[string]string{"CapEff": all, "CapPrm": all, "CapBnd": all, "NoNewPrivs": "1", "Seccomp": "2"},
			calls: map[string]string{"getppid": "EPERM", "socket inet": "ok", "socket packet": "EPERM", "bpf prog load": "EPERM",
				"kill init": "EPERM", "exec": "EPERM", "read file": "ok", "new threads": "ok"},
		},
		{
			// The same without the filter: those calls go through.
			name:   "keep-all-off",
			status: map[string]string{"CapEff": all, "NoNewPrivs": "1", "Seccomp": "0"},
			calls: map[string]string{"getppid": "ok", "socket packet": "ok", "bpf prog load": "not EPERM",
				"kill init": "ok", "exec": "ok", "new threads": "ok"},
			report: "no seccomp filter",
		},
		{
			name: "user-bpf",
			status: map[string]string{"Uid": "65534 65534 65534 65534", "CapEff": bpfOnly, "CapPrm": bpfOnly, "CapInh": none,
				"CapAmb": none, "CapBnd": bpfOnly, "NoNewPrivs": "1", "Seccomp": "2"},
			calls:  map[string]string{"getppid": "EPERM", "read file": "ok", "new threads": "ok"},
			report: "capabilities kept: CAP_BPF (dropped 39); running as nobody (uid 65534, gid 65534)",
		},
		{
			name:   "log",
			status: map[string]string{"CapEff": none, "NoNewPrivs": "1", "Seccomp": "2"},
			calls:  map[string]string{"getppid": "ok", "socket packet": "EPERM", "read file": "ok", "new threads": "ok"},
			report: "others logged but allowed",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+tc.name)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, stderr.String())
			}
			var r childReport
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("child said %q: %v", out, err)
			}
			if r.Err != "" {
				t.Fatalf("Enter: %s", r.Err)
			}
			if !strings.Contains(r.Report, tc.report) {
				t.Errorf("report %q does not say %q", r.Report, tc.report)
			}
			if len(r.Threads) < 2 {
				t.Errorf("status of %d threads, want them all (a Go program has several)", len(r.Threads))
			}
			for i, th := range r.Threads {
				for k, want := range tc.status {
					if th[k] != want {
						t.Errorf("thread %d of %d: %s %q, want %q", i+1, len(r.Threads), k, th[k], want)
					}
				}
			}
			for call, want := range tc.calls {
				got := r.Calls[call]
				if want == "not EPERM" && got != "EPERM" && got != "" {
					continue
				}
				if got != want {
					t.Errorf("%s: %s, want %s", call, got, want)
				}
			}
			t.Logf("%s; calls %v", r.Report, r.Calls)
		})
	}
}

// runLocked runs fn with its goroutine locked to its thread, so that the
// thread is busy with it meanwhile.
func runLocked(fn func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	fn()
}
