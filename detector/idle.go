// Idle scans (nmap -sI zombie): the scanner sends its SYNs in the name of
// a zombie, a host with one global IP ID counter, and learns the answer by
// reading the zombie's IP ID before and after (a SYN-ACK to the zombie,
// whose RST carries the next ID). The target sees a SYN scan from the
// zombie; the zombie sees unsolicited SYN-ACKs from the scanner, and the
// target's answers to connections it never opened.
//
// At the target, the SYNs are reported as an idle scan from the zombie
// when that host also answered SYN-ACKs the target never sent: nmap,
// before it scans, spoofs the target's address to the zombie to check that
// the zombie's IP ID moves, and the zombie's RSTs to those come to the
// target. At the zombie, a source that sends it SYN-ACKs again and again,
// each from a new port, is reading its IP ID; while it does, the replies
// of other hosts to connections the zombie never opened are that source's
// probes.

package detector

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

const (
	// minReads is how many SYN-ACKs (each from a new source port) a source
	// sends one host before it counts as reading that host's IP ID: nmap
	// reads its zombie six times before it starts.
	minReads = 4
	// readWindow is how long after its last read a prober is active.
	readWindow = 10 * time.Second
	// zombieMemory is how long backscatter from a host makes its SYNs to
	// the target an idle scan.
	zombieMemory = 5 * time.Minute
	maxIdleState = 4096
)

// handshake techniques probe with SYN and follow the handshake.
func handshake(t technique.Technique) bool { return synLike(t) || t == technique.Idle }

type addrPair struct{ a, b netip.Addr }

// zombieAtTarget is, at the target, a host that answered SYN-ACKs the
// target never sent (its RSTs): the zombie of an idle scan once SYNs in its
// name follow.
type zombieAtTarget struct {
	backscatter int
	last        int64
	rstIDs      idSeq
}

// prober is, at the zombie, a source reading the zombie's IP ID.
type prober struct {
	flows           int // reads that opened a flow: each from a new source port
	reads, answered int
	port            uint16 // the zombie's port it sends its SYN-ACKs to
	print           Print  // its last read: the tool's fingerprint
	last            int64
	ids             idSeq // the IP IDs of the zombie's answers
}

// idleState is the Detector's idle-scan memory.
type idleState struct {
	zombies  map[addrPair]*zombieAtTarget // (zombie, target)
	probers  map[addrPair]*prober         // (prober, zombie)
	probedBy map[netip.Addr]netip.Addr    // zombie -> its latest prober
}

// unsolicited looks at a TCP segment that opens no known flow and is no
// probe: backscatter, or an idle scan's IP ID read or its victim's reply.
func (d *Detector) unsolicited(f *flow, p *decode.Packet) {
	switch p.Flags & (tcpflags.SYN | tcpflags.ACK | tcpflags.RST | tcpflags.FIN) {
	case tcpflags.RST:
		if d.backscatter(p) {
			f.kind = KindBackscatter
		}
	case tcpflags.SYN | tcpflags.ACK:
		if isCrafted(printOf(p)) {
			d.read(f, p)
			return
		}
		d.victimReply(p, OutOpen)
	case tcpflags.RST | tcpflags.ACK:
		d.victimReply(p, OutClosed)
	}
}

// isCrafted reports a packet made by a scanner program rather than a stack.
func isCrafted(fp Print) bool {
	switch toolOf(fp) {
	case toolNmap, toolMasscan, toolZmap, toolHping3:
		return true
	}
	return false
}

// backscatter is a RST from p.Src for a connection p.Dst never had: p.Src
// answered a SYN-ACK sent in p.Dst's name.
func (d *Detector) backscatter(p *decode.Packet) bool {
	if !d.r.IsHome(p.Dst) || d.r.AllowedScanner(p.Src) || d.r.AllowedTarget(p.Dst) {
		return false
	}
	k := addrPair{p.Src, p.Dst}
	z := d.idle.zombies[k]
	if z == nil {
		if d.idle.zombies == nil || len(d.idle.zombies) >= maxIdleState {
			d.idle.zombies = make(map[addrPair]*zombieAtTarget)
		}
		z = &zombieAtTarget{}
		d.idle.zombies[k] = z
	}
	z.backscatter++
	z.last = d.now
	z.rstIDs.add(uint16(p.IPID))
	return true
}

