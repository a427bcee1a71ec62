// Package detector turns decoded packets into scan episodes. It follows
// each flow's handshake and the target's replies to classify probes, counts
// distinct first contacts per scanner exactly, and reports one alert when an
// episode is recognised as a scan and one summary when it ends. It does no
// I/O and reads time only from the packets it is given, so a replay is
// deterministic and live capture runs the same code.
package detector

import (
	"math"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

// Stats are the detector's counters.
type Stats struct {
	Packets         uint64
	Probes          uint64 // first-contact probes seen
	Flows           int    // flows followed now
	FlowsEvicted    uint64
	Trackers        int // scanners followed now
	TrackersEvicted uint64
	Alerts          uint64
}

// tracker is the state kept per would-be scanner.
type tracker struct {
	addr netip.Addr
	llr  float64 // log likelihood ratio of the sequential test
	eps  [numFamilies]*episode
	last int64
	// ended holds targets of IP episodes closed lately, so that the ARP
	// requests of their probes still count as resolutions (probedOverIP).
	ended map[netip.Addr]struct{}
	link[tracker]
}

func (t *tracker) links() *link[tracker] { return &t.link }

func (t *tracker) active() bool {
	for _, e := range t.eps {
		if e != nil && e.alerted {
			return true
		}
	}
	return false
}

// Detector is not safe for concurrent use: feed it from one goroutine.
type Detector struct {
	r    *rules.Rules
	emit func(Event)

	now        int64
	nextSweep  int64
	flows      *flowTable
	pending    []pendingRef
	pendHead   int
	arpPending []pendingRef

	trackers   map[netip.Addr]*tracker
	byAge      lru[tracker, *tracker]
	thresholds [numFamilies]rules.Threshold
	famOf      []family // family of each rules.TCPFlags pattern
	failLLR    float64
	okLLR      float64
	alarmLLR   float64

	sigs     map[probeSig]sigSeen
	decoys   map[netip.Addr]*decoySet
	byTarget map[netip.Addr][]*tracker // sources with an alerted episode, by target
	groups   int

	stats Stats
}

// New returns a detector that calls emit for every event, in order.
func New(r *rules.Rules, emit func(Event)) *Detector {
	d := &Detector{
		emit:     emit,
		flows:    newFlowTable(r.State.MaxFlows),
		trackers: make(map[netip.Addr]*tracker),
		sigs:     make(map[probeSig]sigSeen),
		decoys:   make(map[netip.Addr]*decoySet),
		byTarget: make(map[netip.Addr][]*tracker),
	}
	d.SetRules(r)
	return d
}

// SetRules swaps in new rules (a reload) and keeps every flow, tracker and
// episode: thresholds, patterns and allow lists apply from the next packet.
// The flow cap applies as the table next fills.
func (d *Detector) SetRules(r *rules.Rules) {
	d.r = r
	d.flows.max = r.State.MaxFlows
	for f := family(0); f < numFamilies; f++ {
		d.thresholds[f] = r.Threshold(technique.Technique(f)) // same order (phase B: family becomes technique.Technique)
	}
	d.famOf = d.famOf[:0]
	for _, p := range r.TCPFlags {
		f, ok := familyOf(p.Type.String())
		if !ok {
			f = famCustom
		}
		d.famOf = append(d.famOf, f)
	}
	d.failLLR, d.okLLR, d.alarmLLR = 0, 0, 0
	if s := r.Slow; s.Enabled {
		d.failLLR = math.Log((1 - s.Theta1) / (1 - s.Theta0))
		d.okLLR = math.Log(s.Theta1 / s.Theta0)
		d.alarmLLR = math.Log(s.Alarm)
	}
}

// Stats returns the current counters.
func (d *Detector) Stats() Stats {
	s := d.stats
	s.Flows = d.flows.len()
	s.FlowsEvicted = d.flows.evicted
	s.Trackers = len(d.trackers)
	return s
}

// Process feeds one decoded packet.
func (d *Detector) Process(p *decode.Packet) {
	d.stats.Packets++
	d.Advance(p.Time)
	switch p.Kind {
	case decode.KindTCP:
		d.tcp(p)
	case decode.KindUDP:
		d.udp(p)
	case decode.KindICMP:
		d.icmp(p)
	case decode.KindSCTP:
		d.sctp(p)
	case decode.KindOther:
		d.ipproto(p)
	case decode.KindARP:
		d.arp(p)
	}
}

// Advance moves the detector's clock to t (never backwards): probes whose
// reply time ran out are resolved, idle episodes end. Live capture calls it
// when no packet arrives for a while.
func (d *Detector) Advance(t time.Time) {
	now := t.UnixNano()
	if now <= d.now {
		return
	}
	d.now = now
	d.expirePending(now - int64(d.r.Timeouts.Reply))
	if len(d.arpPending) > 0 {
		d.expireARP(now)
	}
	if now >= d.nextSweep {
		if d.nextSweep != 0 {
			d.sweep()
		}
		d.nextSweep = now + int64(time.Second)
	}
}

// Flush ends the capture: every pending probe is resolved as unanswered and
// every open episode is closed with its summary, in a deterministic order.
func (d *Detector) Flush() {
	d.expirePending(math.MaxInt64)
	d.expireARP(math.MaxInt64)
	var ts []*tracker
	for _, t := range d.trackers {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].addr.Less(ts[j].addr) })
	for _, t := range ts {
		for f, e := range t.eps {
			if e != nil {
				d.endEpisode(t, family(f))
			}
		}
	}
}

