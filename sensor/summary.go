package sensor

import (
	"fmt"
	"io"
)

// WriteSummary prints the packet count and the scans that ended, as a table
// for people (the command's stderr, the self-test's verbose output).
func (s *Sensor) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "\n%d packets, %d scans", s.n, len(s.scans))
	if o, b, p := s.ClockJumps(); o+b+p > 0 {
		fmt.Fprintf(w, ", %d clock jumps (%d outliers, %d steps back, %d pauses)", o+b+p, o, b, p)
	}
	fmt.Fprintln(w)
	if len(s.scans) == 0 {
		return
	}
	fmt.Fprintf(w, "%-26s %-8s %-10s %7s %7s %8s %-8s %s\n", "SCANNER", "TYPE", "SHAPE", "TARGETS", "PORTS", "PROBES", "TOOL", "OPEN PORTS")
	for _, sc := range s.scans {
		open := "-"
		if len(sc.OpenPorts) > 0 {
			open = fmt.Sprint(sc.OpenPorts)
			open = open[1 : len(open)-1]
		}
		typ := sc.Type
		if sc.Slow {
			typ += "(slow)"
		}
		fmt.Fprintf(w, "%-26s %-8s %-10s %7d %7d %8d %-8s %s\n", sc.Scanner, typ, sc.Shape, sc.TargetCount, sc.PortCount, sc.Probes, sc.Tool, open)
	}
}
