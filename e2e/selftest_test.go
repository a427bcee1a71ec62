package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestSelftest runs `scanwatch selftest` for real: namespaces, services, the
// live sensor and every scan technique.
func TestSelftest(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("skipped: selftest needs Linux network namespaces")
	}
	if os.Geteuid() != 0 {
		t.Skip("skipped: selftest needs root (network namespaces, raw sockets, eBPF); run the tests with sudo")
	}
	cmd := exec.Command(scanwatchBin, "selftest")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	began := time.Now()
	err := cmd.Run()
	t.Logf("selftest took %v\n%s", time.Since(began).Round(time.Millisecond), out.String())
	if err != nil {
		t.Fatalf("%v, want exit 0\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	rows := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && (strings.HasPrefix(f[0], "-s") || f[0] == "--scanflags") {
			label := f[0]
			if f[0] == "--scanflags" {
				label += " " + f[1]
			}
			rows[label] = f[len(f)-1]
		}
	}
	for _, label := range []string{"-sS", "-sT", "-sF", "-sN", "-sX", "-sA", "-sW", "-sM", "-sU", "--scanflags SYNFIN"} {
		if got := rows[label]; got != "ok" {
			t.Errorf("row %s: %q, want ok", label, got)
		}
	}
	want := "selftest: 10/10 techniques detected"
	if !strings.Contains(out.String(), want) {
		t.Errorf("stdout lacks %q", want)
	}
	// Nothing left behind: the namespaces are swself-PID-a and -b, PID the
	// self-test's process.
	if l, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		ours := fmt.Sprintf("swself-%d-", cmd.Process.Pid)
		for _, line := range strings.Split(string(l), "\n") {
			if strings.HasPrefix(line, ours) {
				t.Errorf("namespace left behind: %s", line)
			}
		}
	}
}
