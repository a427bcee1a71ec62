package main

import (
	"bufio"
	"context"
	"flag"
	"io"

	"github.com/scanwatch/scanwatch/report"
)

// cmdReport writes one self-contained HTML page about the scans in EVE
// files. Records that are not scans are counted; broken lines are named on
// stderr with their file and line, and skipped.
func cmdReport(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	title := fs.String("title", "", "the page's heading (default \"scanwatch report\")")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err}
	}
	if len(files) == 0 {
		return usagef("report needs at least one EVE file")
	}
	rep, err := report.ReadFiles(files...)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(stdout, 64<<10)
	if err := rep.WriteHTML(bw, *title); err != nil {
		return err
	}
	rep.WriteNotes(stderr)
	return bw.Flush()
}
