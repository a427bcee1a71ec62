package scanner

import (
	"fmt"
	"io"
	"strings"
)

// hideThreshold: like nmap, the most common state is summarised in a
// "Not shown" line only when more than this many ports share it.
const hideThreshold = 25

// WriteTable writes an nmap-like report: per host, the ports in the most
// common state summarised in one "Not shown: N closed tcp ports (reset)"
// line and the others listed as "22/tcp open ssh".
func (r *Result) WriteTable(w io.Writer) error {
	var b strings.Builder
	up := 0
	for i := range r.Hosts {
		h := &r.Hosts[i]
		if h.Up {
			up++
		}
		fmt.Fprintf(&b, "scanwatch scan report for %s\n", h.Addr)
		if h.Up {
			b.WriteString("Host is up.\n")
		} else {
			b.WriteString("Host did not answer (scanned anyway, as with nmap -Pn).\n")
		}
		// The most common state, and its most common reason.
		count := map[PortState]int{}
		var top PortState
		for _, p := range h.Ports {
			count[p.State]++
			if count[p.State] > count[top] {
				top = p.State
			}
		}
		hidden := count[top] > hideThreshold
		if hidden {
			reasons := map[string]int{}
			best := ""
			for _, p := range h.Ports {
				if p.State == top {
					reasons[p.Reason]++
					if reasons[p.Reason] > reasons[best] {
						best = p.Reason
					}
				}
			}
			if count[top] == len(h.Ports) {
				fmt.Fprintf(&b, "All %d scanned ports on %s are in ignored states.\n", len(h.Ports), h.Addr)
			}
			fmt.Fprintf(&b, "Not shown: %d %s %s ports (%s)\n", count[top], top, r.Proto, best)
		}
		var rows [][3]string
		for _, p := range h.Ports {
			if hidden && p.State == top {
				continue
			}
			rows = append(rows, [3]string{fmt.Sprintf("%d/%s", p.Port, p.Proto), p.State.String(), p.Service})
		}
		if len(rows) > 0 {
			w0, w1 := len("PORT"), len("STATE")
			for _, row := range rows {
				w0, w1 = max(w0, len(row[0])), max(w1, len(row[1]))
			}
			fmt.Fprintf(&b, "%-*s %-*s %s\n", w0, "PORT", w1, "STATE", "SERVICE")
			for _, row := range rows {
				fmt.Fprintf(&b, "%-*s %-*s %s\n", w0, row[0], w1, row[1], row[2])
			}
		}
		b.WriteString("\n")
	}
	plural := "es"
	if len(r.Hosts) == 1 {
		plural = ""
	}
	fmt.Fprintf(&b, "scanwatch done: %d IP address%s (%d host%s up) scanned in %.2f seconds\n",
		len(r.Hosts), plural, up, map[bool]string{true: "", false: "s"}[up == 1], r.Duration.Seconds())
	_, err := io.WriteString(w, b.String())
	return err
}
