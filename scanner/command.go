package scanner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
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

// write writes the result in the chosen formats: the files of -oN, -oX
// and -oG, and stdout: JSON with --json, a format given the file "-", or
// else the normal report.
func (o *Options) write(res *Result, stdout io.Writer) error {
	header := fmt.Sprintf("# scanwatch scan initiated %s as: scanwatch scan %s\n", res.Start.Format(time.ANSIC), strings.Join(o.Args, " "))
	outputs := []struct {
		file  string
		write func(io.Writer) error
	}{
		{o.Normal, func(w io.Writer) error {
			if _, err := io.WriteString(w, header); err != nil {
				return err
			}
			return res.WriteNormal(w, o.Display)
		}},
		{o.XML, func(w io.Writer) error { return res.WriteXML(w, o.Display, o.Args) }},
		{o.Grepable, func(w io.Writer) error { return res.WriteGrepable(w, o.Display, o.Args) }},
	}
	toStdout := o.JSON
	var errs []error
	for _, out := range outputs {
		switch out.file {
		case "":
		case "-":
			toStdout = true
			errs = append(errs, out.write(stdout))
		default:
			errs = append(errs, writeFile(out.file, out.write))
		}
	}
	if o.JSON {
		errs = append(errs, json.NewEncoder(stdout).Encode(res))
	}
	if !toStdout {
		errs = append(errs, res.WriteNormal(stdout, o.Display))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
