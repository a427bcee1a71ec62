package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/lock"
	"github.com/scanwatch/scanwatch/progress"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/sensor"
)

// cmdReplay reads capture files merged in packet time and writes the
// alerts they hold. Two runs on the same files print the same bytes. A file
// that cannot be read is reported and the others are read; the exit code is
// then 1, as it is for a file with no frame to analyse. SIGINT/SIGTERM end
// the replay at once (even a FIFO whose writer stalls): the alerts so far
// and the closing records are written, and the exit code is 1, as the
// files were not read to their end.
func cmdReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rulesPath := fs.String("rules", "", "rules file (default: the embedded rules)")
	outPath := fs.String("out", "", "write JSON lines to this file instead of stdout")
	quiet := fs.Bool("q", false, "no progress line and no summary table on stderr")
	name := fs.String("sensor", hostname(), "sensor name, the \"host\" of every record")
	maxJump := fs.Duration("max-jump", 0, "largest step in packet time taken as time passing (default: the rules' longest window or idle timeout)")
	ff := addFleetFlags(fs, name)
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err}
	}
	if len(files) == 0 {
		return usagef("replay needs at least one capture file")
	}
	r, err := loadRulesContext(ctx, *rulesPath)
	if err != nil {
		return err
	}
	contacts, stopFleet, err := ff.start("replay", stderr)
	if err != nil {
		return err
	}
	defer stopFleet()
	sink := &sensor.EVE{} // the output opens once the files did
	s := sensor.New(sensor.Options{Rules: r, Sink: sink, MaxJump: *maxJump, Contacts: contacts})
	src, err := s.OpenFiles(ctx, files...)
	if err != nil {
		return interrupted(ctx, err, s)
	}
	defer src.Close()
	out, closeOut, err := openOut(*outPath, stdout)
	if err != nil {
		return err
	}
	sink.W = eve.NewWriter(out, eve.Options{Host: *name})

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
	return interrupted(ctx, readErr, s)
}

// interrupted words the error of a replay that a signal ended.
func interrupted(ctx context.Context, err error, s *sensor.Sensor) error {
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		if s.Packets() == 0 {
			return errors.New("interrupted before the first packet")
		}
		return fmt.Errorf("interrupted after %d packets: the alerts found so far are written", s.Packets())
	}
	return err
}

// loadRulesContext is loadRules that a signal ends, even while the file is
// a FIFO that nobody writes: the read goes on in the background and is
// abandoned (the command is about to exit).
func loadRulesContext(ctx context.Context, path string) (*rules.Rules, error) {
	type result struct {
		r   *rules.Rules
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := loadRules(path)
		done <- result{r, err}
	}()
	select {
	case res := <-done:
		return res.r, res.err
	case <-ctx.Done():
		return nil, fmt.Errorf("interrupted while reading the rules file %s", path)
	}
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
	// Lock before truncating: the file may be a live sensor's.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o666)
	if err != nil {
		return nil, nil, err
	}
	if err := lock.File(f); err != nil {
		f.Close()
		return nil, nil, err
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
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