// --- TCP ---

func (d *Detector) tcp(p *decode.Packet) {
	k, srcIsA := makeKey(p.Src, p.Dst, p.SrcPort, p.DstPort, 6)
	f := d.flows.get(k)
	if f == nil {
		d.newTCP(p, k, srcIsA)
		return
	}
	d.seen(f)
	if srcIsA == f.initIsA {
		d.tcpFromInitiator(f, p)
	} else {
		d.tcpFromResponder(f, p)
	}
}

func (d *Detector) newTCP(p *decode.Packet, k flowKey, srcIsA bool) {
	flags := p.Flags
	if kind := osProbeTCP(p); kind != osNone {
		// Counted at once; the flow only listens for a SYN-ACK (an open port).
		d.newFlow(k, srcIsA).fam = famOSProbe
		d.osProbe(p, kind)
		return
	}
	fam, isProbe := famCustom, true
	if i, ok := d.probeType(flags); ok {
		fam = d.famOf[i]
	} else if flags&(decode.ACK|decode.RST) != 0 {
		// Mid-stream segments, replies to probes we did not see
		// (one-sided captures), backscatter: not probes.
		isProbe = false
	}
	if flags&decode.ACK != 0 && p.Payload > 0 {
		isProbe = false // data on a connection that began before the capture
	}
	f := d.newFlow(k, srcIsA)
	if !isProbe || !d.probeTarget(p) {
		return
	}
	d.startProbe(f, fam, p)
	f.flags, f.isn, f.ack = flags, p.Seq, p.Ack
	if fam == famSyn && f.fp.opts == optFull {
		f.fam = famConnect
	}
	d.noteProbe(probeSig{target: p.Dst.As16(), port: p.DstPort, ipid: uint16(p.IPID), sport: p.SrcPort, seq: p.Seq, proto: 6}, p.Src)
}

// seen notes a packet of f. The LRU position moves at most once a second
// of packet time: a bulk flow would otherwise relink on every packet, and
// eviction and expiry only need second precision.
func (d *Detector) seen(f *flow) {
	f.last = d.now
	if d.now-f.touched >= int64(time.Second) {
		f.touched = d.now
		d.flows.touch(f)
	}
}

// newFlow starts following k as ordinary traffic; startProbe makes it a probe.
func (d *Detector) newFlow(k flowKey, srcIsA bool) *flow {
	f := d.flows.insert(k, d.evictFlow)
	f.initIsA, f.state, f.first, f.last, f.touched = srcIsA, stBenign, d.now, d.now, d.now
	return f
}

