// Describe: what the report of a version or script scan says beyond the
// generic counts: the probes that were sent and the tool whose bytes they
// are.

package detector

import (
	"strconv"
	"strings"

	"github.com/scanwatch/scanwatch/technique"
)

// describe fills in what e's technique says beyond the generic report.
func (e *episode) describe(s *Scan) {
	switch e.tech {
	case technique.Version, technique.Script:
		s.Evidence = e.kindEvidence()
		if t, why := e.kindTool(); t != toolUnknown {
			s.Tool, s.ToolEvidence = toolNames[t], why
		}
	case technique.Idle:
		e.describeIdle(s)
	case technique.FTPBounce:
		e.describeBounce(s)
	}
}

// groupLabels head each group's kinds in the evidence.
var groupLabels = map[kindGroup]string{
	grpService:    "service probes: ",
	grpEither:     "TLS/STARTTLS probes: ",
	grpNSEAny:     "script requests: ",
	grpNSEDefault: "script requests: ",
}

// kindEvidence lists the probes e counted, by group, e.g. "3 open ports
// probed; service probes: NULL probe (silent >=5 s for a banner) x2,
// GetRequest (GET / HTTP/1.0) x3; script requests: GET /HNAP1".
func (e *episode) kindEvidence() string {
	parts := []string{strconv.Itoa(e.open.len()) + " open ports probed"}
	if e.open.len() == 1 {
		parts[0] = "1 open port probed"
	}
	if e.kinds == nil {
		return parts[0]
	}
	var cur []string
	label := ""
	emit := func() {
		if len(cur) > 0 {
			parts = append(parts, label+strings.Join(cur, ", "))
		}
		cur = nil
	}
	for _, g := range []kindGroup{grpStack, grpService, grpEither, grpNSEAny, grpNSEDefault} {
		if groupLabels[g] != label || g == grpStack {
			emit()
			label = groupLabels[g]
		}
		for k, n := range e.kinds {
			if n == 0 || kinds[k].group != g {
				continue
			}
			item := kinds[k].name
			if n > 1 {
				item += " x" + strconv.Itoa(int(n))
			}
			cur = append(cur, item)
		}
	}
	emit()
	return strings.Join(parts, "; ")
}

// kindTool names the tool whose own bytes some of e's probes were:
// masscan's stack or request before nmap's probes, which any tool could
// copy less easily than a program's own handshake.
func (e *episode) kindTool() (tool, string) {
	if e.kinds == nil {
		return toolUnknown, ""
	}
	for _, t := range []tool{toolMasscan, toolNmap} {
		var names []string
		for k, n := range e.kinds {
			if n > 0 && kinds[k].tool == t {
				names = append(names, kinds[k].name)
			}
		}
		if len(names) > 0 {
			return t, toolNames[t] + "'s own probes: " + strings.Join(names, ", ")
		}
	}
	return toolUnknown, ""
}
