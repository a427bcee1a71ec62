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
		ID: 1234567890123, Type: "syn", Proto: "TCP", Shape: "vertical", Scanner: a("10.77.0.2"),
		Targets: []netip.Addr{a("10.77.0.10")}, TargetCount: 1, PortCount: 87, Ports: "1-87",
		Probes: 87, OpenPorts: []uint16{22, 80}, FirstSeen: t0, LastSeen: t0.Add(1234567 * time.Microsecond),
		Tool: "nmap", ToolEvidence: "window 1024, MSS only", Evidence: "87 SYN, 84 RST-ACK",
	}
	custom := detector.Scan{
		ID: 42, Type: "custom", Name: "SYN|FIN", Proto: "TCP", Shape: "block", Scanner: a("fd77::2"), SrcPort: 53,
		Targets: []netip.Addr{a("fd77::10"), a("fd77::11")}, TargetCount: 2, PortCount: 3, Ports: "21-23",
		Probes: 6, OpenPorts: nil, FirstSeen: t0, LastSeen: t0.Add(10 * time.Minute),
		Tool: "unknown", Evidence: "6 SYN|FIN", Slow: true,
		Decoys: []netip.Addr{a("fd77::5"), a("fd77::6")}, Group: "g1",
	}
	ping := detector.Scan{
		ID: 7, Type: "ping", Proto: "ICMP", Shape: "horizontal", Scanner: a("10.77.0.3"),
		Targets: []netip.Addr{a("10.77.0.20"), a("10.77.0.21"), a("10.77.0.22")}, TargetCount: 3,
		Probes: 3, FirstSeen: t0, LastSeen: t0.Add(2 * time.Millisecond), Tool: "unknown", Evidence: "3 echo requests",
	}
	// A horizontal scan of one port from one source port, as nmap -g 53
	// sends it.
	udp := detector.Scan{
		ID: 99, Type: "udp", Proto: "UDP", Shape: "horizontal", Scanner: a("10.77.0.4"), SrcPort: 53,
		Targets: []netip.Addr{a("10.77.0.30"), a("10.77.0.31")}, TargetCount: 2, PortCount: 1, Ports: "161",
		Probes: 2, OpenPorts: []uint16{161}, FirstSeen: t0, LastSeen: t0.Add(time.Second), Tool: "unknown", Evidence: "2 UDP, 1 reply",
	}
	arp := detector.Scan{
		ID: 5, Type: "arp", Proto: "ARP", Shape: "horizontal", Scanner: a("10.77.0.5"),
		Targets: []netip.Addr{a("10.77.0.40")}, TargetCount: 1, Probes: 1, FirstSeen: t0, LastSeen: t0,
		Tool: "unknown", Evidence: "1 ARP request",
	}
	return []detector.Event{
		{Kind: "alert", Time: t0.Add(time.Second), Scan: syn},
		{Kind: "scan", Time: t0.Add(11 * time.Minute), Scan: custom},
		{Kind: "alert", Time: t0.Add(3 * time.Millisecond), Scan: ping},
		{Kind: "scan", Time: t0.Add(2 * time.Second), Scan: udp},
		{Kind: "alert", Time: t0, Scan: arp},
	}
}

// goldenStats is a live sensor's stats record.
var goldenStats = Stats{
	Uptime:  3600,
	Capture: &CaptureStats{KernelPackets: 18709, KernelDrops: 2},
	Decoder: DecoderStats{Pkts: 18707, Bytes: 1234567, Invalid: 1},
	Detect:  DetectStats{Alert: 4},
	Flow:    FlowStats{Active: 12, Memuse: 1 << 20},
}

// goldenOptions are a live sensor's, with a capture file as a replay sets.
var goldenOptions = Options{Host: "web-01", InIface: "eth0"}

