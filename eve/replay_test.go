package eve_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/detector"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/sensor"
)

// TestReplayedRecordsValidate replays every committed capture, as
// `scanwatch replay testdata/*.pcap` does (one stream whose packet time goes
// back at each file), and writes a live sensor's stats record: every line
// validates against the schema's rules (ValidateRecord), every alert has
// its own flow_id and one flow record with it, and every kind is there.
func TestReplayedRecordsValidate(t *testing.T) {
	files, _ := filepath.Glob("../testdata/*.pcap")
	if len(files) < 10 {
		t.Fatalf("only %d captures", len(files))
	}
	var buf bytes.Buffer
	src, err := capture.OpenFiles(files...)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	s := sensor.New(sensor.Options{Rules: rules.Default(), Sink: sensor.EVE{W: eve.NewWriter(&buf, eve.Options{Host: "sensor-1"})}})
	if err := s.Replay(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	// A live sensor's last stats record, with every counter set.
	live := eve.NewWriter(&buf, eve.Options{Host: "sensor-1", InIface: "eth0"})
	sensor.EVE{W: live}.Stats(time.Now(), sensor.Counters{
		Uptime: 90 * time.Second, Live: true,
		Capture: capture.Stats{Received: 18709, KernelSeen: 18725, KernelPassed: 18711, KernelDropped: 14, RingLost: 2},
		Frames:  18709, Bytes: 1 << 24, Decoded: 18700, DecodeErrors: 9,
		Detector: detector.Stats{Probes: 9336, Flows: 12, FlowMemory: 1 << 20, Alerts: 4},
	})

	kinds := map[string]int{}
	open := map[uint64]int{} // alerts without their flow record, by flow_id
	alerted := map[uint64]bool{}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if err := eve.ValidateRecord(sc.Bytes()); err != nil {
			t.Errorf("%s\n%v", sc.Text(), err)
		}
		var r eve.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		kinds[r.EventType]++
		switch r.EventType {
		case eve.EventAlert:
			if alerted[r.FlowID] {
				t.Errorf("two alerts share flow_id %d: %s", r.FlowID, sc.Text())
			}
			alerted[r.FlowID] = true
			open[r.FlowID]++
		case eve.EventFlow:
			if open[r.FlowID] == 0 {
				t.Errorf("flow record without its alert: %s", sc.Text())
			}
			open[r.FlowID]--
		}
		if r.EventType != eve.EventStats && (r.FlowID == 0 || r.PcapFile == "" || r.Host != "sensor-1") {
			t.Errorf("flow_id, pcap_filename or host missing: %s", sc.Text())
		}
	}
	for id, n := range open {
		if n != 0 {
			t.Errorf("flow_id %d: %d alerts without a flow record", id, n)
		}
	}
	if kinds[eve.EventAlert] < 10 || kinds[eve.EventAlert] != kinds[eve.EventFlow] || kinds[eve.EventStats] != 1 {
		t.Errorf("records by kind %v: want alerts, as many flow records, one stats record", kinds)
	}
	t.Logf("%v from %d captures: all valid", kinds, len(files))
}