// idleFlow follows the later packets of a flow idle.go marked: more
// backscatter, the zombie's RSTs, reads and their answers.
func (d *Detector) idleFlow(f *flow, p *decode.Packet, fromInitiator bool) {
	rst := p.Flags&tcpflags.RST != 0
	switch {
	case f.kind == KindBackscatter && fromInitiator && rst:
		d.backscatter(p)
	case f.kind == KindIdleSpoofed && fromInitiator && rst:
		d.zombieRST(f, p)
	case f.kind == KindIdleRead && fromInitiator && p.Flags&(tcpflags.SYN|tcpflags.ACK|tcpflags.RST) == tcpflags.SYN|tcpflags.ACK:
		src, _ := f.initiator()
		if pr := d.idle.probers[addrPair{src, p.Dst}]; pr != nil {
			pr.reads++
			pr.last = d.now
		}
	case f.kind == KindIdleRead && !fromInitiator && rst:
		d.readAnswered(f, p)
	}
}

// zombieOf returns the backscatter state when p, a SYN, is sent in the name
// of a host that lately answered SYN-ACKs its target never sent.
func (d *Detector) zombieOf(p *decode.Packet) *zombieAtTarget {
	if len(d.idle.zombies) == 0 {
		return nil
	}
	z := d.idle.zombies[addrPair{p.Src, p.Dst}]
	if z == nil || d.now-z.last > int64(zombieMemory) {
		return nil
	}
	return z
}

// zombieRST is a RST from the zombie on an idle-scan flow (its answer to
// the target's SYN-ACK): its IP ID shows the zombie's counter.
func (d *Detector) zombieRST(f *flow, p *decode.Packet) {
	scanner, _ := f.initiator()
	target, _ := f.responder()
	if z := d.idle.zombies[addrPair{scanner, target}]; z != nil {
		z.rstIDs.add(uint16(p.IPID))
	}
}

// read is a crafted SYN-ACK from p.Src to p.Dst with no connection: a
// probe of p.Dst's IP ID, when it comes again and again.
func (d *Detector) read(f *flow, p *decode.Packet) {
	if !d.r.IsHome(p.Dst) || d.r.AllowedScanner(p.Src) {
		return
	}
	k := addrPair{p.Src, p.Dst}
	pr := d.idle.probers[k]
	if pr == nil || d.now-pr.last > int64(zombieMemory) {
		if d.idle.probers == nil || len(d.idle.probers) >= maxIdleState {
			d.idle.probers = make(map[addrPair]*prober)
			d.idle.probedBy = make(map[netip.Addr]netip.Addr)
		}
		pr = &prober{}
		d.idle.probers[k] = pr
	}
	pr.flows++
	pr.reads++
	pr.port, pr.print, pr.last = p.DstPort, printOf(p), d.now
	f.kind = KindIdleRead
	if pr.flows >= minReads {
		d.idle.probedBy[p.Dst] = p.Src
	}
}

// readAnswered is the zombie's RST to a read: the IP ID the prober learns.
func (d *Detector) readAnswered(f *flow, p *decode.Packet) {
	src, _ := f.initiator()
	if pr := d.idle.probers[addrPair{src, p.Src}]; pr != nil {
		pr.answered++
		pr.ids.add(uint16(p.IPID))
	}
}

// victimReply is a SYN-ACK or RST-ACK from p.Src to p.Dst for a connection
// p.Dst never opened. While a prober reads p.Dst's IP ID, it is the answer
// to a SYN the prober sent in p.Dst's name: one contact of its idle scan.
func (d *Detector) victimReply(p *decode.Packet, o Outcome) {
	if len(d.idle.probedBy) == 0 {
		return
	}
	zombie := p.Dst
	scanner, ok := d.idle.probedBy[zombie]
	if !ok {
		return
	}
	pr := d.idle.probers[addrPair{scanner, zombie}]
	if pr == nil || d.now-pr.last > int64(readWindow) || p.Src == scanner {
		return
	}
	if d.r.AllowedScanner(scanner) || d.r.AllowedTarget(p.Src) || d.r.AllowedPort(p.SrcPort) {
		return
	}
	d.probes++
	d.episodes.Add(Contact{Time: d.now, First: d.now, Scanner: scanner, Target: p.Src, Print: pr.print,
		Port: p.SrcPort, Probes: 1, Technique: technique.Idle, Kind: KindIdleReply, Via: zombie, Outcome: o})
}

