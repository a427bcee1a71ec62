package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/technique"
)

// selftestRows are the rows `scanwatch selftest` must print, in order: one
// per detection the sensor makes, and what each row's ASSERTED column must
// say when it passes.
var selftestRows = []struct{ label, asserted string }{
	{"-sS", ""}, {"-sT", ""}, {"-sF", ""}, {"-sN", ""}, {"-sX", ""}, {"-sA", ""}, {"-sW", ""},
	{"-sM", ""}, {"-sU", ""},
	{"-sY", "evidence: 4 SCTP INIT, 4 ABORT"},
	{"-sZ", "evidence: 4 SCTP COOKIE ECHO (no association), 4 ABORT"},
	{"-sO", ""}, {"--scanflags SYNFIN", ""},
	{"-D", "decoys 10.75.0.200-202 named, real 10.75.0."},
	{"-D (decoys on link)", "decoys 10.75.0.210-212 named, scanner undetermined"},
	{"-f", "target reassembled"},
	{"-6", ""},
	{"-sn", "16 hosts swept, sensor 16, 12 up"},
	{"-sn (ARP)", "32 hosts swept, sensor 32"},
	{"-sn -6 (ND)", "32 hosts swept, sensor 32"},
	{"horizontal", "horizontal, 32 hosts × 1 port"},
	{"block", "block, 16 hosts × 8 ports"},
	{"distributed", "group dist-"},
	{"slow", "slow, "},
	{"VXLAN", "in VXLAN 42, 10.74.0.21 → 10.74.0.10"},
	{"-sV (nmap)", "real nmap -sV named ssh"},
}

// vxlanSupport is nil when this kernel makes VXLAN devices (tried in a
// namespace of its own), else why not.
func vxlanSupport() error {
	ns := fmt.Sprintf("swvxprobe-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add: %v: %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	if out, err := exec.Command("ip", "-n", ns, "link", "add", "vx", "type", "vxlan", "id", "1", "dstport", "4789").CombinedOutput(); err != nil {
		return fmt.Errorf("ip link add type vxlan: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// TestSelftest runs `scanwatch selftest` for real: namespaces, services, the
// live sensor and every check, and holds each row to ok (the -sV row may be
// skipped, saying why, while the sensor has no version detection or nmap is
// missing, and the VXLAN row where the kernel makes no VXLAN device), and
// the whole run to two minutes.
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
	took := time.Since(began)
	t.Logf("selftest took %v\n%s", took.Round(time.Millisecond), out.String())
	if err != nil {
		t.Errorf("%v, want exit 0\nstderr:\n%s", err, errb.String())
	}
	if took > 2*time.Minute {
		t.Errorf("selftest took %v, want under two minutes", took)
	}

	// The table: columns are two spaces apart or more; labels and the
	// ASSERTED text have single spaces.
	cols := regexp.MustCompile(`\s{2,}`)
	var labels []string
	rows := map[string][]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		f := cols.Split(strings.TrimSpace(line), -1)
		if len(f) < 3 || f[0] == "CHECK" || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "selftest:") || strings.HasPrefix(line, "sensor:") {
			continue
		}
		labels = append(labels, f[0])
		rows[f[0]] = f
	}
	var want []string
	for _, r := range selftestRows {
		want = append(want, r.label)
	}
	if strings.Join(labels, "|") != strings.Join(want, "|") {
		t.Errorf("rows\n  %q\nwant\n  %q", labels, want)
	}
	_, noVersion := technique.Parse("version")
	_, noNmap := exec.LookPath("nmap")
	noVXLAN := vxlanSupport()
	skipped := 0
	for _, r := range selftestRows {
		f := rows[r.label]
		if f == nil {
			continue
		}
		result := f[len(f)-1]
		if r.label == "-sV (nmap)" && (noVersion != nil || noNmap != nil) {
			if !strings.HasPrefix(result, "skipped: ") {
				t.Errorf("row %s: %q, want skipped (version technique: %v, nmap: %v)", r.label, result, noVersion, noNmap)
			}
			skipped++
			continue
		}
		if r.label == "VXLAN" && noVXLAN != nil {
			if !strings.HasPrefix(result, "skipped: ") {
				t.Errorf("row %s: %q, want skipped (this kernel makes no VXLAN device: %v)", r.label, result, noVXLAN)
			}
			skipped++
			continue
		}
		if result != "ok" || len(f) != 9 {
			t.Errorf("row %s: %q, want 9 columns ending in ok", r.label, f)
			continue
		}
		if f[1] != "yes" || !strings.HasSuffix(f[2], " ok") {
			t.Errorf("row %s: detected %q, type %q", r.label, f[1], f[2])
		}
		if r.asserted != "" && !strings.HasPrefix(f[7], r.asserted) {
			t.Errorf("row %s: asserted %q, want it to start with %q", r.label, f[7], r.asserted)
		}
	}
	n := len(selftestRows) - skipped
	summary := fmt.Sprintf("selftest: %d/%d checks detected, %d/%d rows ok, %d skipped", n, n, n, n, skipped)
	if !strings.Contains(out.String(), summary) {
		t.Errorf("stdout lacks %q", summary)
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
