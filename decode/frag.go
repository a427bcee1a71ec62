package decode

import (
	"math/bits"
	"net/netip"
	"slices"
)

// fragBufSize is how many bytes of a fragmented datagram's transport are
// kept: enough for the largest header Decode reads (an ICMPv4 error with a
// 60-byte quoted IP header and 8 bytes of its transport is 76).
const fragBufSize = 128

// fragEntryBytes is the memory of one entry of the fragment table: the
// entry (240 B, unsafe.Sizeof) in its slice, which grows to the cap and no
// further, its index map entry (a 56-byte key and an int32; up to twice
// that while the map doubles: 170 B) and its free-list slot.
// TestFragmentEntryBytes holds it to a heap measurement.
const fragEntryBytes = 240 + 170 + 4

// FragmentsFor returns how many datagrams a fragment table of budget bytes
// holds (at least 16), and at most max when max > 0: the decoder's share
// of the memory budget, rules.MemoryFor(rules.FragmentTable), with the
// rules' count cap state.max_fragments. Pass it to NewDecoder.
func FragmentsFor(budget int64, max int) int {
	n := int(min(budget/fragEntryBytes, 1<<30))
	if max > 0 {
		n = min(n, max)
	}
	return clampLow(n, 16)
}

func clampLow(v, lo int) int {
	if v < lo {
		return lo
	}
	return v
}

// fragKey identifies a fragmented datagram (RFC 791 / RFC 8200).
type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
}

// fragEntry is one datagram being reassembled. Its buffer is inline and
// entries are recycled through a free list, so steady state allocates
// nothing.
type fragEntry struct {
	key     fragKey
	first   int64 // packet time of the first fragment, unix nanoseconds
	total   int   // transport length, from the last fragment; -1 until seen
	maxEnd  int   // end of the furthest fragment seen
	ttl     uint8
	haveTTL bool // ttl came from the offset-0 fragment
	done    bool // emitted: ignore later fragments
	have    [fragBufSize / 64]uint64
	buf     [fragBufSize]byte

	prev, next int32 // age order (oldest at head); -1 ends
}

// fragTable is a bounded table of datagrams in arrival order of their
// first fragment. When full, the oldest entry is evicted.
type fragTable struct {
	max        int
	index      map[fragKey]int32
	ents       []fragEntry // grows to max, then entries are recycled
	free       []int32
	head, tail int32
}

func (t *fragTable) init(max int) {
	t.max = max
	t.index = make(map[fragKey]int32, min(max, 256))
	t.head, t.tail = -1, -1
}

func (t *fragTable) unlink(i int32) {
	e := &t.ents[i]
	if e.prev >= 0 {
		t.ents[e.prev].next = e.next
	} else {
		t.head = e.next
	}
	if e.next >= 0 {
		t.ents[e.next].prev = e.prev
	} else {
		t.tail = e.prev
	}
}

func (t *fragTable) remove(i int32) {
	t.unlink(i)
	delete(t.index, t.ents[i].key)
	t.free = append(t.free, i)
}

// alloc returns a reset entry at the tail, evicting the oldest if full.
func (t *fragTable) alloc(st *FragStats) int32 {
	var i int32
	switch {
	case len(t.free) > 0:
		i = t.free[len(t.free)-1]
		t.free = t.free[:len(t.free)-1]
	case len(t.ents) < t.max:
		if len(t.ents) == cap(t.ents) {
			// Grow by doubling, but never past max: the table's memory is
			// at most max entries.
			t.ents = slices.Grow(t.ents, min(max(len(t.ents), 16), t.max-len(t.ents)))
		}
		t.ents = append(t.ents, fragEntry{})
		i = int32(len(t.ents) - 1)
	default:
		i = t.head
		t.unlink(i)
		delete(t.index, t.ents[i].key)
		st.Evicted++
	}
	e := &t.ents[i]
	e.total, e.maxEnd = -1, 0
	e.ttl, e.haveTTL, e.done = 0, false, false
	e.have = [fragBufSize / 64]uint64{}
	e.prev, e.next = t.tail, -1
	if t.tail >= 0 {
		t.ents[t.tail].next = i
	} else {
		t.head = i
	}
	t.tail = i
	return i
}

// expire drops entries whose first fragment is older than FragTimeout.
func (t *fragTable) expire(now int64, st *FragStats) {
	for t.head >= 0 {
		e := &t.ents[t.head]
		if now-e.first <= int64(FragTimeout) {
			return
		}
		if !e.done {
			st.Expired++
		}
		t.remove(t.head)
	}
}

// put copies the captured fragment bytes b at offset off into the buffer.
// The first copy of a byte wins over overlapping later fragments.
func (e *fragEntry) put(off int, b []byte) {
	if off >= fragBufSize {
		return
	}
	b = b[:min(len(b), fragBufSize-off)]
	for i, c := range b {
		j := off + i
		w, m := j>>6, uint64(1)<<(j&63)
		if e.have[w]&m == 0 {
			e.have[w] |= m
			e.buf[j] = c
		}
	}
}

