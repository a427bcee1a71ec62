package eve

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/detector"
)

var update = flag.Bool("update", false, "rewrite testdata/records.golden from the writer's output")

// goldenEvents cover every record kind and every optional field the writer
// knows: custom flags, decoys, group, slow, tool evidence, records with and
// without ports.
func goldenEvents() []detector.Event {
	t0 := time.Date(2026, 11, 21, 0, 14, 3, 123456000, time.UTC)
	a := netip.MustParseAddr
	syn := detector.Scan{
		Type: "syn", Proto: "TCP", Shape: "vertical", Scanner: a("10.77.0.2"),
		Targets: []netip.Addr{a("10.77.0.10")}, TargetCount: 1, PortCount: 87, Ports: "1-87",
		Probes: 87, OpenPorts: []uint16{22, 80}, FirstSeen: t0, LastSeen: t0.Add(1234567 * time.Microsecond),
		Tool: "nmap", ToolEvidence: "window 1024, MSS only", Evidence: "87 SYN, 84 RST-ACK",
	}
	custom := detector.Scan{
		Type: "custom", Name: "SYN|FIN", Proto: "TCP", Shape: "block", Scanner: a("fd77::2"),
		Targets: []netip.Addr{a("fd77::10"), a("fd77::11")}, TargetCount: 2, PortCount: 3, Ports: "21-23",
		Probes: 6, OpenPorts: nil, FirstSeen: t0, LastSeen: t0.Add(10 * time.Minute),
		Tool: "unknown", Evidence: "6 SYN|FIN", Slow: true,
		Decoys: []netip.Addr{a("fd77::5"), a("fd77::6")}, Group: "g1",
	}
	ping := detector.Scan{
		Type: "ping", Proto: "ICMP", Shape: "horizontal", Scanner: a("10.77.0.3"),
		Targets: []netip.Addr{a("10.77.0.20"), a("10.77.0.21"), a("10.77.0.22")}, TargetCount: 3,
		Probes: 3, FirstSeen: t0, LastSeen: t0.Add(2 * time.Millisecond), Tool: "unknown", Evidence: "3 echo requests",
	}
	return []detector.Event{
		{Kind: "alert", Time: t0.Add(time.Second), Scan: syn},
		{Kind: "scan", Time: t0.Add(11 * time.Minute), Scan: custom},
		{Kind: "alert", Time: t0.Add(3 * time.Millisecond), Scan: ping},
	}
}

var goldenStats = []Field{{"kernel_seen", 18725}, {"received", 18709}, {"alerts", 4}}

func writeGolden() []byte {
	var b bytes.Buffer
	w := NewWriter(&b)
	for _, ev := range goldenEvents() {
		w.Event(ev)
	}
	w.Stats(time.Date(2026, 11, 21, 1, 0, 0, 0, time.UTC), goldenStats)
	return b.Bytes()
}

// TestWriterGolden pins the bytes the writer produces: a change of the
// format shows up here first (go test ./eve -update rewrites the file).
func TestWriterGolden(t *testing.T) {
	got := writeGolden()
	const path = "testdata/records.golden"
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("writer output differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestRecordReadsEveryField: each line the writer makes unmarshals into
// Record with no field left over (DisallowUnknownFields), and every value
// comes back.
func TestRecordReadsEveryField(t *testing.T) {
	want := []Record{
		{
			Timestamp: "2026-11-21T00:14:04.123456+0000", EventType: "alert", SrcIP: "10.77.0.2", DestIP: "10.77.0.10", Proto: "TCP",
			Alert: &RecordAlert{Action: "allowed", GID: 1, SignatureID: 9000001, Rev: 1, Signature: "scanwatch: TCP SYN port scan",
				Category: "Detection of a Network Scan", Severity: 2},
			Scan: &RecordScan{Type: "syn", Shape: "vertical", Scanner: "10.77.0.2", Targets: []string{"10.77.0.10"}, TargetCount: 1,
				PortCount: 87, Ports: "1-87", Probes: 87, OpenPorts: []uint16{22, 80},
				FirstSeen: "2026-11-21T00:14:03.123456+0000", LastSeen: "2026-11-21T00:14:04.358023+0000", DurationS: 1.235,
				Tool: "nmap", ToolEvidence: "window 1024, MSS only", Evidence: "87 SYN, 84 RST-ACK"},
		},
		{
			Timestamp: "2026-11-21T00:25:03.123456+0000", EventType: "scan", SrcIP: "fd77::2", DestIP: "fd77::10", Proto: "TCP",
			Scan: &RecordScan{Type: "custom", Flags: "SYN|FIN", Shape: "block", Scanner: "fd77::2", Targets: []string{"fd77::10", "fd77::11"},
				TargetCount: 2, PortCount: 3, Ports: "21-23", Probes: 6, OpenPorts: []uint16{},
				FirstSeen: "2026-11-21T00:14:03.123456+0000", LastSeen: "2026-11-21T00:24:03.123456+0000", DurationS: 600,
				Slow: true, Decoys: []string{"fd77::5", "fd77::6"}, Group: "g1", Tool: "unknown", Evidence: "6 SYN|FIN"},
		},
		{
			Timestamp: "2026-11-21T00:14:03.126456+0000", EventType: "alert", SrcIP: "10.77.0.3", DestIP: "10.77.0.20", Proto: "ICMP",
			Alert: &RecordAlert{Action: "allowed", GID: 1, SignatureID: 9000012, Rev: 1, Signature: "scanwatch: host discovery sweep",
				Category: "Detection of a Network Scan", Severity: 3},
			Scan: &RecordScan{Type: "ping", Shape: "horizontal", Scanner: "10.77.0.3", Targets: []string{"10.77.0.20", "10.77.0.21", "10.77.0.22"},
				TargetCount: 3, Probes: 3, FirstSeen: "2026-11-21T00:14:03.123456+0000", LastSeen: "2026-11-21T00:14:03.125456+0000",
				DurationS: 0.002, Tool: "unknown", Evidence: "3 echo requests"},
		},
		{
			Timestamp: "2026-11-21T01:00:00.000000+0000", EventType: "stats",
			Stats: map[string]uint64{"kernel_seen": 18725, "received": 18709, "alerts": 4},
		},
	}
	sc := bufio.NewScanner(bytes.NewReader(writeGolden()))
	var got []Record
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var r Record
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		got = append(got, r)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("record %d:\ngot  %+v %+v %+v\nwant %+v %+v %+v", i, got[i], got[i].Alert, got[i].Scan, want[i], want[i].Alert, want[i].Scan)
		}
	}
	if ts, err := ParseTime(got[0].Timestamp); err != nil || !ts.Equal(time.Date(2026, 11, 21, 0, 14, 4, 123456000, time.UTC)) {
		t.Errorf("ParseTime(%q) = %v, %v", got[0].Timestamp, ts, err)
	}
}
