// Package kernelver reads the running Linux kernel's version, for tests that
// need a kernel feature. As cilium/ebpf's test helpers do, such a test skips,
// saying why, only on a kernel older than the feature needs, and fails on any
// other: a program the verifier rejects on a current kernel is a red test,
// never a silent skip.
package kernelver

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Version is a kernel release, major.minor.patch.
type Version struct{ Major, Minor, Patch int }

// Parse reads the version at the start of a release string: "5.2",
// "6.1.0-18-amd64", "5.15.0-91-generic". The patch level may be missing.
func Parse(s string) (Version, error) {
	end := strings.IndexFunc(s, func(r rune) bool { return r != '.' && (r < '0' || r > '9') })
	if end < 0 {
		end = len(s)
	}
	parts := strings.Split(s[:end], ".")
	if len(parts) < 2 {
		return Version{}, fmt.Errorf("kernel release %q: want major.minor", s)
	}
	var n [3]int
	for i := range min(len(parts), 3) {
		var err error
		if n[i], err = strconv.Atoi(parts[i]); err != nil {
			return Version{}, fmt.Errorf("kernel release %q: want major.minor", s)
		}
	}
	return Version{n[0], n[1], n[2]}, nil
}

// Less reports whether v is an older release than w.
func (v Version) Less(w Version) bool {
	if v.Major != w.Major {
		return v.Major < w.Major
	}
	if v.Minor != w.Minor {
		return v.Minor < w.Minor
	}
	return v.Patch < w.Patch
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Running returns the version of the kernel this process runs on.
func Running() (Version, string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return Version{}, "", fmt.Errorf("read the kernel release: %w", err)
	}
	release := strings.TrimSpace(string(b))
	v, err := Parse(release)
	return v, release, err
}

// SkipOnOldKernel skips the test when the running kernel is older than
// minVersion (such as "5.2"), which feature needs; the message says so. On
// any newer kernel it returns, and the test must then fail, not skip, when
// the feature does not work.
func SkipOnOldKernel(tb testing.TB, minVersion, feature string) {
	tb.Helper()
	if runtime.GOOS != "linux" {
		tb.Skipf("skipped: %s needs Linux %s or later, this is %s", feature, minVersion, runtime.GOOS)
	}
	min, err := Parse(minVersion)
	if err != nil {
		tb.Fatalf("SkipOnOldKernel: %v", err)
	}
	running, release, err := Running()
	if err != nil {
		tb.Fatalf("SkipOnOldKernel: %v", err)
	}
	if running.Less(min) {
		tb.Skipf("skipped: %s needs Linux %s or later, this kernel is %s", feature, minVersion, release)
	}
}
