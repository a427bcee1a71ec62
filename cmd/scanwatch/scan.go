package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/scanwatch/scanwatch/scanner"
)

// cmdScan runs the active scanner with nmap's options (scanner.ParseArgs):
// the report on stdout, progress on stderr.
func cmdScan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := scanner.ParseArgs(args)
	if errors.Is(err, scanner.ErrHelp) {
		fmt.Fprint(stderr, scanner.Usage())
		return flag.ErrHelp
	}
	if err != nil {
		return usageError{err}
	}
	return opts.Run(ctx, stdout, stderr)
}
