package fleet

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/detector"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/technique"
)

// TestDetectorContactRoundTrip: a detector contact survives the wire.
func TestDetectorContactRoundTrip(t *testing.T) {
	for tc := range technique.Count {
		for _, o := range []detector.Outcome{detector.OutNone, detector.OutClosed, detector.OutHalfOpen, detector.OutAlive, detector.OutBenign} {
			d := detector.Contact{Time: 2_000, First: 1_000, Scanner: netip.MustParseAddr("2001:db8::1"), Target: netip.MustParseAddr("2001:db8::2"),
				Port: 443, Probes: 3, Technique: tc, Outcome: o,
				Print: detector.Print{Flags: 2, V6: true, TTL: 50, DF: true, Options: detector.OptClass(1), MSS: 1440, Window: 1024, IPID: 7, AckNoFlag: true, IDMatch: true, SrcPort: 5555, Seq: 99, Frag: true}}
			w := FromDetector(&d)
			b, err := AppendBatch(nil, "s", []Contact{w})
			if err != nil {
				t.Fatal(err)
			}
			_, cs, err := DecodeBatch(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := cs[0].toDetector()
			if !ok || got != d {
				t.Errorf("%s/%s: got %+v, want %+v", tc, o, got, d)
			}
		}
	}
	if _, ok := (&Contact{Technique: Technique(99)}).toDetector(); ok {
		t.Error("an unknown technique converts")
	}
}

// TestDetectorEngine: contacts from three sensors, none of which saw
// enough, make one alert naming all three; its ID is the same when the
// same contacts are fed again (a rebuild).
func TestDetectorEngine(t *testing.T) {
	r := rules.Default()
	run := func() []Output {
		var out []Output
		e := DetectorEngine(r, "corr")(0, func(o Output) { out = append(out, o) })
		t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC).UnixNano()
		for i := range 20 {
			for j, port := range []uint16{22, 80, 443} {
				tm := t0 + int64(i)*int64(40*time.Millisecond) + int64(j)*int64(time.Millisecond)
				c := Contact{Time: tm, First: tm, Scanner: netip.MustParseAddr("203.0.113.66"), Target: netip.AddrFrom4([4]byte{10, 50, 0, byte(10 + i)}),
					Port: port, Technique: TechSyn, Outcome: OutClosed, Probes: 1, HasPrint: true,
					Print:  Fingerprint{Flags: 2, TTL: 45, Options: OptMSSOnly, Window: 1024, MSS: 1460, IPID: 31337, SrcPort: 61234, Seq: 1},
					Sensor: []string{"web-a", "web-b", "web-c"}[i%3]}
				e.Contact(&c)
			}
		}
		e.Advance(t0 + int64(10*time.Minute))
		return out
	}
	out := run()
	if len(out) != 2 {
		t.Fatalf("%d outputs, want an alert and its scan record: %v", len(out), out)
	}
	var alert, end eve.Record
	if err := json.Unmarshal(out[0].Record, &alert); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out[1].Record, &end); err != nil {
		t.Fatal(err)
	}
	if alert.EventType != "alert" || alert.Scan() == nil || alert.Scan().Scanner != "203.0.113.66" || len(alert.Scan().Sensors) == 0 {
		t.Fatalf("alert %s", out[0].Record)
	}
	if end.EventType != "flow" || end.FlowID != alert.FlowID || end.Scan().TargetCount != 20 || end.Host != "corr" {
		t.Fatalf("end record %s", out[1].Record)
	}
	if s := end.Scan().Sensors; len(s) != 3 || s[0] != "web-a" || s[2] != "web-c" {
		t.Errorf("sensors %v", s)
	}
	again := run()
	for i := range out {
		if again[i].ID != out[i].ID {
			t.Errorf("output %d: id %q, then %q", i, out[i].ID, again[i].ID)
		}
	}
	if out[0].ID == out[1].ID {
		t.Error("alert and scan record share an id")
	}
}