// contig is the number of bytes present without a gap from offset 0.
func (e *fragEntry) contig() int {
	n := 0
	for _, w := range e.have {
		if w == ^uint64(0) {
			n += 64
			continue
		}
		return n + bits.TrailingZeros64(^w)
	}
	return n
}

// transportNeed is how many bytes from the start of a datagram's transport
// (b holds the contiguous ones) are needed to decode its header: IPv6
// extension headers that follow the fragment header, then TCP with its
// options, UDP 8, SCTP common header + first chunk header 16, ICMP 8 plus,
// for errors, the quoted IP header and 8 bytes of its transport. Other
// protocols need nothing. It may exceed fragBufSize; the caller caps it.
func transportNeed(proto uint8, b []byte, v6 bool) int {
	off := 0
	if v6 {
		for range maxExt {
			if !isIPv6Ext(proto) {
				break
			}
			if len(b) < off+2 {
				return off + 8
			}
			n := extLen(proto, b[off:])
			proto = b[off]
			off += n
		}
	}
	switch proto {
	case protoTCP:
		if len(b) < off+13 {
			return off + 20
		}
		return off + max(20, int(b[off+12]>>4)*4)
	case protoUDP:
		return off + 8
	case protoSCTP:
		return off + 16
	case protoICMP:
		if v6 {
			return 0
		}
		if len(b) < off+1 {
			return off + 8
		}
		if !isICMPError(false, b[off]) {
			return off + 8
		}
		if len(b) < off+9 {
			return off + 8 + 20 + 8
		}
		return off + 8 + max(20, int(b[off+8]&0x0f)*4) + 8
	case protoICMPv6:
		if !v6 {
			return 0
		}
		if len(b) < off+1 || !isICMPError(true, b[off]) {
			return off + 8
		}
		return off + 8 + 40 + 8
	}
	return 0
}

// fragment handles one IP fragment. p holds the IP fields; b is the
// fragment's captured data at byte offset off of the transport; flen is
// its length as the IP header states it; last is false while more
// fragments follow; hdrLen is the length of the IP header(s) before it.
// When the fragments seen so far cover the transport header from offset 0
// it decodes that into p (Fragment set) and returns true, once per
// datagram; otherwise it returns false.
func (d *Decoder) fragment(p *Packet, b []byte, off int, last bool, flen int, hdrLen int) (bool, error) {
	fs := &d.st.Frag
	fs.Fragments++
	if flen < 0 {
		return d.fail(LayerFragment, ErrMalformed, "IP length %d < headers %d", 2, flen+hdrLen, hdrLen)
	}
	t := &d.frags
	now := p.Time.UnixNano()
	t.expire(now, fs)
	key := fragKey{src: p.Src, dst: p.Dst, id: p.IPID, proto: p.Proto}
	i, ok := t.index[key]
	if !ok {
		i = t.alloc(fs)
		t.index[key] = i
		e := &t.ents[i]
		e.key = key
		e.first = now
		fs.Datagrams++
	}
	e := &t.ents[i]
	if e.done {
		fs.Ignored++
		return false, nil
	}
	end := off + flen
	if last && e.total < 0 {
		e.total = end
	}
	e.maxEnd = max(e.maxEnd, end)
	if off == 0 {
		e.ttl, e.haveTTL = p.TTL, true
	}
	e.put(off, b[:min(len(b), flen)])

	n := e.contig()
	tl := e.total
	if tl < 0 {
		tl = e.maxEnd
	}
	n = min(n, tl)
	need := min(transportNeed(p.Proto, e.buf[:n], p.IPv6), fragBufSize)
	if n < need && !(e.total >= 0 && n >= e.total) {
		return false, nil
	}
	e.done = true
	fs.Reassembled++
	p.Fragment = true
	p.IPLen = hdrLen + tl
	if e.haveTTL {
		p.TTL = e.ttl
	}
	return d.reassembled(p, e.buf[:n], tl)
}

// reassembled decodes the transport of a reassembled datagram: for IPv6,
// first the extension headers that came after the fragment header.
func (d *Decoder) reassembled(p *Packet, b []byte, tl int) (bool, error) {
	if p.IPv6 {
		off := 0
		for range maxExt {
			if !isIPv6Ext(p.Proto) {
				break
			}
			if len(b) < off+2 {
				return d.truncated(LayerFragment, len(b), off+2)
			}
			n := extLen(p.Proto, b[off:])
			p.Proto = b[off]
			off += n
		}
		if off > len(b) {
			return d.truncated(LayerFragment, len(b), off)
		}
		b, tl = b[off:], tl-off
	}
	return d.transport(p, b, tl)
}
