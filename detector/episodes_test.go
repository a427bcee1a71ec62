package detector

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

// book feeds contacts straight into Episodes on a fake clock, as the
// packet handlers would: Advance to the contact's time, then Add.
type book struct {
	t      *testing.T
	s      *Episodes
	now    int64
	events []Event
}

var t0 = time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC).UnixNano()

func newBook(t *testing.T, r *rules.Rules) *book {
	b := &book{t: t, now: t0}
	b.s = NewEpisodes(r, func(e Event) { b.events = append(b.events, e) })
	b.s.Advance(b.now)
	return b
}

// wait moves the clock on by d, as packets without contacts would.
func (b *book) wait(d time.Duration) {
	b.now += int64(d)
	b.s.Advance(b.now)
}

// add stamps c with the clock (first probe and outcome at once, unless c
// says otherwise) and hands it over.
func (b *book) add(c Contact) {
	if c.Time == 0 {
		c.Time = b.now
	}
	if c.First == 0 {
		c.First = c.Time
	}
	if c.Probes == 0 {
		c.Probes = 1
	}
	b.s.Add(c)
}

func (b *book) kinds(kind string) []Event {
	var out []Event
	for _, e := range b.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// last is the last event, which must exist.
func (b *book) last() Event {
	b.t.Helper()
	if len(b.events) == 0 {
		b.t.Fatal("no events")
	}
	return b.events[len(b.events)-1]
}

var (
	nmapSYN    = Print{Flags: tcpflags.SYN, TTL: 44, Window: 1024, Options: OptMSSOnly, MSS: 1460}
	masscanSYN = Print{Flags: tcpflags.SYN, TTL: 255, Window: 1024, IDMatch: true}
	nmapFIN    = Print{Flags: tcpflags.FIN, TTL: 50, Window: 2048}
)

func host(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 77, byte(1 + i>>8), byte(i)}) }

// closed is a failed first contact: an nmap SYN answered by RST-ACK.
func closed(scanner, target netip.Addr, port uint16) Contact {
	return Contact{Scanner: scanner, Target: target, Port: port, Technique: technique.Syn, Outcome: OutClosed, Print: nmapSYN}
}

