package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// TestScanExitCodes: bad usage and unsupported nmap options exit 2 and say
// why; -h lists the options and exits 0.
func TestScanExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"scan", "-sS", "-p", "22"}, 2, "no target"},
		{[]string{"scan", "-sV", "10.79.0.2"}, 2, "-sV: not supported"},
		{[]string{"scan", "--script=default", "10.79.0.2"}, 2, "--script: not supported"},
		{[]string{"scan", "--bogus", "10.79.0.2"}, 2, "--bogus: unknown option"},
		{[]string{"scan", "-h"}, 0, "--top-ports"},
	} {
		var stderr bytes.Buffer
		if code := run(tc.args, io.Discard, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: exit %d, want %d; stderr should contain %q:\n%s", tc.args, code, tc.code, tc.want, stderr.String())
		}
	}
	if err := cmdScan(context.Background(), []string{"-sT"}, io.Discard, io.Discard); err == nil {
		t.Error("cmdScan without a target succeeded")
	}
}
