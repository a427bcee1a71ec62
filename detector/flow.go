package detector

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"os"
	"unsafe"

	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

// flowKey is a 5-tuple in canonical order, so both directions of a flow
// share one key. Addresses are held as two 64-bit words each (ip128), and
// the ports and protocol share a fifth word (ports): the ordering, the
// comparison and the hash of every packet work on five words, and the key
// has no padding to compare or hash.
type flowKey struct {
	a, b  ip128
	ports uint64 // pa<<24 | pb<<8 | proto
}

func (k *flowKey) pa() uint16   { return uint16(k.ports >> 24) }
func (k *flowKey) pb() uint16   { return uint16(k.ports >> 8) }
func (k *flowKey) proto() uint8 { return uint8(k.ports) }

// ip128 is an address in its 16-byte form (IPv4 mapped into IPv6), as two
// words read in the machine's byte order. Their order is not the
// addresses' order, but any total order serves to pick a canonical side.
type ip128 struct{ hi, lo uint64 }

// ip128Of reads As16's bytes as words: for an IPv4 address they are 10
// zeros, 0xFFFF and the address, taken from As4; for an IPv6 address the
// 16 bytes AsSlice writes; for the zero Addr all zeros. As16 itself is not
// used: its 16 bytes are written as two words and read back as one 16-byte
// copy, which the store buffer cannot forward (about 8 ns a call, two per
// packet); AsSlice, inlined, keeps them on the stack, read as written
// (TestIP128Of holds it to no allocation).
func ip128Of(a netip.Addr) ip128 {
	switch {
	case a.Is4():
		b := a.As4()
		return ip128{0, 0xFFFF<<16 | uint64(binary.LittleEndian.Uint32(b[:]))<<32}
	case a.Is6():
		b := a.AsSlice()
		return ip128{binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:16])}
	}
	return ip128{}
}

// as16 is the address's 16-byte form (AddrFrom16 of it is an IPv6 address).
func (x ip128) as16() [16]byte {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], x.hi)
	binary.LittleEndian.PutUint64(b[8:], x.lo)
	return b
}

// makeKey returns the canonical key and whether (src, sport) is side a.
func makeKey(src, dst netip.Addr, sport, dport uint16, proto uint8) (flowKey, bool) {
	var k flowKey
	srcIsA := k.set(ip128Of(src), ip128Of(dst), sport, dport, proto)
	return k, srcIsA
}

// set makes k the canonical key of the 5-tuple and reports whether (s,
// sport) is side a. Which side comes first is a coin toss per packet, so
// the swap is written for conditional moves rather than a branch.
func (k *flowKey) set(s, d ip128, sport, dport uint16, proto uint8) bool {
	srcIsA := less(s, sport, d, dport)
	a, b, pa, pb := s, d, sport, dport
	if !srcIsA {
		a, b, pa, pb = d, s, dport, sport
	}
	k.a, k.b, k.ports = a, b, uint64(pa)<<24|uint64(pb)<<8|uint64(proto)
	return srcIsA
}

// equal compares two keys word by word: the generated == would compare
// the struct with memequal, and this runs on every lookup.
func (k *flowKey) equal(o *flowKey) bool {
	return k.a == o.a && k.b == o.b && k.ports == o.ports
}

