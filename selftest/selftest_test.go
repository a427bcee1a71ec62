package selftest

import (
	"bytes"
	"context"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/sensor"
)

// Canned sensor output: what the sensor wrote for four scans, trimmed to
// the fields the self-test reads (plus a few for realism).
const cannedSensor = `{"timestamp":"2026-11-21T01:00:00.513000+0000","event_type":"alert","src_ip":"10.75.0.21","dest_ip":"10.75.0.10","proto":"TCP","alert":{"context":{"scan":{"type":"syn","probes":15,"open_ports":[22],"first_seen":"2026-11-21T01:00:00.500000+0000","last_seen":"2026-11-21T01:00:00.513000+0000"}}}}
{"timestamp":"2026-11-21T01:00:02.612000+0000","event_type":"alert","src_ip":"10.75.0.22","dest_ip":"10.75.0.10","proto":"TCP","alert":{"context":{"scan":{"type":"connect","probes":15,"open_ports":[],"first_seen":"2026-11-21T01:00:02.600000+0000","last_seen":"2026-11-21T01:00:02.612000+0000"}}}}
{"timestamp":"2026-11-21T01:00:04.609000+0000","event_type":"alert","src_ip":"10.75.0.26","dest_ip":"10.75.0.10","proto":"TCP","alert":{"context":{"scan":{"type":"ack","probes":10,"open_ports":[],"first_seen":"2026-11-21T01:00:04.600000+0000","last_seen":"2026-11-21T01:00:04.609000+0000"}}}}
{"timestamp":"2026-11-21T01:00:06.650000+0000","event_type":"alert","src_ip":"10.75.0.27","dest_ip":"10.75.0.10","proto":"TCP","alert":{"context":{"scan":{"type":"custom","probes":8,"open_ports":[],"first_seen":"2026-11-21T01:00:06.600000+0000","last_seen":"2026-11-21T01:00:06.650000+0000"}}}}
{"timestamp":"2026-11-21T01:00:30.000000+0000","event_type":"alert","src_ip":"10.75.0.99","dest_ip":"10.75.0.10","proto":"TCP","alert":{"context":{"scan":{"type":"maimon","probes":8,"open_ports":[],"first_seen":"2026-11-21T01:00:29.900000+0000","last_seen":"2026-11-21T01:00:30.000000+0000"}}}}
{"timestamp":"2026-11-21T01:00:40.000000+0000","event_type":"flow","src_ip":"10.75.0.21","dest_ip":"10.75.0.10","proto":"TCP","flow":{"pkts_toserver":1025,"start":"2026-11-21T01:00:00.500000+0000","end":"2026-11-21T01:00:01.500000+0000","age":1,"state":"closed","alerted":true},"alert":{"context":{"scan":{"type":"syn","probes":1025,"open_ports":[22,80,443,8080],"first_seen":"2026-11-21T01:00:00.500000+0000","last_seen":"2026-11-21T01:00:01.500000+0000"}}}}
{"timestamp":"2026-11-21T01:00:40.000000+0000","event_type":"flow","src_ip":"10.75.0.22","dest_ip":"10.75.0.10","proto":"TCP","flow":{"pkts_toserver":1021,"start":"2026-11-21T01:00:02.600000+0000","end":"2026-11-21T01:00:03.600000+0000","age":1,"state":"closed","alerted":true},"alert":{"context":{"scan":{"type":"connect","probes":1021,"open_ports":[80],"first_seen":"2026-11-21T01:00:02.600000+0000","last_seen":"2026-11-21T01:00:03.600000+0000"}}}}
{"timestamp":"2026-11-21T01:00:40.000000+0000","event_type":"stats","stats":{"uptime":40,"capture":{"kernel_packets":18709,"kernel_drops":0},"decoder":{"pkts":18709,"bytes":1197376,"invalid":0},"detect":{"alert":4},"flow":{"active":3,"memuse":262144}}}
`