// idSeq follows a host's IP IDs: one global counter steps by small amounts.
type idSeq struct {
	first, prev uint16
	n, steps    int // IDs seen; steps of 1..256 between consecutive ones
}

func (s *idSeq) add(id uint16) {
	if s.n == 0 {
		s.first = id
	} else if d := id - s.prev; d >= 1 && d <= 256 {
		s.steps++
	}
	s.prev = id
	s.n++
}

// incremental reports a counter that moved by small steps nearly always.
func (s *idSeq) incremental() bool { return s.n >= 3 && s.steps*10 >= (s.n-1)*9 }

func (s *idSeq) String() string {
	return fmt.Sprintf("%d IP IDs from %d to %d", s.n, s.first, s.prev)
}

// annotate adds to an idle scan's record what only the packets showed:
// the backscatter and the zombie's IP IDs.
func (d *Detector) annotate(ev *Event) {
	s := &ev.Scan
	if s.Type == technique.FTPBounce.String() {
		d.annotateBounce(s)
		return
	}
	if s.Type != technique.Idle.String() || !s.Zombie.IsValid() {
		return
	}
	if s.Zombie == s.Scanner { // at the target
		for _, t := range s.Targets {
			z := d.idle.zombies[addrPair{s.Zombie, t}]
			if z == nil {
				continue
			}
			s.Evidence += fmt.Sprintf("; %d RSTs from %s answered SYN-ACKs %s never sent (the scanner spoofing %s to test its zombie)",
				z.backscatter, s.Zombie, t, t)
			if z.rstIDs.incremental() {
				s.Evidence += fmt.Sprintf("; %s's RSTs carry one incrementing IP ID counter (%s), unlike its SYNs", s.Zombie, &z.rstIDs)
			}
			return
		}
		return
	}
	if pr := d.idle.probers[addrPair{s.Scanner, s.Zombie}]; pr != nil { // at the zombie
		s.Evidence += fmt.Sprintf("; %d unsolicited SYN-ACKs from %s to %s:%d (from %d source ports), %d answered by RST",
			pr.reads, s.Scanner, s.Zombie, pr.port, pr.flows, pr.answered)
		if pr.ids.incremental() {
			s.Evidence += fmt.Sprintf(" whose IP ID the prober reads (%s)", &pr.ids)
		}
	}
}

// describeIdle says an idle scan's verdict from its contacts.
func (e *episode) describeIdle(s *Scan) {
	o := e.outcomes
	var b []string
	add := func(n int, what string) {
		if n > 0 {
			b = append(b, itoa(n)+" "+what)
		}
	}
	switch {
	case e.kinds != nil && e.kinds[KindIdleReply] > 0:
		s.Zombie = e.via
		add(o[OutOpen], "SYN-ACK")
		add(o[OutClosed], "RST-ACK")
		s.Evidence = fmt.Sprintf("%d replies from the victim to %s for connections it never opened (%s): %s is using %s as an idle-scan zombie",
			e.probes, e.via, strings.Join(b, ", "), s.Scanner, e.via)
		if len(s.Targets) == 1 {
			s.Evidence += " against " + s.Targets[0].String()
		}
	default:
		add(o[OutClosed], "RST-ACK")
		add(o[OutHalfOpen], "SYN-ACK answered by RST (no ACK)")
		add(o[OutOpen], "SYN-ACK")
		add(o[OutNone], "unanswered")
		s.Evidence = fmt.Sprintf("%d SYN in %s's name (%s)", e.probes, s.Scanner, strings.Join(b, ", "))
		if e.kinds != nil && e.kinds[KindIdleSpoofed] > 0 {
			s.Zombie = s.Scanner
			s.Evidence += fmt.Sprintf(": a scanner hides behind %s, the zombie of an idle scan", s.Scanner)
		}
	}
}
