package scanner

import "net/netip"

// prober knows one phase's probes: what to send, and what a reply says
// about which of them.
type prober struct {
	tech      Technique // the port scan; 0 for host discovery
	discovery bool
	specs     []spec
	byPort    map[probeKind][]int32 // spec index by kind and port (-1: none)
	craft     *crafter
	maxTries  int // UDP tries come from sport..sport+maxTries-1
}

func newProber(tech Technique, discovery bool, specs []spec, c *crafter, maxTries int) *prober {
	p := &prober{tech: tech, discovery: discovery, specs: specs, byPort: map[probeKind][]int32{}, craft: c, maxTries: maxTries}
	for i, s := range specs {
		tab := p.byPort[s.kind]
		if tab == nil {
			tab = make([]int32, 65536)
			for j := range tab {
				tab[j] = -1
			}
			p.byPort[s.kind] = tab
		}
		if tab[s.port] < 0 {
			tab[s.port] = int32(i)
		}
	}
	return p
}

func (p *prober) lookup(k probeKind, port uint16) int {
	if tab := p.byPort[k]; tab != nil {
		return int(tab[port])
	}
	return -1
}

// firstOf returns the first spec of a kind, whatever its port.
func (p *prober) firstOf(k probeKind) int {
	for i, s := range p.specs {
		if s.kind == k {
			return i
		}
	}
	return -1
}

// verdict is what a reply says: which probe it answers and what that means.
type verdict struct {
	host   netip.Addr // the target it concerns
	spec   int
	try    int // the transmission it answers, -1 when the reply cannot tell
	state  PortState
	reason string
	icmp   bool // an ICMP error: its quoted source must be ours
}

// classify reads a reply. ok is false for replies that answer none of our
// probes or say nothing.
func (p *prober) classify(r *reply) (v verdict, ok bool) {
	v.try = -1
	if r.kind == replyICMP {
		return p.classifyICMP(r)
	}
	v.host = r.from
	c := p.craft
	switch {
	case r.kind == replyNeighbor && p.discovery:
		v.spec = p.firstOf(kindNeighbor)
		v.reason = "arp-response"
		if r.v6 {
			v.reason = "nd-response"
		}
	case (r.kind == replyEcho || r.kind == replyTimestamp || r.kind == replyMask) && r.icmpID == c.icmpID:
		k := map[replyKind]probeKind{replyEcho: kindEcho, replyTimestamp: kindTimestamp, replyMask: kindMask}[r.kind]
		if p.tech == IPProto {
			v.spec = p.lookup(kindIPProto, uint16(r.proto))
			v.state, v.reason = Open, "echo-reply"
		} else {
			v.spec = p.firstOf(k)
			v.reason = map[replyKind]string{replyEcho: "echo-reply", replyTimestamp: "timestamp-reply", replyMask: "addressmask-reply"}[r.kind]
		}
		v.try = int(r.icmpSeq)
	case p.tech == IPProto:
		v.spec = p.lookup(kindIPProto, uint16(r.proto))
		v.state, v.reason = Open, "proto-response"
	case r.kind == replyTCP && r.dport == c.sport:
		v.spec = p.lookup(kindTCP, r.sport)
		if v.spec < 0 {
			return v, false
		}
		v.try = tcpTry(c, p.specs[v.spec].flags, r)
		if p.discovery {
			v.reason = "reset"
			if r.flags&FlagSYN != 0 {
				v.reason = "syn-ack"
			}
		} else {
			v.state, v.reason = tcpVerdict(p.tech, r)
		}
	case r.kind == replyUDP:
		try, ok := p.udpTry(r.dport)
		if !ok {
			return v, false
		}
		v.spec, v.try = p.lookup(kindUDP, r.sport), try
		v.state, v.reason = Open, "udp-response"
	case r.kind == replySCTP && r.dport == c.sport:
		k := kindSCTPInit
		if p.tech == SCTPCookie {
			k = kindSCTPCookie
		}
		v.spec = p.lookup(k, r.sport)
		v.try = int(r.vtag - c.seqBase)
		switch r.chunk {
		case 2:
			v.state, v.reason = Open, "init-ack"
		case 6:
			v.state, v.reason = Closed, "abort"
		default:
			return v, false
		}
	default:
		return v, false
	}
	if v.spec < 0 || (!p.discovery && v.state == StateUnknown) {
		return v, false
	}
	return v, true
}

