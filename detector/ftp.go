// FTP bounce scans (nmap -b): the scanner logs in to an FTP server (the
// relay) and, port after port, names a third host in a PORT (or EPRT)
// command and asks for a transfer (LIST, RETR...); the relay connects to
// that host's port, and its reply tells the scanner whether the port
// answered (150/125: open; 425: refused). The control channel says it all:
// it is read here, on port 21, command by command. The relay's own
// connections are the scanner's probes, not a connect scan of the relay's.
// Active-mode FTP names the client itself in its PORT commands, and stays
// what it is.

package detector

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

const (
	ftpPort = 21
	// bounceWait is how long after a PORT command the relay's connection
	// to the host and port it named is taken for the bounce.
	bounceWait = 30 * time.Second
	maxFTP     = 4096
)

// ftpState is the Detector's memory of FTP control channels.
type ftpState struct {
	sessions map[flowKey]*ftpSession
	expect   map[bounceKey]bounceExpect // relay connections PORT commands asked for
	connects map[addrPair]int           // (controller, relay): relay connections seen
}

type bounceKey struct {
	relay, target netip.Addr
	port          uint16
}

type bounceExpect struct {
	via    addrPair // (controller, relay)
	t      int64
	bounce bool // to a third party, not back to the client
}

// ftpSession is one control connection.
type ftpSession struct {
	controller, relay netip.Addr
	typeSent          bool // a TYPE command: FTP clients send one, nmap -b does not
	cur               bouncePort
}

// bouncePort is a PORT command naming a third party, until its outcome is
// known.
type bouncePort struct {
	active   bool
	target   netip.Addr
	port     uint16
	first    int64
	step     byte // 'P' its reply awaited, 'A' accepted, 'T' a transfer's reply awaited
	outcome  Outcome
	decided  bool // outcome known (a 425 to the PORT itself)
	transfer ProbeKind
	listing  bool // the transfer was LIST or NLST, which nmap -b asks for
}

// ftpControl starts reading f as an FTP control channel, from its first
// client segment p on.
func (d *Detector) ftpControl(f *flow, p *decode.Packet) {
	if d.ftp.sessions == nil || len(d.ftp.sessions) >= maxFTP {
		d.ftp.sessions = make(map[flowKey]*ftpSession)
	}
	controller, _ := f.initiator()
	relay, _ := f.responder()
	d.ftp.sessions[f.key] = &ftpSession{controller: controller, relay: relay}
	f.kind = KindFTPControl
	d.ftpSegment(f, p, true)
}

// ftpSegment reads one segment of a control channel.
func (d *Detector) ftpSegment(f *flow, p *decode.Packet, fromClient bool) {
	s := d.ftp.sessions[f.key]
	if s == nil {
		return
	}
	if p.Flags&(tcpflags.FIN|tcpflags.RST) != 0 {
		d.bounceDone(s)
		delete(d.ftp.sessions, f.key)
		return
	}
	if p.Payload == 0 || len(p.Data) < 3 {
		return
	}
	if fromClient {
		d.ftpCommand(s, p.Data)
	} else {
		d.ftpReply(s, p.Data)
	}
}

func (d *Detector) ftpCommand(s *ftpSession, line []byte) {
	cmd, arg, _ := bytes.Cut(line, []byte(" "))
	cmd = bytes.TrimRight(cmd, "\r\n")
	switch verb := ftpVerb(cmd); verb {
	case "TYPE":
		s.typeSent = true
	case "PORT", "EPRT":
		host, port, ok := parsePort(verb == "EPRT", arg)
		if !ok {
			return
		}
		d.bounceDone(s)
		if d.ftp.expect == nil || len(d.ftp.expect) >= maxFTP {
			d.ftp.expect = make(map[bounceKey]bounceExpect)
		}
		// The server's connection to host:port is a data connection,
		// never its own probe (refused by a client's firewall, it would
		// pass for a connect scan of the client).
		bounce := host != s.controller && host != s.relay
		d.ftp.expect[bounceKey{s.relay, host, port}] = bounceExpect{addrPair{s.controller, s.relay}, d.now, bounce}
		if !bounce {
			return // active mode: the data connection comes back to the client
		}
		s.cur = bouncePort{active: true, target: host, port: port, first: d.now, step: 'P'}
	case "LIST", "NLST", "RETR", "STOR", "STOU", "APPE":
		if c := &s.cur; c.active && c.step != 'T' {
			c.step, c.listing = 'T', verb == "LIST" || verb == "NLST"
			c.transfer = KindFTPTransfer
			if !s.typeSent && verb == "LIST" {
				c.transfer = KindFTPListNoType
			}
		}
	}
}

