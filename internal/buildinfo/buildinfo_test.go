package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"stamped", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/scanwatch/scanwatch", Version: "v1.2.3"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "3c1a2b"}, {Key: "vcs.time", Value: "2026-11-21T01:19:36Z"}, {Key: "vcs.modified", Value: "false"}}},
			"scanwatch v1.2.3 (commit 3c1a2b, 2026-11-21T01:19:36Z) go1.26.8"},
		{"dirty", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261121011936-3c1a2b+dirty"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "3c1a2b"}, {Key: "vcs.modified", Value: "true"}}},
			"scanwatch v0.0.0-20261121011936-3c1a2b+dirty (commit 3c1a2b, modified) go1.26.8"},
		{"no vcs", debug.BuildInfo{GoVersion: "go1.26.8"}, "scanwatch (devel) (no commit recorded) go1.26.8"},
	} {
		if got := fromBuildInfo(&tc.bi).String(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestRead: a test binary has build information, with the toolchain's version.
func TestRead(t *testing.T) {
	if i := Read(); !strings.HasPrefix(i.GoVersion, "go1.") {
		t.Fatalf("Read() = %+v", i)
	}
}
