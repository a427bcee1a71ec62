package capture

import (
	"encoding/binary"
	"fmt"
	"time"
)

// A file's clock. Packets of one capture file follow one another in time;
// a packet dated further than Opener.MaxJump from the packet before it is a
// clock jump. It is reported (a *ClockJump to Opener.Warn) and judged by the
// packet after it, as the file's timeline must run forward:
//
//   - Ahead, and the next packet does not come back before it: time passed
//     (a quiet link, a slow scan, a paused capture; or the clock was set
//     forward, which looks the same). The file reads on from it.
//   - Back, and the next packet follows it, still behind the packet before:
//     the clock was set back, or two captures were glued into one file. The
//     file reads on from it, as a new timeline.
//   - Otherwise it is an outlier (a flipped bit, a bad clock for one frame):
//     it is read at the time of the packet before it, so that one frame
//     dated ten years ahead cannot date every later alert in the future.
//     Its contents still count; only its time is not believed. (A file's
//     first packet is an outlier when the second comes before it: it is
//     read at the second's time.)
//
// The check costs one subtraction and one comparison per packet; the look
// ahead happens only at a jump.

// clockOff is fileClock.max when jumps are not checked: 146 years.
const clockOff = 1 << 62

// fileClock is the timeline of one file.
type fileClock struct {
	max  int64 // the largest step between two packets that is not a jump (ns)
	last int64 // UnixNano of the last packet on the timeline; -clockOff before the first
}

// off stops checking: every time is on time.
func (c *fileClock) off() { *c = fileClock{max: clockOff} }

// check makes every step larger than max a jump.
func (c *fileClock) check(max time.Duration) {
	if max <= 0 || max >= clockOff {
		c.off()
		return
	}
	// The first packet is judged too (against the second): no step from
	// last can be small enough.
	*c = fileClock{max: int64(max), last: -clockOff}
}

// onTime reports whether t is within max of the last packet, and if so
// moves the timeline to it. It makes no calls, for the hot path.
func (c *fileClock) onTime(t time.Time) bool {
	return c.onTimeNano(t.UnixNano())
}

// onTimeNano is onTime of a time in ns since 1970.
func (c *fileClock) onTimeNano(ns int64) bool {
	if d := ns - c.last; uint64(d+c.max) <= uint64(2*c.max) {
		c.last = ns
		return true
	}
	return false
}

// A ClockJump is a packet of a capture file dated further than
// Opener.MaxJump from the packet before it (see the file clock above).
type ClockJump struct {
	Path   string
	Packet uint64    // its number in the file, from 1
	Stamp  time.Time // the time the file gives it
	Prev   time.Time // the time of the packet before it; zero for a file's first packet
	Kind   JumpKind
	At     time.Time // the time it is read at: Stamp, or for an outlier the time around it
}

// JumpKind says how a clock jump was judged.
type JumpKind uint8

const (
	JumpAhead   JumpKind = iota + 1 // time passed: read on from it
	JumpBack                        // the clock went back: read on from it, a new timeline
	JumpOutlier                     // one wild time: read at the time around it
)

