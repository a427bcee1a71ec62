// Resolution: a probe waits for its answer until the reply timeout; its
// outcome (or the flow's eviction) turns it into a first contact.

package detector

import (
	"math"
	"net/netip"
)

func (d *Detector) enqueue(f *flow) {
	d.pending = append(d.pending, pendingRef{f, f.gen, f.first + int64(d.r.Timeouts.Reply)})
}

// expirePending resolves probes whose reply time ended before cut.
func (d *Detector) expirePending(cut int64) {
	for d.pendHead < len(d.pending) {
		r := d.pending[d.pendHead]
		if r.deadline > cut && cut != math.MaxInt64 {
			break
		}
		d.pendHead++
		if r.f.gen != r.gen {
			continue
		}
		switch r.f.state {
		case stPending:
			d.resolve(r.f, outNone)
		case stSynAck:
			d.resolve(r.f, outOpen)
		}
	}
	if d.pendHead > 1024 && d.pendHead*2 > len(d.pending) {
		n := copy(d.pending, d.pending[d.pendHead:])
		clear(d.pending[n:])
		d.pending = d.pending[:n]
		d.pendHead = 0
	}
}

// evictFlow is called before the flow table drops f to make room.
func (d *Detector) evictFlow(f *flow) {
	switch f.state {
	case stPending:
		d.resolve(f, outNone)
	case stSynAck:
		d.resolve(f, outOpen)
	}
}

func (d *Detector) resolve(f *flow, o outcome) {
	if f.state == stResolved || f.state == stBenign {
		return
	}
	scanner, _ := f.initiator()
	if o == outBenign {
		f.state = stBenign
		d.success(scanner)
		return
	}
	target, port := f.responder()
	if f.fam == famARP {
		if d.probedOverIP(scanner, target) {
			f.state = stBenign // the kernel resolving a neighbour for IP probes
			return
		}
		port = 0
		if o = outSent; f.synAckSeen {
			o = outAlive
		}
	}
	f.state, f.outcome = stResolved, o
	if f.fam == famIPProto {
		port = uint16(f.key.proto)
	}
	d.contact(scanner, target, port, f.fam, o, int(f.probes), f, &f.fp)
}

// reprobe counts a probe sent again after its flow was resolved.
func (d *Detector) reprobe(f *flow) {
	scanner, _ := f.initiator()
	if t := d.trackers[scanner]; t != nil && t.eps[f.fam] != nil {
		e := t.eps[f.fam]
		e.probes++
		e.last = d.now
	}
}

// success is a first contact that carried data: evidence of a benign client.
func (d *Detector) success(scanner netip.Addr) {
	t := d.trackers[scanner]
	if t == nil {
		return
	}
	t.llr = max(t.llr+d.okLLR, -d.alarmLLR)
}
