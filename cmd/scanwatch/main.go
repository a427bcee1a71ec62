// Command scanwatch is a passive network scan detector with a built-in
// active scanner. Each subcommand lives in its own file; main only parses
// the subcommand, wires signals, and maps errors to exit codes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/scanwatch/scanwatch/internal/buildinfo"
	"github.com/scanwatch/scanwatch/rules"
)

const usage = `usage:
  scanwatch replay [--rules FILE] [--out FILE] [--sensor NAME] [--fleet URL] FILE...
  scanwatch live   [-i IFACE|any] [--rules FILE] [--out FILE] [--sensor NAME] [--capture ebpf|cbpf] [--fleet URL]
  scanwatch scan   [nmap options] TARGET...   # scan -h lists them
  scanwatch selftest
  scanwatch correlate --listen ADDR --store DIR | --nats URL [--out FILE] [--rules FILE]
  scanwatch report [--title T] EVE.json... > report.html   # one HTML page of the scans
  scanwatch rules check FILE      # validate a rules file
  scanwatch rules default         # print the embedded rules, a start for your own
  scanwatch version               # or --version: module version, commit, Go version
`

// command runs one subcommand. JSON goes to stdout, human text to stderr.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

var commands = map[string]command{
	"replay":    cmdReplay,
	"live":      cmdLive,
	"scan":      cmdScan,
	"selftest":  cmdSelftest,
	"rules":     cmdRules,
	"correlate": cmdCorrelate,
	"report":    cmdReport,
}

// usageError marks bad usage or bad rules: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "version" || args[0] == "--version" || args[0] == "-version" {
		fmt.Fprintln(stdout, buildinfo.Read())
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "scanwatch: unknown command %q\n%s", args[0], usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := cmd(ctx, args[1:], stdout, stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var re *rules.Error
	if errors.As(err, &re) {
		fmt.Fprintln(stderr, re.Error()) // already file:line:col, one per line
	} else {
		fmt.Fprintf(stderr, "scanwatch %s: %v\n", args[0], err)
	}
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}
