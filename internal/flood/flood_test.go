package flood

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/detector"
	"github.com/scanwatch/scanwatch/linktype"
	"github.com/scanwatch/scanwatch/rules"
)

// run feeds the capture c through the decoder and a detector with rules r,
// flushes it, and returns its events and its counters.
func run(tb testing.TB, c Config, r *rules.Rules) ([]detector.Event, detector.Stats) {
	tb.Helper()
	var events []detector.Event
	det := detector.New(r, func(e detector.Event) { events = append(events, e) })
	dec := decode.NewDecoder(decode.FragmentsFor(r.MemoryFor(rules.FragmentTable), r.State.MaxFragments))
	var p decode.Packet
	_, err := Generate(c, func(f Frame) error {
		ok, err := dec.Decode(linktype.Ethernet, f.Data, f.Time, &p)
		if err != nil {
			return fmt.Errorf("decode at %v: %w", f.Time, err)
		}
		if ok {
			det.Process(&p)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	det.Flush()
	return events, det.Stats()
}

// alerted returns the alert for scanner, if any.
func alerted(events []detector.Event, scanner netip.Addr) *detector.Event {
	for i, e := range events {
		if e.Kind == "alert" && e.Scan.Scanner == scanner {
			return &events[i]
		}
	}
	return nil
}

// smallRules scale the default budget down by 128 (2 MiB) and the tracker
// cap with it: a flood of 100,000 new sources a second against the default
// budget presses the tables as 781 a second press these.
func smallRules() *rules.Rules {
	r := rules.Default()
	r.Memory = rules.DefaultMemory / 128
	r.State.MaxTrackers = 512
	return r
}

// TestSlowScanUnderSpoofedFlood: an nmap -sS scan at one probe every 20 s
// (nmap -T1 is 15 s), and at one every 5 minutes (the README's example),
// hides in a stream of spoofed one-packet sources, as many per probe gap
// as 100,000 a second would be at the default budget. Each of them used to
// cost a tracker slot as much as the scanner with its failed contacts did,
// and the scanner was evicted between its probes and never alerted; now
// they wait in probation, and what leaves it is remembered in the evidence
// filters.
func TestSlowScanUnderSpoofedFlood(t *testing.T) {
	for _, gap := range []time.Duration{20 * time.Second, 5 * time.Minute} {
		t.Run(gap.String(), func(t *testing.T) {
			const probes = 9
			r := smallRules()
			rate := 100_000.0 / 128
			c := Config{Kind: SYN, Rate: rate, Sources: int(rate * probes * gap.Seconds()), Seed: 3,
				Scan: Scan{Ports: probes, Gap: gap, At: time.Second, Open: []uint16{3}}}
			c.defaults()
			events, st := run(t, c, r)
			a := alerted(events, c.Scan.Scanner)
			t.Logf("%d spoofed sources in %v; stats %+v", c.Sources, time.Duration(float64(c.Sources)/rate*1e9), st)
			if a == nil {
				t.Fatalf("slow scan not alerted under the flood (%d events)", len(events))
			}
			if st.ProbationEvicted < uint64(c.Sources)/2 {
				t.Errorf("the flood did not press the probation space: %+v", st)
			}
			if s := a.Scan; s.Type != "syn" || !s.Slow || s.Targets[0] != c.Scan.Target {
				t.Errorf("alert %+v", s)
			}
			t.Logf("alerted at probe %d: %s", int(a.Scan.LastSeen.Sub(c.Start.Add(c.Scan.At))/gap)+1, a.Scan.Evidence)
		})
	}
}

// TestSlowScanQuiet: the same scan with no flood is alerted as early as
// before (probation changes nothing for a source that comes back).
func TestSlowScanQuiet(t *testing.T) {
	c := Config{Kind: SYN, Sources: 0, Scan: Scan{Ports: 14, Gap: 20 * time.Second, At: time.Second}}
	c.defaults()
	events, _ := run(t, c, smallRules())
	a := alerted(events, c.Scan.Scanner)
	if want := smallRules().Slow.MinPorts; a == nil || a.Scan.Probes != want {
		t.Fatalf("quiet slow scan: alert %+v, want one after %d probes (the sequential test's min_ports)", a, want)
	}
}

// TestSpoofedScanFlood: 2,000 spoofed sources each sending 20 SYNs (to
// ports 1-20 of one target) were 2,000 scan alerts. Past the alert budget
// (20 at once, 1 a second) they are one flood: one alert, one closing
// record with the counts and why the sources look spoofed, and the
// suppressed alerts counted. The nmap scan inside, whose stack resets the
// SYN-ACKs of open ports, is alerted on its own.
func TestSpoofedScanFlood(t *testing.T) {
	for _, tc := range []struct {
		ttl  uint8
		tell string
	}{{0, "different TTLs, each source one (drawn at random)"}, {64, "TTL 64 on 100% of the sources (one sender's distance)"}} {
		c := Config{Kind: SYN, Sources: 2000, PerSource: 20, TTL: tc.ttl, Seed: 9,
			Scan: Scan{Ports: 100, Gap: time.Millisecond, At: 200 * time.Millisecond, Open: []uint16{22, 80}}}
		c.defaults()
		r := rules.Default()
		events, st := run(t, c, r)
		var alerts, floods []detector.Event
		for _, e := range events {
			if e.Scan.Shape == "flood" {
				floods = append(floods, e)
			} else if e.Kind == "alert" {
				alerts = append(alerts, e)
			}
		}
		if alerted(events, c.Scan.Scanner) == nil {
			t.Errorf("the nmap scan in the flood was not alerted")
		}
		if len(alerts) > r.Alerts.Burst+2 || st.AlertsSuppressed < 1900 {
			t.Errorf("%d alerts, %d suppressed: want at most the burst (%d) and the scan", len(alerts), st.AlertsSuppressed, r.Alerts.Burst)
		}
		if len(floods) != 2 || floods[0].Kind != "alert" || floods[1].Kind != "scan" || st.Floods != 1 {
			t.Fatalf("flood records %+v, want its alert and its closing record", floods)
		}
		sum := floods[1].Scan
		t.Logf("%d alerts, %d suppressed; flood: %d sources, %d targets, %d ports, %d probes: %s",
			len(alerts), st.AlertsSuppressed, sum.Sources, sum.TargetCount, sum.PortCount, sum.Probes, sum.Evidence)
		if sum.Sources != int(st.AlertsSuppressed) || sum.Type != "syn" || !sum.Scanner.IsUnspecified() || sum.PortCount != 20 || sum.Probes < 20*sum.Sources {
			t.Errorf("closing record %+v", sum)
		}
		for _, want := range []string{"spoofed-source SYN flood or distributed scan", "the sources look spoofed", "no probe was answered", tc.tell} {
			if !strings.Contains(sum.Evidence, want) {
				t.Errorf("evidence %q lacks %q", sum.Evidence, want)
			}
		}
	}
}
