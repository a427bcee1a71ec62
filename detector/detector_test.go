package detector

import (
	"net/netip"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

// wire builds a conversation packet by packet on a fake clock.
type wire struct {
	t      *testing.T
	d      *Detector
	now    time.Time
	events []Event
}

func newWire(t *testing.T) *wire {
	w := &wire{t: t, now: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)}
	w.d = New(rules.Default(), func(e Event) { w.events = append(w.events, e) })
	return w
}

var (
	scanner = netip.MustParseAddr("10.77.0.2")
	target  = netip.MustParseAddr("10.77.0.10")
)

// nmapSYN is a crafted nmap SYN: window 1024, MSS-only, no DF, low TTL.
var mssOnly = []byte{2, 4, 5, 0xb4}
var osOpts = []byte{2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7}

func (w *wire) tcp(src, dst netip.Addr, sport, dport uint16, flags tcpflags.Flags, seq, ack uint32, payload int, opts []byte) {
	w.now = w.now.Add(time.Millisecond)
	p := decode.Packet{Time: w.now, Kind: decode.KindTCP, Src: src, Dst: dst, Proto: 6, TTL: 64,
		SrcPort: sport, DstPort: dport, Flags: flags, Seq: seq, Ack: ack, Window: 64240, Options: opts, Payload: payload, DF: true}
	if len(opts) == 4 {
		p.TTL, p.Window, p.DF = 44, 1024, false
	}
	w.d.Process(&p)
}

func (w *wire) wait(d time.Duration) {
	w.now = w.now.Add(d)
	w.d.Advance(w.now)
}

func (w *wire) alerts() []Event {
	var out []Event
	for _, e := range w.events {
		if e.Kind == "alert" {
			out = append(out, e)
		}
	}
	return out
}

const (
	syn    = tcpflags.SYN
	synack = tcpflags.SYN | tcpflags.ACK
	rstack = tcpflags.RST | tcpflags.ACK
	rst    = tcpflags.RST
	ack    = tcpflags.ACK
	finack = tcpflags.FIN | tcpflags.ACK
	pshack = tcpflags.PSH | tcpflags.ACK
)

func TestSYNScanVertical(t *testing.T) {
	w := newWire(t)
	open := map[uint16]bool{22: true, 80: true}
	for port := uint16(1); port <= 100; port++ {
		w.tcp(scanner, target, 40000, port, syn, 1000, 0, 0, mssOnly)
		if open[port] {
			w.tcp(target, scanner, port, 40000, synack, 5000, 1001, 0, osOpts)
			w.tcp(scanner, target, 40000, port, rst, 1001, 0, 0, nil)
		} else {
			w.tcp(target, scanner, port, 40000, rstack, 0, 1001, 0, nil)
		}
	}
	w.d.Flush()
	a := w.alerts()
	if len(a) != 1 {
		t.Fatalf("want 1 alert, got %d: %+v", len(a), w.events)
	}
	s := w.events[len(w.events)-1].Scan
	if w.events[len(w.events)-1].Kind != "scan" || s.Type != "syn" || s.Shape != "vertical" || s.PortCount != 100 || s.Ports != "1-100" {
		t.Errorf("summary: %+v", s)
	}
	if len(s.OpenPorts) != 2 || s.OpenPorts[0] != 22 || s.OpenPorts[1] != 80 {
		t.Errorf("open ports %v", s.OpenPorts)
	}
	if s.Tool != "nmap" {
		t.Errorf("tool %q (%s)", s.Tool, s.ToolEvidence)
	}
	if a[0].Scan.Type != "syn" || a[0].Scan.PortCount != 4 || a[0].Scan.Slow {
		t.Errorf("alert at %d ports, type %s, slow %v; want the sequential test's 4", a[0].Scan.PortCount, a[0].Scan.Type, a[0].Scan.Slow)
	}
}

func TestConnectScanOpenAndClosed(t *testing.T) {
	w := newWire(t)
	for port := uint16(1); port <= 30; port++ {
		sport := 50000 + port
		w.tcp(scanner, target, sport, port, syn, 7000, 0, 0, osOpts)
		if port%10 == 0 {
			w.tcp(target, scanner, port, sport, synack, 9000, 7001, 0, osOpts)
			w.tcp(scanner, target, sport, port, ack, 7001, 9001, 0, nil)
			w.tcp(scanner, target, sport, port, rstack, 7001, 9001, 0, nil)
		} else {
			w.tcp(target, scanner, port, sport, rstack, 0, 7001, 0, nil)
		}
	}
	w.d.Flush()
	if a := w.alerts(); len(a) != 1 || a[0].Scan.Type != "connect" {
		t.Fatalf("want one connect alert, got %+v", w.events)
	}
	s := w.events[len(w.events)-1].Scan
	if len(s.OpenPorts) != 3 || s.Tool != "unknown" {
		t.Errorf("open %v tool %s", s.OpenPorts, s.Tool)
	}
}