// Each technique alerts exactly at its default rate threshold of distinct
// first contacts (ports of one target, or targets on one port) when the
// sequential test is off: not one contact earlier, and only once, with its
// own type, protocol and probe name. The table is keyed by technique and
// must name every one, so a new technique fails here until the episodes
// report it.
func TestThresholds(t *testing.T) {
	tests := map[technique.Technique]struct {
		outcome      Outcome
		ports, hosts int // the default thresholds; 0: none in that direction
		proto        string
		probe        string // how the evidence names the probes
	}{
		technique.Syn:     {OutClosed, 15, 15, "TCP", "SYN"},
		technique.Connect: {OutClosed, 15, 15, "TCP", "SYN"}, // syn's threshold
		technique.Fin:     {OutNone, 8, 8, "TCP", "FIN"},
		technique.Null:    {OutClosed, 8, 8, "TCP", "NULL"},
		technique.Xmas:    {OutNone, 8, 8, "TCP", "FIN|PSH|URG"},
		technique.Maimon:  {OutNone, 8, 8, "TCP", "FIN|ACK"},
		technique.Ack:     {OutClosed, 10, 10, "TCP", "ACK"},
		technique.Custom:  {OutNone, 8, 8, "TCP", "SYN|FIN"}, // named by the probe's flags
		technique.UDP:     {OutClosed, 15, 15, "UDP", "UDP"},
		technique.IPProto: {OutClosed, 8, 0, "IP", "IP protocol"},
		technique.SCTP:    {OutClosed, 8, 8, "SCTP", "SCTP INIT"},
		technique.Ping:    {OutSent, 0, 10, "ICMP", "echo/timestamp"},
		technique.ARP:     {OutSent, 0, 16, "ARP", "ARP request/neighbour solicitation"},
		technique.OSProbe: {OutSent, 2, 0, "TCP", "OS probe"},
		technique.Version: {OutOpen, 1, 1, "TCP", "open port probed"},
		technique.Script:  {OutOpen, 1, 1, "TCP", "open port probed"},
		technique.Idle:    {OutClosed, 5, 5, "TCP", "SYN"},

		technique.FTPBounce: {OutClosed, 5, 5, "TCP", "PORT"},
	}
	for tech := range technique.Count {
		tc, ok := tests[tech]
		if !ok {
			t.Errorf("%s: not in this table", tech)
			continue
		}
		for _, vertical := range []bool{true, false} {
			n := tc.hosts
			if vertical {
				n = tc.ports
			}
			if n == 0 {
				continue
			}
			dir := "hosts"
			if vertical {
				dir = "ports"
			}
			t.Run(tech.String()+" "+dir, func(t *testing.T) {
				r := *rules.Default()
				r.Slow.Enabled = false
				b := newBook(t, &r)
				for i := 1; i <= 3*n; i++ {
					c := Contact{Scanner: scanner, Target: target, Port: uint16(i), Probes: 1, Technique: tech, Outcome: tc.outcome,
						Print: Print{Flags: tcpflags.SYN | tcpflags.FIN}}
					if !vertical {
						c.Target, c.Port = host(i), 80
					}
					if tech == technique.Ping || tech == technique.ARP {
						c.Port = 0
					}
					if tech == technique.IPProto {
						c.Port += 140 // protocol numbers no traffic uses
					}
					b.add(c)
					b.wait(10 * time.Millisecond)
					if got := len(b.kinds("alert")); i < n && got != 0 || i >= n && got != 1 {
						t.Fatalf("after %d contacts: %d alerts, want one from the %dth on", i, got, n)
					}
				}
				a := b.kinds("alert")[0].Scan
				if a.Type != tech.String() || a.Scanner != scanner || a.Proto != tc.proto {
					t.Errorf("alert %+v, want type %s, proto %s", a, tech, tc.proto)
				}
				if vertical && a.PortCount != n || !vertical && a.TargetCount != n {
					t.Errorf("alert at %d ports, %d targets; want %d", a.PortCount, a.TargetCount, n)
				}
				if want := fmt.Sprintf("%d %s", n, tc.probe); !strings.HasPrefix(a.Evidence, want) {
					t.Errorf("evidence %q, want it to begin %q", a.Evidence, want)
				}
			})
		}
	}
}

// Repeated contacts to one (target, port) are one contact.
func TestRepeatedContactCountsOnce(t *testing.T) {
	b := newBook(t, rules.Default())
	for i := 0; i < 100; i++ {
		b.add(closed(scanner, target, 81))
		b.wait(time.Second)
	}
	b.s.Flush()
	if len(b.events) != 0 {
		t.Fatalf("one port probed 100 times alerted: %+v", b.events)
	}
}

// The threshold counts first contacts inside the sliding window (60 s for
// syn): 15 ports at 5 s apart never have 15 in one window, at 4 s they do.
func TestWindow(t *testing.T) {
	for _, tc := range []struct {
		gap   time.Duration
		alert bool
	}{{5 * time.Second, false}, {4 * time.Second, true}} {
		t.Run(tc.gap.String(), func(t *testing.T) {
			r := *rules.Default()
			r.Slow.Enabled = false
			b := newBook(t, &r)
			for port := uint16(1); port <= 30; port++ {
				b.add(closed(scanner, target, port))
				b.wait(tc.gap)
			}
			if got := len(b.kinds("alert")) == 1; got != tc.alert {
				t.Fatalf("alert %v, want %v: %+v", got, tc.alert, b.events)
			}
		})
	}
}

