package main

import (
	"context"
	"fmt"
	"io"

	"github.com/scanwatch/scanwatch/rules"
)

const rulesUsage = `usage:
  scanwatch rules check FILE   validate a rules file; errors name file:line:col
  scanwatch rules default      print the embedded default rules (a starting point)`

// cmdRules checks a rules file or prints the default one. Bad usage and bad
// rules are usage errors (exit 2).
func cmdRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("missing subcommand\n%s", rulesUsage)
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "check":
		if len(rest) != 1 {
			return usagef("check takes one FILE, got %d arguments\n%s", len(rest), rulesUsage)
		}
		r, err := loadRulesContext(ctx, rest[0]) // a signal ends it, even on a FIFO
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%s: ok (%d probe patterns, %d thresholds)\n", rest[0], len(r.TCPFlags), len(r.Detect))
		return nil
	case "default":
		if len(rest) != 0 {
			return usagef("default takes no arguments\n%s", rulesUsage)
		}
		_, err := stdout.Write(rules.DefaultYAML())
		return err
	case "-h", "--help", "help":
		fmt.Fprintln(stderr, rulesUsage)
		return nil
	default:
		return usagef("unknown subcommand %q\n%s", sub, rulesUsage)
	}
}
