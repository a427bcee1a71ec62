package bpf

import (
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/tcpflags"
)

// PatternsFor returns the rules' probe patterns the kernel filters by flags
// alone. Patterns that require the ACK bit (ack, maimon) describe segments
// that look like any established connection's: passing them by flags would
// pass all bulk traffic. The kernel passes those segments instead as the
// first packet of a flow it has not seen, which is exactly when they can be
// probes (the classic filter: as a bare ACK without payload or options).
func PatternsFor(r *rules.Rules) []Pattern {
	var out []Pattern
	for _, f := range r.TCPFlags {
		if f.Mask&f.Value&tcpflags.ACK != 0 {
			continue
		}
		out = append(out, f.Pattern)
	}
	return out
}
