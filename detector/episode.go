package detector

import (
	"cmp"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/scanwatch/scanwatch/technique"
)

// episode is one scan of one technique by one scanner, from its first counted
// contact until it goes idle. It counts distinct (target, port) contacts
// exactly, keeps a sliding window of recent first contacts for the rate
// thresholds, and the reply evidence for the report.
//
// The fields are in the order a contact reads them: one counted before
// (the common case: a client's next lookup) reads and writes the first
// 384 bytes only, six cache lines in a row, and its first target's ports
// are among them (portSet keeps a few inline); a TCP probe's tool votes
// follow. TestEpisodeLayout holds the order.
type episode struct {
	tech    technique.Technique
	alerted bool
	slow    bool
	folded  bool // part of another episode's report (ping's TCP probes, a decoy's copies)
	// decoyed: made of probes sent while the scanner's decoy set was
	// sending copies (nmap -D); another scan from the same source is
	// another episode.
	decoyed      bool
	deferred     bool // its alert waits for the decoy set's replies
	undetermined bool // decoys and no member singled out: no scanner named
	full         bool // past its byte cap: new targets are counted without their ports
	sport        onePort

	first, last int64 // packet times of the first and last probe, ns
	probes      int
	bytes       int // memory held, as budget.go accounts it
	contacts    int
	failed      int // distinct failed first contacts (the sequential test's)

	targets targetMap // every counted contact, exactly
	open    portSet

	outcomes  [numOutcomes]int
	ttl       ttlSpread
	kinds     *kindCounts // probes by kind, for techniques with several (probekind.go)
	via       netip.Addr  // the zombie or relay the probes went through (Contact.Via)
	craftedSY int         // SYN probes with a crafted fingerprint
	osSY      int         // SYN probes from an OS stack (connect())
	tcpProbes int         // ping: host-discovery SYN/ACK probes folded in

	tools toolVotes // TCP probes only: their counts next, their total after the evidence texts

	// What a new contact reads besides.
	overflow map[netip.Addr]struct{} // targets past maxEpisodeTargets: counted, ports not kept
	ports    portSet                 // union of ports over targets
	// Sliding window of first contacts not yet alerted, and its entries
	// per target once it holds more than winSmall (targets.go).
	win          []winEntry
	winPerTarget map[netip.Addr]int

	// flood is the flood its suppressed alert joined (floods.go), which
	// sums it up when it ends.
	flood *flood
	x     *episodeNotes // made by notes(), read through read()
}

// episodeNotes holds what few episodes have, out of the episode so that
// the common one (a probe or two) is smaller (632 bytes at most, so that
// with its malloc header it is in the 640-byte size class): its id, the
// type its alert named, a custom probe's flag mix, its decoys, its
// distributed-scan group, the protocol numbers of an IP protocol scan.
type episodeNotes struct {
	name     string // custom probes: the flag mix
	typ      string // the type the alert reported; the closing record keeps it
	decoys   []netip.Addr
	decoyWhy string
	group    string  // distributed scan group
	protos   portSet // ipproto: the protocol numbers whose probes failed
	id       uint64  // set when it alerts (episodeID)
}

// notes returns e's notes to write them, made on first use.
func (e *episode) notes() *episodeNotes {
	if e.x == nil {
		e.x = &episodeNotes{}
	}
	return e.x
}

var noNotes episodeNotes

// read returns e's notes to read them: empty ones when it has none.
func (e *episode) read() *episodeNotes {
	if e.x == nil {
		return &noNotes
	}
	return e.x
}

type winEntry struct {
	t      int64
	target netip.Addr
}

func newEpisode(tech technique.Technique, now int64) *episode {
	return &episode{tech: tech, first: now, last: now}
}

// maxEpisodeTargets bounds one episode's memory: a block scan of a /16 on
// 1000 ports would otherwise keep 65536 port sets. Targets past the cap
// are counted (TargetCount stays exact) but their ports are not kept.
const maxEpisodeTargets = 1 << 14

// add counts one resolved contact. It reports whether (target, port) is new
// to this episode; only new pairs that are counted (not an exchange the
// peer answered) move the thresholds.
func (e *episode) add(target netip.Addr, port uint16, o Outcome, now int64, counted bool) bool {
	return e.addTo(e.targets.get(target), target, port, o, now, counted)
}

