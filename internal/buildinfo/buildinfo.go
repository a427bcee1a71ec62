// Package buildinfo says which scanwatch this is, from what the Go
// toolchain stamped into the binary (runtime/debug.ReadBuildInfo): the
// module version, the commit it was built from and whether the checkout
// had changes, and the Go version. `scanwatch version` prints it; metrics
// can export it.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// Info is one binary's build.
type Info struct {
	Module    string // module path
	Version   string // module version: a tag, a pseudo-version, or "(devel)"
	Commit    string // vcs.revision; empty when built without VCS information
	Time      string // vcs.time, RFC 3339
	Modified  bool   // vcs.modified: the checkout had uncommitted changes
	GoVersion string // the toolchain that built it
}

// Read returns the running binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "unknown", GoVersion: "unknown"}
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) Info {
	i := Info{Module: bi.Main.Path, Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if i.Version == "" {
		i.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Commit = s.Value
		case "vcs.time":
			i.Time = s.Value
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	return i
}

// String is one line for people, e.g.
// "scanwatch v0.0.0-20261121011936-3c1a2b4d5e6f+dirty (commit 3c1a2b4d5e6f, modified, 2026-11-21T01:19:36Z) go1.26.8".
func (i Info) String() string {
	var b strings.Builder
	b.WriteString("scanwatch " + i.Version)
	switch {
	case i.Commit != "":
		b.WriteString(" (commit " + i.Commit)
		if i.Modified {
			b.WriteString(", modified")
		}
		if i.Time != "" {
			b.WriteString(", " + i.Time)
		}
		b.WriteString(")")
	default:
		b.WriteString(" (no commit recorded)")
	}
	return b.String() + " " + i.GoVersion
}