// classifyICMP reads a destination unreachable quoting one of our probes.
func (p *prober) classifyICMP(r *reply) (v verdict, ok bool) {
	c := p.craft
	v.host, v.try, v.icmp = r.qdst, -1, true
	udp := false
	switch {
	case p.tech == IPProto:
		v.spec = p.lookup(kindIPProto, uint16(r.qproto))
		switch {
		case r.from != r.qdst:
			v.state, v.reason = Filtered, "host-unreach"
		case isProtoUnreach(r):
			v.state, v.reason = Closed, "proto-unreach"
		case isPortUnreach(r):
			v.state, v.reason = Open, "port-unreach"
		case r.v6 && r.icmpType != 1:
			return v, false
		default:
			v.state, v.reason, _ = icmpVerdict(r.v6, false, r.icmpCode)
		}
		return v, v.spec >= 0 && v.state != StateUnknown
	case r.qproto == protoTCP && r.dport == c.sport:
		v.spec = p.lookup(kindTCP, r.sport)
		v.try = int(r.qseq - c.seqBase)
	case r.qproto == protoUDP:
		try, ok := p.udpTry(r.dport)
		if !ok {
			return v, false
		}
		v.spec, v.try, udp = p.lookup(kindUDP, r.sport), try, true
	case r.qproto == protoSCTP && r.dport == c.sport:
		k := kindSCTPInit
		if p.tech == SCTPCookie {
			k = kindSCTPCookie
			v.try = int(r.qseq - c.seqBase)
		}
		v.spec = p.lookup(k, r.sport)
	case (r.qproto == protoICMP || r.qproto == protoICMPv6) && r.qid == c.icmpID:
		v.spec, v.try = p.firstOf(kindEcho), int(r.qiseq)
	default:
		return v, false
	}
	if v.spec < 0 {
		return v, false
	}
	if p.discovery {
		// Only an error from the target itself says it is there.
		if r.from != r.qdst {
			return v, false
		}
		v.reason = "port-unreach"
		if isProtoUnreach(r) {
			v.reason = "proto-unreach"
		}
		return v, true
	}
	if r.v6 && r.icmpType != 1 {
		return v, false
	}
	v.state, v.reason, ok = icmpVerdict(r.v6, udp, r.icmpCode)
	return v, ok
}

func isProtoUnreach(r *reply) bool {
	return !r.v6 && r.icmpCode == 2 || r.v6 && r.icmpType == 4 && r.icmpCode == 1
}

func isPortUnreach(r *reply) bool {
	return !r.v6 && r.icmpCode == 3 || r.v6 && r.icmpCode == 4
}

// udpTry maps the port a UDP reply or quoted probe names as ours to the try
// it answers: try n is sent from sport+n (or from the fixed -g port).
func (p *prober) udpTry(port uint16) (int, bool) {
	c := p.craft
	if c.fixed {
		return -1, port == c.sport
	}
	d := int(port) - int(c.sport)
	return d, d >= 0 && d < p.maxTries
}

// tcpTry tells which transmission a TCP reply answers from the numbers it
// echoes, or -1.
func tcpTry(c *crafter, flags uint8, r *reply) int {
	switch {
	case r.flags&FlagACK != 0:
		// The reply acknowledges our sequence number (+1 for SYN and FIN).
		off := r.ack - c.seqBase
		if flags&FlagSYN != 0 {
			off--
		}
		if flags&FlagFIN != 0 {
			off--
		}
		// A RST acknowledges the probe's data too (a SYN-ACK does not).
		if n := uint32(len(c.payload) + c.dataLen); r.flags&FlagRST != 0 && n > 0 && int32(off) >= int32(n) {
			off -= n
		}
		return int(int32(off))
	case r.flags&FlagRST != 0 && flags&FlagACK != 0:
		// A RST to a segment with ACK takes its sequence number from our ack.
		return int(int32(r.seq - c.ackBase))
	}
	return -1
}

// tcpVerdict reads a TCP reply the way nmap's reference guide says the
// technique does. StateUnknown means the reply says nothing.
func tcpVerdict(t Technique, r *reply) (PortState, string) {
	rst := r.flags&FlagRST != 0
	switch t {
	case SYN:
		if r.flags&FlagSYN != 0 && !rst {
			if r.flags&FlagACK != 0 {
				return Open, "syn-ack"
			}
			return Open, "split-handshake-syn"
		}
		if rst {
			return Closed, "reset"
		}
	case FIN, Null, Xmas, Maimon:
		if rst {
			return Closed, "reset"
		}
	case ACK:
		if rst {
			return Unfiltered, "reset"
		}
	case Window:
		if rst {
			if r.window > 0 {
				return Open, "reset"
			}
			return Closed, "reset"
		}
	}
	return StateUnknown, ""
}
