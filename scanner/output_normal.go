package scanner

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Display says what the reports show, as nmap's output options do.
type Display struct {
	Open    bool // --open: only ports that are (or may be) open, only hosts with some
	Reason  bool // --reason: why each port has its state
	Verbose int  // -v: more ports listed before states are summarised
}

// hideThreshold: like nmap, a state other than open is summarised in a
// "Not shown" line when more than this many ports share it (times
// verbosity+1 with -v).
const hideThreshold = 25

// shownPort reports whether a port is listed under --open.
func openish(s PortState) bool {
	return s == Open || s == OpenFiltered || s == Unfiltered
}

// hiddenStates returns the states a host's port table summarises instead
// of listing.
func hiddenStates(h *HostResult, d Display) map[PortState]bool {
	count := map[PortState]int{}
	for _, p := range h.Ports {
		count[p.State]++
	}
	limit := hideThreshold * (d.Verbose + 1)
	hidden := map[PortState]bool{}
	for s, n := range count {
		switch {
		case s == Open:
		case d.Open && !openish(s):
			hidden[s] = true
		case n > limit:
			hidden[s] = true
		}
	}
	return hidden
}

// notShown is nmap's "Not shown:" summary of the hidden states, per state
// and protocol: "994 closed tcp ports (reset), 2 filtered tcp ports (no-response)".
func notShown(h *HostResult, hidden map[PortState]bool) string {
	type key struct {
		state PortState
		proto string
	}
	counts := map[key]int{}
	reasons := map[key]map[string]int{}
	var order []key
	for _, p := range h.Ports {
		if !hidden[p.State] {
			continue
		}
		k := key{p.State, p.Proto}
		if counts[k] == 0 {
			order = append(order, k)
			reasons[k] = map[string]int{}
		}
		counts[k]++
		reasons[k][p.Reason]++
	}
	slices.SortStableFunc(order, func(a, b key) int { return counts[b] - counts[a] })
	var parts []string
	for _, k := range order {
		rs := make([]string, 0, len(reasons[k]))
		for r := range reasons[k] {
			rs = append(rs, r)
		}
		slices.SortFunc(rs, func(a, b string) int { return reasons[k][b] - reasons[k][a] })
		why := rs[0]
		if len(rs) > 1 {
			for i, r := range rs {
				rs[i] = fmt.Sprintf("%d %s", reasons[k][r], r)
			}
			why = strings.Join(rs, ", ")
		}
		parts = append(parts, fmt.Sprintf("%d %s %s ports (%s)", counts[k], k.state, k.proto, why))
	}
	return strings.Join(parts, ", ")
}

// hostShown reports whether a host appears in the reports: down hosts
// never; with --open only hosts with an open-ish port.
func hostShown(h *HostResult, d Display) bool {
	if h.Error != "" {
		return !d.Open
	}
	if !h.Up && !h.Scanned() {
		return false
	}
	if !d.Open {
		return true
	}
	return slices.ContainsFunc(h.Ports, func(p PortResult) bool { return openish(p.State) })
}

// WriteNormal writes the report as nmap's normal output (-oN) does: per
// host, the listed ports as "22/tcp open ssh" and the summarised states in
// one "Not shown:" line.
func (r *Result) WriteNormal(w io.Writer, d Display) error {
	var b strings.Builder
	up := 0
	for i := range r.Hosts {
		h := &r.Hosts[i]
		if h.Up {
			up++
		}
		if !hostShown(h, d) {
			continue
		}
		fmt.Fprintf(&b, "scanwatch scan report for %s\n", h.Addr)
		if h.Error != "" {
			fmt.Fprintf(&b, "Not scanned: %s\n\n", h.Error)
			continue
		}
		switch {
		case h.Up && h.Reason != "" && d.Reason:
			fmt.Fprintf(&b, "Host is up, received %s.\n", h.Reason)
		case h.Up:
			b.WriteString("Host is up.\n")
		default:
			b.WriteString("Host seems down.\n")
		}
		hidden := hiddenStates(h, d)
		shown := 0
		for _, p := range h.Ports {
			if !hidden[p.State] {
				shown++
			}
		}
		if shown == 0 && len(h.Ports) > 0 {
			fmt.Fprintf(&b, "All %d scanned ports on %s are in ignored states.\n", len(h.Ports), h.Addr)
		}
		if ns := notShown(h, hidden); ns != "" {
			fmt.Fprintf(&b, "Not shown: %s\n", ns)
		}
		if shown > 0 {
			writePortTable(&b, h, hidden, d)
		}
		b.WriteString("\n")
	}
	if r.Interrupted {
		b.WriteString("Scan interrupted: ports not yet answered are left out.\n")
	}
	fmt.Fprintf(&b, "scanwatch done: %s scanned in %.2f seconds\n", hostCount(len(r.Hosts), up), r.Duration.Seconds())
	_, err := io.WriteString(w, b.String())
	return err
}

// writePortTable writes the PORT STATE SERVICE [REASON] table, ports in
// protocol then number order like nmap.
func writePortTable(b *strings.Builder, h *HostResult, hidden map[PortState]bool, d Display) {
	ports := sortedPorts(h.Ports)
	header := []string{"PORT", "STATE", "SERVICE"}
	if d.Reason {
		header = append(header, "REASON")
	}
	rows := [][]string{header}
	for _, p := range ports {
		if hidden[p.State] {
			continue
		}
		row := []string{fmt.Sprintf("%d/%s", p.Port, p.Proto), p.State.String(), p.Service}
		if d.Reason {
			row = append(row, p.reasonText())
		}
		rows = append(rows, row)
	}
	widths := make([]int, len(header))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, row := range rows {
		for i, c := range row {
			if i == len(row)-1 {
				b.WriteString(c)
			} else {
				fmt.Fprintf(b, "%-*s ", widths[i], c)
			}
		}
		b.WriteString("\n")
	}
}

// protoOrder sorts protocols as nmap lists them: tcp, udp, sctp, ip.
func protoOrder(p string) string {
	switch p {
	case "tcp":
		return "0"
	case "udp":
		return "1"
	case "sctp":
		return "2"
	}
	return "3" + p
}

// reasonText is the REASON column: "syn-ack ttl 64".
func (p *PortResult) reasonText() string {
	if p.TTL > 0 {
		return fmt.Sprintf("%s ttl %d", p.Reason, p.TTL)
	}
	return p.Reason
}