func writeGolden() []byte {
	var b bytes.Buffer
	w := NewWriter(&b, goldenOptions)
	for i, ev := range goldenEvents() {
		if i == 3 {
			w.SetCaptureFile("testdata/nmap_sU.pcap")
		}
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
	want := wantRecords()
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
			g, _ := json.Marshal(got[i])
			w, _ := json.Marshal(want[i])
			t.Errorf("record %d:\ngot  %s\nwant %s", i, g, w)
		}
	}
	if ts, err := ParseTime(got[0].Timestamp); err != nil || !ts.Equal(time.Date(2026, 11, 21, 0, 14, 4, 123456000, time.UTC)) {
		t.Errorf("ParseTime(%q) = %v, %v", got[0].Timestamp, ts, err)
	}
	if got[0].Scan() == nil || got[len(got)-1].Scan() != nil {
		t.Error("Scan() of an alert is nil, or of a stats record not nil")
	}
}

// wantRecords are the golden records as a reader sees them, written by hand.
func wantRecords() []Record {
	md := func(tech, techName, typ, shape, tool, sev string) map[string][]string {
		return map[string][]string{
			"mitre_tactic_id": {"TA0007"}, "mitre_tactic_name": {"Discovery"},
			"mitre_technique_id": {tech}, "mitre_technique_name": {techName},
			"scan_type": {typ}, "scan_shape": {shape}, "scan_tool": {tool}, "signature_severity": {sev},
		}
	}
	const (
		t1046, t1046n = "T1046", "Network_Service_Discovery"
		t1018, t1018n = "T1018", "Remote_System_Discovery"
	)
	alert := func(sid int, sig string, sev int, m map[string][]string, s *RecordScan) *RecordAlert {
		return &RecordAlert{Action: "allowed", GID: 1, SignatureID: sid, Rev: 1, Signature: sig,
			Category: "Detection of a Network Scan", Severity: sev, Metadata: m, Context: &RecordContext{Scan: s}}
	}
	const t0 = "2026-11-21T00:14:03.123456+0000"
	return []Record{
		{
			Timestamp: "2026-11-21T00:14:04.123456+0000", FlowID: 1234567890123, InIface: "eth0", EventType: "alert",
			SrcIP: "10.77.0.2", DestIP: "10.77.0.10", Proto: "TCP", IPVersion: 4, PktSrc: "wire/pcap",
			Alert: alert(1990001, "scanwatch: TCP SYN port scan", 2, md(t1046, t1046n, "syn", "vertical", "nmap", "Minor"),
				&RecordScan{Type: "syn", Shape: "vertical", Scanner: "10.77.0.2", Targets: []string{"10.77.0.10"}, TargetCount: 1,
					Summary: "syn scan of 10.77.0.10, 87 ports, open 22,80", PortCount: 87, Ports: "1-87", Probes: 87, OpenPorts: []uint16{22, 80},
					FirstSeen: t0, LastSeen: "2026-11-21T00:14:04.358023+0000", DurationS: 1.235,
					Tool: "nmap", ToolEvidence: "window 1024, MSS only", Evidence: "87 SYN, 84 RST-ACK"}),
			Host: "web-01",
		},
		{
			Timestamp: "2026-11-21T00:25:03.123456+0000", FlowID: 42, InIface: "eth0", EventType: "flow",
			SrcIP: "fd77::2", SrcPort: 53, DestIP: "fd77::10", Proto: "TCP", IPVersion: 6,
			Flow: &RecordFlow{PktsToServer: 6, Start: t0, End: "2026-11-21T00:24:03.123456+0000", Age: 600, State: "closed", Alerted: true},
			Alert: alert(1990008, "scanwatch: TCP scan with unusual flags", 2, md(t1046, t1046n, "custom", "block", "unknown", "Minor"),
				&RecordScan{Type: "custom", Flags: "SYN|FIN", Shape: "block", Scanner: "fd77::2", Targets: []string{"fd77::10", "fd77::11"},
					TargetCount: 2, Summary: "custom scan of fd77::10 and 1 other host, 3 ports", PortCount: 3, Ports: "21-23", Probes: 6, OpenPorts: []uint16{},
					FirstSeen: t0, LastSeen: "2026-11-21T00:24:03.123456+0000", DurationS: 600,
					Slow: true, Decoys: []string{"fd77::5", "fd77::6"}, Group: "g1", Tool: "unknown", Evidence: "6 SYN|FIN"}),
			Host: "web-01",
		},
		{
			Timestamp: "2026-11-21T00:14:03.126456+0000", FlowID: 7, InIface: "eth0", EventType: "alert",
			SrcIP: "10.77.0.3", DestIP: "10.77.0.20", Proto: "ICMP", IPVersion: 4, PktSrc: "wire/pcap",
			Alert: alert(1990012, "scanwatch: host discovery sweep", 3, md(t1018, t1018n, "ping", "horizontal", "unknown", "Informational"),
				&RecordScan{Type: "ping", Shape: "horizontal", Scanner: "10.77.0.3", Targets: []string{"10.77.0.20", "10.77.0.21", "10.77.0.22"},
					TargetCount: 3, Summary: "ping sweep of 10.77.0.20 and 2 other hosts", Probes: 3,
					FirstSeen: t0, LastSeen: "2026-11-21T00:14:03.125456+0000", DurationS: 0.002, Tool: "unknown", Evidence: "3 echo requests"}),
			Host: "web-01",
		},
		{
			Timestamp: "2026-11-21T00:14:05.123456+0000", FlowID: 99, InIface: "eth0", EventType: "flow",
			SrcIP: "10.77.0.4", SrcPort: 53, DestIP: "10.77.0.30", DestPort: 161, Proto: "UDP", IPVersion: 4,
			Flow: &RecordFlow{PktsToServer: 2, Start: t0, End: "2026-11-21T00:14:04.123456+0000", Age: 1, State: "closed", Alerted: true},
			Alert: alert(1990009, "scanwatch: UDP port scan", 2, md(t1046, t1046n, "udp", "horizontal", "unknown", "Minor"),
				&RecordScan{Type: "udp", Shape: "horizontal", Scanner: "10.77.0.4", Targets: []string{"10.77.0.30", "10.77.0.31"},
					TargetCount: 2, Summary: "udp scan of 10.77.0.30 and 1 other host, port 161, open 161", PortCount: 1, Ports: "161",
					Probes: 2, OpenPorts: []uint16{161}, FirstSeen: t0, LastSeen: "2026-11-21T00:14:04.123456+0000", DurationS: 1,
					Tool: "unknown", Evidence: "2 UDP, 1 reply"}),
			Host: "web-01", PcapFile: "testdata/nmap_sU.pcap",
		},
		{
			Timestamp: t0, FlowID: 5, InIface: "eth0", EventType: "alert", SrcIP: "10.77.0.5", DestIP: "10.77.0.40", PktSrc: "wire/pcap",
			Alert: alert(1990013, "scanwatch: ARP/neighbour discovery sweep", 3, md(t1018, t1018n, "arp", "horizontal", "unknown", "Informational"),
				&RecordScan{Type: "arp", Shape: "horizontal", Scanner: "10.77.0.5", Targets: []string{"10.77.0.40"}, TargetCount: 1,
					Summary: "ARP sweep of 10.77.0.40", Probes: 1, FirstSeen: t0, LastSeen: t0, Tool: "unknown", Evidence: "1 ARP request"}),
			Host: "web-01", PcapFile: "testdata/nmap_sU.pcap",
		},
		{
			Timestamp: "2026-11-21T01:00:00.000000+0000", EventType: "stats", Host: "web-01",
			Stats: &Stats{Uptime: 3600, Capture: &CaptureStats{KernelPackets: 18709, KernelDrops: 2},
				Decoder: DecoderStats{Pkts: 18707, Bytes: 1234567, Invalid: 1}, Detect: DetectStats{Alert: 4},
				Flow: FlowStats{Active: 12, Memuse: 1 << 20}},
		},
	}
}
