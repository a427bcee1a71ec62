// Path probes: traceroute and mtr over UDP send datagrams to high ports
// (traceroute from 33434, mtr from 33000) with TTLs rising from 1, so that routers on the way answer
// time exceeded and the destination port unreachable. Toward one
// destination that is a run of distinct ports with failed answers, a UDP
// scan by every count but the TTLs. A sensor anywhere on the path sees them
// in the order they were sent, low (as sent near the tracer, as left near
// the destination; a packet is never forwarded with TTL 0, so the lowest
// seen is 1) and rising by at most one from one probe to the next, or
// starting again from the bottom (mtr's rounds). nmap draws a random TTL
// from 37-59 for every probe: neither that low nor rising.

package detector

import "github.com/scanwatch/scanwatch/decode"

const (
	traceBasePort = 33000 // mtr's first UDP port (traceroute's is 33434)
	traceMaxTTL   = 32    // traceroute and mtr give up after 30 hops
	traceStartTTL = 2     // a trace starts at the lowest TTL a sensor sees: 1 (2 for a capture after the decrement)
	// tracePort marks the path entries in the flow table (IP protocol 0;
	// ARP's use arpPort).
	tracePort = 0xFFFE
)

// pathProbe reports whether UDP probe p continues a trace from its source
// toward its destination: to the tracers' ports, with a low TTL that
// starts a trace or equals or follows by one the TTL of the last probe
// that did. Path probes are not first contacts. The TTL is kept in a flow
// table entry of the pair, which ends like any idle flow.
func (d *Detector) pathProbe(p *decode.Packet) bool {
	if p.DstPort < traceBasePort || p.TTL == 0 || p.TTL > traceMaxTTL {
		return false
	}
	k, srcIsA := makeKey(p.Src, p.Dst, tracePort, tracePort, 0)
	f := d.flows.get(k)
	if p.TTL > traceStartTTL && (f == nil || p.TTL != f.fp.TTL && p.TTL != f.fp.TTL+1) {
		return false
	}
	if f == nil {
		f = d.newFlow(k, srcIsA)
	}
	d.seen(f)
	f.fp.TTL = p.TTL
	return true
}