// ftpVerbs are the commands read; ftpVerb returns cmd's, case folded, or "".
var ftpVerbs = []string{"TYPE", "PORT", "EPRT", "LIST", "NLST", "RETR", "STOR", "STOU", "APPE"}

func ftpVerb(cmd []byte) string {
	for _, v := range ftpVerbs {
		if bytes.EqualFold(cmd, []byte(v)) {
			return v
		}
	}
	return ""
}

// ftpReply reads a reply's code: to the PORT command, then to the transfer.
func (d *Detector) ftpReply(s *ftpSession, line []byte) {
	c := &s.cur
	if !c.active || !isDigit(line[0]) || !isDigit(line[1]) || !isDigit(line[2]) {
		return
	}
	code := int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	switch c.step {
	case 'P':
		switch {
		case code/100 == 2:
			c.step = 'A'
		case code == 425:
			c.step, c.outcome, c.decided = 'A', OutClosed, true // the relay tried at once and was refused
		default:
			c.step, c.outcome, c.decided = 'A', OutFiltered, true // the relay refused the PORT
		}
	case 'T':
		switch {
		case c.decided:
		case (code/100 == 1 || code/100 == 2) && !c.listing:
			// A file moved between two servers (FXP: the client sent
			// the other server PASV and names its port here): a transfer,
			// not a probe.
			c.outcome = OutBenign
		case code/100 == 1 || code/100 == 2:
			c.outcome = OutOpen
		case code == 425 || code == 426:
			c.outcome = OutClosed
		default:
			c.outcome = OutFiltered
		}
		c.decided = true
		d.bounceDone(s)
	}
}

// bounceDone counts s's pending PORT as a contact of its controller.
func (d *Detector) bounceDone(s *ftpSession) {
	c := s.cur
	s.cur = bouncePort{}
	if !c.active {
		return
	}
	r := d.r
	if !r.IsHome(c.target) && !r.IsHome(s.relay) || r.AllowedScanner(s.controller) || r.AllowedTarget(c.target) || r.AllowedPort(c.port) {
		return
	}
	kind := c.transfer
	if kind == KindNone {
		kind = KindFTPPortOnly
	}
	o := OutNone
	if c.decided {
		o = c.outcome
	}
	d.probes++
	d.episodes.Add(Contact{Time: d.now, First: c.first, Scanner: s.controller, Target: c.target, Port: c.port,
		Probes: 1, Technique: technique.FTPBounce, Kind: kind, Via: s.relay, Outcome: o})
}

// bounceConnect reports whether p, an FTP server's SYN, is the data
// connection a PORT command asked for: back to the client in active mode,
// or, in a bounce scan, to the third party (then the controller's probe).
func (d *Detector) bounceConnect(p *decode.Packet) bool {
	if len(d.ftp.expect) == 0 {
		return false
	}
	k := bounceKey{p.Src, p.Dst, p.DstPort}
	e, ok := d.ftp.expect[k]
	if !ok {
		return false
	}
	delete(d.ftp.expect, k)
	if d.now-e.t > int64(bounceWait) {
		return false
	}
	if !e.bounce {
		return true
	}
	if d.ftp.connects == nil || len(d.ftp.connects) >= maxFTP {
		d.ftp.connects = make(map[addrPair]int)
	}
	d.ftp.connects[e.via]++
	return true
}

