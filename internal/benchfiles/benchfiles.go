// Package benchfiles names the capture files that the whole-file
// benchmarks (reader, reader and decoder, detector, replay) run on: those
// of SCANWATCH_BENCH_FILES, space separated (make bench's mixes), so that
// every stage is measured on the same inputs. ThreadCPU is the CPU time
// those benchmarks report beside wall time.
package benchfiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Env is the variable that names the files.
const Env = "SCANWATCH_BENCH_FILES"

// Paths returns the files, or skips b when the variable names none.
func Paths(b *testing.B) []string {
	files := strings.Fields(os.Getenv(Env))
	if len(files) == 0 {
		b.Skip(Env + " names no capture files")
	}
	return files
}

// Each runs bench as one sub-benchmark per file, named by the file's base
// name, or skips b when the variable names none.
func Each(b *testing.B, bench func(b *testing.B, path string)) {
	for _, f := range Paths(b) {
		b.Run(filepath.Base(f), func(b *testing.B) { bench(b, f) })
	}
}

// ThreadCPU is the calling thread's CPU time in ns (0 where the clock is
// unavailable). A benchmark that locks its goroutine to its thread reports
// it per packet: other processes on a shared machine inflate it less than
// wall time.
func ThreadCPU() int64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return ts.Nano()
}
