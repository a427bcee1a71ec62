// UDP, SCTP and other IP protocols: first datagrams, INITs and protocol
// probes, and the replies that resolve them.

package detector

import (
	"github.com/scanwatch/scanwatch/decode"

	"github.com/scanwatch/scanwatch/technique"
)

// replyLike: traffic from these services towards an ephemeral port is a
// reply, not a probe, when the request was not captured.
func replyLike(sport, dport uint16) bool {
	if dport < 32768 {
		return false
	}
	switch sport {
	case 53, 67, 68, 123, 137, 161, 443, 500, 1900, 4500, 5353:
		return true
	}
	return false
}

// discoveryPort: link-local name and service discovery (NetBIOS name and
// datagram services, mDNS, LLMNR, SSDP, WS-Discovery) and address
// configuration (DHCP and DHCPv6 servers and relays) are chatter: requests
// go to broadcast or multicast, answers come back by unicast from the
// service's port to the asker (which does not answer them), and NetBIOS
// hosts talk 137 to 137 and 138 to 138. Datagrams from these ports are
// never probes.
func discoveryPort(sport uint16) bool {
	switch sport {
	case 67, 137, 138, 547, 1900, 3702, 5353, 5355:
		return true
	}
	return false
}

func (d *Detector) udp(p *decode.Packet, k *Key) {
	srcIsA := k.srcIsA
	f := d.flows.lookupHashed(&k.k, k.h)
	if f == nil {
		f = d.newFlowHashed(k.k, k.h, srcIsA)
		switch {
		case (replyLike(p.SrcPort, p.DstPort) || discoveryPort(p.SrcPort)) && !d.episodes.scanning(p.Src, technique.UDP), !d.probeTarget(p):
			return
		case p.Payload == 300 && p.IPID == 0x1042:
			d.osProbe(p, osUDP300)
			return
		case d.pathProbe(p):
			return // traceroute, mtr
		}
		d.startProbe(f, technique.UDP, p)
		if p.IPID != 0 { // Linux sends UDP with DF and IP ID 0: no fingerprint there
			d.episodes.noteProbe(probeSig{target: p.Dst.As16(), port: p.DstPort, ipid: uint16(p.IPID), sport: p.SrcPort, proto: 17}, p.Src, toolUnknown)
		}
		return
	}
	d.seen(f)
	if srcIsA == f.initIsA {
		if f.state == stPending {
			f.probes++
		}
		return
	}
	if f.state == stPending {
		d.resolve(f, OutOpen)
	}
}

func (d *Detector) sctp(p *decode.Packet) {
	k, srcIsA := makeKey(p.Src, p.Dst, p.SrcPort, p.DstPort, 132)
	f, h := d.flows.lookup(&k)
	if f == nil {
		f = d.newFlowHashed(k, h, srcIsA)
		if kind := sctpProbeKind(p.SCTPChunk); kind != KindNone && d.probeTarget(p) {
			d.startProbe(f, technique.SCTP, p)
			f.kind = kind
		}
		return
	}
	d.seen(f)
	if srcIsA == f.initIsA {
		switch {
		case f.state == stPending && sctpProbeKind(p.SCTPChunk) == f.kind:
			f.probes++
		case f.state == stSynAck && p.SCTPChunk == 6: // ABORT after INIT-ACK: half-open
			d.resolve(f, OutHalfOpen)
		case f.state == stSynAck && p.SCTPChunk == 10: // COOKIE-ECHO: a real association
			d.resolve(f, OutBenign)
		}
		return
	}
	if f.state == stPending {
		switch p.SCTPChunk {
		case 2:
			f.state, f.synAckSeen = stSynAck, true
		case 6:
			d.resolve(f, OutClosed)
		case 11: // COOKIE ACK: the association was set up before the capture began
			d.resolve(f, OutBenign)
		}
	}
}

func (d *Detector) ipproto(p *decode.Packet) {
	k, srcIsA := makeKey(p.Src, p.Dst, 0, 0, p.Proto)
	f, h := d.flows.lookup(&k)
	if f == nil {
		f = d.newFlowHashed(k, h, srcIsA)
		if d.probeTarget(p) {
			d.startProbe(f, technique.IPProto, p)
		}
		return
	}
	d.seen(f)
	if srcIsA != f.initIsA && f.state == stPending {
		d.resolve(f, OutOpen)
	}
}