// addTo is add with target's port set already looked up (nil: none).
func (e *episode) addTo(ps *portSet, target netip.Addr, port uint16, o Outcome, now int64, counted bool) bool {
	if ps == nil && (e.targets.len() >= maxEpisodeTargets || e.full) {
		if e.overflow == nil {
			e.overflow = make(map[netip.Addr]struct{})
		}
		if _, seen := e.overflow[target]; seen {
			return false
		}
		e.overflow[target] = struct{}{}
		e.ports.add(port)
		e.contacts++
		return true
	}
	if ps == nil {
		ps = e.targets.put(target)
	}
	if o.open() && !e.open.has(port) {
		e.open.add(port)
	}
	if !ps.add(port) {
		return false
	}
	e.ports.add(port)
	e.contacts++
	if counted && !e.alerted {
		e.winAppend(now, target)
	}
	return true
}

// tally adds c's probes, outcome and fingerprint to the episode's report.
func (e *episode) tally(c *Contact) {
	if e.tech == technique.Custom && e.read().name == "" {
		e.notes().name = c.Print.Flags.String()
	}
	e.probes += int(c.Probes)
	e.first = min(e.first, c.First)
	e.last = max(e.last, c.First)
	e.outcomes[c.Outcome]++
	e.ttl.add(c.Print)
	e.sport.add(c.Print.SrcPort)
	if !tcpProbe(e.tech) {
		return
	}
	fp := c.Print
	e.tools.add(fp)
	if synLike(e.tech) {
		if fp.osStackSYN() || !fp.Frag && fp.DF && fp.Options != OptMSSOnly && fp.Options != OptNone {
			e.osSY++
		} else {
			e.craftedSY++
		}
	}
}

// slide forgets window entries older than the window.
func (e *episode) slide(now int64, window time.Duration) {
	cut := now - int64(window)
	i := 0
	for ; i < len(e.win) && e.win[i].t < cut; i++ {
		if e.winPerTarget == nil {
			continue
		}
		t := e.win[i].target
		if e.winPerTarget[t]--; e.winPerTarget[t] <= 0 {
			delete(e.winPerTarget, t)
		}
	}
	if i > 0 {
		e.win = append(e.win[:0], e.win[i:]...)
	}
}

// crossedPorts reports whether the window holds enough distinct ports on
// target, crossedHosts whether it holds enough distinct targets.
func (e *episode) crossedPorts(target netip.Addr, ports int) bool {
	return ports > 0 && e.winCount(target) >= ports
}

func (e *episode) crossedHosts(hosts int) bool { return hosts > 0 && e.winHosts() >= hosts }

// markAlerted drops the window: from now on only totals matter. The type
// is decided here, once: the alert and the closing record must name the
// same scan, and an analyst acts on the alert.
func (e *episode) markAlerted() {
	e.notes().typ = e.scanType()
	e.alerted = true
	e.win = nil
	e.winPerTarget = nil
}

// scanType decides the reported type. SYN probes are a connect scan when the
// scanner completed handshakes and tore them down without data, or, when no
// port was open, when most SYNs came from an OS stack rather than a crafter.
func (e *episode) scanType() string {
	switch {
	case !synLike(e.tech):
		return e.tech.String()
	case e.outcomes[OutConnect] > e.outcomes[OutHalfOpen]:
		return "connect"
	case e.outcomes[OutHalfOpen] > e.outcomes[OutConnect]:
		return "syn"
	}
	return e.tech.String() // no open port: the SYN fingerprint decides
}

func (e *episode) shape() string {
	switch {
	case e.tech == technique.Ping || e.tech == technique.ARP:
		return "horizontal"
	case e.targets.len()+len(e.overflow) == 1:
		return "vertical"
	case e.ports.len() <= 3:
		return "horizontal"
	}
	return "block"
}

func (e *episode) proto(v6 bool) string {
	switch e.tech {
	case technique.UDP:
		return "UDP"
	case technique.SCTP:
		return "SCTP"
	case technique.IPProto:
		return "IP"
	case technique.ARP:
		if v6 {
			return "IPV6-ICMP" // neighbour discovery
		}
		return "ARP"
	case technique.Ping:
		if v6 {
			return "IPV6-ICMP"
		}
		return "ICMP"
	}
	return "TCP"
}

