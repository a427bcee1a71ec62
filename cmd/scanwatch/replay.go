package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/progress"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/sensor"
)

// cmdReplay reads capture files in order, on packet time, and writes the
// alerts they hold. Two runs on the same files print the same bytes.
func cmdReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rulesPath := fs.String("rules", "", "rules file (default: the embedded rules)")
	outPath := fs.String("out", "", "write JSON lines to this file instead of stdout")
	quiet := fs.Bool("q", false, "no progress line and no summary table on stderr")
	name := fs.String("sensor", hostname(), "sensor name, the \"host\" of every record")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err}
	}
	if len(files) == 0 {
		return usagef("replay needs at least one capture file")
	}
	r, err := loadRules(*rulesPath)
	if err != nil {
		return err
	}
	src, err := capture.OpenFiles(files...)
	if err != nil {
		return err
	}
	defer src.Close()
	out, closeOut, err := openOut(*outPath, stdout)
	if err != nil {
		return err
	}

	s := sensor.New(sensor.Options{Rules: r, Sink: sensor.EVE{W: eve.NewWriter(out, eve.Options{Host: *name})}})
	stopProgress := func() {}
	if !*quiet {
		stopProgress = progress.Show(stderr, s.LastCounters) // only on a terminal
	}
	readErr := s.Replay(ctx, src)
	stopProgress()
	if err := closeOut(); err != nil && readErr == nil {
		readErr = err
	}
	if !*quiet {
		s.WriteSummary(stderr)
	}
	warnings(stderr, s)
	return readErr
}

// warnings says when frames could not be decoded, so that an unexpected
// encapsulation never silently hides every packet.
func warnings(w io.Writer, s *sensor.Sensor) {
	for _, line := range s.Warnings() {
		fmt.Fprintln(w, "warning:", line)
	}
}

// hostname is the default sensor name.
func hostname() string {
	h, _ := os.Hostname()
	return h
}

func loadRules(path string) (*rules.Rules, error) {
	if path == "" {
		return rules.Default(), nil
	}
	r, err := rules.Load(path)
	if err != nil {
		return nil, usageError{err}
	}
	return r, nil
}

// openOut returns the JSON-lines destination and a function that flushes
// and closes it.
func openOut(path string, stdout io.Writer) (io.Writer, func() error, error) {
	if path == "" {
		bw := bufio.NewWriterSize(stdout, 64<<10)
		return bw, bw.Flush, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	return bw, func() error {
		if err := bw.Flush(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}, nil
}

// parseInterleaved parses flags that may stand before, between or after
// positional arguments, and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
