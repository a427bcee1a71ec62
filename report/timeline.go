package report

import (
	"fmt"
	"sort"
	"strings"
)

// Timeline layout (pixels).
const (
	svgWidth    = 1290
	laneLabelW  = 190 // scanner addresses left of the lanes
	plotRight   = 16
	axisHeight  = 34
	rowHeight   = 16 // one row of bars
	rowGap      = 3
	laneGap     = 9
	minLaneH    = 28 // room for the scanner and its note
	maxLanes    = 30 // scanners with a lane of their own; the rest share one
	maxSubRows  = 4  // bars overlapping in a lane stack up to this
	minBarWidth = 4
	barLabelMin = 44 // a bar this wide carries its technique's name
)

// timeline is the swimlane picture: one lane per scanner.
type timeline struct {
	Width, Height float64
	PlotX0        float64
	Lanes         []lane
	Ticks         []tick
	Breaks        []axisBreak
	Others        int // scanners folded into the last lane
}

// lane is one scanner's row (or the shared row of the rest).
type lane struct {
	Label, Full string  // the scanner (shortened to fit, and in full)
	Note        string  // "3 scans"
	Y, H        float64 // top and height
	Bars        []bar
	Shared      bool
}

// bar is one scan, or several scans of one technique that touch at this
// scale.
type bar struct {
	X, Y, W, H float64
	Class      string // technique colour
	Text       string // technique, in the bar when it is wide enough
	Beside     bool   // Text goes right of the bar
	Title      string // the tooltip
}

// newTimeline lays out the scans (ordered by first probe) of the scanners
// (most active first): the first maxLanes scanners in order of their first
// scan, and the rest in one shared lane.
func newTimeline(scans []*Scan, scanners []*scanner, col *colors) *timeline {
	tl := &timeline{Width: svgWidth, PlotX0: laneLabelW}
	if len(scans) == 0 {
		return tl
	}
	spans := make([]interval, len(scans))
	for i, s := range scans {
		spans[i] = interval{s.First, s.Last}
	}
	ax := newAxis(spans, laneLabelW, svgWidth-laneLabelW-plotRight)
	tl.Ticks, tl.Breaks = ax.ticks()

	own := scanners
	var rest []*scanner
	if len(own) > maxLanes {
		own, rest = scanners[:maxLanes-1], scanners[maxLanes-1:]
	}
	own = append([]*scanner(nil), own...)
	sort.SliceStable(own, func(i, j int) bool { return own[i].first.Before(own[j].first) })

	y := float64(axisHeight)
	addLane := func(l lane, scans []*Scan) {
		l.Y = y
		rows := layBars(&l, scans, ax, col)
		l.H = max(float64(rows)*(rowHeight+rowGap)-rowGap, minLaneH)
		for i := range l.Bars {
			l.Bars[i].Y += y
		}
		tl.Lanes = append(tl.Lanes, l)
		y += l.H + laneGap
	}
	for _, sc := range own {
		addLane(lane{Label: shorten(sc.addr, 26), Full: sc.addr, Note: plural(len(sc.scans), "scan")}, sc.scans)
	}
	if len(rest) > 0 {
		var shared []*Scan
		for _, sc := range rest {
			shared = append(shared, sc.scans...)
		}
		sort.SliceStable(shared, func(i, j int) bool { return shared[i].First.Before(shared[j].First) })
		tl.Others = len(rest)
		label := fmt.Sprintf("%d other scanners", len(rest))
		addLane(lane{Label: label, Full: label, Note: plural(len(shared), "scan"), Shared: true}, shared)
	}
	tl.Height = y + 4
	return tl
}

// layBars turns a lane's scans into bars: a scan's bar runs from its first
// probe to its last (at least minBarWidth); bars of one technique that
// touch are merged; bars that overlap go to the next row down, up to
// maxSubRows. It returns the number of rows; bar Ys are relative to the
// lane's top.
func layBars(l *lane, scans []*Scan, ax *axis, col *colors) int {
	type run struct {
		bar
		n           int
		tech        string
		first, last *Scan
	}
	var rowLast []*run // the last bar of each row
	var runs []*run
	for _, s := range scans {
		x0 := ax.x(s.First)
		x1 := max(ax.x(s.Last), x0+minBarWidth)
		row, merged := -1, false
		for r, last := range rowLast {
			end := last.X + last.W
			switch {
			case last.tech == s.Type && x0 <= end+1: // touches a bar of its technique
				last.W = max(last.W, x1-last.X)
				last.n++
				last.last = s
				merged = true
			case x0 > end+1:
				row = r
			default:
				continue
			}
			break
		}
		if merged {
			continue
		}
		if row < 0 {
			if len(rowLast) < maxSubRows {
				row = len(rowLast)
				rowLast = append(rowLast, nil)
			} else {
				row = len(rowLast) - 1
			}
		}
		rn := &run{bar: bar{X: x0, Y: float64(row) * (rowHeight + rowGap), W: x1 - x0, H: rowHeight, Class: col.of(s.Type)}, n: 1, tech: s.Type, first: s, last: s}
		runs = append(runs, rn)
		rowLast[row] = rn
	}
	// A bar too narrow for its name has it beside, when the row leaves room
	// before the next bar (or the end of the plot).
	nextX := make([]float64, len(runs))
	lastOfRow := map[float64]int{}
	for i := len(runs) - 1; i >= 0; i-- {
		nextX[i] = ax.x1()
		if j, ok := lastOfRow[runs[i].Y]; ok {
			nextX[i] = runs[j].X
		}
		lastOfRow[runs[i].Y] = i
	}
	for i, rn := range runs {
		b := rn.bar
		name := rn.tech
		if rn.n > 1 {
			name = fmt.Sprintf("%s ×%d", rn.tech, rn.n)
		}
		switch {
		case b.W >= barLabelMin:
			b.Text = shorten(name, int(b.W/7))
		case nextX[i]-(b.X+b.W) >= float64(len(name))*6.5+10:
			b.Text, b.Beside = name, true
		}
		if rn.n == 1 {
			b.Title = scanTitle(rn.first)
		} else {
			b.Title = fmt.Sprintf("%d %s scans by %s\n%s – %s UTC", rn.n, rn.tech, scannerOf(rn.first, l),
				rn.first.First.UTC().Format("2006-01-02 15:04:05"), rn.last.Last.UTC().Format("15:04:05"))
		}
		l.Bars = append(l.Bars, b)
	}
	return max(len(rowLast), 1)
}

// scannerOf names the scanner of a merged bar: the lane's, unless the lane
// is shared.
func scannerOf(s *Scan, l *lane) string {
	if l.Shared {
		return "several scanners"
	}
	return s.Scanner
}

// scanTitle is a scan's tooltip: who, what, when, how long, which tool.
func scanTitle(s *Scan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", s.Scanner, s.Summary)
	fmt.Fprintf(&b, "%s UTC, %s, %d probes\n", s.First.UTC().Format("2006-01-02 15:04:05.000"), shortDuration(s.Duration()), s.Probes)
	fmt.Fprintf(&b, "%s %s, tool %s", s.Type, s.Shape, s.Tool)
	if !s.Ended {
		b.WriteString(" (still running at the last record)")
	}
	return b.String()
}

// shorten cuts s to n characters, with an ellipsis in the middle.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n || n < 5 {
		if len(r) > n {
			return ""
		}
		return s
	}
	head := (n - 1) / 2
	return string(r[:head]) + "…" + string(r[len(r)-(n-1-head):])
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return thousands(n) + " " + what + "s"
}
