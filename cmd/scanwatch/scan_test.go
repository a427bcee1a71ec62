package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/scanwatch/scanwatch/scanner"
)

func TestParseScanArgs(t *testing.T) {
	tests := []struct {
		args    []string
		check   func(t *testing.T, sa *scanArgs)
		wantErr string
	}{
		{args: []string{"-sS", "-p", "22,80", "10.79.0.2"}, check: func(t *testing.T, sa *scanArgs) {
			if sa.cfg.Technique != scanner.SYN || !slices.Equal(sa.cfg.Ports, []uint16{22, 80}) ||
				!slices.Equal(sa.cfg.Targets, []netip.Addr{netip.MustParseAddr("10.79.0.2")}) {
				t.Errorf("cfg = %+v", sa.cfg)
			}
			if sa.cfg.Rate != scanner.DefaultRate || sa.cfg.MaxRetries != scanner.DefaultMaxRetries || sa.json {
				t.Errorf("defaults: %+v json=%v", sa.cfg, sa.json)
			}
		}},
		{args: []string{"-sU", "-p-", "--rate", "20000", "--max-retries", "0", "--json", "fd79::2"}, check: func(t *testing.T, sa *scanArgs) {
			if sa.cfg.Technique != scanner.UDP || len(sa.cfg.Ports) != 65535 || sa.cfg.Rate != 20000 || sa.cfg.MaxRetries != 0 || !sa.json {
				t.Errorf("cfg = %+v json=%v", sa.cfg.Technique, sa.json)
			}
		}},
		// nmap allows options after the targets and -p glued to its value.
		{args: []string{"10.79.0.1-2", "-sA", "-p80", "-Pn", "-n"}, check: func(t *testing.T, sa *scanArgs) {
			if sa.cfg.Technique != scanner.ACK || len(sa.cfg.Targets) != 2 || !slices.Equal(sa.cfg.Ports, []uint16{80}) {
				t.Errorf("cfg = %+v", sa.cfg)
			}
		}},
		{args: []string{"--scanflags", "SYNFIN", "-p", "T:22,U:53", "10.79.0.2"}, check: func(t *testing.T, sa *scanArgs) {
			if sa.cfg.Technique != scanner.SYN || sa.cfg.ScanFlags != scanner.FlagSYN|scanner.FlagFIN || !sa.cfg.CustomFlags ||
				!slices.Equal(sa.cfg.Ports, []uint16{22}) {
				t.Errorf("cfg = %+v", sa.cfg)
			}
		}},
		{args: []string{"-sF", "--scanflags", "0", "10.79.0.2"}, check: func(t *testing.T, sa *scanArgs) {
			if sa.cfg.Technique != scanner.FIN || sa.cfg.ScanFlags != 0 || !sa.cfg.CustomFlags || len(sa.cfg.Ports) != 1024 {
				t.Errorf("cfg = %+v", sa.cfg)
			}
		}},
		{args: []string{"-sS", "-p", "22"}, wantErr: "no target"},
		{args: nil, wantErr: "no target"},
		{args: []string{"-sV", "10.79.0.2"}, wantErr: "unknown scan technique"},
		{args: []string{"-sS", "-sU", "10.79.0.2"}, wantErr: "one scan technique"},
		{args: []string{"-sU", "--scanflags", "SYN", "10.79.0.2"}, wantErr: "needs a raw TCP technique"},
		{args: []string{"--scanflags", "BOGUS", "10.79.0.2"}, wantErr: "is not a flag"},
		{args: []string{"-p", "0-10", "10.79.0.2"}, wantErr: "out of range"},
		{args: []string{"-p", "ssh", "10.79.0.2"}, wantErr: "not a port number"},
		{args: []string{"10.79.0.0/8"}, wantErr: "more than 65536"},
		{args: []string{"-6", "10.79.0.2"}, wantErr: "is IPv4"},
		{args: []string{"--rate", "0", "10.79.0.2"}, wantErr: "--rate must be positive"},
		{args: []string{"--max-retries", "-1", "10.79.0.2"}, wantErr: "--max-retries"},
		{args: []string{"--bogus", "10.79.0.2"}, wantErr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		sa, err := parseScanArgs(tt.args, io.Discard)
		if tt.wantErr != "" {
			var ue usageError
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &ue) {
				t.Errorf("%q: error = %v, want a usage error containing %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		tt.check(t, sa)
	}
}

// TestScanNoTargetExitCode: no default target, and bad usage exits 2.
func TestScanNoTargetExitCode(t *testing.T) {
	var stderr bytes.Buffer
	if code := run([]string{"scan", "-sS", "-p", "22"}, io.Discard, &stderr); code != 2 {
		t.Errorf("exit code %d, want 2; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "no target") {
		t.Errorf("stderr does not say why:\n%s", stderr.String())
	}
	if err := cmdScan(context.Background(), []string{"-sT"}, io.Discard, io.Discard); err == nil {
		t.Error("cmdScan without a target succeeded")
	}
}
