// Application probes: version and script scans. Their connections
// complete and carry data, so they never count as failed first contacts;
// what the scanner sends is the evidence instead (payload.go names it).
// One recognised request says little (a load balancer's health check may
// send "OPTIONS / HTTP/1.0" too), so a source's marked connections wait
// until its probes, taken together, name a scanner; from then on each is a
// contact of a version or script episode, and the ones that waited are
// counted too.

package detector

import (
	"net/netip"
	"time"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/technique"
)

const (
	// nullWait is how long a client may stay silent after connecting
	// before its first request is nmap's NULL probe followed by another
	// (nmap waits 6 s for a banner; clients speak at once).
	nullWait = 5 * time.Second
	// maxAppSources bounds the sources followed; maxAppPending the marked
	// connections one source keeps while its probes name no scanner yet.
	maxAppSources = 4096
	maxAppPending = 16
)

// closedAt is when a flow's responder closed, in closedUnit steps after
// the flow's first packet, plus one (0: it has not); it saturates after
// about 11 minutes, which only makes a late close look prompt.
type closedAt uint16

const closedUnit = 10 * time.Millisecond

func closedSince(first, now int64) closedAt {
	return closedAt(min((now-first)/int64(closedUnit)+1, 0xffff))
}

// appSource is what one source's marked connections showed so far.
type appSource struct {
	last     int64
	svc      kindSet // distinct service probes (grpService)
	nse      kindSet // distinct script requests that count towards a script scan
	nseScore int
	svcNmap  bool // a service probe only nmap sends
	nullWait bool // a NULL probe: silent for seconds, then a probe
	scanned  bool // a marked connection to a port the source had SYN-scanned
	stack    bool // a crafted SYN's handshake completed by the source's own stack
	version  bool // the source is doing a version scan: its marks are counted
	script   bool // ... a script scan
	pending  []Contact
}

// kindSet is a set of probe kinds.
type kindSet [2]uint64

func (s *kindSet) add(k ProbeKind) bool {
	w, b := k>>6, uint64(1)<<(k&63)
	if s[w]&b != 0 {
		return false
	}
	s[w] |= b
	return true
}

func (s *kindSet) len() int {
	n := 0
	for _, w := range s {
		for ; w != 0; w &= w - 1 {
			n++
		}
	}
	return n
}

// firstRequest looks at the first data segment a client sent on f (a
// connection whose handshake was followed).
func (d *Detector) firstRequest(f *flow, p *decode.Packet) {
	if _, port := f.responder(); port == ftpPort {
		d.ftpControl(f, p)
	}
	kind, ua := classifyRequest(p.Data, p.Payload)
	if d.now-f.first >= int64(nullWait) && kind != KindNone && f.srvClosed == 0 {
		d.markApp(f, KindNullWait, false)
	}
	if kind != KindNone {
		if ua && kind != KindNSEUserAgent {
			kind |= withNmapUA
		}
		d.markApp(f, kind, ua)
	}
}

// closedQuiet is a connection the client closed without a request. After
// a banner, that is a banner grab, unless the server had closed first: an
// FTP data connection, or a script that gave up waiting. A service that
// hangs up after its greeting counts only on a port the source SYN-scanned
// and closed at once: nmap -sV's NULL probe read the banner it needed.
func (d *Detector) closedQuiet(f *flow) {
	if !f.banner || f.ownStack {
		return
	}
	if f.srvClosed != 0 {
		scanner, _ := f.initiator()
		target, port := f.responder()
		if scanned, _ := d.episodes.synScanned(scanner, target, port); !scanned || closedSince(f.first, d.now)-f.srvClosed > closedAt(time.Second/closedUnit) {
			return
		}
	}
	d.markApp(f, KindBannerGrab, false)
}

// handshakeDone is the client completing f's handshake. A crafted SYN's
// handshake is completed only by a scanner's own TCP stack (the kernel
// would reset it): masscan --banners, or a tool like it.
func (d *Detector) handshakeDone(f *flow) {
	switch toolOf(f.fp) {
	case toolMasscan:
		f.ownStack = true
		d.markApp(f, KindMasscanStack, false)
	case toolNmap, toolZmap:
		f.ownStack = true
		d.markApp(f, KindCraftedStack, false)
	}
}