// The sequential test catches a scan too slow for any window: one failed
// contact every 5 minutes alerts (slow) at min_ports distinct contacts,
// once the likelihood ratio has passed the alarm. Contacts that carried
// data pull the ratio back: a client that fails half its contacts is
// never declared a scanner.
func TestSequentialTestOnContacts(t *testing.T) {
	t.Run("scanner", func(t *testing.T) {
		b := newBook(t, rules.Default())
		for port := uint16(1); port <= 12; port++ {
			b.add(closed(scanner, target, port))
			if n := len(b.kinds("alert")); port < 4 && n != 0 || port >= 4 && n != 1 {
				t.Fatalf("after %d slow contacts: %d alerts, want one from the 4th on", port, n)
			}
			b.wait(5 * time.Minute)
		}
		if a := b.kinds("alert")[0].Scan; !a.Slow || a.PortCount != 4 {
			t.Fatalf("alert not slow or at %d ports: %+v", a.PortCount, a)
		}
	})
	t.Run("half benign", func(t *testing.T) {
		b := newBook(t, rules.Default())
		for port := uint16(1); port <= 40; port++ {
			c := closed(scanner, target, port)
			if port%2 == 0 {
				c.Outcome = OutBenign
			}
			b.add(c)
			b.wait(5 * time.Minute)
		}
		if len(b.events) != 0 {
			t.Fatalf("a client with successful exchanges alerted: %+v", b.events[0].Scan)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		r := *rules.Default()
		r.Slow.Enabled = false
		b := newBook(t, &r)
		for port := uint16(1); port <= 40; port++ {
			b.add(closed(scanner, target, port))
			b.wait(5 * time.Minute)
		}
		if len(b.events) != 0 {
			t.Fatalf("slow scan alerted with the sequential test off: %+v", b.events[0].Scan)
		}
	})
}

func TestShapes(t *testing.T) {
	tests := []struct {
		name           string
		tech           technique.Technique
		targets, ports int
		want           string
	}{
		{"one target", technique.Syn, 1, 40, "vertical"},
		{"three ports over hosts", technique.Syn, 20, 3, "horizontal"},
		{"many ports over hosts", technique.Syn, 20, 4, "block"},
		{"udp one target", technique.UDP, 1, 20, "vertical"},
		{"ping", technique.Ping, 20, 1, "horizontal"},
		{"arp", technique.ARP, 20, 1, "horizontal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBook(t, rules.Default())
			for i := 0; i < tc.targets; i++ {
				for p := 0; p < tc.ports; p++ {
					b.add(Contact{Scanner: scanner, Target: host(i), Port: uint16(1000 + p), Technique: tc.tech, Outcome: OutNone})
				}
			}
			b.s.Flush()
			s := b.last().Scan
			if b.last().Kind != "scan" || s.Shape != tc.want || s.TargetCount != tc.targets {
				t.Fatalf("shape %s, %d targets; want %s, %d (%+v)", s.Shape, s.TargetCount, tc.want, tc.targets, s)
			}
		})
	}
}

// An episode alerts once however long it goes on, and ends with one scan
// record that carries the totals, the evidence and the open ports.
func TestOneAlertOneClosingRecord(t *testing.T) {
	b := newBook(t, rules.Default())
	start := b.now
	for port := uint16(1); port <= 200; port++ {
		c := closed(scanner, target, port)
		c.Probes = 2 // one retransmission each
		if port == 22 || port == 80 {
			c.Outcome = OutHalfOpen
		}
		b.add(c)
		b.wait(time.Millisecond)
	}
	end := b.now
	b.wait(time.Minute)
	b.s.Flush()
	if len(b.events) != 2 || b.events[0].Kind != "alert" || b.events[1].Kind != "scan" {
		t.Fatalf("want alert then scan, got %+v", b.events)
	}
	s := b.events[1].Scan
	want := Scan{Type: "syn", Proto: "TCP", Shape: "vertical", Scanner: scanner, Targets: []netip.Addr{target}, TargetCount: 1,
		PortCount: 200, Ports: "1-200", Probes: 400, OpenPorts: []uint16{22, 80},
		FirstSeen: time.Unix(0, start).UTC(), LastSeen: time.Unix(0, end-int64(time.Millisecond)).UTC(),
		Tool: "nmap", Evidence: "400 SYN, 198 RST-ACK, 2 SYN-ACK then RST from scanner"}
	s.ToolEvidence = ""
	if !scanEqual(s, want) {
		t.Fatalf("closing record\n got %+v\nwant %+v", s, want)
	}
	if got := b.events[1].Time; !got.Equal(time.Unix(0, b.now).UTC()) {
		t.Errorf("closing record at %v, want the flush time", got)
	}
	if st := b.s.Stats(); st.Alerts != 1 || st.Trackers != 1 {
		t.Errorf("stats %+v", st)
	}
}

