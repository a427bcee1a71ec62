package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWritesAFloodThatReadsBack runs the command as make bench does and
// checks what it says it wrote is in the file: a pcap header and records (the target's replies to the scan too).
func TestWritesAFloodThatReadsBack(t *testing.T) {
	out := filepath.Join(t.TempDir(), "flood.pcap")
	cmd := exec.Command("go", "run", ".", "-o", out, "-sources", "1000", "-rate", "10000", "-scan-ports", "10")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("floodgen: %v\n%s", err, b)
	}
	if !strings.Contains(string(b), "packets (1000 spoofed, 10 scan probes)") {
		t.Errorf("floodgen said %q", b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 24+1010*16 || string(data[:4]) != "\xd4\xc3\xb2\xa1" {
		t.Errorf("%d bytes starting % x: not a little-endian pcap of 1010 records", len(data), data[:min(len(data), 4)])
	}
	if b, err := exec.Command("go", "run", ".", "-kind", "bogus", "-o", out).CombinedOutput(); err == nil || !strings.Contains(string(b), "usage:") {
		t.Errorf("a bad -kind: %v %q, want usage and exit 2", err, b)
	}
}