// markApp records that the client of f sent a probe of kind k (ua: with
// nmap's script User-Agent), and counts it once its source names a
// scanner.
func (d *Detector) markApp(f *flow, k ProbeKind, ua bool) {
	scanner, _ := f.initiator()
	target, port := f.responder()
	if !d.r.IsHome(target) || d.r.AllowedScanner(scanner) || d.r.AllowedTarget(target) || d.r.AllowedPort(port) {
		return
	}
	src := d.appSource(scanner)
	src.last = d.now
	info := k.info()
	switch info.group {
	case grpStack:
		src.stack = true
	case grpService:
		if src.svc.add(k&^withNmapUA) && info.tool == toolNmap {
			src.svcNmap = true
		}
		src.nullWait = src.nullWait || k == KindNullWait
		if scanned, t := d.episodes.synScanned(scanner, target, port); scanned && !f.afterSYN {
			// Said once per connection, as a probe kind of its own.
			f.afterSYN, src.scanned = true, true
			after := KindAfterSYN
			if t == toolNmap {
				after = KindAfterNmapSYN
			}
			src.pend(Contact{Time: d.now, First: f.first, Scanner: scanner, Target: target, Print: f.fp,
				Port: port, Probes: 1, Kind: after, Outcome: OutOpen})
		}
	case grpNSEAny, grpNSEDefault:
		w := int(info.weight)
		if ua {
			w = max(w, 2)
		}
		if (info.group == grpNSEDefault || !src.version) && src.nse.add(k&^withNmapUA) {
			src.nseScore += w
		}
	}
	// Named: by a scanner's own TCP stack; by a port its crafted SYNs had
	// found open; by two kinds of probe, one of them only nmap's; or by a
	// NULL probe and two more kinds (a person typing HELP into a telnet
	// session after reading the banner makes one).
	src.version = src.version || src.stack || src.scanned && src.svc.len() > 0 ||
		src.svc.len() >= 2 && src.svcNmap || src.svc.len() >= 3 && src.nullWait
	src.script = src.script || src.nseScore >= 2

	src.pend(Contact{Time: d.now, First: f.first, Scanner: scanner, Target: target, Print: f.fp,
		Port: port, Probes: 1, Kind: k, Outcome: OutOpen})
	src.flush(d)
}

// pend keeps c until its source's probes name a scan, within bounds.
func (src *appSource) pend(c Contact) {
	if len(src.pending) < maxAppPending {
		src.pending = append(src.pending, c)
	}
}

// flush counts the pending contacts whose scan the source's marks have
// named, as one batch; the others keep waiting.
func (src *appSource) flush(d *Detector) {
	var batch []Contact
	n := 0
	for _, c := range src.pending {
		tech, ok := src.techniqueOf(c.Kind)
		if !ok {
			src.pending[n] = c
			n++
			continue
		}
		c.Technique, c.Time = tech, d.now
		batch = append(batch, c)
	}
	clear(src.pending[n:])
	src.pending = src.pending[:n]
	d.episodes.addBatch(batch)
}

// addBatch counts contacts that became known together and then decides,
// once, whether their episodes are scans: the alert then says all of them
// (the probes that, taken together, named the scanner), not the first.
func (s *Episodes) addBatch(cs []Contact) {
	if len(cs) == 1 {
		s.Add(cs[0])
		return
	}
	s.holding = true
	for _, c := range cs {
		s.Add(c)
	}
	s.holding = false
	for _, c := range cs {
		t := s.trackers.get(c.Scanner)
		if t == nil {
			continue
		}
		e := t.eps[c.Technique]
		if e == nil || e.alerted || e.folded {
			continue
		}
		th := s.thresholds[c.Technique]
		e.slide(s.now, th.Window)
		if e.crossedPorts(c.Target, th.Ports) || e.crossedHosts(th.Hosts) {
			s.alert(t, c.Technique, e)
		}
	}
}

// techniqueOf is the scan a probe of kind k counts towards, if its source
// is doing one: service probes and the requests of version-category
// scripts belong to a version scan, default scripts' requests to a script
// scan; a TLS session request or STARTTLS is either.
func (src *appSource) techniqueOf(k ProbeKind) (technique.Technique, bool) {
	switch k.info().group {
	case grpStack, grpService:
		return technique.Version, src.version
	case grpEither, grpNSEAny:
		switch {
		case src.version:
			return technique.Version, true
		case src.script:
			return technique.Script, true
		}
	case grpNSEDefault:
		return technique.Script, src.script
	}
	return 0, false
}

// appSource returns the state of scanner, starting it (or starting it over
// after an idle timeout) as needed. The table is bounded: when full, the
// sources quiet for longest are dropped with what they had pending.
func (d *Detector) appSource(scanner netip.Addr) *appSource {
	idle := int64(d.r.Timeouts.Idle)
	src := d.apps[scanner]
	if src != nil && d.now-src.last > idle {
		src = nil
	}
	if src == nil {
		if d.apps == nil {
			d.apps = make(map[netip.Addr]*appSource)
		}
		if len(d.apps) >= maxAppSources {
			for a, s := range d.apps {
				if d.now-s.last > idle/4 {
					delete(d.apps, a)
				}
			}
			if len(d.apps) >= maxAppSources {
				clear(d.apps)
			}
		}
		src = &appSource{}
		d.apps[scanner] = src
	}
	return src
}

// synScanned reports whether scanner's SYN probes, crafted by a scanner
// program, found port open on target before it connected to it (nmap -sV
// scans the ports first, then connects to the open ones), and the tool the
// probes name.
func (s *Episodes) synScanned(scanner, target netip.Addr, port uint16) (bool, tool) {
	t := s.trackers.get(scanner)
	if t == nil || t.eps[technique.Syn] == nil {
		return false, toolUnknown
	}
	e := t.eps[technique.Syn]
	ps := e.targets.get(target)
	if e.craftedSY == 0 || ps == nil || !ps.has(port) || !e.open.has(port) {
		return false, toolUnknown
	}
	return true, e.tools.leader()
}
