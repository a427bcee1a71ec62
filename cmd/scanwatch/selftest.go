package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/scanwatch/scanwatch/selftest"
)

// cmdSelftest runs `scanwatch selftest` (package selftest: namespaces, the
// live sensor, every scan technique, a report on stdout, progress on
// stderr), or, as `selftest internal-serve`, the target's services for it.
// The services and the scans are this binary again.
// A failed technique is an error (exit 1).
func cmdSelftest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == selftest.ServeArg {
		return selftest.Serve(ctx, os.Stdin, stdout)
	}
	fs := flag.NewFlagSet("selftest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mode := fs.String("capture", "ebpf", "the sensor's kernel filter: ebpf, or cbpf for kernels without eBPF")
	verbose := fs.Bool("v", false, "also print the sensor's and the scans' own output, and keep the sensor's JSON lines")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *mode != "ebpf" && *mode != "cbpf" {
		return usagef("--capture must be ebpf or cbpf, not %q", *mode)
	}
	exe, err := os.Executable() // re-executed in the namespaces
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	return selftest.Run(ctx, selftest.Options{Exe: exe, Capture: *mode, Verbose: *verbose}, stdout, stderr)
}