func scanEqual(a, b Scan) bool {
	return a.Type == b.Type && a.Name == b.Name && a.Proto == b.Proto && a.Shape == b.Shape && a.Scanner == b.Scanner &&
		slices.Equal(a.Targets, b.Targets) && a.TargetCount == b.TargetCount && a.PortCount == b.PortCount &&
		a.Ports == b.Ports && a.Probes == b.Probes && slices.Equal(a.OpenPorts, b.OpenPorts) &&
		a.FirstSeen.Equal(b.FirstSeen) && a.LastSeen.Equal(b.LastSeen) && a.Tool == b.Tool &&
		a.ToolEvidence == b.ToolEvidence && a.Evidence == b.Evidence && a.Slow == b.Slow &&
		slices.Equal(a.Decoys, b.Decoys) && a.Group == b.Group
}

// An alerted episode ends after the idle timeout (120 s) without contacts;
// a slow one only after three of its mean gaps. An episode that never
// alerted is dropped silently.
func TestIdleTimeout(t *testing.T) {
	t.Run("fast", func(t *testing.T) {
		b := newBook(t, rules.Default())
		for port := uint16(1); port <= 20; port++ {
			b.add(closed(scanner, target, port))
		}
		b.add(closed(scanner2, target, 1)) // below threshold
		b.wait(119 * time.Second)
		if n := len(b.kinds("scan")); n != 0 {
			t.Fatalf("episode closed before the idle timeout")
		}
		b.wait(2 * time.Second)
		b.wait(time.Second)
		if n := len(b.kinds("scan")); n != 1 || b.last().Scan.Scanner != scanner {
			t.Fatalf("want one closing record after the idle timeout, got %+v", b.events)
		}
		b.s.Flush()
		if len(b.events) != 2 {
			t.Fatalf("flush after the end reported again: %+v", b.events)
		}
	})
	t.Run("slow", func(t *testing.T) {
		b := newBook(t, rules.Default())
		for port := uint16(1); port <= 8; port++ {
			b.add(closed(scanner, target, port))
			b.wait(5 * time.Minute)
		}
		// 8 contacts 5 min apart: it may stay quiet for 15 minutes.
		b.wait(9 * time.Minute)
		if n := len(b.kinds("scan")); n != 0 {
			t.Fatalf("slow scan closed after its first quiet 15 minutes: %+v", b.events)
		}
		b.wait(2 * time.Minute)
		if n := len(b.kinds("scan")); n != 1 || !b.last().Scan.Slow {
			t.Fatalf("slow scan not closed after three of its gaps: %+v", b.events)
		}
	})
}

var scanner2 = netip.MustParseAddr("10.77.0.3")