func TestEvaluate(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 1, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tech := func(label string) technique {
		for _, tc := range techniques {
			if tc.label == label {
				return tc
			}
		}
		t.Fatalf("no technique %s", label)
		return technique{}
	}
	src := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	open := []uint16{22, 80, 443, 8080}
	runs := []scanRun{
		{tech: tech("-sS"), src: src("10.75.0.21"), start: at(400), end: at(1600), open: open},  // ok
		{tech: tech("-sT"), src: src("10.75.0.22"), start: at(2500), end: at(3700), open: open}, // open ports differ
		{tech: tech("-sA"), src: src("10.75.0.26"), start: at(4500), end: at(5600)},             // ok
		{tech: tech("-sW"), src: src("10.75.0.27"), start: at(6500), end: at(7600)},             // wrong type
		{tech: tech("-sM"), src: src("10.75.0.28"), start: at(8500), end: at(9600)},             // no alert in its window
	}
	out, err := parseSensorOutput(strings.NewReader(cannedSensor))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.alerts) != 5 || len(out.scans) != 2 || out.stats == nil || out.stats.Capture.KernelPackets != 18709 {
		t.Fatalf("parsed %d alerts, %d scans, stats %v", len(out.alerts), len(out.scans), out.stats)
	}
	rows := evaluate(runs, out)

	type want struct {
		detected   bool
		got        string
		probes     int
		ms         int64
		sensorOpen string
		ok         bool
		problem    string
	}
	wants := []want{
		{true, "syn", 15, 13, "22,80,443,8080", true, ""},
		{true, "connect", 15, 12, "80", false, "open ports: scanner 22,80,443,8080, sensor 80"},
		{true, "ack", 10, 9, "none", true, ""},
		{true, "custom", 8, 50, "none", false, "type custom, want ack"},
		{false, "", 0, 0, "none", false, "no alert"},
	}
	for i, w := range wants {
		r := rows[i]
		if r.detected != w.detected || r.got != w.got || r.probes != w.probes || r.msToAlert != w.ms ||
			formatPorts(r.sensorOpen) != w.sensorOpen || r.ok() != w.ok {
			t.Errorf("row %s: detected %v got %q probes %d ms %d open %s ok %v; want %+v",
				r.label, r.detected, r.got, r.probes, r.msToAlert, formatPorts(r.sensorOpen), r.ok(), w)
		}
		if w.problem != "" && (len(r.problems) == 0 || r.problems[0] != w.problem) {
			t.Errorf("row %s: problems %q, want %q first", r.label, r.problems, w.problem)
		}
	}

	var b bytes.Buffer
	counters := &sensor.Counters{Capture: capture.Stats{KernelSeen: 18725, KernelPassed: 18709, KernelDropped: 16, Received: 18709}}
	if failed := writeReport(&b, rows, counters); failed != 3 {
		t.Errorf("failed rows %d, want 3", failed)
	}
	report := b.String()
	for _, s := range []string{
		"TECHNIQUE", "MS TO ALERT", "OPEN (SCANNER)", "OPEN (SENSOR)",
		"syn/syn ok", "custom/ack FAIL", "-/maimon FAIL",
		"-sM: no alert", "-sW: type custom, want ack",
		"sensor: kernel seen 18725, passed 18709, filtered out 16; ring lost 0; received 18709",
	} {
		if !strings.Contains(report, s) {
			t.Errorf("report lacks %q:\n%s", s, report)
		}
	}
	// Open ports are compared, and shown, only where the sensor can know them.
	for _, line := range strings.Split(report, "\n") {
		if strings.HasPrefix(line, "-sA ") && strings.Count(line, " - ") < 1 {
			t.Errorf("-sA row shows open ports: %q", line)
		}
	}
}

// An alert whose source is not the scan's own (the source route failed) is
// still attributed by its time window, and the row says why it fails; an
// alert from the right source in another scan's window is never taken.
func TestAttributionByWindow(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 1, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	lines := `{"timestamp":"2026-11-21T01:00:00.510000+0000","event_type":"alert","src_ip":"10.75.0.2","alert":{"context":{"scan":{"type":"fin","probes":8,"first_seen":"2026-11-21T01:00:00.500000+0000"}}}}
{"timestamp":"2026-11-21T01:00:20.510000+0000","event_type":"alert","src_ip":"10.75.0.24","alert":{"context":{"scan":{"type":"null","probes":8,"first_seen":"2026-11-21T01:00:20.500000+0000"}}}}
`
	out, err := parseSensorOutput(strings.NewReader(lines))
	if err != nil {
		t.Fatal(err)
	}
	runs := []scanRun{
		{tech: techniques[2], src: netip.MustParseAddr("10.75.0.23"), start: at(400), end: at(1500)},  // -sF
		{tech: techniques[3], src: netip.MustParseAddr("10.75.0.24"), start: at(2000), end: at(3000)}, // -sN
	}
	rows := evaluate(runs, out)
	if !rows[0].detected || rows[0].got != "fin" || rows[0].ok() || !strings.Contains(strings.Join(rows[0].problems, ";"), "alert from 10.75.0.2") {
		t.Errorf("-sF row: %+v", rows[0])
	}
	if rows[1].detected {
		t.Errorf("-sN row took an alert outside its window: %+v", rows[1])
	}
}

func TestStaleOwner(t *testing.T) {
	for name, want := range map[string]int{
		"swself-1234-a": 1234, "swself-99-b": 99,
		"swself-1234-c": 0, "swself--a": 0, "swselfx-12-a": 0, "swlead-a": 0, "swself-12x-a": 0,
	} {
		pid, ok := staleOwner(name)
		if (want != 0) != ok || pid != want && ok {
			t.Errorf("staleOwner(%q) = %d, %v; want %d", name, pid, ok, want)
		}
	}
}

// Run rejects bad options before it looks at the machine (no root needed).
func TestRunOptions(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Exe: "/bin/true", Capture: "xdp"}, `capture must be ebpf or cbpf, not "xdp"`},
		{Options{}, "Options.Exe is empty"},
	} {
		err := Run(context.Background(), tc.opts, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Run(%+v) = %v, want an error with %q", tc.opts, err, tc.want)
		}
	}
}
