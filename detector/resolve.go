// Resolution: a probe waits for its answer until the reply timeout; its
// outcome (or the flow's eviction) turns it into a first contact.

package detector

import (
	"math"
	"time"

	"github.com/scanwatch/scanwatch/technique"
)

// enqueue adds f to the queue of probes waiting for an answer, in deadline
// order. The queue keeps a reference to every probe until its deadline,
// also when the flow table evicted (and resolved) it first; under a flood
// faster than the reply timeout those stale references would outgrow the
// table, so at twice the flow cap they are dropped. The probes still
// waiting are at most the flow cap.
//
// A flow knows its reference's place (qpos, counted from pendBase, the
// place of pending[0]), so that when it stops waiting (unqueue) its
// reference is marked spent: the walk at the deadline, most often long
// after the flow's lines left the cache, then skips it without reading
// the flow.
func (d *Detector) enqueue(f *flow) {
	if limit := 2 * d.flows.max; len(d.pending)-d.pendHead >= limit {
		d.pending = d.flows.compactRefs(d.pending, d.pendHead)
		d.pendHead = 0
		if cap(d.pending) > limit {
			d.pending = append(make([]pendingRef, 0, limit), d.pending...)
		}
		for i, r := range d.pending {
			d.flows.slab.at(r.id).qpos = d.pendBase + uint32(i)
		}
	}
	f.qpos = d.pendBase + uint32(len(d.pending))
	d.pending = append(d.pending, d.flows.ref(f, f.first+int64(d.r.Timeouts.Reply)))
	d.setPendDue()
}

// setPendDue notes when the queue's head is due: at its deadline plus the
// reply timeout (expirePending's cut is the time less the timeout), never
// when the queue is empty. It follows every change of the head and of the
// rules.
func (d *Detector) setPendDue() {
	d.pendDue = math.MaxInt64
	if d.pendHead < len(d.pending) {
		d.pendDue = d.pending[d.pendHead].deadline + int64(d.r.Timeouts.Reply)
	}
}

// unqueue marks f's reference in the queue spent, if it is there: f no
// longer waits for an answer (it resolved, or completed its handshake), and
// never waits again. A spent reference keeps its deadline, so the queue's
// order and its compaction stay what they were.
func (d *Detector) unqueue(f *flow) {
	if i := int(f.qpos - d.pendBase); i >= d.pendHead && i < len(d.pending) {
		if r := &d.pending[i]; r.id == f.id && r.gen == f.gen {
			r.id = 0
		}
	}
}

// compactRefs moves the references from refs[from:] whose flow still
// waits to the front of refs, in order, and returns them.
func (t *flowTable) compactRefs(refs []pendingRef, from int) []pendingRef {
	n := 0
	for _, r := range refs[from:] {
		if f := t.deref(r); f != nil && (f.state == stPending || f.state == stSynAck) {
			refs[n] = r
			n++
		}
	}
	clear(refs[n:])
	return refs[:n]
}

// expirePending resolves probes whose reply time ended before cut.
func (d *Detector) expirePending(cut int64) {
	for d.pendHead < len(d.pending) {
		r := d.pending[d.pendHead]
		if r.deadline > cut && cut != math.MaxInt64 {
			break
		}
		d.pendHead++
		if r.id == 0 {
			continue // spent: the flow stopped waiting
		}
		f := d.flows.deref(r)
		if f == nil {
			continue
		}
		switch f.state {
		case stPending:
			d.resolve(f, OutNone)
		case stSynAck:
			d.resolve(f, OutOpen)
		}
		d.warmPending() // warm.go
	}
	if d.pendHead > 1024 && d.pendHead*2 > len(d.pending) {
		n := copy(d.pending, d.pending[d.pendHead:])
		clear(d.pending[n:])
		d.pending = d.pending[:n]
		d.pendBase += uint32(d.pendHead)
		d.pendHead = 0
	}
	d.setPendDue()
}

// evictFlow is called before the flow table drops f to make room.
func (d *Detector) evictFlow(f *flow) {
	switch f.state {
	case stPending:
		d.resolve(f, OutNone)
	case stSynAck:
		d.resolve(f, OutOpen)
	}
	d.warmAfter(f) // warm.go
}

// resolve records the outcome o of f's probe: a benign exchange, or a
// first contact that counts towards a scan.
func (d *Detector) resolve(f *flow, o Outcome) {
	if f.state == stResolved || f.state == stBenign {
		return
	}
	d.unqueue(f)
	c := d.contactOf(f, o)
	switch {
	case o == OutBenign:
		f.state = stBenign
	case f.tech == technique.ARP && (f.dataSeen || d.episodes.probedOverIP(c.Scanner, c.Target)):
		f.state = stBenign // the kernel resolving a neighbour for IP probes
		return
	default:
		f.state, f.outcome = stResolved, c.Outcome
		if f.kept {
			d.flows.sweep.dirty = true
		}
	}
	d.add(c)
}

// contactOf is f's first contact with outcome o, resolved now.
func (d *Detector) contactOf(f *flow, o Outcome) Contact {
	scanner, _ := f.initiator()
	target, port := f.responder()
	switch f.tech {
	case technique.ARP:
		port = 0
		if o = OutSent; f.synAckSeen {
			o = OutAlive
		}
	case technique.IPProto:
		port = uint16(f.key.proto())
	}
	return Contact{Time: d.now, First: f.first, Scanner: scanner, Target: target, Print: f.fp,
		Port: port, Probes: f.probes, Technique: f.tech, Kind: f.kind, Outcome: o}
}

// reprobe counts a probe sent again after its flow was resolved.
func (d *Detector) reprobe(f *flow) {
	scanner, _ := f.initiator()
	d.episodes.reprobe(scanner, f.tech)
}

// sweepFlows runs once a second of packet time: it forgets flows that
// have had no packet for twice the reply time and are resolved, or idle
// for flowIdle. It walks from the least recently used flow on while flows
// are that quiet. The flows it keeps (benign ones, not yet idle long
// enough) would be walked again every second, which on a capture of many
// short flows costs more than all the packets: so the run of kept flows,
// which stays the tail of the LRU list (a flow that moves to the head or
// leaves the table just leaves the run), is skipped while none of them can
// have become idle for flowIdle, resolved, or had a packet that left it in
// place (the sweep state turns dirty then). What is
// removed, and in which order, is what a walk of every flow removes.
func (d *Detector) sweepFlows() {
	now := d.now
	done := now - 2*int64(d.r.Timeouts.Reply)
	st := &d.flows.sweep
	f := d.flows.oldest()
	if st.top != 0 && !st.dirty && now-st.minLast <= int64(flowIdle) {
		f = d.flows.newer(d.flows.slab.at(st.top)) // the kept run would all be kept again
	} else {
		st.top, st.minLast = 0, math.MaxInt64
	}
	st.dirty = false
	for f != nil && f.last < done {
		newer := d.flows.newer(f)
		if f.state == stResolved || now-f.last > int64(flowIdle) {
			f.kept = false
			d.evictFlow(f)
			d.flows.remove(f)
		} else {
			f.kept = true
			st.top, st.minLast = f.id, min(st.minLast, f.last)
		}
		f = newer
	}
}

// sweepState is what sweepFlows remembers of the flows it kept.
type sweepState struct {
	top     flowID // the newest flow of the kept run at the LRU tail, or 0
	minLast int64  // the earliest last packet time in the kept run
	dirty   bool   // a kept flow resolved, or had a packet and stayed in place
}

// flowIdle is how long a flow is remembered without packets.
const flowIdle = 5 * time.Minute
