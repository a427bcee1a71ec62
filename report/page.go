// Package report turns the EVE records of scanwatch into one self-contained
// HTML page for people (`scanwatch report`): a timeline of the scans (a
// swimlane per scanner), the ports each scanner probed over time and the
// open ports it learned, the top scanners, targets and tools, and every
// scan in a table to page through and filter. The page fetches nothing
// (its CSS, script and pictures are inline), and stays small and quick at
// thousands of scans: the pictures are aggregated, the tables capped with
// "and N more". Records that are not scans are counted and skipped; lines
// that are not records are reported with their file and line.
package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Caps of what the page shows; every cap says how many it left out.
const (
	topScanners  = 20
	topTargets   = 12
	topTools     = 15
	detailed     = 12    // scanners with a ports-over-time plot
	detailScans  = 8     // scans listed under each
	detailOpen   = 12    // open-port lines under each
	tableRows    = 10000 // scans in the table; the rest only counted
	evidenceRune = 160   // evidence in the table is cut to this
)

//go:embed page.html
var pageHTML string

// pageTmpl is parsed on first use, not at start: every other command of the
// binary (a replay of a small file takes a few ms) would pay for it.
var pageTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Funcs(template.FuncMap{
		"f":    func(v float64) string { return fmt.Sprintf("%.1f", v) },
		"add":  func(a, b float64) float64 { return a + b },
		"sub":  func(a, b float64) float64 { return a - b },
		"mod2": func(i int) int { return i % 2 },
		"n":    thousands,
		"css":  func(s string) template.CSS { return template.CSS(s) }, // only for the palette, which is ours
	}).Parse(pageHTML))
})

// page is what the template renders.
type page struct {
	Title     string
	Generated string
	Files     []string
	From, To  string
	Span      string

	Scans, Scanners, Targets, Probes, OpenPorts int
	Ongoing                                     int // scans with no flow record yet
	Records, SkippedTotal, Broken               int
	Skipped                                     []kv
	Problems                                    []Problem
	ProblemsMore                                int

	Palette    string // CSS of the technique colours
	Techniques []techRow
	Timeline   *timeline

	TopScanners  []scannerRow
	ScannersMore int
	TopTargets   []targetRow
	TargetsMore  int
	Tools        []toolRow
	ToolsMore    int
	Details      []detail
	DetailsMore  int

	Rows     [][]any // the scan table, rendered by the page's script
	Sensors  bool    // the records come from more than one sensor: the table names it
	RowsMore int
}

type kv struct {
	Key   string
	Count int
}

type techRow struct {
	Name, Class string
	Scans       int
}

type chip struct{ Name, Class string }

type scannerRow struct {
	Addr        string
	Scans       int
	Techs       []chip
	Tools       string
	Targets     string
	Ports       string
	Probes      int
	Open        string
	First, Last string
	Anchor      string // id of its detail section, if it has one
}

type targetRow struct {
	Addr     string
	Scanners int
	Scans    int
	Techs    []chip
	Open     string
}

type toolRow struct {
	Name     string
	Scans    int
	Scanners int
	Techs    []chip
	Evidence string
}

type detail struct {
	ID       string
	Addr     string
	Summary  string
	Plot     *portsPlot
	Open     []kv // target -> ports, as text in Key
	OpenMore int
	Scans    []scanLine
	More     int
}

type scanLine struct {
	When, Dur, Type, Class, Shape, Targets, Ports, Open, Tool, Evidence string
	Probes                                                              int
}

// WriteHTML renders the page. title heads it ("" for the default).
func (rep *Report) WriteHTML(w io.Writer, title string) error {
	return pageTmpl().Execute(w, rep.page(title, time.Now()))
}

