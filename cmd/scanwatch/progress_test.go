package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/scanwatch/scanwatch/internal/mixgen"
	"github.com/scanwatch/scanwatch/progress"
)

// TestReplayProgress: replaying a big capture draws a progress line on a
// terminal (a pty), erased before the summary table; on a pipe, stderr has
// the summary only, with no control characters.
func TestReplayProgress(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mixgen.Generate(f, mixgen.Options{Packets: 300_000, Seed: 7, Snaplen: 96}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	old := progress.Every
	progress.Every = time.Millisecond
	defer func() { progress.Every = old }()

	t.Run("terminal", func(t *testing.T) {
		ptmx, tty, err := pty.Open()
		if err != nil {
			t.Skipf("no pseudo-terminal here: %v", err)
		}
		defer ptmx.Close()
		got := make(chan []byte)
		go func() { b, _ := io.ReadAll(ptmx); got <- b }()
		if code := run([]string{"replay", path}, io.Discard, tty); code != 0 {
			t.Fatalf("exit %d", code)
		}
		tty.Close()
		var out []byte
		select {
		case out = <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("the terminal did not close")
		}
		s := string(out)
		if !regexp.MustCompile(`\r[0-9.]+ [kMG]?B of [0-9.]+ [kMG]B \(\d+%\) · [1-9][0-9,]* packets · [0-9.]+[kM]? packets/s · \d+ scans`).MatchString(s) {
			t.Errorf("no progress line with packets read on the terminal: %q", cut(s))
		}
		if !strings.Contains(s, "\r\x1b[K\r\n300000 packets") {
			t.Errorf("the line is not erased before the summary: %q", cut(s))
		}
	})
	t.Run("pipe", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan []byte)
		go func() { b, _ := io.ReadAll(r); got <- b }()
		code := run([]string{"replay", path}, io.Discard, w)
		w.Close()
		out := <-got
		if code != 0 || !bytes.HasPrefix(out, []byte("\n300000 packets")) || bytes.ContainsAny(out, "\r\x1b") {
			t.Errorf("exit %d, stderr %q", code, cut(string(out)))
		}
	})
}

func cut(s string) string {
	if len(s) > 600 {
		return s[:300] + " … " + s[len(s)-300:]
	}
	return s
}
