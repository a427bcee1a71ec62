package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scanwatch/scanwatch/rules"
)

func TestRulesCommand(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("allow: {scanners: [10.0.5.20/32]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("detect:\n  syn:\n    thresold: 5\nstate: {max_flows: 0}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    string
		stderrHas []string
	}{
		{"check good", []string{"rules", "check", good}, 0, "",
			[]string{good + ": ok (6 probe patterns, 17 thresholds)\n"}},
		{"check bad", []string{"rules", "check", bad}, 2, "", []string{
			bad + `:3:5: unknown key "thresold" in detect.syn (known: ports, hosts, window)` + "\n" +
				bad + ":4:20: state.max_flows: must be positive, got 0\n"}},
		{"check missing", []string{"rules", "check", filepath.Join(dir, "nope.yaml")}, 2, "", []string{"no such file"}},
		{"check no file", []string{"rules", "check"}, 2, "", []string{"check takes one FILE"}},
		{"check two files", []string{"rules", "check", good, bad}, 2, "", []string{"check takes one FILE"}},
		{"no subcommand", []string{"rules"}, 2, "", []string{"missing subcommand"}},
		{"unknown subcommand", []string{"rules", "lint"}, 2, "", []string{`unknown subcommand "lint"`}},
		{"default", []string{"rules", "default"}, 0, string(rules.DefaultYAML()), nil},
		{"default extra", []string{"rules", "default", "x"}, 2, "", []string{"default takes no arguments"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tt.args, &out, &errb); code != tt.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, errb.String())
			}
			if out.String() != tt.stdout {
				t.Errorf("stdout %q, want %q", out.String(), tt.stdout)
			}
			for _, s := range tt.stderrHas {
				if !strings.Contains(errb.String(), s) {
					t.Errorf("stderr %q lacks %q", errb.String(), s)
				}
			}
		})
	}
	// The default printed is a valid rules file.
	var out, errb bytes.Buffer
	if code := run([]string{"rules", "default"}, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	if _, err := rules.Parse("default", out.Bytes()); err != nil {
		t.Error(err)
	}
}