func (rep *Report) page(title string, now time.Time) *page {
	if title == "" {
		title = "scanwatch report"
	}
	scans := rep.Scans()
	agg := aggregate(scans)
	col := newColors()
	p := &page{
		Title: title, Generated: now.UTC().Format("2006-01-02 15:04:05 UTC"), Files: rep.Files,
		Scans: len(scans), Scanners: len(agg.scanners), Targets: len(agg.targets), Probes: agg.probes,
		Records: rep.Records, SkippedTotal: rep.SkippedTotal(), Broken: rep.Broken,
		Problems: rep.Problems, ProblemsMore: rep.Broken - len(rep.Problems),
	}
	for _, k := range counter(rep.Skipped).top(0) {
		p.Skipped = append(p.Skipped, kv{k, rep.Skipped[k]})
	}
	if len(scans) > 0 {
		p.From = agg.first.UTC().Format("2006-01-02 15:04:05")
		p.To = agg.last.UTC().Format("2006-01-02 15:04:05")
		p.Span = shortDuration(agg.last.Sub(agg.first))
	}
	for _, t := range agg.techs.top(0) {
		p.Techniques = append(p.Techniques, techRow{Name: t, Class: col.of(t), Scans: agg.techs[t]})
	}
	chips := func(c counter) []chip {
		var out []chip
		for _, t := range c.top(6) {
			out = append(out, chip{t, col.of(t)})
		}
		return out
	}
	p.Timeline = newTimeline(scans, agg.scanners, col)

	anchors := map[string]string{}
	for i, sc := range agg.scanners {
		if i == detailed {
			p.DetailsMore = len(agg.scanners) - detailed
			break
		}
		d := rep.detail(sc, col)
		d.ID = fmt.Sprintf("scanner-%d", i+1)
		anchors[sc.addr] = d.ID
		p.Details = append(p.Details, d)
	}
	var open portSet
	for _, sc := range agg.scanners {
		var scOpen portSet
		for _, s := range sc.scans {
			if s.Ongoing() {
				p.Ongoing++
			}
			for _, port := range s.OpenPorts {
				scOpen.add(port, protoOf(s.Type))
				open.add(port, protoOf(s.Type))
			}
		}
		if len(p.TopScanners) == topScanners {
			p.ScannersMore++
			continue
		}
		targets := fmt.Sprint(len(sc.targets))
		if sc.moreTargets {
			targets = fmt.Sprintf("%d+", max(len(sc.targets), sc.maxTargets))
		}
		p.TopScanners = append(p.TopScanners, scannerRow{
			Addr: sc.addr, Scans: len(sc.scans), Techs: chips(sc.techs), Tools: strings.Join(sc.tools.top(3), ", "),
			Targets: targets, Ports: portCount(sc), Probes: sc.probes, Open: orDash(scOpen.text(12)),
			First: sc.first.UTC().Format("01-02 15:04:05"), Last: sc.last.UTC().Format("01-02 15:04:05"),
			Anchor: anchors[sc.addr],
		})
	}
	p.OpenPorts = len(open)
	for i, t := range agg.targets {
		if i == topTargets {
			p.TargetsMore = len(agg.targets) - topTargets
			break
		}
		p.TopTargets = append(p.TopTargets, targetRow{Addr: t.addr, Scanners: len(t.scanners), Scans: t.scans, Techs: chips(t.techs), Open: orDash(t.open.text(12))})
	}
	for i, t := range agg.tools {
		if i == topTools {
			p.ToolsMore = len(agg.tools) - topTools
			break
		}
		ev := ""
		if top := t.evidence.top(1); len(top) > 0 {
			ev = top[0]
		}
		p.Tools = append(p.Tools, toolRow{Name: t.name, Scans: t.scans, Scanners: len(t.scanners), Techs: chips(t.techs), Evidence: ev})
	}
	var css strings.Builder
	for i, c := range col.list {
		fmt.Fprintf(&css, ".c%d{fill:%s;background:%s}", i, c, c)
	}
	p.Palette = css.String()
	p.Rows, p.RowsMore = tableRowsOf(scans, col)
	for _, s := range scans {
		if s.Host != scans[0].Host {
			p.Sensors = true
			break
		}
	}
	return p
}

// Ongoing says the records stop before the scan ended (no flow record).
func (s *Scan) Ongoing() bool { return !s.Ended }

