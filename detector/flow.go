package detector

import (
	"net/netip"
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

func less(a [16]byte, pa uint16, b [16]byte, pb uint16) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
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
	prev, next *flow // LRU list, most recent at head
	gen        uint32
	initIsA    bool
	state      flowState
	fam        family
	flags      uint8 // the first probe's tcp[13] (custom probes are named by it)
	probes     uint16
	first      int64 // packet time of the first probe, ns
	last       int64 // packet time of the last packet in either direction, ns
	isn, risn  uint32
	fp         synPrint
	dataSeen   bool // payload in either direction, seen or inferred from sequence numbers
	synAckSeen bool
	unreach    int8 // ICMP unreachable code + 1; 0 none
	outcome    outcome
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

// flowTable is a bounded map of flows with LRU eviction and a free list,
// so a steady stream of new flows does not churn the garbage collector.
type flowTable struct {
	m          map[flowKey]*flow
	head, tail *flow
	free       []*flow
	max        int
	evicted    uint64
}

func newFlowTable(max int) *flowTable {
	return &flowTable{m: make(map[flowKey]*flow, min(max, 1<<16)), max: max}
}

func (t *flowTable) get(k flowKey) *flow { return t.m[k] }

// touch moves f to the head of the LRU list.
func (t *flowTable) touch(f *flow) {
	if t.head == f {
		return
	}
	t.unlink(f)
	t.pushFront(f)
}

func (t *flowTable) unlink(f *flow) {
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		t.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		t.tail = f.prev
	}
	f.prev, f.next = nil, nil
}

func (t *flowTable) pushFront(f *flow) {
	f.next = t.head
	if t.head != nil {
		t.head.prev = f
	}
	t.head = f
	if t.tail == nil {
		t.tail = f
	}
}

// insert adds a new flow for k. When the table is full, onEvict is called
// with the least recently used flow before it is dropped.
func (t *flowTable) insert(k flowKey, onEvict func(*flow)) *flow {
	if len(t.m) >= t.max && t.tail != nil {
		old := t.tail
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
	f.key = k
	t.m[k] = f
	t.pushFront(f)
	return f
}

func (t *flowTable) remove(f *flow) {
	t.unlink(f)
	delete(t.m, f.key)
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
