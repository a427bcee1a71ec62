package scanner

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteGrepable writes nmap's grepable output (-oG): one "Host: ... Status:"
// line per host that is up, and one "Host: ... Ports:" line listing its
// shown ports as port/state/protocol/owner/service/rpc/version/.
func (r *Result) WriteGrepable(w io.Writer, d Display, args []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# scanwatch scan initiated %s as: scanwatch scan %s\n", r.Start.Format(time.ANSIC), strings.Join(args, " "))
	up := 0
	for i := range r.Hosts {
		h := &r.Hosts[i]
		if h.Up {
			up++
		}
		if !hostShown(h, d) || h.Error != "" {
			continue
		}
		status := "Up"
		if !h.Up {
			status = "Down"
		}
		fmt.Fprintf(&b, "Host: %s ()\tStatus: %s\n", h.Addr, status)
		if !h.Scanned() {
			continue
		}
		hidden := hiddenStates(h, d)
		var ports []string
		for _, p := range sortedPorts(h.Ports) {
			if !hidden[p.State] {
				svc := p.Service
				if svc == "unknown" {
					svc = ""
				}
				ports = append(ports, fmt.Sprintf("%d/%s/%s//%s///", p.Port, p.State, p.Proto, svc))
			}
		}
		fmt.Fprintf(&b, "Host: %s ()\tPorts: %s", h.Addr, strings.Join(ports, ", "))
		// nmap names the largest summarised state.
		var top PortState
		count := map[PortState]int{}
		for _, p := range h.Ports {
			if hidden[p.State] {
				count[p.State]++
				if count[p.State] > count[top] {
					top = p.State
				}
			}
		}
		if count[top] > 0 {
			fmt.Fprintf(&b, "\tIgnored State: %s (%d)", top, count[top])
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "# scanwatch done at %s -- %s scanned in %.2f seconds\n",
		r.Start.Add(r.Duration).Format(time.ANSIC), hostCount(len(r.Hosts), up), r.Duration.Seconds())
	_, err := io.WriteString(w, b.String())
	return err
}