// A client that talks to 40 services, each with a real exchange, is benign.
func TestBenignServicesNoAlert(t *testing.T) {
	w := newWire(t)
	for port := uint16(1000); port < 1040; port++ {
		sport := 40000 + port
		w.tcp(scanner, target, sport, port, syn, 100, 0, 0, osOpts)
		w.tcp(target, scanner, port, sport, synack, 900, 101, 0, osOpts)
		w.tcp(scanner, target, sport, port, ack, 101, 901, 0, nil)
		w.tcp(scanner, target, sport, port, pshack, 101, 901, 20, nil)
		w.tcp(target, scanner, port, sport, pshack, 901, 121, 30, nil)
		w.tcp(scanner, target, sport, port, finack, 121, 931, 0, nil)
		w.tcp(target, scanner, port, sport, finack, 931, 122, 0, nil)
	}
	w.d.Flush()
	if len(w.events) != 0 {
		t.Fatalf("benign client alerted: %+v", w.events)
	}
}

// Data moved but the kernel filter dropped the data segments: sequence
// numbers on the FIN still show it, so the close is not a connect probe.
func TestTeardownSequenceArithmetic(t *testing.T) {
	w := newWire(t)
	for port := uint16(1000); port < 1040; port++ {
		sport := 40000 + port
		w.tcp(scanner, target, sport, port, syn, 100, 0, 0, osOpts)
		w.tcp(target, scanner, port, sport, synack, 900, 101, 0, osOpts)
		w.tcp(scanner, target, sport, port, ack, 101, 901, 0, nil)
		w.tcp(scanner, target, sport, port, finack, 121, 931, 0, nil)
	}
	w.d.Flush()
	if len(w.events) != 0 {
		t.Fatalf("alerted on connections that carried data: %+v", w.events)
	}
}

func TestClosedPortRetriesNoAlert(t *testing.T) {
	w := newWire(t)
	for i := uint16(0); i < 200; i++ {
		w.tcp(scanner, target, 30000+i, 81, syn, 5, 0, 0, osOpts)
		w.tcp(target, scanner, 81, 30000+i, rstack, 0, 6, 0, nil)
		w.wait(100 * time.Millisecond)
	}
	w.d.Flush()
	if len(w.events) != 0 {
		t.Fatalf("retries to one closed port alerted: %+v", w.events)
	}
}

// Connections that began before the capture: the first segments seen are
// ACKs, with and without data. None of it is an ACK scan.
func TestMidstreamNoAlert(t *testing.T) {
	w := newWire(t)
	for port := uint16(2000); port < 2030; port++ {
		w.tcp(scanner, target, 45000, port, ack, 500, 700, 0, nil)
		w.tcp(target, scanner, port, 45000, pshack, 700, 500, 1000, nil)
		w.tcp(scanner, target, 45000, port, ack, 500, 1700, 0, nil)
	}
	w.wait(30 * time.Second)
	w.d.Flush()
	if len(w.events) != 0 {
		t.Fatalf("mid-stream traffic alerted: %+v", w.events)
	}
}

// One-sided capture: only the scanner's FIN probes, no replies at all.
func TestFINScanOneSided(t *testing.T) {
	w := newWire(t)
	for port := uint16(1); port <= 50; port++ {
		w.tcp(scanner, target, 41000, port, tcpflags.FIN, 9, 0, 0, nil)
	}
	w.wait(10 * time.Second)
	if a := w.alerts(); len(a) != 1 || a[0].Scan.Type != "fin" {
		t.Fatalf("want a fin alert after the reply timeout, got %+v", w.events)
	}
}

// Windows answers RST to FIN probes on open ports too: still a FIN scan.
func TestXmasScanAllRST(t *testing.T) {
	w := newWire(t)
	for port := uint16(1); port <= 50; port++ {
		w.tcp(scanner, target, 41000, port, tcpflags.FIN|tcpflags.PSH|tcpflags.URG, 9, 0, 0, nil)
		w.tcp(target, scanner, port, 41000, rstack, 0, 10, 0, nil)
	}
	w.d.Flush()
	if a := w.alerts(); len(a) != 1 || a[0].Scan.Type != "xmas" {
		t.Fatalf("want an xmas alert, got %+v", w.events)
	}
}

