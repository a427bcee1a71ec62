package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// scanwatchBin is the binary under test, built by TestMain.
var scanwatchBin string

// helperEnv makes the test binary act as a helper process (a service, a bulk
// sender or sink) instead of running tests; see runHelper.
const helperEnv = "SCANWATCH_E2E_HELPER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		if err := runHelper(spec); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "scanwatch-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	scanwatchBin = filepath.Join(dir, "scanwatch")
	// Without cgo, as make build and make package build it: the live
	// sensor can then drop the privileges of every thread (package sandbox).
	build := exec.Command("go", "build", "-o", scanwatchBin, "../cmd/scanwatch")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ../cmd/scanwatch: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
