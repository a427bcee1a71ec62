package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportCommand: `scanwatch report` writes the page to stdout from the
// records of a replay, names broken lines on stderr and goes on, and exits
// 2 for bad usage, 1 for a file it cannot read.
func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	var eveOut, errb bytes.Buffer
	if code := run([]string{"replay", "-q", "../../testdata/nmap_sS.pcap"}, &eveOut, &errb); code != 0 {
		t.Fatalf("replay: exit %d: %s", code, errb.String())
	}
	evePath := filepath.Join(dir, "eve.json")
	data := append([]byte("{broken\n"), eveOut.Bytes()...)
	if err := os.WriteFile(evePath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		stdoutHas string
		stderrHas []string
	}{
		{"page", []string{evePath, "--title", "night shift"}, 0, "<title>night shift</title>",
			[]string{"skipped: " + evePath + ":1: not an EVE record", "1 scans from 3 records (0 skipped, 1 broken)"}},
		{"no files", nil, 2, "", []string{"at least one EVE file"}},
		{"missing", []string{filepath.Join(dir, "nope.json")}, 1, "", []string{"no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(append([]string{"report"}, tc.args...), &out, &errb); code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String(), tc.stdoutHas) {
				t.Errorf("stdout lacks %q", tc.stdoutHas)
			}
			for _, s := range tc.stderrHas {
				if !strings.Contains(errb.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, errb.String())
				}
			}
		})
	}
}
