package report

import (
	"fmt"
	"sort"
	"time"
)

// axis maps time to x on a time axis with its idle gaps cut out: scans
// come in bursts (a replay of captures made an hour apart, a scanner that
// comes back at night), and on a linear axis a burst of a few seconds is a
// hairline. Each burst is a segment with a linear scale of its own and a
// minimum width; a gap between two is a narrow break labelled with the
// time it cuts out.
type axis struct {
	x0, width float64
	segs      []segment
}

// segment is one burst on the axis.
type segment struct {
	from, to time.Time // its time span (to > from)
	x0, x1   float64
}

// Axis layout constants (pixels).
const (
	breakWidth = 26  // a cut-out gap
	minSegment = 110 // the least width of a burst
	maxSegs    = 8   // more bursts than this: the smallest gaps are kept in
)

type interval struct{ from, to time.Time }

// newAxis lays out the time of spans over width pixels starting at x0.
// spans need not be sorted; there must be at least one.
func newAxis(spans []interval, x0, width float64) *axis {
	sort.Slice(spans, func(i, j int) bool { return spans[i].from.Before(spans[j].from) })
	start, end := spans[0].from, spans[0].to
	for _, s := range spans {
		if s.to.After(end) {
			end = s.to
		}
	}
	total := end.Sub(start)
	// A gap is cut when it is longer than a tenth of the whole span and
	// than a minute: shorter pauses are part of the picture.
	minGap := max(total/10, time.Minute)
	var bursts []interval
	cur := spans[0]
	for _, s := range spans[1:] {
		if s.from.Sub(cur.to) > minGap {
			bursts = append(bursts, cur)
			cur = s
		} else if s.to.After(cur.to) {
			cur.to = s.to
		}
	}
	bursts = append(bursts, cur)
	for len(bursts) > maxSegs { // join the two bursts with the smallest gap
		best := 1
		for i := 2; i < len(bursts); i++ {
			if bursts[i].from.Sub(bursts[i-1].to) < bursts[best].from.Sub(bursts[best-1].to) {
				best = i
			}
		}
		bursts[best-1].to = bursts[best].to
		bursts = append(bursts[:best], bursts[best+1:]...)
	}
	// Pad each burst so that its bars do not sit on its edges, and give
	// an instant a span.
	var busy float64 // seconds: a forged record's times could overflow a Duration sum
	for i := range bursts {
		d := bursts[i].to.Sub(bursts[i].from)
		pad := max(d/40, time.Millisecond)
		bursts[i].from, bursts[i].to = bursts[i].from.Add(-pad), bursts[i].to.Add(pad)
		busy += bursts[i].to.Sub(bursts[i].from).Seconds()
	}
	a := &axis{x0: x0, width: width}
	free := width - float64(len(bursts)-1)*breakWidth - float64(len(bursts))*minSegment
	if free < 0 {
		free = 0
	}
	x := x0
	for i, b := range bursts {
		if i > 0 {
			x += breakWidth
		}
		w := minSegment + free*b.to.Sub(b.from).Seconds()/busy
		a.segs = append(a.segs, segment{from: b.from, to: b.to, x0: x, x1: x + w})
		x += w
	}
	return a
}

// x is the position of t: within its burst, or at the nearest edge of one.
func (a *axis) x(t time.Time) float64 {
	i := sort.Search(len(a.segs), func(i int) bool { return !a.segs[i].to.Before(t) })
	if i == len(a.segs) {
		return a.segs[i-1].x1
	}
	s := a.segs[i]
	if t.Before(s.from) {
		return s.x0
	}
	f := t.Sub(s.from).Seconds() / s.to.Sub(s.from).Seconds()
	return s.x0 + (s.x1-s.x0)*min(max(f, 0), 1)
}

// x1 is the right end of the axis.
func (a *axis) x1() float64 { return a.segs[len(a.segs)-1].x1 }

// tick is a labelled mark on the axis.
type tick struct {
	X     float64
	Label string
}

// axisBreak is a cut-out gap, to be drawn between two bursts.
type axisBreak struct {
	X     float64 // its middle
	Label string  // the time cut out, e.g. "34m"
}

// niceSteps are the tick intervals an axis chooses from.
var niceSteps = []time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
	20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second,
	15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute,
	10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour,
	6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour,
}

// ticks returns the labelled marks of every burst (about one per 90
// pixels) and the breaks between them. Labels are UTC.
func (a *axis) ticks() ([]tick, []axisBreak) {
	var ts []tick
	var bs []axisBreak
	for i, s := range a.segs {
		if i > 0 {
			prev := a.segs[i-1]
			bs = append(bs, axisBreak{X: (prev.x1 + s.x0) / 2, Label: shortDuration(s.from.Sub(prev.to))})
		}
		n := min(max(int((s.x1-s.x0)/90), 1), 40)
		span := s.to.Sub(s.from)
		step := niceSteps[len(niceSteps)-1]
		for _, st := range niceSteps {
			if span/st <= time.Duration(n) {
				step = st
				break
			}
		}
		first := s.from.Truncate(step)
		if first.Before(s.from) {
			first = first.Add(step)
		}
		var marks []time.Time
		for t := first; !t.After(s.to) && len(marks) < 2*n; t = t.Add(step) {
			marks = append(marks, t)
		}
		if len(marks) == 0 { // a burst narrower than one step: label its start
			marks = append(marks, s.from)
		}
		for _, t := range marks {
			ts = append(ts, tick{X: a.x(t), Label: tickLabel(t, step)})
		}
	}
	return thinTicks(ts, bs), bs
}

// thinTicks drops the ticks whose labels would overlap another's or a
// break's (the first ticks of a burst, right after a break, go first).
func thinTicks(ts []tick, bs []axisBreak) []tick {
	halfW := func(t tick) float64 { return float64(len(t.Label))*3.2 + 6 }
	var out []tick
	for _, t := range ts {
		if len(out) > 0 {
			if prev := out[len(out)-1]; t.X-halfW(t) < prev.X+halfW(prev) {
				continue
			}
		}
		near := false
		for _, b := range bs {
			if t.X+halfW(t) > b.X-breakWidth/2 && t.X-halfW(t) < b.X+breakWidth/2 {
				near = true
			}
		}
		if !near {
			out = append(out, t)
		}
	}
	return out
}

// tickLabel writes t as precisely as step needs.
func tickLabel(t time.Time, step time.Duration) string {
	t = t.UTC()
	switch {
	case step < time.Second:
		return t.Format("15:04:05.000")
	case step < time.Minute:
		return t.Format("15:04:05")
	case step < 24*time.Hour:
		return t.Format("15:04")
	}
	return t.Format("Jan 02")
}

// shortDuration writes d in one or two units: 850ms, 12s, 4m10s, 3h20m, 2d5h.
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return twoUnits(int(d/time.Minute), "m", int(d%time.Minute/time.Second), "s")
	case d < 24*time.Hour:
		return twoUnits(int(d/time.Hour), "h", int(d%time.Hour/time.Minute), "m")
	}
	return twoUnits(int(d/(24*time.Hour)), "d", int(d%(24*time.Hour)/time.Hour), "h")
}

func twoUnits(a int, ua string, b int, ub string) string {
	if b == 0 {
		return fmt.Sprintf("%d%s", a, ua)
	}
	return fmt.Sprintf("%d%s%d%s", a, ua, b, ub)
}
