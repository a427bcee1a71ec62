package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestVersion: `version` and `--version` print the build on stdout.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		var out, errb bytes.Buffer
		if code := run([]string{arg}, &out, &errb); code != 0 || errb.Len() != 0 {
			t.Errorf("%s: exit %d, stderr %q", arg, code, errb.String())
		}
		if s := out.String(); !strings.HasPrefix(s, "scanwatch ") || !strings.Contains(s, " go1.") {
			t.Errorf("%s printed %q", arg, s)
		}
	}
}
