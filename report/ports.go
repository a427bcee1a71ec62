package report

import (
	"fmt"
	"strconv"
)

// Ports-over-time plot of one scanner (pixels).
const (
	portsW      = 820
	portsH      = 200 // the port area
	portsLeft   = 54  // port labels
	portsRight  = 12
	portsTop    = 8
	noPortBand  = 12 // a strip under the port area for scans without ports
	portsAxis   = 24 // time labels
	cellW       = 3.0
	cellH       = 2.5
	lowPortPart = 0.45 // share of the height for ports below 1024
	maxOpenDots = 400
)

// portsPlot draws which ports a scanner probed when: every scan covers
// the cells of its ports from its first probe to its last. The port scale
// is linear in two parts, 0–1023 (the well-known ports, where most of what
// scanners try lies) in the lower 45% and 1024–65535 above. The cells
// bound the picture whatever the number of scans; the open ports the
// scanner learned are dots at the end of the scan that found them.
type portsPlot struct {
	Width, Height float64
	X0, X1        float64
	Top, Bottom   float64 // the port area
	BandY         float64 // the no-port strip
	Cells         []bar
	Open          []dot
	YTicks        []tick // X is the y position here
	Ticks         []tick
	Breaks        []axisBreak
	HasBand       bool
}

type dot struct {
	X, Y  float64
	Title string
}

func portY(p int, top, bottom float64) float64 {
	h := bottom - top
	if p < 1024 {
		return bottom - h*lowPortPart*float64(p)/1024
	}
	return bottom - h*lowPortPart - h*(1-lowPortPart)*float64(p-1024)/float64(65536-1024)
}

func newPortsPlot(sc *scanner, col *colors) *portsPlot {
	pp := &portsPlot{Width: portsW, X0: portsLeft, X1: portsW - portsRight, Top: portsTop, Bottom: portsTop + portsH}
	pp.BandY = pp.Bottom + 4
	pp.Height = pp.BandY + noPortBand + portsAxis
	spans := make([]interval, len(sc.scans))
	for i, s := range sc.scans {
		spans[i] = interval{s.First, s.Last}
	}
	ax := newAxis(spans, pp.X0, pp.X1-pp.X0)
	pp.Ticks, pp.Breaks = ax.ticks()
	for _, p := range []int{0, 256, 512, 1024, 16384, 32768, 49152, 65535} {
		label := strconv.Itoa(p)
		if p >= 16384 && p < 65535 {
			label = strconv.Itoa(p/1024) + "k"
		}
		pp.YTicks = append(pp.YTicks, tick{X: portY(p, pp.Top, pp.Bottom), Label: label})
	}

	cols := int((pp.X1 - pp.X0) / cellW)
	rows := int(portsH / cellH)
	grid := make([]int16, (rows+1)*cols) // row rows is the no-port band; 0 = empty, else class+1
	classes := []string{""}
	classIdx := map[string]int16{}
	colOf := func(x float64) int { return min(max(int((x-pp.X0)/cellW), 0), cols-1) }
	rowOf := func(p int) int { return min(max(int((pp.Bottom-portY(p, pp.Top, pp.Bottom))/cellH), 0), rows-1) }
	dots := map[[2]int]*dot{}
	for _, s := range sc.scans {
		cls := col.of(s.Type)
		ci, ok := classIdx[cls]
		if !ok {
			ci = int16(len(classes))
			classIdx[cls] = ci
			classes = append(classes, cls)
		}
		c0, c1 := colOf(ax.x(s.First)), colOf(ax.x(s.Last))
		ranges, _ := parsePorts(s.Ports)
		if len(ranges) == 0 || s.Type == "ipproto" { // protocol numbers are no ports
			pp.HasBand = true
			for c := c0; c <= c1; c++ {
				grid[rows*cols+c] = ci
			}
			continue
		}
		for _, r := range ranges {
			for row := rowOf(r[0]); row <= rowOf(r[1]); row++ {
				for c := c0; c <= c1; c++ {
					grid[row*cols+c] = ci
				}
			}
		}
		for _, p := range s.OpenPorts {
			k := [2]int{c1, rowOf(int(p))}
			if d := dots[k]; d != nil || len(dots) >= maxOpenDots {
				continue
			}
			dots[k] = &dot{X: pp.X0 + (float64(c1)+0.5)*cellW, Y: portY(int(p), pp.Top, pp.Bottom),
				Title: fmt.Sprintf("%d/%s open on %s (%s scan)", p, protoOf(s.Type), targetLabel(s), s.Type)}
			pp.Open = append(pp.Open, *dots[k])
		}
	}
	// Each row's runs of one colour become one rect.
	for row := 0; row <= rows; row++ {
		y, h := pp.Bottom-float64(row+1)*cellH, cellH
		if row == rows {
			y, h = pp.BandY, noPortBand
		}
		for c := 0; c < cols; {
			v := grid[row*cols+c]
			end := c + 1
			for end < cols && grid[row*cols+end] == v {
				end++
			}
			if v != 0 {
				pp.Cells = append(pp.Cells, bar{X: pp.X0 + float64(c)*cellW, Y: y, W: float64(end-c) * cellW, H: h, Class: classes[v]})
			}
			c = end
		}
	}
	return pp
}

// targetLabel names a scan's targets in a few words.
func targetLabel(s *Scan) string {
	switch {
	case len(s.Targets) == 0:
		return plural(s.TargetCount, "host")
	case s.TargetCount <= 1:
		return s.Targets[0]
	}
	return fmt.Sprintf("%s and %d other hosts", s.Targets[0], s.TargetCount-1)
}