// Under the tracker cap, the scanner with the least evidence among the
// least recently used that is not in an alerted episode goes; when every
// tracker is in one, the oldest goes with its closing record. Sources with
// one contact wait in probation and push out no tracker.
func TestTrackerEviction(t *testing.T) {
	r := *rules.Default()
	r.State.MaxTrackers = 3
	b := newBook(t, &r)
	a, bb, c, d := host(1), host(2), host(3), host(4)
	for port := uint16(1); port <= 15; port++ {
		b.add(closed(a, target, port)) // a alerts: active
	}
	for _, h := range []netip.Addr{bb, c, d} {
		b.add(closed(h, target, 1))
	}
	if st := b.s.Stats(); st.Trackers != 1 || st.Probation != 3 || st.TrackersEvicted != 0 {
		t.Fatalf("one contact each: stats %+v", st)
	}
	for _, h := range []netip.Addr{bb, c, d} {
		b.add(closed(h, target, 2)) // a is the oldest, but bb goes
	}
	if st := b.s.Stats(); st.Trackers != 3 || st.TrackersEvicted != 1 {
		t.Fatalf("stats %+v", st)
	}
	if b.s.scanning(bb, technique.Syn) || !b.s.scanning(a, technique.Syn) {
		t.Fatal("evicted the active tracker instead of the idle one")
	}
	if len(b.kinds("scan")) != 0 {
		t.Fatalf("eviction of an unalerted tracker wrote a record: %+v", b.events)
	}

	for port := uint16(1); port <= 15; port++ {
		b.add(closed(c, target, port))
		b.add(closed(d, target, port))
	}
	// bb's evidence (two failed contacts) does not push out an alerted
	// scanner: its third contact waits in probation, its fourth is a
	// second contact there, which does.
	b.add(closed(bb, target, 3))
	if st := b.s.Stats(); st.Trackers != 3 || st.Probation != 1 || len(b.kinds("scan")) != 0 {
		t.Fatalf("bb's evidence pushed out a scanner: stats %+v, %+v", st, b.events)
	}
	b.add(closed(bb, target, 4)) // all three active: the oldest, a, goes
	if n := len(b.kinds("scan")); n != 1 || b.last().Scan.Scanner != a {
		t.Fatalf("want a's closing record on eviction, got %+v", b.events)
	}
	if st := b.s.Stats(); st.Trackers != 3 || st.TrackersEvicted != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// An alerted episode of one tool ends when the same source starts probing
// with another tool's fingerprint: two scans, each with its tool.
func TestToolChangeEndsEpisode(t *testing.T) {
	b := newBook(t, rules.Default())
	for port := uint16(1); port <= 20; port++ {
		b.add(closed(scanner, target, port))
	}
	for port := uint16(1); port <= 20; port++ {
		c := closed(scanner, target, port)
		c.Print = masscanSYN
		b.add(c)
	}
	b.s.Flush()
	var got []string
	for _, e := range b.events {
		got = append(got, e.Kind+" "+e.Scan.Tool)
	}
	if want := []string{"alert nmap", "scan nmap", "alert masscan", "scan masscan"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// nmap's host discovery: SYN to 443 and ACK to 80 of hosts it pinged are
// part of the ping sweep, not port scans of their own.
func TestDiscoveryProbesFoldIntoPing(t *testing.T) {
	b := newBook(t, rules.Default())
	for i := 0; i < 30; i++ {
		b.add(Contact{Scanner: scanner, Target: host(i), Technique: technique.Ping, Outcome: OutSent})
		b.add(Contact{Scanner: scanner, Target: host(i), Port: 443, Technique: technique.Syn, Outcome: OutNone, Print: nmapSYN})
		b.add(Contact{Scanner: scanner, Target: host(i), Port: 80, Technique: technique.Ack, Outcome: OutNone, Print: nmapFIN})
	}
	b.s.Flush()
	var got []string
	for _, e := range b.events {
		got = append(got, e.Kind+" "+e.Scan.Type)
	}
	if want := []string{"alert ping", "scan ping"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if s := b.last().Scan; s.Probes != 90 {
		t.Errorf("ping sweep counts %d probes, want 90 (echo, SYN and ACK): %s", s.Probes, s.Evidence)
	}
}

// A custom probe's episode is named by the flags of its first probe.
func TestCustomName(t *testing.T) {
	b := newBook(t, rules.Default())
	for port := uint16(1); port <= 8; port++ {
		b.add(Contact{Scanner: scanner, Target: target, Port: port, Technique: technique.Custom, Outcome: OutNone,
			Print: Print{Flags: tcpflags.SYN | tcpflags.FIN}})
	}
	if a := b.kinds("alert"); len(a) != 1 || a[0].Scan.Name != "SYN|FIN" {
		t.Fatalf("alerts %+v", a)
	}
}

// Flush closes every open episode, scanners in address order, whatever
// order they came in.
func TestFlushOrder(t *testing.T) {
	b := newBook(t, rules.Default())
	srcs := []netip.Addr{host(9), host(3), host(7), host(1)}
	for _, src := range srcs {
		for port := uint16(1); port <= 15; port++ {
			b.add(closed(src, target, port))
		}
	}
	b.events = nil
	b.s.Flush()
	var got []netip.Addr
	for _, e := range b.events {
		got = append(got, e.Scan.Scanner)
	}
	if want := []netip.Addr{host(1), host(3), host(7), host(9)}; !slices.Equal(got, want) {
		t.Fatalf("flush order %v, want %v", got, want)
	}
	if n := b.s.OpenEpisodes(); n != 0 {
		t.Fatalf("%d episodes open after Flush", n)
	}
}
