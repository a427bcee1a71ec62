// Package detector turns decoded packets into scan episodes. It follows
// each flow's handshake and the target's replies to classify probes, and
// hands every resolved first contact, as a Contact, to Episodes: it counts
// distinct first contacts per scanner exactly, and reports one alert when
// an episode is recognised as a scan and one summary when it ends. It does
// no I/O and reads time only from the packets it is given, so a replay is
// deterministic and live capture runs the same code.
package detector

import (
	"math"
	"net/netip"
	"time"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/technique"
)

// Stats are the detector's counters.
type Stats struct {
	Packets         uint64
	Probes          uint64 // first-contact probes seen
	Flows           int    // flows followed now
	FlowMemory      uint64 // bytes the flow table holds, about
	FlowsEvicted    uint64
	Trackers        int // scanners followed now
	TrackersEvicted uint64
	// Probation: sources with one first contact, waiting for a second
	// before they get a tracker; evicted ones are remembered in filters.
	Probation        int
	ProbationEvicted uint64
	Suspects         int   // sequential-test states of evicted trackers kept
	TrackerBytes     int64 // memory held by trackers, as accounted
	Alerts           uint64
	// AlertsSuppressed counts alerts past the rules' alert budget; each
	// flood of them (Floods) has one alert and one closing record of its
	// own, counted in neither.
	AlertsSuppressed uint64
	Floods           uint64
}

// Detector is not safe for concurrent use: feed it from one goroutine.
type Detector struct {
	r *rules.Rules

	onContact func(Contact) // sees every contact before the episodes do

	now        int64
	nextSweep  int64
	flows      *flowTable
	pending    []pendingRef
	pendHead   int
	pendBase   uint32 // the queue place (flow.qpos) of pending[0]
	pendDue    int64  // when the queue's head is due (setPendDue)
	arpPending []pendingRef

	// episodes is the only way into trackers and episodes: handlers give
	// it contacts.
	episodes *Episodes
	// apps follows the sources of recognised service probes and script
	// requests (appscan.go).
	apps map[netip.Addr]*appSource
	// idle remembers backscatter and IP ID reads (idle.go), ftp the FTP
	// control channels (ftp.go).
	idle idleState
	ftp  ftpState

	packets, probes uint64
}

// New returns a detector that calls emit for every event, in order.
func New(r *rules.Rules, emit func(Event)) *Detector {
	d := &Detector{flows: newFlowTable(flowCap(r))}
	d.episodes = NewEpisodes(r, func(ev Event) { d.annotate(&ev); emit(ev) })
	d.SetRules(r)
	return d
}

// SetRules swaps in new rules (a reload) and keeps every flow, tracker and
// episode: thresholds, patterns and allow lists apply from the next packet.
// The flow cap (of the count and the memory budget) applies as the table
// next fills.
func (d *Detector) SetRules(r *rules.Rules) {
	d.r = r
	d.setPendDue() // the reply timeout may have changed
	d.flows.max = flowCap(r)
	d.episodes.SetRules(r)
}

// Stats returns the current counters.
func (d *Detector) Stats() Stats {
	s := d.episodes.Stats()
	s.Packets, s.Probes = d.packets, d.probes
	s.Flows = d.flows.len()
	s.FlowMemory = d.flows.memuse()
	s.FlowsEvicted = d.flows.evicted
	return s
}

// OpenEpisodes is the number of scan episodes not yet closed; after Flush
// it is 0.
func (d *Detector) OpenEpisodes() int { return d.episodes.OpenEpisodes() }

// Process feeds one decoded packet.
func (d *Detector) Process(p *decode.Packet) {
	var k Key
	k.Set(p)
	d.ProcessKey(p, &k)
}

