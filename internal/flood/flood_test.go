package flood

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/detector"
	"github.com/scanwatch/scanwatch/rules"
)

// run feeds the capture c through the decoder and a detector with rules r
// and returns the detector's events and its final counters.
func run(tb testing.TB, c Config, r *rules.Rules) ([]detector.Event, detector.Stats) {
	tb.Helper()
	var events []detector.Event
	det := detector.New(r, func(e detector.Event) { events = append(events, e) })
	dec := decode.NewDecoder(decode.FragmentsFor(r.MemoryFor(rules.FragmentTable), r.State.MaxFragments))
	var p decode.Packet
	_, err := Generate(c, func(f Frame) error {
		ok, err := dec.Decode(layers.LinkTypeEthernet, f.Data, f.Time, &p)
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
	st := det.Stats()
	det.Flush()
	return events, st
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
// (nmap -T1 is 15 s) hides in a stream of spoofed one-packet sources, as
// many per probe gap as 100,000 a second would be at the default budget.
// Each of them used to cost a tracker slot as much as the scanner with its
// failed contacts did, and the scanner was evicted between its probes and
// never alerted; now they wait in probation, and what leaves it is
// remembered in the evidence filters.
func TestSlowScanUnderSpoofedFlood(t *testing.T) {
	const gap = 20 * time.Second
	r := smallRules()
	rate := 100_000.0 / 128
	c := Config{Kind: SYN, Rate: rate, Sources: int(rate * 14 * gap.Seconds()), Seed: 3,
		Scan: Scan{Ports: 14, Gap: gap, At: time.Second, Open: []uint16{3}}}
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
	t.Logf("alerted after %.0f s and %d probes: %s", a.Scan.LastSeen.Sub(a.Scan.FirstSeen).Seconds(), a.Scan.Probes, a.Scan.Evidence)
}

// TestSlowScanQuiet: the same scan with no flood is alerted as early as
// before (probation changes nothing for a source that comes back).
func TestSlowScanQuiet(t *testing.T) {
	c := Config{Kind: SYN, Sources: 0, Scan: Scan{Ports: 14, Gap: 20 * time.Second, At: time.Second}}
	c.defaults()
	events, _ := run(t, c, smallRules())
	a := alerted(events, c.Scan.Scanner)
	if a == nil || a.Scan.Probes != 6 {
		t.Fatalf("quiet slow scan: alert %+v, want one after 6 probes", a)
	}
}
