package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/detector"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/rules"
)

// cmdReplay reads capture files in order, on packet time, and writes the
// alerts they hold. Two runs on the same files print the same bytes.
func cmdReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rulesPath := fs.String("rules", "", "rules file (default: the embedded rules)")
	outPath := fs.String("out", "", "write JSON lines to this file instead of stdout")
	quiet := fs.Bool("q", false, "no summary table on stderr")
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

	p := newPipeline(r, out)
	readErr := p.run(ctx, src)
	p.det.Flush()
	if err := closeOut(); err != nil && readErr == nil {
		readErr = err
	}
	if !*quiet {
		p.summary(stderr)
	}
	p.warnings(stderr)
	return readErr
}

// pipeline is the one path every packet takes: decode, detect, write.
type pipeline struct {
	dec   *decode.Decoder
	det   *detector.Detector
	out   *eve.Writer
	scans []detector.Scan // closed episodes, for the summary table
	pkt   decode.Packet
	n     uint64
	bad   uint64
	first error // first decode error, as an example for the warning
}

func newPipeline(r *rules.Rules, w io.Writer) *pipeline {
	rules.ApplyMemoryLimit(r)
	frags := decode.FragmentsFor(r.MemoryFor(rules.FragmentTable), r.State.MaxFragments)
	p := &pipeline{dec: decode.NewDecoder(frags), out: eve.NewWriter(w)}
	p.det = detector.New(r, func(ev detector.Event) {
		p.out.Event(ev)
		if ev.Kind == "scan" {
			p.scans = append(p.scans, ev.Scan)
		}
	})
	return p
}

// handle decodes one frame and feeds it to the detector.
func (p *pipeline) handle(pk capture.Packet) {
	p.n++
	ok, err := p.dec.Decode(pk.LinkType, pk.Data, pk.Time, &p.pkt)
	if err != nil {
		p.bad++
		if p.first == nil {
			p.first = err
		}
		return
	}
	if ok {
		p.det.Process(&p.pkt)
	}
}

// run reads src to its end. It returns nil at a clean end, the read error
// otherwise (everything before the damage has been processed).
func (p *pipeline) run(ctx context.Context, src capture.Source) error {
	for {
		pk, err := src.ReadPacket()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		p.handle(pk)
		if p.n&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// summary prints the closed scans as a table for people.
func (p *pipeline) summary(w io.Writer) {
	fmt.Fprintf(w, "\n%d packets, %d scans\n", p.n, len(p.scans))
	if len(p.scans) == 0 {
		return
	}
	fmt.Fprintf(w, "%-26s %-8s %-10s %7s %7s %8s %-8s %s\n", "SCANNER", "TYPE", "SHAPE", "TARGETS", "PORTS", "PROBES", "TOOL", "OPEN PORTS")
	for _, s := range p.scans {
		open := "-"
		if len(s.OpenPorts) > 0 {
			open = fmt.Sprint(s.OpenPorts)
			open = open[1 : len(open)-1]
		}
		typ := s.Type
		if s.Slow {
			typ += "(slow)"
		}
		fmt.Fprintf(w, "%-26s %-8s %-10s %7d %7d %8d %-8s %s\n", s.Scanner, typ, s.Shape, s.TargetCount, s.PortCount, s.Probes, s.Tool, open)
	}
}

// warnings says when frames could not be decoded, so that an unexpected
// encapsulation never silently hides every packet.
func (p *pipeline) warnings(w io.Writer) {
	if p.bad > 0 {
		fmt.Fprintf(w, "warning: %d of %d frames could not be decoded (first: %v)\n", p.bad, p.n, p.first)
	}
	if line := p.dec.Stats().Warning(0.1); line != "" {
		fmt.Fprintln(w, "warning:", line)
	}
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
