package detector

import (
	"encoding/binary"
	"hash/fnv"
	"net/netip"
	"unsafe"

	"github.com/scanwatch/scanwatch/technique"
)

// episodeID names an alerted episode for its whole life, so that its alert
// and its end record can be linked (EVE's flow_id): a hash of the scanner,
// the technique, the packet time of its first probe when it alerted and the
// number of alerts before it (packet time may stand still or go back, as
// in a replay of files out of order; the count keeps ids apart then, and
// the times keep them apart across runs). It fits in 51 bits, as Suricata's
// flow ids do, so that JSON readers that hold numbers in doubles keep it
// exact; it is never 0.
func episodeID(scanner netip.Addr, tech technique.Technique, first int64, alerts uint64) uint64 {
	h := fnv.New64a()
	a := scanner.As16()
	h.Write(a[:])
	var b [17]byte
	b[0] = byte(tech)
	binary.BigEndian.PutUint64(b[1:], uint64(first))
	binary.BigEndian.PutUint64(b[9:], alerts)
	h.Write(b[:])
	return max(h.Sum64()&(1<<51-1), 1)
}

// onePort notes the source ports of an episode's probes: the port when
// they all used one (nmap -g, decoys' copies, a scanner's fixed port),
// otherwise 0.
type onePort struct {
	port  uint16
	mixed bool
}

func (o *onePort) add(p uint16) {
	switch {
	case o.mixed:
	case o.port == 0:
		o.port = p
	case o.port != p:
		o.port, o.mixed = 0, true
	}
}

func (o onePort) value() uint16 {
	if o.mixed {
		return 0
	}
	return o.port
}

// memuse estimates the bytes the flow table holds (Suricata's flow.memuse):
// its slot array and every entry allocated, in use or kept for reuse.
func (t *flowTable) memuse() uint64 {
	return uint64(len(t.slots))*uint64(unsafe.Sizeof(slot{})) + t.slab.bytes()
}
