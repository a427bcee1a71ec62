package detector

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"net/netip"

	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

// flowKey is a 5-tuple in canonical order, so both directions of a flow
// share one key. Addresses are 16-byte forms: hashing a fixed array is fast.
type flowKey struct {
	a, b   [16]byte
	pa, pb uint16
	proto  uint8
}

// makeKey returns the canonical key and whether (src, sport) is side a.
func makeKey(src, dst netip.Addr, sport, dport uint16, proto uint8) (flowKey, bool) {
	s, d := src.As16(), dst.As16()
	if less(s, sport, d, dport) {
		return flowKey{a: s, b: d, pa: sport, pb: dport, proto: proto}, true
	}
	return flowKey{a: d, b: s, pa: dport, pb: sport, proto: proto}, false
}

// equal compares two keys as machine words: the generated == on the
// struct calls memequal for the arrays, and this runs on every lookup.
func (k *flowKey) equal(o *flowKey) bool {
	le := binary.LittleEndian
	return le.Uint64(k.a[:8]) == le.Uint64(o.a[:8]) && le.Uint64(k.a[8:]) == le.Uint64(o.a[8:]) &&
		le.Uint64(k.b[:8]) == le.Uint64(o.b[:8]) && le.Uint64(k.b[8:]) == le.Uint64(o.b[8:]) &&
		k.pa == o.pa && k.pb == o.pb && k.proto == o.proto
}

// less orders (address, port) pairs; it runs on every packet, so it
// compares the addresses as two 64-bit words rather than byte by byte.
func less(a [16]byte, pa uint16, b [16]byte, pb uint16) bool {
	ah, bh := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])
	if ah != bh {
		return ah < bh
	}
	al, bl := binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:])
	if al != bl {
		return al < bl
	}
	return pa <= pb
}

// flowState is where a flow stands in the eyes of the classifier.
type flowState uint8

const (
	stPending  flowState = iota // a probe waits for the target's answer
	stSynAck                    // SYN answered by SYN-ACK; what does the scanner do next?
	stEstab                     // handshake completed by the scanner
	stResolved                  // outcome recorded; later packets only refine it
	stBenign                    // ordinary traffic: never a probe
)

// flow follows one 5-tuple: who initiated it, how far the handshake got,
// whether any data moved. The initiator is the would-be scanner.
type flow struct {
	key        flowKey
	hash       uint64 // of key, computed once (flowTable.hash)
	link[flow]        // LRU list of the flow table
	gen        uint32
	initIsA    bool
	state      flowState
	tech       technique.Technique
	flags      tcpflags.Flags // the first probe's tcp[13] (custom probes are named by it)
	probes     uint16

	// Set by the technique files (probekind.go, appscan.go, idle.go,
	// ftp.go); they fill the padding before first: a flow is 136 bytes.
	kind      ProbeKind // what the first probe carried (SCTP chunk; idle and FTP marks)
	banner    bool      // the responder sent data before the initiator did
	ownStack  bool      // a crafted SYN whose handshake the initiator completed
	afterSYN  bool      // a connection to a port the initiator had SYN-scanned
	srvClosed closedAt  // when the responder closed (FIN or RST) after the handshake

	first      int64  // packet time of the first probe, ns
	last       int64  // packet time of the last packet in either direction, ns
	touched    int64  // packet time of the last move to the LRU head
	isn, risn  uint32 // initiator's and responder's initial sequence numbers
	ack        uint32 // the first probe's acknowledgment number
	fp         Print
	dataSeen   bool // payload from the initiator: a real client
	synAckSeen bool
	outcome    Outcome
	kept       bool // a sweep judged it and kept it in place (see sweepFlows)
}

func (f *flow) initiator() (netip.Addr, uint16) {
	if f.initIsA {
		return addrFrom16(f.key.a), f.key.pa
	}
	return addrFrom16(f.key.b), f.key.pb
}

func (f *flow) responder() (netip.Addr, uint16) {
	if f.initIsA {
		return addrFrom16(f.key.b), f.key.pb
	}
	return addrFrom16(f.key.a), f.key.pa
}

func addrFrom16(b [16]byte) netip.Addr { return netip.AddrFrom16(b).Unmap() }

// flowTable is a bounded hash table of flows with LRU eviction and a free
// list, so a steady stream of new flows does not churn the garbage
// collector. It is looked up on every packet: open addressing with linear
// probing and a multiplicative hash of the 5-tuple cost a fraction of a
// general map's hashing of the 40-byte key. Each slot keeps its flow's
// hash beside the pointer, so a probe past other flows, and moving flows
// when the table grows or shrinks a run, reads no flow.
type flowTable struct {
	slots   []slot
	mask    uint64
	n       int
	list    lru[flow, *flow]
	free    []*flow
	secret  [7]uint64
	max     int
	evicted uint64
	sweep   sweepState // resolve.go
}