func TestCustomFlags(t *testing.T) {
	w := newWire(t)
	for port := uint16(1); port <= 50; port++ {
		w.tcp(scanner, target, 41000, port, tcpflags.SYN|tcpflags.FIN, 9, 0, 0, nil)
	}
	w.d.Flush()
	a := w.alerts()
	if len(a) != 1 || a[0].Scan.Type != "custom" || a[0].Scan.Name != "SYN|FIN" {
		t.Fatalf("want a custom SYN|FIN alert, got %+v", w.events)
	}
}

func TestAllowedScannerIgnored(t *testing.T) {
	w := newWire(t)
	r := *rules.Default()
	r.Allow.Scanners = []netip.Prefix{netip.PrefixFrom(scanner, 32)}
	w.d = New(&r, func(e Event) { w.events = append(w.events, e) })
	for port := uint16(1); port <= 100; port++ {
		w.tcp(scanner, target, 40000, port, syn, 1000, 0, 0, mssOnly)
		w.tcp(target, scanner, port, 40000, rstack, 0, 1001, 0, nil)
	}
	w.d.Flush()
	if len(w.events) != 0 {
		t.Fatalf("allowed scanner reported: %+v", w.events)
	}
}

func TestHorizontalShape(t *testing.T) {
	w := newWire(t)
	for i := 0; i < 30; i++ {
		dst := netip.AddrFrom4([4]byte{10, 77, 0, byte(10 + i)})
		for _, port := range []uint16{22, 80} {
			w.tcp(scanner, dst, 40000, port, syn, 1000, 0, 0, mssOnly)
			w.tcp(dst, scanner, port, 40000, rstack, 0, 1001, 0, nil)
		}
	}
	w.d.Flush()
	s := w.events[len(w.events)-1].Scan
	if s.Shape != "horizontal" || s.TargetCount != 30 || s.PortCount != 2 {
		t.Fatalf("got %+v", s)
	}
}

func TestSlowScanSequentialTest(t *testing.T) {
	w := newWire(t)
	for port := uint16(1); port <= 30; port++ {
		w.tcp(scanner, target, 40000+port, port, syn, 1000, 0, 0, mssOnly)
		w.tcp(target, scanner, port, 40000+port, rstack, 0, 1001, 0, nil)
		w.wait(5 * time.Minute)
	}
	a := w.alerts()
	if len(a) != 1 || !a[0].Scan.Slow {
		t.Fatalf("want one slow alert before the scan ends, got %+v", w.events)
	}
	w.d.Flush()
	last := w.events[len(w.events)-1]
	if last.Kind != "scan" || last.Scan.PortCount != 30 {
		t.Fatalf("summary %+v", last)
	}
}

// A SYN scan and then a connect scan from one source are two scans.
func TestSYNThenConnectSameSource(t *testing.T) {
	w := newWire(t)
	for port := uint16(1); port <= 40; port++ {
		w.tcp(scanner, target, 40000, port, syn, 1000, 0, 0, mssOnly)
		w.tcp(target, scanner, port, 40000, rstack, 0, 1001, 0, nil)
	}
	for port := uint16(1); port <= 40; port++ {
		w.tcp(scanner, target, 50000+port, port, syn, 7000, 0, 0, osOpts)
		w.tcp(target, scanner, port, 50000+port, rstack, 0, 7001, 0, nil)
	}
	w.d.Flush()
	a := w.alerts()
	if len(a) != 2 || a[0].Scan.Type != "syn" || a[1].Scan.Type != "connect" {
		t.Fatalf("want a syn and a connect alert, got %+v", a)
	}
}

// Servers that greet (a banner) or close first: the scanner's silence
// still makes each a connect probe, and the port is open.
func TestConnectScanBannerAndServerClose(t *testing.T) {
	w := newWire(t)
	for port := uint16(1); port <= 30; port++ {
		sport := 50000 + port
		w.tcp(scanner, target, sport, port, syn, 7000, 0, 0, osOpts)
		w.tcp(target, scanner, port, sport, synack, 9000, 7001, 0, osOpts)
		w.tcp(scanner, target, sport, port, ack, 7001, 9001, 0, nil)
		if port%2 == 0 {
			w.tcp(target, scanner, port, sport, pshack, 9001, 7001, 40, nil) // banner
			w.tcp(scanner, target, sport, port, rstack, 7001, 9041, 0, nil)
		} else {
			w.tcp(target, scanner, port, sport, finack, 9001, 7001, 0, nil) // server closes first
			w.tcp(scanner, target, sport, port, rstack, 7001, 9002, 0, nil)
		}
	}
	w.d.Flush()
	a := w.alerts()
	if len(a) != 1 || a[0].Scan.Type != "connect" {
		t.Fatalf("want one connect alert, got %+v", w.events)
	}
	if s := w.events[len(w.events)-1].Scan; len(s.OpenPorts) != 30 {
		t.Fatalf("open ports %v, want all 30", s.OpenPorts)
	}
}

