package scanner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Run is "scanwatch scan" after ParseArgs: it expands the targets (a target
// that does not resolve is reported on stderr and the others are scanned),
// scans, and writes the report to stdout (JSON with --json). Progress and
// warnings go to stderr. When the context ends (Ctrl-C) it still writes
// what was found so far, then returns the context's error.
func (o *Options) Run(ctx context.Context, stdout, stderr io.Writer) error {
	targets, skipped, err := ExpandTargets(ctx, o.TargetSpecs, o.Exclude)
	for _, e := range skipped {
		fmt.Fprintf(stderr, "scanwatch: skipped %v\n", e)
	}
	if err != nil {
		return err
	}
	if o.IPv6 {
		for _, t := range targets {
			if t.Is4() {
				return fmt.Errorf("-6 given but target %s is IPv4", t)
			}
		}
	}
	if o.ListOnly {
		for _, t := range targets {
			fmt.Fprintf(stdout, "scanwatch scan report for %s\n", t)
		}
		fmt.Fprintf(stdout, "scanwatch done: %d IP addresses (0 hosts up) listed, nothing sent\n", len(targets))
		return nil
	}
	cfg := o.Config
	cfg.Targets = targets
	if cfg.Discovery.Only {
		fmt.Fprintf(stderr, "scanwatch: ping scan of %d host(s), timing -T%d\n", len(targets), cfg.Timing.Template)
	}
	var names []string
	for _, t := range cfg.Techniques {
		names = append(names, fmt.Sprintf("%s (%s, %d ports)", t, t.Option(), len(cfg.Ports.For(t.Proto()))))
	}
	if len(names) > 0 {
		fmt.Fprintf(stderr, "scanwatch: %s scan of %d host(s), timing -T%d\n", strings.Join(names, " + "), len(targets), cfg.Timing.Template)
	}
	res, runErr := Run(ctx, cfg)
	if res != nil {
		for _, h := range res.Hosts {
			if h.Error != "" {
				fmt.Fprintf(stderr, "scanwatch: %s not scanned: %s\n", h.Addr, h.Error)
			}
		}
		if err := o.write(res, stdout); err != nil {
			return errors.Join(runErr, err)
		}
	}
	if runErr != nil && ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w (the results so far are above)", ctx.Err())
	}
	return runErr
}

// write writes the result in the chosen formats.
func (o *Options) write(res *Result, stdout io.Writer) error {
	if o.JSON {
		if err := json.NewEncoder(stdout).Encode(res); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
		return nil
	}
	if err := res.WriteNormal(stdout, o.Display); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}