// startProbe marks f's first packet p as a probe of family fam that now
// waits for the target's answer.
func (d *Detector) startProbe(f *flow, fam family, p *decode.Packet) {
	f.state, f.fam, f.probes = stPending, fam, 1
	f.fp = printOf(p)
	d.stats.Probes++
	d.enqueue(f)
}

// probeType returns the index of the first rules pattern flags match.
func (d *Detector) probeType(flags uint8) (int, bool) {
	for i, pat := range d.r.TCPFlags {
		if pat.Match(tcpflags.Flags(flags)) {
			return i, true
		}
	}
	return 0, false
}

// probeTarget applies home networks and allow lists to a first contact.
func (d *Detector) probeTarget(p *decode.Packet) bool {
	if !p.Dst.IsValid() || p.Dst.IsMulticast() || p.Dst.IsUnspecified() || isBroadcast(p.Dst) {
		return false
	}
	r := d.r
	if !r.IsHome(p.Dst) || r.AllowedScanner(p.Src) || r.AllowedTarget(p.Dst) {
		return false
	}
	if p.Kind != decode.KindOther && p.Kind != decode.KindICMP && p.Kind != decode.KindARP && r.AllowedPort(p.DstPort) {
		return false
	}
	return true
}

// isBroadcast is the limited broadcast; a subnet's broadcast address cannot
// be told from a host without its netmask (x.y.z.255 is a host in a /16).
func isBroadcast(a netip.Addr) bool { return a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) }

