package decode

import (
	"fmt"
	"slices"

	"github.com/scanwatch/scanwatch/linktype"
)

// Stats counts what Decode did with the frames it was given, so that a
// caller can tell when an encapsulation it does not understand hides most
// of the traffic (see Warning).
type Stats struct {
	Frames uint64 // calls to Decode

	// ByKind counts packets returned (true, nil), indexed by Kind.
	ByKind [KindARP + 1]uint64

	// Tunnels counts encapsulations unwrapped, indexed by Tunnel.
	Tunnels [NumTunnels]uint64

	// NotIP counts frames skipped because their ethertype (after any VLAN
	// tags) is neither IPv4, IPv6 nor ARP. EtherTypes breaks the first
	// few distinct values down, largest count first; OtherEtherTypes counts
	// the frames whose ethertype did not fit in that table. EtherType 0
	// stands for 802.3 frames (a length where the ethertype would be).
	NotIP           uint64
	EtherTypes      []EtherTypeCount
	OtherEtherTypes uint64

	// UnknownFamily counts BSD loopback (NULL/LOOP) frames whose address
	// family is neither AF_INET nor AF_INET6.
	UnknownFamily uint64
	// UnsupportedLink counts frames of a link type Decode does not know;
	// LastUnsupportedLink is the last such type.
	UnsupportedLink     uint64
	LastUnsupportedLink linktype.LinkType

	// Errors counts decode errors by the Layer that failed.
	Errors [NumLayers]uint64

	Frag FragStats
}

// FragStats describes IP fragment handling.
type FragStats struct {
	Fragments   uint64 // IP fragments seen (v4 and v6)
	Datagrams   uint64 // fragmented datagrams started (table entries created)
	Reassembled uint64 // datagrams whose transport header was completed and emitted
	Ignored     uint64 // fragments of datagrams already emitted
	Evicted     uint64 // entries dropped because the table was full (oldest first)
	Expired     uint64 // incomplete datagrams dropped after FragTimeout of packet time
	Held        int    // entries in the table now
}

// EtherTypeCount is one row of Stats.EtherTypes.
type EtherTypeCount struct {
	EtherType uint16
	Count     uint64
}

// Decoded is the number of frames that produced a packet.
func (s Stats) Decoded() uint64 {
	var n uint64
	for _, c := range s.ByKind {
		n += c
	}
	return n
}

// ErrorCount is the total of Errors.
func (s Stats) ErrorCount() uint64 {
	var n uint64
	for _, c := range s.Errors {
		n += c
	}
	return n
}

// Warning returns a one-line description of the largest group of frames
// that were not decoded (one unsupported ethertype, an unsupported link
// type, an unknown loopback family, or errors at one layer) when that group
// is at least minShare (0..1) of all frames, and "" otherwise. Example:
//
//	93% of frames (930 of 1000) had ethertype 0x88e5 that was not decoded
func (s Stats) Warning(minShare float64) string {
	if s.Frames == 0 {
		return ""
	}
	var (
		best uint64
		what string
	)
	if len(s.EtherTypes) > 0 && s.EtherTypes[0].Count > best {
		best = s.EtherTypes[0].Count
		what = fmt.Sprintf("had ethertype %#04x that was not decoded", s.EtherTypes[0].EtherType)
	}
	if s.UnsupportedLink > best {
		best = s.UnsupportedLink
		what = fmt.Sprintf("had unsupported link type %d", s.LastUnsupportedLink)
	}
	if s.UnknownFamily > best {
		best = s.UnknownFamily
		what = "had a loopback address family that is neither IPv4 nor IPv6"
	}
	for l, c := range s.Errors {
		if c > best {
			best = c
			what = fmt.Sprintf("failed to decode at layer %s", Layer(l))
		}
	}
	if best == 0 || float64(best) < minShare*float64(s.Frames) {
		return ""
	}
	return fmt.Sprintf("%.0f%% of frames (%d of %d) %s",
		100*float64(best)/float64(s.Frames), best, s.Frames, what)
}

// maxEtherTypes is how many distinct unsupported ethertypes are counted
// individually.
const maxEtherTypes = 16

type etherTypeTable struct {
	n     int
	rows  [maxEtherTypes]EtherTypeCount
	other uint64
}

func (t *etherTypeTable) add(et uint16) {
	for i := 0; i < t.n; i++ {
		if t.rows[i].EtherType == et {
			t.rows[i].Count++
			return
		}
	}
	if t.n < maxEtherTypes {
		t.rows[t.n] = EtherTypeCount{EtherType: et, Count: 1}
		t.n++
		return
	}
	t.other++
}

// Stats returns a snapshot of the counters. It allocates (the EtherTypes
// slice); call it for reporting, not per packet.
func (d *Decoder) Stats() Stats {
	s := d.st
	s.EtherTypes = slices.Clone(d.ets.rows[:d.ets.n])
	slices.SortStableFunc(s.EtherTypes, func(a, b EtherTypeCount) int {
		switch {
		case a.Count > b.Count:
			return -1
		case a.Count < b.Count:
			return 1
		}
		return 0
	})
	s.OtherEtherTypes = d.ets.other
	s.Frag.Held = len(d.frags.index)
	return s
}