// slot is one entry of the open-addressing table: a flow and its hash.
type slot struct {
	hash uint64
	f    *flow
}

// flowCap is the flow table's cap: the rules' count cap, or what the
// flow table's share of the memory budget holds, whichever is smaller.
func flowCap(r *rules.Rules) int { return max(1, min(r.State.MaxFlows, limitsOf(r).flows)) }

func newFlowTable(max int) *flowTable {
	size := 1 << 12
	for size < 2*min(max, 1<<16) {
		size <<= 1
	}
	t := &flowTable{slots: make([]slot, size), mask: uint64(size - 1), max: max}
	for i := range t.secret {
		t.secret[i] = rand.Uint64() | 1
	}
	return t
}

// hash mixes the key with the table's random secrets: each step folds a
// 128-bit product (every input bit reaches every output bit), and secrets
// drawn at start make collisions impossible to craft from outside, so a
// scan cannot be shaped to slow the sensor down.
func (t *flowTable) hash(k *flowKey) uint64 {
	le, s := binary.LittleEndian, &t.secret
	h := fold(le.Uint64(k.a[:8])^s[0], le.Uint64(k.a[8:])^s[1]) ^
		fold(le.Uint64(k.b[:8])^s[2], le.Uint64(k.b[8:])^s[3]) ^
		fold(uint64(k.pa)<<24|uint64(k.pb)<<8|uint64(k.proto)^s[4], s[5])
	return fold(h, s[6])
}

func fold(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func (t *flowTable) len() int { return t.n }

func (t *flowTable) get(k flowKey) *flow {
	h := t.hash(&k)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.f == nil || s.hash == h && s.f.key.equal(&k) {
			return s.f
		}
	}
}

func (t *flowTable) place(s slot) {
	i := s.hash & t.mask
	for t.slots[i].f != nil {
		i = (i + 1) & t.mask
	}
	t.slots[i] = s
}

// grow doubles the table when it is half full, up to twice the flow cap.
func (t *flowTable) grow() {
	old := t.slots
	t.slots = make([]slot, 2*len(old))
	t.mask = uint64(len(t.slots) - 1)
	for _, s := range old {
		if s.f != nil {
			t.place(s)
		}
	}
}

// unplace removes f's slot, shifting later entries of its probe run back so
// that lookups never stop early at a hole.
func (t *flowTable) unplace(f *flow) {
	i := f.hash & t.mask
	for t.slots[i].f != f {
		i = (i + 1) & t.mask
	}
	for j := (i + 1) & t.mask; t.slots[j].f != nil; j = (j + 1) & t.mask {
		ideal := t.slots[j].hash & t.mask
		// Move slots[j] into the hole at i unless its ideal slot lies in (i, j].
		if (j > i && (ideal <= i || ideal > j)) || (j < i && ideal <= i && ideal > j) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = slot{}
}

func (f *flow) links() *link[flow] { return &f.link }

func (t *flowTable) touch(f *flow) {
	if f.kept {
		t.leaveRun(f)
	}
	t.list.touch(f)
}

// leaveRun takes f, about to move or go, out of the sweep's kept run (see
// sweepFlows): the rest of the run stays what it was.
func (t *flowTable) leaveRun(f *flow) {
	if t.sweep.top == f {
		t.sweep.top = f.link.next // the next older flow, in the run too
	}
	f.kept = false
}

// oldest is the least recently used flow, or nil; older the one before f.
func (t *flowTable) oldest() *flow       { return t.list.tail }
func (t *flowTable) older(f *flow) *flow { return t.list.older(f) }

// insert adds a new flow for k. When the table is full, onEvict is called
// with the least recently used flow before it is dropped.
func (t *flowTable) insert(k flowKey, onEvict func(*flow)) *flow {
	if old := t.list.tail; t.n >= t.max && old != nil {
		onEvict(old)
		t.remove(old)
		t.evicted++
	}
	var f *flow
	if n := len(t.free); n > 0 {
		f = t.free[n-1]
		t.free = t.free[:n-1]
		gen := f.gen + 1
		*f = flow{gen: gen}
	} else {
		f = &flow{}
	}
	f.key, f.hash = k, t.hash(&k)
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	t.place(slot{f.hash, f})
	t.n++
	t.list.pushFront(f)
	return f
}

func (t *flowTable) remove(f *flow) {
	if f.kept {
		t.leaveRun(f)
	}
	t.list.unlink(f)
	t.unplace(f)
	t.n--
	f.gen++
	if len(t.free) < 4096 {
		t.free = append(t.free, f)
	}
}

// pendingRef points at a flow that waits for a reply; gen detects reuse.
type pendingRef struct {
	f        *flow
	gen      uint32
	deadline int64
}