// A block scan past the per-episode target cap keeps exact counts of
// targets while its memory stays bounded.
func TestEpisodeTargetCap(t *testing.T) {
	w := newWire(t)
	n := maxEpisodeTargets + 500
	for i := 0; i < n; i++ {
		dst := netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)})
		w.tcp(scanner, dst, 40000, 80, syn, 1000, 0, 0, mssOnly)
		w.tcp(dst, scanner, 80, 40000, rstack, 0, 1001, 0, nil)
	}
	w.d.Flush()
	s := w.events[len(w.events)-1].Scan
	if s.TargetCount != n || len(s.Targets) != MaxListedTargets {
		t.Fatalf("target_count %d (want %d), listed %d", s.TargetCount, n, len(s.Targets))
	}
	e := newEpisode(technique.Syn, 0)
	for i := 0; i < n; i++ {
		e.add(netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}), 80, OutClosed, 0, true)
	}
	if e.targets.len() != maxEpisodeTargets {
		t.Fatalf("kept %d port sets, cap %d", e.targets.len(), maxEpisodeTargets)
	}
}

// A reload applies from the next packet and keeps the state: a threshold
// raised mid-scan holds the alert back until the new count is reached
// (the sequential test off, which would decide at four).
func TestSetRulesKeepsState(t *testing.T) {
	w := newWire(t)
	r0 := *rules.Default()
	r0.Slow.Enabled = false
	w.d.SetRules(&r0)
	for port := uint16(1); port <= 10; port++ {
		w.tcp(scanner, target, 40000, port, syn, 1000, 0, 0, mssOnly)
		w.tcp(target, scanner, port, 40000, rstack, 0, 1001, 0, nil)
	}
	r := r0
	r.Detect = map[technique.Technique]rules.Threshold{technique.Syn: {Ports: 30, Window: time.Minute}}
	w.d.SetRules(&r)
	for port := uint16(11); port <= 40; port++ {
		w.tcp(scanner, target, 40000, port, syn, 1000, 0, 0, mssOnly)
		w.tcp(target, scanner, port, 40000, rstack, 0, 1001, 0, nil)
	}
	a := w.alerts()
	if len(a) != 1 || a[0].Scan.PortCount != 30 {
		t.Fatalf("want one alert at the 30th port (state kept across the reload), got %+v", a)
	}
}

// Under a flow cap far below the scan's size, probes evicted before their
// reply count as unanswered: the scan is still reported, with every port.
func TestTinyFlowCap(t *testing.T) {
	w := newWire(t)
	r := *rules.Default()
	r.State.MaxFlows = 8
	w.d = New(&r, func(e Event) { w.events = append(w.events, e) })
	for port := uint16(1); port <= 200; port++ {
		w.tcp(scanner, target, 40000, port, syn, 1000, 0, 0, mssOnly)
	}
	w.d.Flush()
	if a := w.alerts(); len(a) != 1 || a[0].Scan.Type != "syn" {
		t.Fatalf("want one syn alert, got %+v", w.events)
	}
	if s := w.events[len(w.events)-1].Scan; s.PortCount != 200 {
		t.Fatalf("port_count %d, want 200", s.PortCount)
	}
	if st := w.d.Stats(); st.FlowsEvicted == 0 || st.Flows > 8 {
		t.Fatalf("stats %+v", st)
	}
}

// One-sided capture of a busy client (an outbound-only mirror port): it
// downloads from 12 servers, so only its pure ACKs are seen, their ack
// numbers climbing. That is traffic, not an ACK sweep.
func TestOneSidedDownloadsNoAlert(t *testing.T) {
	w := newWire(t)
	for round := uint32(0); round < 20; round++ {
		for i := 0; i < 12; i++ {
			srv := netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)})
			w.tcp(scanner, srv, uint16(50000+i), 443, ack, 777, 1000+round*2896, 0, nil)
		}
		w.wait(50 * time.Millisecond)
	}
	w.wait(30 * time.Second)
	w.d.Flush()
	if len(w.events) != 0 {
		t.Fatalf("downloads seen from one side alerted: %+v", w.events[0].Scan)
	}
}