// parsePort reads a PORT argument (h1,h2,h3,h4,p1,p2) or an EPRT one
// (|1|a.b.c.d|port| or |2|v6|port|, RFC 2428).
func parsePort(eprt bool, arg []byte) (netip.Addr, uint16, bool) {
	arg = bytes.TrimRight(arg, "\r\n ")
	if eprt {
		if len(arg) < 2 {
			return netip.Addr{}, 0, false
		}
		f := bytes.Split(arg[1:], arg[:1])
		if len(f) < 3 {
			return netip.Addr{}, 0, false
		}
		a, err := netip.ParseAddr(string(f[1]))
		p, err2 := strconv.ParseUint(string(f[2]), 10, 16)
		if err != nil || err2 != nil {
			return netip.Addr{}, 0, false
		}
		return a.Unmap(), uint16(p), true
	}
	f := bytes.Split(arg, []byte(","))
	if len(f) != 6 {
		return netip.Addr{}, 0, false
	}
	var v [6]byte
	for i, s := range f {
		n, err := strconv.ParseUint(string(s), 10, 8)
		if err != nil {
			return netip.Addr{}, 0, false
		}
		v[i] = byte(n)
	}
	return netip.AddrFrom4([4]byte(v[:4])), uint16(v[4])<<8 | uint16(v[5]), true
}

// describeBounce says a bounce scan's verdict from its contacts.
func (e *episode) describeBounce(s *Scan) {
	s.Relay = e.via
	o := e.outcomes
	var n [numProbeKinds]uint32
	if e.kinds != nil {
		n = *e.kinds
	}
	s.Evidence = fmt.Sprintf("%d PORT commands naming %s (%d ports)", e.probes, targetsText(s), e.ports.len())
	if t := n[KindFTPListNoType] + n[KindFTPTransfer]; t > 0 {
		s.Evidence += fmt.Sprintf(", %d followed by a transfer command", t)
		if n[KindFTPListNoType] == t {
			s.Evidence += " (LIST, and never a TYPE command)"
		}
	}
	var b []string
	add := func(k int, what string) {
		if k > 0 {
			b = append(b, itoa(k)+" "+what)
		}
	}
	add(o[OutOpen], "data connections opened (1xx: open)")
	add(o[OutClosed], "refused by the target (425)")
	add(o[OutFiltered], "refused by the relay")
	add(o[OutNone], "unanswered")
	if len(b) > 0 {
		s.Evidence += "; replies: " + strings.Join(b, ", ")
	}
	if e.via.IsValid() {
		s.Evidence += fmt.Sprintf(": %s bounces its scan off the FTP server %s", s.Scanner, e.via)
	}
	if t := n[KindFTPListNoType]; t >= 2 && t == n[KindFTPListNoType]+n[KindFTPTransfer] {
		s.Tool, s.ToolEvidence = "nmap", "every transfer a bare LIST with no TYPE command before it: nmap -b's sequence (FTP clients set a TYPE)"
	}
}

func targetsText(s *Scan) string {
	if s.TargetCount == 1 && len(s.Targets) == 1 {
		return s.Targets[0].String()
	}
	return itoa(s.TargetCount) + " hosts"
}

// annotateBounce adds the relay's connections, which only the packets
// showed, to a bounce scan's record.
func (d *Detector) annotateBounce(s *Scan) {
	if n := d.ftp.connects[addrPair{s.Scanner, s.Relay}]; n > 0 {
		s.Evidence += fmt.Sprintf("; the relay's %d connections to the hosts named were seen", n)
	}
}

// markedFlow follows the later packets of a flow a technique file marked
// with a kind: an FTP control channel, or an idle scan's flows.
func (d *Detector) markedFlow(f *flow, p *decode.Packet, fromInitiator bool) {
	if f.kind == KindFTPControl {
		d.ftpSegment(f, p, fromInitiator)
		return
	}
	d.idleFlow(f, p, fromInitiator)
}