// ProcessKey is Process of a packet whose key k was computed beforehand
// (k.Set(p)).
func (d *Detector) ProcessKey(p *decode.Packet, k *Key) {
	d.packets++
	if now := p.Time.UnixNano(); now > d.now {
		d.advance(now)
	}
	switch p.Kind {
	case decode.KindTCP:
		d.tcp(p, k)
	case decode.KindUDP:
		d.udp(p, k)
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
	if now := t.UnixNano(); now > d.now {
		d.advance(now)
	}
}

// advance is Advance to a time after the detector's clock. Most packets
// find nothing due (no probe's reply time over, no ARP probe waiting, no
// sweep of flows or episodes, no deferred alert): a few compares, inlined
// into Process; the rest is in advanceDue.
func (d *Detector) advance(now int64) {
	d.now = now
	if now < d.pendDue && len(d.arpPending) == 0 && now < d.nextSweep && d.episodes.idle(now) {
		d.episodes.now = now
		return
	}
	d.advanceDue(now)
}

// advanceDue is advance when something may be due.
func (d *Detector) advanceDue(now int64) {
	if now >= d.pendDue {
		d.expirePending(now - int64(d.r.Timeouts.Reply))
	}
	if len(d.arpPending) > 0 {
		d.expireARP(now)
		if len(d.arpPending) > 2*d.flows.max+1024 {
			d.arpPending = d.flows.compactRefs(d.arpPending, 0)
		}
	}
	d.episodes.Advance(now)
	if now >= d.nextSweep {
		if d.nextSweep != 0 {
			d.sweepFlows()
		}
		d.nextSweep = now + int64(time.Second)
	}
}

// Flush ends the capture: every pending probe is resolved as unanswered and
// every open episode is closed with its summary, in a deterministic order.
func (d *Detector) Flush() {
	d.expirePending(math.MaxInt64)
	d.expireARP(math.MaxInt64)
	d.episodes.Flush()
}

// seen notes a packet of f. The LRU position moves at most once a second
// of packet time: a bulk flow would otherwise relink on every packet, and
// eviction and expiry only need second precision. Most packets only set
// last: seen is small enough to be inlined, the rest is in seenMore.
func (d *Detector) seen(f *flow) {
	f.last = d.now
	if d.now-f.touched >= int64(time.Second) || f.kept {
		d.seenMore(f)
	}
}

// seenMore is kept out of line, so that seen is inlined.
//
//go:noinline
func (d *Detector) seenMore(f *flow) {
	if d.now-f.touched >= int64(time.Second) {
		f.touched = d.now
		d.flows.touch(f) // out of the sweep's kept run, if it was in it
	} else {
		d.flows.sweep.dirty = true // in the kept run, with a new last
	}
}

// newFlow starts following k as ordinary traffic; startProbe makes it a probe.
func (d *Detector) newFlow(k flowKey, srcIsA bool) *flow {
	return d.newFlowHashed(k, d.flows.hash(&k), srcIsA)
}

// newFlowHashed is newFlow of a key whose hash flowTable.lookup returned.
func (d *Detector) newFlowHashed(k flowKey, h uint64, srcIsA bool) *flow {
	if k.proto() != 0 && len(d.arpPending) > 0 { // a transport flow, not one of the flow table's other entries
		a, b := k.a, k.b
		if !srcIsA {
			a, b = b, a
		}
		d.ipFollowed128(a, b)
	}
	f := d.flows.insertHashed(k, h, d.evictFlow)
	f.initIsA, f.state, f.first, f.last, f.touched = srcIsA, stBenign, d.now, d.now, d.now
	return f
}

// startProbe marks f's first packet p as a probe of technique tech that now
// waits for the target's answer.
func (d *Detector) startProbe(f *flow, tech technique.Technique, p *decode.Packet) {
	d.startProbePrint(f, tech, printOf(p))
}

// startProbePrint is startProbe of a packet whose fingerprint is fp.
func (d *Detector) startProbePrint(f *flow, tech technique.Technique, fp Print) {
	f.state, f.tech, f.probes = stPending, tech, 1
	f.fp = fp
	d.probes++
	d.enqueue(f)
}

// probeTarget applies home networks and allow lists to a first contact.
func (d *Detector) probeTarget(p *decode.Packet) bool {
	if !unicastTarget(p) {
		return false
	}
	// An empty list allows nothing: most rules have empty allow lists, and
	// this runs for every new flow.
	r := d.r
	if !r.IsHome(p.Dst) || len(r.Allow.Scanners) > 0 && r.AllowedScanner(p.Src) || len(r.Allow.Targets) > 0 && r.AllowedTarget(p.Dst) {
		return false
	}
	if len(r.Allow.Ports) > 0 && p.Kind != decode.KindOther && p.Kind != decode.KindICMP && p.Kind != decode.KindARP && r.AllowedPort(p.DstPort) {
		return false
	}
	return true
}

// unicastTarget reports whether p goes to one host: a valid address, not
// multicast, unspecified or broadcast, in a frame to one station.
func unicastTarget(p *decode.Packet) bool {
	return p.Dst.IsValid() && !p.Dst.IsMulticast() && !p.Dst.IsUnspecified() && !isBroadcast(p.Dst) && !p.LinkGroup
}

// isBroadcast is the limited broadcast; a subnet's broadcast address cannot
// be told from a host without its netmask (x.y.z.255 is a host in a /16),
// but its frames go to the link-layer broadcast (decode.Packet.LinkGroup).
func isBroadcast(a netip.Addr) bool { return a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) }

// OnContact makes f see every resolved first contact, before the episodes
// count it (a sensor publishes them to the fleet).
func (d *Detector) OnContact(f func(Contact)) { d.onContact = f }

func (d *Detector) add(c Contact) {
	if d.onContact != nil {
		d.onContact(c)
	}
	d.episodes.Add(c)
}
