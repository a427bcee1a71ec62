package report

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// scanner is what one source did over all its scans.
type scanner struct {
	addr        string
	scans       []*Scan // by first probe
	probes      int
	targets     map[string]struct{} // listed targets (a record lists up to 64)
	moreTargets bool                // some scan had more targets than it listed
	maxTargets  int                 // the most targets one scan had
	techs       counter
	tools       counter
	first, last time.Time
}

// target is what was done to one address.
type target struct {
	addr     string
	scans    int
	scanners map[string]struct{}
	techs    counter
	open     portSet // from scans of this host alone
}

// tool is one tool named by the fingerprints.
type tool struct {
	name     string
	scans    int
	scanners map[string]struct{}
	techs    counter
	evidence counter // tool_evidence texts
}

// counter counts names.
type counter map[string]int

// top returns the names by count (then name), at most n (all if n <= 0).
func (c counter) top(n int) []string {
	out := make([]string, 0, len(c))
	for k := range c {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if c[out[i]] != c[out[j]] {
			return c[out[i]] > c[out[j]]
		}
		return out[i] < out[j]
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// aggregates are the page's tables before they are capped.
type aggregates struct {
	scanners []*scanner // most scans first
	targets  []*target  // most scanners first
	tools    []*tool    // most scans first, "unknown" last
	techs    counter
	first    time.Time
	last     time.Time
	probes   int
}

// aggregate sums the scans (ordered by first probe) by scanner, target,
// tool and technique.
func aggregate(scans []*Scan) *aggregates {
	a := &aggregates{techs: counter{}}
	bySrc := map[string]*scanner{}
	byDst := map[string]*target{}
	byTool := map[string]*tool{}
	for _, s := range scans {
		if a.first.IsZero() || s.First.Before(a.first) {
			a.first = s.First
		}
		if s.Last.After(a.last) {
			a.last = s.Last
		}
		a.probes += s.Probes
		a.techs[s.Type]++

		sc := bySrc[s.Scanner]
		if sc == nil {
			sc = &scanner{addr: s.Scanner, targets: map[string]struct{}{}, techs: counter{}, tools: counter{}, first: s.First}
			bySrc[s.Scanner] = sc
			a.scanners = append(a.scanners, sc)
		}
		sc.scans = append(sc.scans, s)
		sc.probes += s.Probes
		sc.techs[s.Type]++
		sc.tools[s.Tool]++
		sc.maxTargets = max(sc.maxTargets, s.TargetCount)
		sc.moreTargets = sc.moreTargets || s.TargetCount > len(s.Targets)
		if s.Last.After(sc.last) {
			sc.last = s.Last
		}

		for _, d := range s.Targets {
			sc.targets[d] = struct{}{}
			t := byDst[d]
			if t == nil {
				t = &target{addr: d, scanners: map[string]struct{}{}, techs: counter{}}
				byDst[d] = t
				a.targets = append(a.targets, t)
			}
			t.scans++
			t.scanners[s.Scanner] = struct{}{}
			t.techs[s.Type]++
			if s.TargetCount == 1 {
				for _, p := range s.OpenPorts {
					t.open.add(p, protoOf(s.Type))
				}
			}
		}

		tl := byTool[s.Tool]
		if tl == nil {
			tl = &tool{name: s.Tool, scanners: map[string]struct{}{}, techs: counter{}, evidence: counter{}}
			byTool[s.Tool] = tl
			a.tools = append(a.tools, tl)
		}
		tl.scans++
		tl.scanners[s.Scanner] = struct{}{}
		tl.techs[s.Type]++
		if s.ToolEvidence != "" {
			tl.evidence[s.ToolEvidence]++
		}
	}
	sort.SliceStable(a.scanners, func(i, j int) bool {
		x, y := a.scanners[i], a.scanners[j]
		if len(x.scans) != len(y.scans) {
			return len(x.scans) > len(y.scans)
		}
		return x.probes > y.probes
	})
	sort.SliceStable(a.targets, func(i, j int) bool {
		x, y := a.targets[i], a.targets[j]
		if len(x.scanners) != len(y.scanners) {
			return len(x.scanners) > len(y.scanners)
		}
		return x.scans > y.scans
	})
	sort.SliceStable(a.tools, func(i, j int) bool {
		x, y := a.tools[i], a.tools[j]
		if (x.name == "unknown") != (y.name == "unknown") {
			return y.name == "unknown"
		}
		return x.scans > y.scans
	})
	return a
}

// protoOf is the transport of a technique's ports.
func protoOf(tech string) string {
	switch tech {
	case "udp":
		return "udp"
	case "sctp":
		return "sctp"
	}
	return "tcp"
}

// portSet is a set of port/proto pairs, in order.
type portSet []portProto

type portProto struct {
	port  uint16
	proto string
}

func (s *portSet) add(p uint16, proto string) {
	v := portProto{p, proto}
	i := sort.Search(len(*s), func(i int) bool { return !(*s)[i].less(v) })
	if i < len(*s) && (*s)[i] == v {
		return
	}
	*s = append(*s, portProto{})
	copy((*s)[i+1:], (*s)[i:])
	(*s)[i] = v
}

func (a portProto) less(b portProto) bool {
	if a.port != b.port {
		return a.port < b.port
	}
	return a.proto < b.proto
}

// String writes the set as "22/tcp 80/tcp 53/udp", at most max entries
// and "+N" for the rest.
func (s portSet) text(limit int) string {
	var b strings.Builder
	for i, p := range s {
		if i == limit {
			b.WriteString(" +" + strconv.Itoa(len(s)-limit))
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(int(p.port)) + "/" + p.proto)
	}
	return b.String()
}

// parsePorts reads a scan's ports ("1-87,443,...(+3 ranges)") as ranges;
// more is the number of ranges the record left out. Bad parts are skipped.
func parsePorts(s string) (ranges [][2]int, more int) {
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if strings.HasPrefix(part, "...(+") {
			more, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(part, "...(+"), " ranges)"))
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 || a > 65535 {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b > 65535 {
				continue
			}
		}
		ranges = append(ranges, [2]int{a, b})
	}
	return ranges, more
}
