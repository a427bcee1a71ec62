// TCP: the handshake of each flow and the target's answers decide whether
// a first segment was a probe, of which technique, and how it ended.

package detector

import (
	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

func (d *Detector) tcp(p *decode.Packet, k *Key) {
	srcIsA := k.srcIsA
	f := d.flows.lookupHashed(&k.k, k.h)
	if f == nil {
		d.newTCP(p, k)
		return
	}
	d.seen(f)
	if f.kind != KindNone {
		d.markedFlow(f, p, srcIsA == f.initIsA)
	}
	if srcIsA == f.initIsA {
		d.tcpFromInitiator(f, p)
	} else {
		d.tcpFromResponder(f, p)
	}
}

func (d *Detector) newTCP(p *decode.Packet, k *Key) {
	flags := p.Flags
	os := k.osKind
	if !k.syn {
		os = osProbeTCP(p)
	}
	if os != osNone {
		// Counted at once; the flow only listens for a SYN-ACK (an open port).
		d.newFlowHashed(k.k, k.h, k.srcIsA).tech = technique.OSProbe
		d.osProbe(p, os)
		return
	}
	tech, isProbe := technique.Custom, true
	if t, ok := d.probeType(flags); ok {
		tech = t
	} else if flags&(tcpflags.ACK|tcpflags.RST) != 0 && !impossibleFlags(flags) {
		// Mid-stream segments, replies to probes we did not see
		// (one-sided captures), backscatter: not probes.
		isProbe = false
	}
	if flags&tcpflags.ACK != 0 && p.Payload > 0 {
		isProbe = false // data on a connection that began before the capture
	}
	f := d.newFlowHashed(k.k, k.h, k.srcIsA)
	if !isProbe {
		d.unsolicited(f, p)
		return
	}
	if !d.probeTarget(p) {
		if synLike(tech) && unicastTarget(p) {
			f.state, f.tech, f.isn = stCredit, tech, p.Seq
		}
		return
	}
	if synLike(tech) && d.bounceConnect(p) {
		return
	}
	var kind ProbeKind
	if tech == technique.Syn && d.zombieOf(p) != nil {
		tech, kind = technique.Idle, KindIdleSpoofed
	}
	if k.syn {
		d.startProbePrint(f, tech, k.fp)
	} else {
		d.startProbe(f, tech, p)
	}
	f.kind = kind
	f.flags, f.isn, f.ack = flags, p.Seq, p.Ack
	if tech == technique.Syn && f.fp.osStackSYN() {
		f.tech = technique.Connect
	}
	d.episodes.noteProbe(probeSig{target: p.Dst.As16(), port: p.DstPort, ipid: uint16(p.IPID), sport: p.SrcPort, seq: p.Seq, proto: 6}, p.Src, toolOf(f.fp))
}

// impossibleFlags are mixes no stack sends, whatever the connection's
// state: SYN with FIN or RST. They are probes even with ACK or RST set
// (unicornscan's and nmap --scanflags' all-flags probes).
func impossibleFlags(f tcpflags.Flags) bool {
	return f&tcpflags.SYN != 0 && f&(tcpflags.FIN|tcpflags.RST) != 0
}

// probeType returns the technique of the first rules pattern flags match;
// a pattern whose type is no technique (rules built by hand) means custom.
func (d *Detector) probeType(flags tcpflags.Flags) (technique.Technique, bool) {
	p, ok := d.r.ProbeType(flags)
	if !ok {
		return 0, false
	}
	if !p.Type.Valid() {
		return technique.Custom, true
	}
	return p.Type, true
}

func (d *Detector) tcpFromInitiator(f *flow, p *decode.Packet) {
	flags := p.Flags
	if f.state == stCredit {
		// A request, or a close whose sequence number says one was sent
		// (live capture's kernel filter keeps data segments out).
		if flags&tcpflags.ACK != 0 && (p.Payload > 0 || flags&(tcpflags.FIN|tcpflags.RST) != 0 && p.Seq != f.isn+1) {
			f.state = stBenign
			d.add(d.contactOf(f, OutBenign))
		}
		return
	}
	if f.state == stBenign || f.state == stResolved {
		if f.state == stResolved && flags == f.flags {
			d.reprobe(f)
		}
		return
	}
	if p.Payload > 0 {
		f.dataSeen = true
		if flags&tcpflags.ACK != 0 {
			d.firstRequest(f, p)
			d.resolve(f, OutBenign)
			return
		}
	}
	switch f.state {
	case stPending:
		switch {
		case flags == f.flags && flags&tcpflags.ACK != 0 && (p.Seq != f.isn || p.Ack != f.ack):
			// A probe is retransmitted as it was; a connection moves its
			// numbers on (pure ACKs of a download seen from one side).
			// Without ACK there is no connection to move on: a SYN or a
			// flag probe sent again with other numbers is sent again.
			d.resolve(f, OutBenign)
		case flags == f.flags:
			f.probes++ // retransmission
		case handshake(f.tech) && flags&tcpflags.RST != 0:
			// SYN, then RST from the scanner: the SYN-ACK was not captured
			// (one-sided capture), the half-open teardown was.
			d.resolve(f, OutHalfOpen)
		case handshake(f.tech) && flags&(tcpflags.SYN|tcpflags.ACK) == tcpflags.ACK:
			f.state = stEstab // handshake completed; SYN-ACK not captured
			d.unqueue(f)
			f.last = d.now
			d.handshakeDone(f)
		case flags&tcpflags.ACK != 0:
			d.resolve(f, OutBenign) // a stealth "probe" that was mid-stream traffic
		}
	case stSynAck:
		switch {
		case flags&tcpflags.RST != 0:
			d.resolve(f, OutHalfOpen)
		case flags&(tcpflags.SYN|tcpflags.ACK) == tcpflags.ACK:
			f.state = stEstab
			d.unqueue(f)
			d.handshakeDone(f)
			if flags&(tcpflags.FIN) != 0 {
				d.teardown(f, p)
			}
		case flags&tcpflags.SYN != 0:
			f.probes++
		}
	case stEstab:
		if flags&(tcpflags.FIN|tcpflags.RST) != 0 {
			d.teardown(f, p)
		}
	}
}

// teardown judges a connection closed by its initiator: if the initiator
// sent no data (its sequence number says so even when the kernel filter
// dropped the data segments) and closed quickly, it was a connect() probe.
// What the server sent does not matter: a banner read and dropped is what
// a banner-grabbing scan does.
func (d *Detector) teardown(f *flow, p *decode.Packet) {
	if !f.dataSeen && p.Seq == f.isn+1 {
		d.closedQuiet(f)
	}
	if f.dataSeen || p.Seq != f.isn+1 || d.now-f.first > int64(d.r.Timeouts.Reply) {
		d.resolve(f, OutBenign)
		return
	}
	d.resolve(f, OutConnect)
}

func (d *Detector) tcpFromResponder(f *flow, p *decode.Packet) {
	flags := p.Flags
	if f.tech == technique.OSProbe && f.state == stBenign && flags&(tcpflags.SYN|tcpflags.ACK) == tcpflags.SYN|tcpflags.ACK {
		scanner, _ := f.initiator()
		d.episodes.openPort(scanner, technique.OSProbe, p.SrcPort)
		return
	}
	switch f.state {
	case stEstab:
		f.banner = f.banner || p.Payload > 0 && !f.dataSeen
		if f.srvClosed == 0 && flags&(tcpflags.FIN|tcpflags.RST) != 0 {
			f.srvClosed = closedSince(f.first, d.now)
		}
	case stPending:
		switch {
		case flags&tcpflags.RST != 0:
			d.resolve(f, OutClosed)
		case handshake(f.tech) && flags&(tcpflags.SYN|tcpflags.ACK) == tcpflags.SYN|tcpflags.ACK:
			f.state, f.synAckSeen, f.risn = stSynAck, true, p.Seq
			f.last = d.now
		case !handshake(f.tech):
			d.resolve(f, OutBenign) // the target carried on a conversation: mid-stream
		}
	}
}