// report builds the Scan record as the episode stands now.
func (e *episode) report(scanner netip.Addr) Scan {
	s := Scan{
		ID:          e.read().id,
		Type:        cmp.Or(e.read().typ, e.scanType()),
		Name:        e.read().name,
		Proto:       e.proto(scanner.Is6()),
		Shape:       e.shape(),
		Scanner:     scanner,
		SrcPort:     e.sport.value(),
		TargetCount: e.targets.len() + len(e.overflow),
		Probes:      e.probes,
		FirstSeen:   time.Unix(0, e.first).UTC(),
		LastSeen:    time.Unix(0, e.last).UTC(),
		Slow:        e.slow,
	}
	targets := make([]netip.Addr, 0, e.targets.len())
	for t := range e.targets.keys() {
		targets = append(targets, t)
	}
	sort.Slice(targets, func(i, j int) bool { return targets[i].Less(targets[j]) })
	if len(targets) > MaxListedTargets {
		targets = targets[:MaxListedTargets]
	}
	s.Targets = targets
	if e.tech != technique.Ping && e.tech != technique.ARP {
		s.PortCount = e.ports.len()
		s.Ports = e.ports.ranges(maxPortRanges)
		s.OpenPorts = e.open.slice()
	}
	s.Tool, s.ToolEvidence = e.tools.verdict()
	if ok, why := e.ttl.nmap(); ok && s.Tool == "unknown" && e.tech != technique.ARP {
		s.Tool, s.ToolEvidence = "nmap", why
	}
	if e.tech == technique.OSProbe {
		// The probe values themselves are nmap's (TSval 0xFFFFFFFF, U1's IP ID).
		var kinds []string
		e.ports.each(func(k uint16) { kinds = append(kinds, osProbeNames[k]) })
		s.Ports = strings.Join(kinds, ",")
		s.PortCount = len(kinds)
		s.OpenPorts = e.open.slice()
		s.Tool, s.ToolEvidence = "nmap", "nmap -O probe values: "+s.Ports
	}
	s.Evidence = e.evidence()
	if e.undetermined {
		s.Scanner = netip.Addr{}
	}
	if n := e.read(); n.decoyWhy != "" {
		s.Decoys = n.decoys
		s.Evidence += "; decoys: " + n.decoyWhy
	}
	s.Group = e.read().group
	e.describe(&s)
	return s
}

// evidence says in words what the wire showed, e.g.
// "87 SYN, 84 RST-ACK, 3 SYN-ACK then RST from scanner".
func (e *episode) evidence() string {
	o := e.outcomes
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, strconv.Itoa(n)+" "+what)
		}
	}
	probe := map[technique.Technique]string{
		technique.Syn: "SYN", technique.Connect: "SYN", technique.Fin: "FIN", technique.Null: "NULL", technique.Xmas: "FIN|PSH|URG", technique.Maimon: "FIN|ACK",
		technique.Ack: "ACK", technique.Custom: e.read().name, technique.UDP: "UDP", technique.IPProto: "IP protocol", technique.SCTP: "SCTP INIT",
		technique.Ping: "echo/timestamp", technique.ARP: "ARP request/neighbour solicitation", technique.OSProbe: "OS probe",
	}[e.tech]
	add(e.probes-e.tcpProbes, e.probeLabel(probe))
	switch e.tech {
	case technique.Syn, technique.Connect:
		add(o[OutClosed], "RST-ACK")
		add(o[OutHalfOpen], "SYN-ACK then RST from scanner")
		add(o[OutConnect], "handshakes closed without data")
		add(o[OutOpen], "SYN-ACK")
	case technique.UDP:
		add(o[OutClosed], "ICMP port unreachable")
		add(o[OutOpen], "UDP replies")
	case technique.IPProto:
		add(o[OutClosed], "ICMP protocol unreachable")
		add(o[OutOpen], "answered")
	case technique.SCTP:
		add(o[OutClosed], "ABORT")
		add(o[OutHalfOpen], "INIT-ACK then ABORT from scanner")
		add(o[OutOpen], "INIT-ACK")
	case technique.Ping, technique.ARP:
		add(e.tcpProbes, "TCP SYN-443/ACK-80 discovery probes")
		add(o[OutAlive], "replies")
	default:
		add(o[OutClosed], "RST")
	}
	add(o[OutFiltered], "ICMP unreachable")
	add(o[OutNone], "unanswered")
	if synLike(e.tech) && o[OutHalfOpen] == 0 && o[OutConnect] == 0 && e.craftedSY+e.osSY > 0 {
		if e.osSY > e.craftedSY {
			parts = append(parts, fmt.Sprintf("%d SYN with OS-stack options", e.osSY))
		} else {
			parts = append(parts, fmt.Sprintf("%d crafted SYN", e.craftedSY))
		}
	}
	return strings.Join(parts, ", ")
}

func itoa(i int) string { return strconv.Itoa(i) }
