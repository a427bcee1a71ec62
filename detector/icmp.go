// ICMP, ARP and neighbour discovery: pings and resolution requests are
// probes of a host; ICMP errors resolve the probe they quote.

package detector

import (
	"net/netip"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/technique"
)

func (d *Detector) icmp(p *decode.Packet) {
	t, c := p.ICMPType, p.ICMPCode
	if p.IPv6 {
		switch t {
		case 128: // echo request
			d.sent(p, technique.Ping, 0)
		case 129:
			d.episodes.alive(p.Dst, technique.Ping) // the pinger got its answer
		case 1:
			d.unreachable(p, c == 4)
		case 135:
			d.neighbourSolicit(p)
		case 136:
			d.resolveReply(p.Src, p.Dst)
		}
		return
	}
	switch t {
	case 8, 13, 15, 17: // echo, timestamp, information, address mask requests
		if t == 8 && c != 0 {
			d.osProbe(p, osICMPCode)
			return
		}
		d.sent(p, technique.Ping, 0)
	case 0, 14, 16, 18:
		d.episodes.alive(p.Dst, technique.Ping) // the pinger got its answer
	case 3:
		d.unreachable(p, c == 3 || c == 2)
	}
}

// arp follows ARP requests, and neighbourSolicit their IPv6 form. A host's
// kernel asks for every neighbour it sends IP packets to, so a request only
// counts towards a sweep when the same source sent nothing over IP to that
// host afterwards (ipFollowed: a new flow or a ping; probedOverIP: a
// counted probe): a pure sweep (nmap -sn on a LAN, arp-scan) sends nothing
// else, a health checker or a chatty LAN host talks to each neighbour it
// resolved. The verdict waits twice the reply timeout, long enough for the
// IP packets that follow a resolution.
func (d *Detector) arp(p *decode.Packet) {
	switch p.ARPOp {
	case 1:
		if p.LinkUnicast {
			// A request sent to the neighbour's own address: the kernel
			// confirming a neighbour it knows (Linux's unicast probes
			// of a stale entry), not a question to the link.
			return
		}
		d.resolveRequest(p.Src, p.Dst)
	case 2:
		d.resolveReply(p.Src, p.Dst)
	}
}

func (d *Detector) neighbourSolicit(p *decode.Packet) {
	// :: is duplicate address detection; a solicitation sent to the
	// target's own address confirms a neighbour already known.
	if p.NDTarget.IsValid() && !p.Src.IsUnspecified() && p.Dst != p.NDTarget {
		d.resolveRequest(p.Src, p.NDTarget)
	}
}

// resolveRequest is src asking for target's link-layer address.
func (d *Detector) resolveRequest(src, target netip.Addr) {
	if src == target || !src.IsValid() || src.IsUnspecified() || !target.IsValid() {
		return // gratuitous ARP, ARP probes of RFC 5227
	}
	k, srcIsA := makeKey(src, target, arpPort, arpPort, 0)
	if f := d.flows.get(k); f != nil {
		if f.state == stPending && srcIsA == f.initIsA {
			f.probes++
		}
		return
	}
	r := d.r
	if target.IsMulticast() || !r.IsHome(target) || r.AllowedScanner(src) || r.AllowedTarget(target) {
		return
	}
	f := d.flows.insert(k, d.evictFlow)
	f.initIsA, f.state, f.tech, f.probes = srcIsA, stPending, technique.ARP, 1
	f.first, f.last = d.now, d.now
	d.probes++
	d.arpPending = append(d.arpPending, d.flows.ref(f, d.now+2*int64(d.r.Timeouts.Reply)))
}

// ipFollowed notes an IP packet from src to dst that starts a flow or is a
// ping: an ARP request src made for dst, still waiting for its verdict,
// was the kernel resolving a neighbour (the flow's dataSeen marks it).
func (d *Detector) ipFollowed(src, dst netip.Addr) {
	if len(d.arpPending) > 0 {
		d.ipFollowed128(ip128Of(src), ip128Of(dst))
	}
}

// ipFollowed128 is ipFollowed of addresses in a flow key. Only ARP entries
// that wait for their verdict are marked, and each has a reference in
// arpPending until then: callers skip the lookup when it is empty.
func (d *Detector) ipFollowed128(src, dst ip128) {
	k := arpKey(src, dst)
	if f := d.flows.get(k); f != nil && f.tech == technique.ARP && f.state == stPending {
		f.dataSeen = true
	}
}

// resolveReply is target answering who asked: the host is there.
func (d *Detector) resolveReply(target, asker netip.Addr) {
	k, srcIsA := makeKey(target, asker, arpPort, arpPort, 0)
	if f := d.flows.get(k); f != nil && f.state == stPending && srcIsA != f.initIsA {
		f.synAckSeen = true
	}
}

// arpKey is the flow table's key of src's ARP request for dst.
func arpKey(src, dst ip128) flowKey {
	var k flowKey
	k.set(src, dst, arpPort, arpPort, 0)
	return k
}

// arpPort marks ARP entries in the flow table (no IP transport has ports
// and protocol number 0 together with port 0xFFFF).
const arpPort = 0xFFFF

// expireARP resolves the ARP requests whose wait ended before cut.
func (d *Detector) expireARP(cut int64) {
	n := 0
	for _, r := range d.arpPending {
		if r.deadline > cut {
			break
		}
		n++
		if f := d.flows.deref(r); f != nil && f.state == stPending {
			d.resolve(f, OutSent)
		}
	}
	if n > 0 {
		d.arpPending = append(d.arpPending[:0], d.arpPending[n:]...)
	}
}

// unreachable resolves the probe an ICMP error quotes. closed is true for
// port (and protocol) unreachable, which means "closed"; other codes mean
// "filtered".
func (d *Detector) unreachable(p *decode.Packet, closed bool) {
	q := p.Inner
	if !q.Valid {
		return
	}
	sport, dport := q.SrcPort, q.DstPort
	switch q.Proto {
	case 6, 17, 132:
	default:
		sport, dport = 0, 0
	}
	k, srcIsA := makeKey(q.Src, q.Dst, sport, dport, q.Proto)
	f := d.flows.get(k)
	if f == nil || srcIsA != f.initIsA {
		return
	}
	if f.state != stPending && f.state != stSynAck {
		return
	}
	if closed {
		d.resolve(f, OutClosed)
	} else {
		d.resolve(f, OutFiltered)
	}
}

// sent counts a probe whose answer does not matter: a ping to a host is a
// first contact whether or not the host is there. port is 0 for a ping, the
// probe kind for an OS probe.
func (d *Detector) sent(p *decode.Packet, tech technique.Technique, port uint16) {
	d.ipFollowed(p.Src, p.Dst)
	if !d.probeTarget(p) {
		return
	}
	d.probes++
	d.add(Contact{Time: d.now, First: d.now, Scanner: p.Src, Target: p.Dst, Print: printOf(p),
		Port: port, Probes: 1, Technique: tech, Outcome: OutSent})
}

// osProbe counts one OS-fingerprint probe; its kind stands in for a port.
func (d *Detector) osProbe(p *decode.Packet, kind uint16) { d.sent(p, technique.OSProbe, kind) }
