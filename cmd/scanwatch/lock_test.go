package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scanwatch/scanwatch/outfile"
)

// TestReplayRefusesLockedOut: `replay --out` on the file a live sensor
// writes is refused (exit 1) and leaves the file as it was: it must not
// truncate it.
func TestReplayRefusesLockedOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eve.json")
	live, err := outfile.Open(path, outfile.Options{}) // the live sensor's
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	live.Write([]byte("{\"event_type\":\"stats\"}\n"))
	var out, errb bytes.Buffer
	code := run([]string{"replay", "-q", "--out", path, "../../testdata/nmap_sS.pcap"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "is already written by another scanwatch") {
		t.Errorf("exit %d, stderr %q; want exit 1 and the lock's message", code, errb.String())
	}
	if b, _ := os.ReadFile(path); string(b) != "{\"event_type\":\"stats\"}\n" {
		t.Errorf("the live sensor's file was changed: %q", b)
	}
}
