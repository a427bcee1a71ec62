package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/internal/mixgen"
)

// TestRun writes a small capture to a file and reads it back.
func TestRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mixed.pcap")
	if err := run(path, mixgen.Options{Packets: 3000, Seed: 1, Snaplen: 128}); err != nil {
		t.Fatal(err)
	}
	src, err := capture.OpenFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	n := 0
	for {
		_, err := src.ReadPacket()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3000 {
		t.Errorf("%d packets in the file, want 3000", n)
	}
	if err := run(filepath.Join(t.TempDir(), "no", "such", "dir"), mixgen.Options{Packets: 10, Seed: 1, Snaplen: 128}); !os.IsNotExist(err) {
		t.Errorf("unwritable path: %v", err)
	}
}