// less orders (address, port) pairs by the address's words, then the port
// (so that a host talking to itself has one key per pair of ports).
func less(a ip128, pa uint16, b ip128, pb uint16) bool {
	if a.hi != b.hi {
		return a.hi < b.hi
	}
	if a.lo != b.lo {
		return a.lo < b.lo
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
	// stCredit: a connection to an address the rules do not protect
	// (outside the home networks, or an allowed target or port): never a
	// probe, but once its initiator sends a request it credits the
	// initiator's sequential test as any answered first contact does, so
	// that a client's traffic to the outside still tells it from a scanner.
	stCredit
)

// flow follows one 5-tuple: who initiated it, how far the handshake got,
// whether any data moved. The initiator is the would-be scanner.
//
// A flow is 128 bytes, held in a slab (flowslab.go) at a 128-byte
// boundary: the first 64 bytes are what a packet of a known flow reads and
// writes (the key it is compared by, its state, the last packet's time),
// so a packet of an ordinary flow touches one cache line of it. It holds
// no pointer, so the garbage collector never scans the slab; its LRU links
// live beside it in the slab.
type flow struct {
	key     flowKey
	state   flowState
	initIsA bool
	kind    ProbeKind // what the first probe carried (SCTP chunk; idle and FTP marks)
	kept    bool      // a sweep judged it and kept it in place (see sweepFlows)
	tech    technique.Technique
	flags   tcpflags.Flags // the first probe's tcp[13] (custom probes are named by it)
	// Set by the technique files (appscan.go), read by packets of an
	// established connection.
	banner   bool  // the responder sent data before the initiator did
	dataSeen bool  // payload from the initiator: a real client
	last     int64 // packet time of the last packet in either direction, ns
	touched  int64 // packet time of the last move to the LRU head

	id        flowID // its place in the slab
	gen       uint32 // counts the flows that held its place (pendingRef)
	first     int64  // packet time of the first probe, ns
	isn, risn uint32 // initiator's and responder's initial sequence numbers
	ack       uint32 // the first probe's acknowledgment number
	probes    uint16
	srvClosed closedAt // when the responder closed (FIN or RST) after the handshake
	fp        Print

	// Set by the technique files (probekind.go, appscan.go, idle.go, ftp.go).
	ownStack   bool // a crafted SYN whose handshake the initiator completed
	afterSYN   bool // a connection to a port the initiator had SYN-scanned
	synAckSeen bool
	outcome    Outcome
	qpos       uint32 // its reference's place in the queue of waiting probes (resolve.go)
}

func (f *flow) initiator() (netip.Addr, uint16) {
	if f.initIsA {
		return addrOf128(f.key.a), f.key.pa()
	}
	return addrOf128(f.key.b), f.key.pb()
}

func (f *flow) responder() (netip.Addr, uint16) {
	if f.initIsA {
		return addrOf128(f.key.b), f.key.pb()
	}
	return addrOf128(f.key.a), f.key.pa()
}

func addrOf128(x ip128) netip.Addr { return netip.AddrFrom16(x.as16()).Unmap() }

// flowTable is a bounded hash table of flows with LRU eviction. It is
// looked up on every packet: open addressing with linear probing and a
// multiplicative hash of the 5-tuple cost a fraction of a general map's
// hashing of the key. A slot is 8 bytes, the low half of its flow's hash
// and the flow's place in the slab, so a probe past other flows, and
// moving flows when the table grows or shrinks a run, reads no flow, and
// eight slots share a cache line. Flows live in a slab of pointer-free
// chunks (flowslab.go): a steady stream of new flows reuses their places
// and gives the garbage collector nothing to allocate or scan.
type flowTable struct {
	slots   []slot
	mask    uint64
	n       int
	slab    flowSlab
	max     int
	evicted uint64
	sweep   sweepState // resolve.go
}

// slot is one entry of the open-addressing table: the low 32 bits of a
// flow's hash and its id; id 0 is an empty slot. The table never holds
// more than 2^31 slots, so the ideal place of a slot is in its hash bits.
type slot struct {
	hash uint32
	id   flowID
}

// flowCap is the flow table's cap: the rules' count cap, or what the
// flow table's share of the memory budget holds, whichever is smaller.
func flowCap(r *rules.Rules) int { return max(1, min(r.State.MaxFlows, limitsOf(r).flows)) }

func newFlowTable(max int) *flowTable {
	size := 1 << 12
	for size < 2*min(max, 1<<16) {
		size <<= 1
	}
	return &flowTable{slots: writable(make([]slot, size)), mask: uint64(size - 1), max: max}
}

// flowSecret is the flow hash's key, drawn once a process: every table
// shares it, so that a packet's key and hash (Key) can be computed on
// another goroutine, before the detector that uses them exists.
var flowSecret = func() (s [6]uint64) {
	for i := range s {
		s[i] = rand.Uint64() | 1
	}
	return s
}()

// hash mixes the key with the process's random secret: each step folds a
// 128-bit product (every input bit reaches every output bit), and a secret
// drawn at start makes collisions impossible to craft from outside, so a
// scan cannot be shaped to slow the sensor down.
func (k *flowKey) hash() uint64 {
	s := &flowSecret
	return fold(k.a.hi^s[0], k.a.lo^s[1]) ^ fold(k.b.hi^s[2], k.b.lo^s[3]) ^ fold(k.ports^s[4], s[5])
}

func (t *flowTable) hash(k *flowKey) uint64 { return k.hash() }

func fold(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func (t *flowTable) len() int { return t.n }

func (t *flowTable) get(k flowKey) *flow {
	f, _ := t.lookup(&k)
	return f
}

// lookup returns k's flow, or nil, and k's hash for insertHashed: a packet
// of a new flow hashes its key once.
func (t *flowTable) lookup(k *flowKey) (*flow, uint64) {
	h := t.hash(k)
	return t.lookupHashed(k, h), h
}

// lookupHashed is lookup of a key whose hash h is known.
func (t *flowTable) lookupHashed(k *flowKey, h uint64) *flow {
	tag := uint32(h)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := t.slots[i]
		if s.id == 0 {
			return nil
		}
		if s.hash == tag {
			if f := t.slab.at(s.id); f.key.equal(k) {
				return f
			}
		}
	}
}

func (t *flowTable) place(s slot) {
	i := uint64(s.hash) & t.mask
	for t.slots[i].id != 0 {
		i = (i + 1) & t.mask
	}
	t.slots[i] = s
}

// grow doubles the table when it is half full, up to twice the flow cap.
func (t *flowTable) grow() {
	old := t.slots
	t.slots = writable(make([]slot, 2*len(old)))
	t.mask = uint64(len(t.slots) - 1)
	for _, s := range old {
		if s.id != 0 {
			t.place(s)
		}
	}
}

// writable writes into every page of a new slot array: a lookup that
// misses reads slots no flow was ever placed in, and a read of a page the
// kernel never mapped maps its shared zero page, which the first insert
// there must replace (a copy-on-write fault and a TLB flush on every core
// the process runs on). Written first, each page faults once, for good.
func writable(s []slot) []slot {
	perPage := max(1, os.Getpagesize()/int(unsafe.Sizeof(slot{})))
	for i := 0; i < len(s); i += perPage {
		s[i] = slot{}
	}
	return s
}

// unplace removes f's slot, shifting later entries of its probe run back so
// that lookups never stop early at a hole.
func (t *flowTable) unplace(f *flow) {
	i := t.hash(&f.key) & t.mask
	for t.slots[i].id != f.id {
		i = (i + 1) & t.mask
	}
	for j := (i + 1) & t.mask; t.slots[j].id != 0; j = (j + 1) & t.mask {
		ideal := uint64(t.slots[j].hash) & t.mask
		// Move slots[j] into the hole at i unless its ideal slot lies in (i, j].
		if (j > i && (ideal <= i || ideal > j)) || (j < i && ideal <= i && ideal > j) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = slot{}
}

func (t *flowTable) touch(f *flow) {
	if f.kept {
		t.leaveRun(f)
	}
	t.slab.toFront(f.id)
}

// leaveRun takes f, about to move or go, out of the sweep's kept run (see
// sweepFlows): the rest of the run stays what it was.
func (t *flowTable) leaveRun(f *flow) {
	if t.sweep.top == f.id {
		t.sweep.top = t.slab.older(f.id) // the next older flow, in the run too
	}
	f.kept = false
}

// oldest is the least recently used flow, or nil; newer the one used just
// after f (nil for the most recent).
func (t *flowTable) oldest() *flow       { return t.slab.flow(t.slab.tail) }
func (t *flowTable) newer(f *flow) *flow { return t.slab.flow(t.slab.newer(f.id)) }

// insert adds a new flow for k. When the table is full, onEvict is called
// with the least recently used flow before it is dropped.
func (t *flowTable) insert(k flowKey, onEvict func(*flow)) *flow {
	return t.insertHashed(k, t.hash(&k), onEvict)
}

// insertHashed is insert of a key whose hash lookup returned.
func (t *flowTable) insertHashed(k flowKey, h uint64, onEvict func(*flow)) *flow {
	if old := t.slab.tail; t.n >= t.max && old != 0 {
		f := t.slab.at(old)
		onEvict(f)
		t.remove(f)
		t.evicted++
	}
	f := t.slab.alloc()
	f.key = k
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	t.place(slot{uint32(h), f.id})
	t.n++
	return f
}

// remove drops f; its place in the slab is reused by a later flow, with a
// new generation.
func (t *flowTable) remove(f *flow) {
	if f.kept {
		t.leaveRun(f)
	}
	t.unplace(f)
	t.slab.release(f.id)
	t.n--
}

// pendingRef points at a flow that waits for a reply; gen detects reuse.
type pendingRef struct {
	id       flowID
	gen      uint32
	deadline int64
}

// ref is a reference to f as it is now, until deadline.
func (t *flowTable) ref(f *flow, deadline int64) pendingRef {
	return pendingRef{f.id, f.gen, deadline}
}

// deref is the flow r points at, or nil when that flow has gone since.
func (t *flowTable) deref(r pendingRef) *flow {
	if r.id == 0 {
		return nil // spent (see unqueue)
	}
	if f := t.slab.at(r.id); f.gen == r.gen {
		return f
	}
	return nil
}
