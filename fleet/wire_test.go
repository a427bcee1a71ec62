package fleet

import (
	"bytes"
	"errors"
	"math"
	"net/netip"
	"reflect"
	"testing"
)

func sampleContacts() []Contact {
	nmap := Fingerprint{Flags: 0x02, TTL: 44, Options: OptMSSOnly, Window: 1024, MSS: 1460, IPID: 31337, SrcPort: 61234, Seq: 0xdeadbeef}
	zmap := Fingerprint{Flags: 0x02, TTL: 255, Window: 65535, IPID: 54321, SrcPort: 40000, Seq: 1, DF: true, AckNoFlag: true, IDMatch: true, Options: OptOther}
	return []Contact{
		{Time: 1_700_000_000_123_456_789, First: 1_700_000_000_023_456_789, Scanner: netip.MustParseAddr("10.77.0.2"), Target: netip.MustParseAddr("10.77.0.10"), Port: 22, Technique: TechSyn, Outcome: OutClosed, Probes: 1, HasPrint: true, Print: nmap},
		{Time: 1_700_000_000_123_456_999, Scanner: netip.MustParseAddr("10.77.0.2"), Target: netip.MustParseAddr("10.77.0.11"), Port: 443, Technique: TechSyn, Outcome: OutHalfOpen, Probes: 2, HasPrint: true, Print: nmap},
		{Time: 1_700_000_000_000_000_000, Scanner: netip.MustParseAddr("2001:db8::1"), Target: netip.MustParseAddr("2001:db8:1::10"), Port: 53, Technique: TechUDP, Outcome: OutNone, Probes: 0},
		{Time: -5, Scanner: netip.MustParseAddr("::ffff:192.0.2.1"), Target: netip.MustParseAddr("192.0.2.9"), Port: 6, Technique: TechIPProto, Outcome: OutFiltered, Probes: math.MaxUint32},
		{Time: math.MaxInt64, First: math.MinInt64, Scanner: netip.MustParseAddr("192.0.2.1"), Target: netip.MustParseAddr("::1"), Technique: TechSyn, Outcome: OutOpen, Probes: 1, HasPrint: true, Print: zmap},
		{Time: math.MinInt64, Scanner: netip.MustParseAddr("192.0.2.1"), Target: netip.MustParseAddr("192.0.2.2"), Technique: Technique(200), Outcome: Outcome(201), Probes: 1},
	}
}

func TestBatchRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		sensor string
		cs     []Contact
	}{
		{"empty", "web-01", nil},
		{"mixed", "web_01", sampleContacts()},
		{"max name", string(bytes.Repeat([]byte("a"), MaxSensorName)), sampleContacts()[:1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := AppendBatch(nil, tt.sensor, tt.cs)
			if err != nil {
				t.Fatal(err)
			}
			sensor, got, err := DecodeBatch(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			if sensor != tt.sensor {
				t.Errorf("sensor %q, want %q", sensor, tt.sensor)
			}
			want := make([]Contact, len(tt.cs))
			for i, c := range tt.cs {
				c.Sensor = tt.sensor
				want[i] = c
			}
			if len(got) != len(want) || len(want) > 0 && !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestBatchSize pins the compactness the format is chosen for.
func TestBatchSize(t *testing.T) {
	cs := make([]Contact, 1000)
	for i := range cs {
		cs[i] = Contact{Time: 1_700_000_000_000_000_000 + int64(i)*1000_000, First: 1_700_000_000_000_000_000 + int64(i)*900_000, Scanner: netip.MustParseAddr("10.77.0.2"),
			Target: netip.AddrFrom4([4]byte{10, 77, byte(i >> 8), byte(i)}), Port: 22, Technique: TechSyn, Outcome: OutClosed, Probes: 1}
	}
	b, err := AppendBatch(nil, "web-01", cs)
	if err != nil {
		t.Fatal(err)
	}
	if per := float64(len(b)) / float64(len(cs)); per > 16 {
		t.Errorf("%.1f bytes a contact without fingerprint, want at most 16", per)
	}
	for i := range cs {
		cs[i].HasPrint = true
		cs[i].Print = Fingerprint{Flags: 2, TTL: 50, Options: OptMSSOnly, Window: 1024, MSS: 1460, IPID: uint16(i * 7919), SrcPort: 50000, Seq: 0x12345678}
	}
	b, _ = AppendBatch(nil, "web-01", cs)
	if per := float64(len(b)) / float64(len(cs)); per > 31 {
		t.Errorf("%.1f bytes a contact with fingerprint, want at most 31", per)
	}
}

func TestAppendBatchRejects(t *testing.T) {
	ok := sampleContacts()[:1]
	tests := []struct {
		name   string
		sensor string
		cs     []Contact
	}{
		{"empty name", "", ok},
		{"dotted name", "web.example", ok},
		{"wildcard name", "web*", ok},
		{"long name", string(bytes.Repeat([]byte("a"), MaxSensorName+1)), ok},
		{"no scanner", "s", []Contact{{Target: netip.MustParseAddr("10.0.0.1")}}},
		{"no target", "s", []Contact{{Scanner: netip.MustParseAddr("10.0.0.1")}}},
		{"too many", "s", make([]Contact, MaxBatchContacts+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := AppendBatch(nil, tt.sensor, tt.cs); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestDecodeBatchRejects(t *testing.T) {
	good, _ := AppendBatch(nil, "web-01", sampleContacts())
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"magic only", []byte("sw")},
		{"wrong magic", mut(func(b []byte) []byte { b[0] = 'x'; return b })},
		{"future version", mut(func(b []byte) []byte { b[2] = 2; return b })},
		{"name past end", []byte{'s', 'w', 1, 200, 'a'}},
		{"zero name", []byte{'s', 'w', 1, 0, 0, 0}},
		{"bad name", []byte{'s', 'w', 1, 1, '.', 0, 0}},
		{"count over max", append([]byte{'s', 'w', 1, 1, 'a'}, 0xff, 0xff, 0x7f, 0)},
		{"count past bytes", []byte{'s', 'w', 1, 1, 'a', 100, 0}},
		{"truncated", good[:len(good)-1]},
		{"trailing", append(append([]byte(nil), good...), 0)},
		{"huge", make([]byte, MaxBatchBytes+1)},
		{"first record same scanner", []byte{'s', 'w', 1, 1, 'a', 1, 0, headSameScanner, 0, 0, 1, 2, 3, 4, 0, 1, 1, 0, 0, 0}},
		{"unknown head bit", []byte{'s', 'w', 1, 1, 'a', 1, 0, 0x80, 0, 0, 1, 2, 3, 4, 1, 2, 3, 4, 0, 1, 1}},
		{"port over 65535", []byte{'s', 'w', 1, 1, 'a', 1, 0, 0, 0, 0, 1, 2, 3, 4, 1, 2, 3, 4, 0x80, 0x80, 0x04, 1, 1}},
		{"overlong varint", []byte{'s', 'w', 1, 1, 'a', 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, cs, err := DecodeBatch(tt.data, nil)
			if !errors.Is(err, ErrBadBatch) {
				t.Errorf("err %v, want ErrBadBatch", err)
			}
			if len(cs) != 0 {
				t.Errorf("%d contacts returned with an error", len(cs))
			}
		})
	}
}

func TestDecodeBatchReusesBuffer(t *testing.T) {
	b, _ := AppendBatch(nil, "s", sampleContacts())
	buf := make([]Contact, 0, 64)
	_, cs, err := DecodeBatch(b, buf)
	if err != nil {
		t.Fatal(err)
	}
	if &cs[0] != &buf[:1][0] {
		t.Error("buffer not reused")
	}
}

func FuzzDecodeBatch(f *testing.F) {
	good, _ := AppendBatch(nil, "web-01", sampleContacts())
	f.Add(good)
	f.Add([]byte{'s', 'w', 1, 1, 'a', 0, 0})
	f.Add([]byte("sw\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sensor, cs, err := DecodeBatch(data, nil)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to something that decodes the same.
		b, err := AppendBatch(nil, sensor, cs)
		if err != nil {
			t.Fatalf("decoded batch does not re-encode: %v", err)
		}
		sensor2, cs2, err := DecodeBatch(b, nil)
		if err != nil || sensor2 != sensor || !reflect.DeepEqual(cs, cs2) {
			t.Fatalf("re-encoded batch differs: %v", err)
		}
	})
}
