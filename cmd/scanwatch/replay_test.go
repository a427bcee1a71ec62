package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// macsec rewrites a little-endian pcap of Ethernet frames so that every
// frame carries MACsec's ethertype (0x88e5), which the decoder does not know.
func macsec(t *testing.T, b []byte) []byte {
	t.Helper()
	b = bytes.Clone(b)
	if binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatal("not a little-endian pcap")
	}
	for off := 24; off+16 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[off+8:]))
		if frame := b[off+16:]; n >= 14 {
			frame[12], frame[13] = 0x88, 0xe5
		}
		off += 16 + n
	}
	return b
}

// TestReplayCommand: what `scanwatch replay` prints and exits with, around
// the pipeline (whose verdicts package sensor tests): the summary table,
// warnings on stderr, exit 1 with the byte offset for a damaged capture or
// with the name of a file that had nothing to analyse, 2 for bad usage.
func TestReplayCommand(t *testing.T) {
	b, err := os.ReadFile("../../testdata/nmap_sS.pcap")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cut := write("cut.pcap", b[:len(b)*2/3+5])
	missing := filepath.Join(dir, "missing.pcap")
	undecodable := write("macsec.pcap", macsec(t, b))
	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		stdoutHas string
		stderrHas []string
	}{
		{"whole", []string{"../../testdata/nmap_sS.pcap"}, 0, `"event_type":"alert"`,
			[]string{"packets, 1 scans", "SCANNER", "10.77.0.2", "nmap     22 80 443"}},
		{"quiet", []string{"-q", "../../testdata/nmap_sS.pcap"}, 0, `"event_type":"flow"`, nil},
		{"truncated", []string{"-q", cut}, 1, `"event_type":"flow"`, []string{"scanwatch replay:", "byte offset"}},
		{"undecodable", []string{"-q", undecodable}, 1, "", []string{"warning:", "0x88e5", "none of its 2055 frames could be decoded"}},
		// A file that cannot be read among others: reported, the others
		// read, exit 1.
		{"missing among others", []string{"-q", "../../testdata/hping3_syn.pcap", missing, cut}, 1, `"tool":"hping3"`,
			[]string{"2 problems with the capture files (3 files given):", "missing.pcap: no such file", "cut.pcap"}},
		{"max-jump", []string{"--max-jump", "1ms", "../../testdata/nmap_sS.pcap"}, 0, `"event_type":"alert"`, []string{"clock jumps (", "pauses longer than 1ms"}},
		{"no files", nil, 2, "", []string{"at least one capture file"}},
		{"bad flag", []string{"--bogus", "x.pcap"}, 2, "", []string{"flag provided but not defined"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(append([]string{"replay"}, tc.args...), &out, &errb); code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String(), tc.stdoutHas) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdoutHas, out.String())
			}
			for _, s := range tc.stderrHas {
				if !strings.Contains(errb.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, errb.String())
				}
			}
			if tc.name == "quiet" && errb.Len() != 0 {
				t.Errorf("-q printed %q", errb.String())
			}
		})
	}
}