func (rep *Report) detail(sc *scanner, col *colors) detail {
	d := detail{Addr: sc.addr, Plot: newPortsPlot(sc, col)}
	d.Summary = fmt.Sprintf("%s, %s, %s from %s to %s UTC", plural(len(sc.scans), "scan"), plural(sc.probes, "probe"),
		strings.Join(sc.tools.top(3), ", "), sc.first.UTC().Format("2006-01-02 15:04:05"), sc.last.UTC().Format("15:04:05"))
	byTarget := map[string]*portSet{}
	var order []string
	for _, s := range sc.scans {
		if len(s.OpenPorts) == 0 {
			continue
		}
		label := targetLabel(s)
		ps := byTarget[label]
		if ps == nil {
			ps = &portSet{}
			byTarget[label] = ps
			order = append(order, label)
		}
		for _, p := range s.OpenPorts {
			ps.add(p, protoOf(s.Type))
		}
	}
	for i, label := range order {
		if i == detailOpen {
			d.OpenMore = len(order) - detailOpen
			break
		}
		d.Open = append(d.Open, kv{label + ": " + byTarget[label].text(16), 0})
	}
	// The latest scans, newest first.
	for i := len(sc.scans) - 1; i >= 0 && len(d.Scans) < detailScans; i-- {
		s := sc.scans[i]
		d.Scans = append(d.Scans, scanLine{
			When: s.First.UTC().Format("01-02 15:04:05"), Dur: shortDuration(s.Duration()), Type: typeText(s), Class: col.of(s.Type),
			Shape: s.Shape, Targets: targetLabel(s), Ports: shorten(s.Ports, 48), Open: orDash(openText(s)), Tool: s.Tool,
			Evidence: cut(s.Evidence, evidenceRune), Probes: s.Probes,
		})
	}
	d.More = len(sc.scans) - len(d.Scans)
	return d
}

// tableRowsOf is the scan table's data, compact (arrays, not objects) so
// that thousands of scans stay a small page: first probe (Unix ms),
// duration (s), scanner, technique, colour class, shape, targets, target
// count, ports, port count, probes, open ports, tool, sensor, evidence,
// ended.
func tableRowsOf(scans []*Scan, col *colors) ([][]any, int) {
	n := min(len(scans), tableRows)
	rows := make([][]any, 0, n)
	for _, s := range scans[:n] {
		rows = append(rows, []any{
			s.First.UnixMilli(), s.Duration().Round(time.Millisecond).Seconds(), s.Scanner, typeText(s), col.of(s.Type), s.Shape,
			targetLabel(s), s.TargetCount, shorten(s.Ports, 60), s.PortCount, s.Probes, openText(s),
			s.Tool, s.Host, cut(s.Evidence, evidenceRune), s.Ended,
		})
	}
	return rows, len(scans) - n
}

// typeText is the technique, with its flags and "slow" when they apply.
func typeText(s *Scan) string {
	t := s.Type
	if s.Flags != "" {
		t += " " + s.Flags
	}
	if s.Slow {
		t += " (slow)"
	}
	return t
}

func openText(s *Scan) string {
	var ps portSet
	for _, p := range s.OpenPorts {
		ps.add(p, protoOf(s.Type))
	}
	return ps.text(20)
}

// portCount is how many distinct ports a scanner probed over all its
// scans (ranges the records left out are not counted: "+").
func portCount(sc *scanner) string {
	var seen [65536 / 64]uint64
	n, more := 0, false
	for _, s := range sc.scans {
		if s.Type == "ipproto" {
			continue
		}
		ranges, m := parsePorts(s.Ports)
		more = more || m > 0
		for _, r := range ranges {
			for p := r[0]; p <= r[1]; p++ {
				if seen[p/64]&(1<<(p%64)) == 0 {
					seen[p/64] |= 1 << (p % 64)
					n++
				}
			}
		}
	}
	switch {
	case n == 0:
		return "–"
	case more:
		return thousands(n) + "+"
	}
	return thousands(n)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// cut shortens s to n runes with an ellipsis at the end.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