func (j *ClockJump) Error() string {
	switch j.Kind {
	case JumpOutlier:
		rel := "the packet before it"
		if j.Prev.IsZero() {
			rel = "the packet after it"
		}
		return fmt.Sprintf("%s: packet %d is dated %s, %s %s: read at %s",
			j.Path, j.Packet, stamp(j.Stamp), span(j.Stamp.Sub(j.At)), rel, stamp(j.At))
	case JumpBack:
		return fmt.Sprintf("%s: packet %d: the clock goes %s back, to %s: read on from there as a new timeline",
			j.Path, j.Packet, span(j.Prev.Sub(j.Stamp)).what, stamp(j.Stamp))
	}
	return fmt.Sprintf("%s: packet %d: no packet for %s before it (a pause, or the clock set forward): read on from %s",
		j.Path, j.Packet, span(j.Stamp.Sub(j.Prev)).what, stamp(j.Stamp))
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999999999Z") }

// spanText says how far apart two times are, for people.
type spanText struct{ what, dir string }

func (s spanText) String() string { return s.what + " " + s.dir }

func span(d time.Duration) spanText {
	dir := "after"
	if d < 0 {
		d, dir = -d, "before"
	}
	const day = 24 * time.Hour
	switch {
	case d >= 2*365*day:
		return spanText{fmt.Sprintf("%.1f years", d.Hours()/24/365.25), dir}
	case d >= 3*day:
		return spanText{fmt.Sprintf("%.1f days", d.Hours()/24), dir}
	}
	return spanText{d.Round(time.Millisecond).String(), dir}
}

// judge places a packet that onTime did not pass on the file's timeline,
// looking at the next packet's time (see above). It returns the packet with
// the time it is read at.
func (fr *fileReader) judge(p Packet) Packet {
	c := &fr.clock
	t := p.Time.UnixNano()
	if c.max == clockOff {
		c.last = t
		return p
	}
	j := ClockJump{Path: fr.path, Packet: fr.packets, Stamp: p.Time, At: p.Time}
	next, ok := fr.peekTime(&p)
	prev := c.last
	c.last = t
	switch {
	case prev == -clockOff:
		// A file's first packet: an outlier only if the second comes
		// before it.
		if !ok || next >= t-c.max {
			return p
		}
		j.Kind, c.last = JumpOutlier, next
	case t > prev:
		j.Prev = time.Unix(0, prev).UTC()
		j.Kind = JumpAhead
		if ok && next < t-c.max {
			j.Kind, c.last = JumpOutlier, prev
		}
	default:
		j.Prev = time.Unix(0, prev).UTC()
		j.Kind = JumpBack
		if !ok || next >= prev-c.max || next < t-c.max {
			j.Kind, c.last = JumpOutlier, prev
		}
	}
	if j.Kind == JumpOutlier {
		j.At = time.Unix(0, c.last).UTC()
		p.Time = j.At
	}
	fr.jumped(&j)
	return p
}

func (fr *fileReader) jumped(j *ClockJump) {
	fr.counts.jumps.Add(1)
	fr.warn(j)
}

// peekTime returns the time of the packet after p, if there is one, without
// consuming it. p.Data is copied when the look ahead could overwrite it
// (not in a mapped file, where it lies until the file is closed).
func (fr *fileReader) peekTime(p *Packet) (int64, bool) {
	if fr.isPcap && fr.mm != nil {
		if h := fr.mm[fr.pos:]; len(h) >= pcapHeaderLen {
			return fr.rec.recordTime(h), true
		}
		return 0, false
	}
	if fr.mm == nil {
		fr.side = append(fr.side[:0], p.Data...)
		p.Data = fr.side[:len(p.Data):len(p.Data)]
	}
	if fr.isPcap {
		h, _ := fr.br.Peek(pcapHeaderLen)
		if len(h) < pcapHeaderLen {
			return 0, false
		}
		return fr.rec.recordTime(h), true
	}
	// pcapng: blocks before the next packet set its interface and its
	// units, so it is read (and handed out by the next read).
	q, err := fr.readNgSafe()
	fr.ahead = aheadPacket{p: q, err: err, ok: true}
	if err != nil {
		return 0, false
	}
	return q.Time.UnixNano(), true
}

// recordTime is the time of the pcap record whose header is h.
func (r *pcapRecords) recordTime(h []byte) int64 {
	o := binary.ByteOrder(binary.LittleEndian)
	if r.bigEnd {
		o = binary.BigEndian
	}
	ns := int64(o.Uint32(h[4:]))
	if !r.nanos {
		ns *= 1000
	}
	return int64(o.Uint32(h))*1e9 + ns
}

// aheadPacket is what a look ahead read, handed out by the next read.
type aheadPacket struct {
	p   Packet
	err error
	ok  bool
}

// read returns the next packet of the file at the time it is read at (see
// judge), or io.EOF at its clean end.
func (fr *fileReader) read() (Packet, error) {
	var p Packet
	var err error
	if fr.ahead.ok {
		p, err = fr.ahead.p, fr.ahead.err
		fr.ahead = aheadPacket{}
	} else {
		p, err = fr.readRaw()
	}
	if err != nil {
		return p, err
	}
	if !fr.clock.onTime(p.Time) {
		p = fr.judge(p)
	}
	return p, nil
}
