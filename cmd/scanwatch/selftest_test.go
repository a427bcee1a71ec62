package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestSelftest runs `scanwatch selftest` for real: namespaces, services, the
// live sensor and every scan technique. The children are a freshly built
// scanwatch binary (this test binary is not one).
func TestSelftest(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("skipped: selftest needs Linux network namespaces")
	}
	if os.Geteuid() != 0 {
		t.Skip("skipped: selftest needs root (network namespaces, raw sockets, eBPF); run the tests with sudo")
	}
	bin := filepath.Join(t.TempDir(), "scanwatch")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	old := selftestExe
	selftestExe = func() (string, error) { return bin, nil }
	defer func() { selftestExe = old }()

	var out, errb bytes.Buffer
	began := time.Now()
	code := run([]string{"selftest"}, &out, &errb)
	t.Logf("selftest took %v\n%s", time.Since(began).Round(time.Millisecond), out.String())
	if code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
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
	// Nothing left behind: the namespaces are swself-PID-a and -b, PID
	// this process's (the self-test ran in it).
	if l, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		ours := fmt.Sprintf("swself-%d-", os.Getpid())
		for _, line := range strings.Split(string(l), "\n") {
			if strings.HasPrefix(line, ours) {
				t.Errorf("namespace left behind: %s", line)
			}
		}
	}
}