func (d *Detector) tcpFromInitiator(f *flow, p *decode.Packet) {
	flags := p.Flags
	if f.state == stBenign || f.state == stResolved {
		if f.state == stResolved && flags == f.flags {
			d.reprobe(f)
		}
		return
	}
	if p.Payload > 0 {
		f.dataSeen = true
		if flags&decode.ACK != 0 {
			d.resolve(f, outBenign)
			return
		}
	}
	switch f.state {
	case stPending:
		switch {
		case flags == f.flags && (p.Seq != f.isn || p.Ack != f.ack):
			// A probe is retransmitted as it was; a connection moves its
			// numbers on (pure ACKs of a download seen from one side).
			d.resolve(f, outBenign)
		case flags == f.flags:
			f.probes++ // retransmission
		case f.fam.synLike() && flags&decode.RST != 0:
			// SYN, then RST from the scanner: the SYN-ACK was not captured
			// (one-sided capture), the half-open teardown was.
			d.resolve(f, outHalfOpen)
		case f.fam.synLike() && flags&(decode.SYN|decode.ACK) == decode.ACK:
			f.state = stEstab // handshake completed; SYN-ACK not captured
			f.last = d.now
		case flags&decode.ACK != 0:
			d.resolve(f, outBenign) // a stealth "probe" that was mid-stream traffic
		}
	case stSynAck:
		switch {
		case flags&decode.RST != 0:
			d.resolve(f, outHalfOpen)
		case flags&(decode.SYN|decode.ACK) == decode.ACK:
			f.state = stEstab
			if flags&(decode.FIN) != 0 {
				d.teardown(f, p)
			}
		case flags&decode.SYN != 0:
			f.probes++
		}
	case stEstab:
		if flags&(decode.FIN|decode.RST) != 0 {
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
	if f.dataSeen || p.Seq != f.isn+1 || d.now-f.first > int64(d.r.Timeouts.Reply) {
		d.resolve(f, outBenign)
		return
	}
	d.resolve(f, outConnect)
}

func (d *Detector) tcpFromResponder(f *flow, p *decode.Packet) {
	flags := p.Flags
	if f.fam == famOSProbe && f.state == stBenign && flags&(decode.SYN|decode.ACK) == decode.SYN|decode.ACK {
		scanner, _ := f.initiator()
		if t := d.trackers[scanner]; t != nil && t.eps[famOSProbe] != nil {
			t.eps[famOSProbe].open.add(p.SrcPort)
		}
		return
	}
	switch f.state {
	case stPending:
		switch {
		case flags&decode.RST != 0:
			d.resolve(f, outClosed)
		case f.fam.synLike() && flags&(decode.SYN|decode.ACK) == decode.SYN|decode.ACK:
			f.state, f.synAckSeen, f.risn = stSynAck, true, p.Seq
			f.last = d.now
		case !f.fam.synLike():
			d.resolve(f, outBenign) // the target carried on a conversation: mid-stream
		}
	}
}

// --- UDP, SCTP, other IP protocols ---

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

func (d *Detector) udp(p *decode.Packet) {
	k, srcIsA := makeKey(p.Src, p.Dst, p.SrcPort, p.DstPort, 17)
	f := d.flows.get(k)
	if f == nil {
		f = d.newFlow(k, srcIsA)
		switch {
		case replyLike(p.SrcPort, p.DstPort) && !d.scanning(p.Src, famUDP), !d.probeTarget(p):
			return
		case p.Payload == 300 && p.IPID == 0x1042:
			d.osProbe(p, osUDP300)
			return
		}
		d.startProbe(f, famUDP, p)
		if p.IPID != 0 { // Linux sends UDP with DF and IP ID 0: no fingerprint there
			d.noteProbe(probeSig{target: p.Dst.As16(), port: p.DstPort, ipid: uint16(p.IPID), sport: p.SrcPort, proto: 17}, p.Src)
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
		d.resolve(f, outOpen)
	}
}

func (d *Detector) sctp(p *decode.Packet) {
	k, srcIsA := makeKey(p.Src, p.Dst, p.SrcPort, p.DstPort, 132)
	f := d.flows.get(k)
	if f == nil {
		f = d.newFlow(k, srcIsA)
		if p.SCTPChunk == 1 && d.probeTarget(p) { // only INIT opens an association
			d.startProbe(f, famSCTP, p)
		}
		return
	}
	d.seen(f)
	if srcIsA == f.initIsA {
		switch {
		case f.state == stPending && p.SCTPChunk == 1:
			f.probes++
		case f.state == stSynAck && p.SCTPChunk == 6: // ABORT after INIT-ACK: half-open
			d.resolve(f, outHalfOpen)
		case f.state == stSynAck && p.SCTPChunk == 10: // COOKIE-ECHO: a real association
			d.resolve(f, outBenign)
		}
		return
	}
	if f.state == stPending {
		switch p.SCTPChunk {
		case 2:
			f.state, f.synAckSeen = stSynAck, true
		case 6:
			d.resolve(f, outClosed)
		}
	}
}

func (d *Detector) ipproto(p *decode.Packet) {
	k, srcIsA := makeKey(p.Src, p.Dst, 0, 0, p.Proto)
	f := d.flows.get(k)
	if f == nil {
		f = d.newFlow(k, srcIsA)
		if d.probeTarget(p) {
			d.startProbe(f, famIPProto, p)
		}
		return
	}
	d.seen(f)
	if srcIsA != f.initIsA && f.state == stPending {
		d.resolve(f, outOpen)
	}
}

// --- ICMP and ARP ---

func (d *Detector) icmp(p *decode.Packet) {
	t, c := p.ICMPType, p.ICMPCode
	if p.IPv6 {
		switch t {
		case 128: // echo request
			d.sent(p.Src, p.Dst, famPing, p)
		case 129:
			d.alive(p.Src, p.Dst, famPing)
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
		d.sent(p.Src, p.Dst, famPing, p)
	case 0, 14, 16, 18:
		d.alive(p.Src, p.Dst, famPing)
	case 3:
		d.unreachable(p, c == 3 || c == 2)
	}
}

// arp follows ARP requests, and neighbourSolicit their IPv6 form. A host's
// kernel asks for every neighbour it sends IP packets to, so a request only
// counts towards a sweep when the same source sent no IP probe to that
// host: a pure sweep (nmap -sn on a LAN, arp-scan) sends nothing else. The
// verdict waits twice the reply timeout, long enough for the IP probes that
// follow a resolution.
func (d *Detector) arp(p *decode.Packet) {
	switch p.ARPOp {
	case 1:
		d.resolveRequest(p.Src, p.Dst)
	case 2:
		d.resolveReply(p.Src, p.Dst)
	}
}

func (d *Detector) neighbourSolicit(p *decode.Packet) {
	if p.NDTarget.IsValid() && !p.Src.IsUnspecified() { // :: is duplicate address detection
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
	f.initIsA, f.state, f.fam, f.probes = srcIsA, stPending, famARP, 1
	f.first, f.last = d.now, d.now
	d.stats.Probes++
	d.arpPending = append(d.arpPending, pendingRef{f, f.gen, d.now + 2*int64(d.r.Timeouts.Reply)})
}

// resolveReply is target answering who asked: the host is there.
func (d *Detector) resolveReply(target, asker netip.Addr) {
	k, srcIsA := makeKey(target, asker, arpPort, arpPort, 0)
	if f := d.flows.get(k); f != nil && f.state == stPending && srcIsA != f.initIsA {
		f.synAckSeen = true
	}
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
		if r.f.gen == r.gen && r.f.state == stPending {
			d.resolve(r.f, outSent)
		}
	}
	if n > 0 {
		d.arpPending = append(d.arpPending[:0], d.arpPending[n:]...)
	}
}

// scanning reports whether src already has an episode of family fam:
// then a packet that would pass for a reply (a UDP probe from source port
// 53 to an ephemeral port) is one more probe.
func (d *Detector) scanning(src netip.Addr, fam family) bool {
	t := d.trackers[src]
	return t != nil && t.eps[fam] != nil
}

// probedOverIP reports whether scanner sent counted IP probes to target.
func (d *Detector) probedOverIP(scanner, target netip.Addr) bool {
	t := d.trackers[scanner]
	if t == nil {
		return false
	}
	for f, e := range t.eps {
		if e != nil && family(f) != famARP && e.targets[target] != nil {
			return true
		}
	}
	_, ok := t.ended[target]
	return ok
}

// maxEnded bounds the targets a tracker remembers from closed episodes.
const maxEnded = 4096

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
		d.resolve(f, outClosed)
	} else {
		d.resolve(f, outFiltered)
	}
}

// sent counts a probe whose answer does not matter: a ping or ARP request
// to a host is a first contact whether or not the host is there.
func (d *Detector) sent(src, dst netip.Addr, fam family, p *decode.Packet) {
	if !d.probeTarget(p) {
		return
	}
	d.stats.Probes++
	fp := printOf(p)
	d.contact(src, dst, 0, fam, outSent, 1, nil, &fp)
}

// osProbe counts one OS-fingerprint probe; its kind stands in for a port.
func (d *Detector) osProbe(p *decode.Packet, kind uint16) {
	if !d.probeTarget(p) {
		return
	}
	d.stats.Probes++
	d.contact(p.Src, p.Dst, kind, famOSProbe, outSent, 1, nil, nil)
}

func (d *Detector) alive(src, dst netip.Addr, fam family) {
	t := d.trackers[dst]
	if t == nil || t.eps[fam] == nil {
		return
	}
	t.eps[fam].outcomes[outAlive]++
}

// --- resolution ---

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

// contact records one resolved first contact and decides whether the
// episode it belongs to has become a scan.
func (d *Detector) contact(scanner, target netip.Addr, port uint16, fam family, o outcome, probes int, f *flow, fp *synPrint) {
	t := d.tracker(scanner)
	if discoveryProbe(fam, port) && t.eps[famPing] != nil && t.eps[famPing].targets[target] != nil {
		// nmap's host discovery sends SYN to 443 and ACK to 80 with its
		// echo request: part of the ping sweep, not a port scan.
		t.eps[famPing].probes += probes
		t.eps[famPing].tcpProbes += probes
		return
	}
	e := t.eps[fam]
	if e != nil && e.alerted && f != nil && d.otherTool(e, f) {
		d.endEpisode(t, fam) // the same source, another tool: another scan
		e = nil
	}
	start := d.now
	if f != nil {
		start = f.first
	}
	if e == nil {
		e = newEpisode(fam, start)
		t.eps[fam] = e
	}
	if fam == famCustom && f != nil && e.name == "" {
		e.name = flagString(f.flags)
	}
	e.probes += probes
	e.first = min(e.first, start)
	e.last = max(e.last, start)
	e.outcomes[o]++
	if fp != nil {
		e.ttl.add(*fp)
	}
	if f != nil && f.proto() == 6 {
		e.tools.add(f.fp)
		if fam.synLike() {
			if f.fp.opts == optFull || f.fp.df && f.fp.opts != optMSSOnly && f.fp.opts != optNone {
				e.osSY++
			} else {
				e.craftedSY++
			}
		}
	}
	isNew := e.add(target, port, o, d.now)
	if isNew && d.alarmLLR > 0 {
		t.llr += d.failLLR
	}
	if e.alerted || e.folded || !isNew {
		return
	}
	th := d.thresholds[fam]
	e.slide(d.now, th.Window)
	switch {
	case e.crossed(target, th.Ports, th.Hosts):
	case d.slowScan(t, e, th):
		e.slow = true
	default:
		return
	}
	d.alert(t, fam, e)
}

// otherTool reports a TCP probe whose fingerprint names a tool other than
// the one an alerted episode was made with (at least 10 of its probes).
func (d *Detector) otherTool(e *episode, f *flow) bool {
	if f.proto() != 6 {
		return false
	}
	cur, nt := e.tools.leader(), toolOf(f.fp)
	return cur != toolUnknown && e.tools.n[cur] >= 10 && nt != cur && nt != toolUnknown && nt != toolOS
}

// slowScan applies the sequential test to an episode too slow for its
// window: the scanner's likelihood ratio has reached the alarm and the
// episode holds enough distinct failed contacts.
func (d *Detector) slowScan(t *tracker, e *episode, th rules.Threshold) bool {
	if d.alarmLLR <= 0 || t.llr < d.alarmLLR || d.now-e.first < int64(th.Window) {
		return false
	}
	n := d.r.Slow.MinPorts
	if e.fam == famPing || e.fam == famARP {
		return len(e.targets) >= n
	}
	if len(e.targets) >= n {
		return true
	}
	for _, ps := range e.targets {
		if ps.len() >= n {
			return true
		}
	}
	return false
}

func (d *Detector) alert(t *tracker, fam family, e *episode) {
	if d.foldIntoPing(t, fam, e) {
		return
	}
	if t, e = d.decoyAlert(t, fam, e); e == nil {
		return
	}
	e.markAlerted()
	d.groupDistributed(t, fam, e)
	d.stats.Alerts++
	d.emit(Event{Kind: "alert", Time: time.Unix(0, d.now).UTC(), Scan: e.report(t.addr)})
}

func discoveryProbe(fam family, port uint16) bool {
	return fam.synLike() && port == 443 || fam == famAck && port == 80
}

// foldIntoPing keeps nmap's host discovery (echo, SYN to 443, ACK to 80,
// timestamp, to every host) one ping-sweep report instead of three.
func (d *Detector) foldIntoPing(t *tracker, fam family, e *episode) bool {
	ping := t.eps[famPing]
	if (!fam.synLike() && fam != famAck) || ping == nil {
		return false
	}
	onlyWeb := true
	e.ports.each(func(p uint16) { onlyWeb = onlyWeb && (p == 80 || p == 443) })
	if !onlyWeb {
		return false
	}
	shared := 0
	for a := range e.targets {
		if ping.targets[a] != nil {
			shared++
		}
	}
	if shared*2 < len(e.targets) {
		return false
	}
	e.folded = true
	return true
}

func (d *Detector) endEpisode(t *tracker, fam family) {
	e := t.eps[fam]
	t.eps[fam] = nil
	if e == nil || !e.alerted {
		return
	}
	d.forgetTargets(t, e)
	if fam != famARP {
		if t.ended == nil {
			t.ended = make(map[netip.Addr]struct{})
		}
		for a := range e.targets {
			if len(t.ended) >= maxEnded {
				break
			}
			t.ended[a] = struct{}{}
		}
	}
	s := e.report(t.addr)
	if fam == famPing {
		for _, other := range []family{famSyn, famConnect, famAck} {
			if o := t.eps[other]; o != nil && o.folded {
				s.Probes += o.probes
				s.Evidence += ", " + o.evidence()
			}
		}
	}
	d.emit(Event{Kind: "scan", Time: time.Unix(0, d.now).UTC(), Scan: s})
}

// --- trackers ---

func (d *Detector) tracker(a netip.Addr) *tracker {
	t := d.trackers[a]
	if t != nil {
		t.last = d.now
		d.byAge.touch(t)
		return t
	}
	if len(d.trackers) >= d.r.State.MaxTrackers {
		d.evictTracker()
	}
	t = &tracker{addr: a, last: d.now}
	d.trackers[a] = t
	d.byAge.pushFront(t)
	return t
}

// evictTracker drops the least recently used tracker that is not in an
// alerted episode; if every tracker is, the least recently used one goes
// (after its summary is written).
func (d *Detector) evictTracker() {
	victim := d.byAge.tail
	for t, n := d.byAge.tail, 0; t != nil && n < 64; t, n = d.byAge.older(t), n+1 {
		if !t.active() {
			victim = t
			break
		}
	}
	if victim == nil {
		return
	}
	d.dropTracker(victim)
	d.stats.TrackersEvicted++
}

func (d *Detector) dropTracker(t *tracker) {
	for f := range t.eps {
		if t.eps[f] != nil {
			d.endEpisode(t, family(f))
		}
	}
	d.forget(t)
}

// forget removes a tracker with nothing left to report.
func (d *Detector) forget(t *tracker) {
	d.byAge.unlink(t)
	delete(d.trackers, t.addr)
	if ds := d.decoys[t.addr]; ds != nil {
		delete(d.decoys, t.addr)
		if i := slices.Index(ds.members, t.addr); i >= 0 {
			ds.members = slices.Delete(ds.members, i, i+1)
		}
	}
}

// sweep runs once a second of packet time: it ends idle episodes, forgets
// trackers with nothing left to remember, and drops long-idle flows.
func (d *Detector) sweep() {
	now := d.now
	idle := int64(d.r.Timeouts.Idle)
	memory := int64(d.r.Slow.Memory)
	if !d.r.Slow.Enabled {
		memory = 0
	}
	for t := d.byAge.tail; t != nil; {
		prev := d.byAge.older(t)
		keep := false
		for f, e := range t.eps {
			if e == nil {
				continue
			}
			quiet := now - e.last
			switch {
			case e.alerted && quiet > episodeIdle(e, idle):
				d.endEpisode(t, family(f))
			case !e.alerted && quiet > max(memory, int64(d.thresholds[f].Window)):
				t.eps[f] = nil
			default:
				keep = true
			}
		}
		if !keep && now-t.last > max(memory, idle) {
			d.forget(t)
		}
		t = prev
	}
	// Flows: the LRU tail holds the longest idle ones. A connection silent
	// for flowIdle that speaks again is picked up as mid-stream traffic.
	// A resolved probe's flow goes sooner: later packets (a retransmission,
	// masscan's extra RST) can no longer change its verdict.
	done := now - 2*int64(d.r.Timeouts.Reply)
	for f := d.flows.oldest(); f != nil && f.last < done; {
		older := d.flows.older(f)
		if f.state == stResolved || now-f.last > int64(flowIdle) {
			d.evictFlow(f)
			d.flows.remove(f)
		}
		f = older
	}
}

// flowIdle is how long a flow is remembered without packets.
const flowIdle = 5 * time.Minute

// episodeIdle is how long an alerted episode may stay quiet before it ends:
// the idle timeout, or three times its mean gap between contacts for slow
// scans, whose probes may be minutes apart.
func episodeIdle(e *episode, idle int64) int64 {
	if e.contacts > 1 {
		gap := (e.last - e.first) / int64(e.contacts-1)
		return max(idle, 3*gap)
	}
	return idle
}

func (f *flow) proto() uint8 { return f.key.proto }
