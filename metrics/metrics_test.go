package metrics

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/detector"
	"github.com/scanwatch/scanwatch/internal/buildinfo"
	"github.com/scanwatch/scanwatch/outfile"
	"github.com/scanwatch/scanwatch/sensor"
	"github.com/scanwatch/scanwatch/technique"
)

func testSources() Sources {
	c := sensor.Counters{
		Uptime:  90 * time.Second,
		Capture: capture.Stats{Received: 40, KernelSeen: 1000, KernelPassed: 40, KernelDropped: 960, RingLost: 2},
		Live:    true,
		Frames:  40, Bytes: 2400, Decoded: 39, DecodeErrors: 1,
		Detector: detector.Stats{Probes: 30, Flows: 7, FlowMemory: 4096, FlowsEvicted: 3, Trackers: 2, TrackersEvicted: 1, Alerts: 3},
	}
	c.AlertsBy[technique.Syn] = 2
	c.AlertsBy[technique.UDP] = 1
	return Sources{
		Counters: func() sensor.Counters { return c },
		Reloads: func() sensor.Reloads {
			return sensor.Reloads{Total: 2, Failed: 1, LastOK: false, LastSuccess: time.Unix(1700000000, 500e6)}
		},
		Output: func() outfile.Stats {
			return outfile.Stats{Records: 10, Written: 8, WriteErrors: 4, Dropped: 1, Pending: 1, Reopens: 1}
		},
		Build: buildinfo.Info{Version: "v1.2.3", Commit: "abc123", GoVersion: "go1.26.8"},
	}
}

// TestCollect: each source's value reaches its metric.
func TestCollect(t *testing.T) {
	c := NewCollector(testSources())
	want := `
# HELP scanwatch_alerts_total Alerts raised, by technique (scan.type; they add up to detect.alert).
# TYPE scanwatch_alerts_total counter
scanwatch_alerts_total{technique="ack"} 0
scanwatch_alerts_total{technique="arp"} 0
scanwatch_alerts_total{technique="connect"} 0
scanwatch_alerts_total{technique="custom"} 0
scanwatch_alerts_total{technique="fin"} 0
scanwatch_alerts_total{technique="ftpbounce"} 0
scanwatch_alerts_total{technique="idle"} 0
scanwatch_alerts_total{technique="ipproto"} 0
scanwatch_alerts_total{technique="maimon"} 0
scanwatch_alerts_total{technique="null"} 0
scanwatch_alerts_total{technique="osprobe"} 0
scanwatch_alerts_total{technique="ping"} 0
scanwatch_alerts_total{technique="sctp"} 0
scanwatch_alerts_total{technique="script"} 0
scanwatch_alerts_total{technique="syn"} 2
scanwatch_alerts_total{technique="udp"} 1
scanwatch_alerts_total{technique="version"} 0
scanwatch_alerts_total{technique="xmas"} 0
# HELP scanwatch_build_info The running scanwatch's build: always 1.
# TYPE scanwatch_build_info gauge
scanwatch_build_info{commit="abc123",goversion="go1.26.8",version="v1.2.3"} 1
# HELP scanwatch_ring_dropped_packets_total Packets lost between the kernel and the sensor, the ring being full (capture.kernel_drops).
# TYPE scanwatch_ring_dropped_packets_total counter
scanwatch_ring_dropped_packets_total 2
# HELP scanwatch_kernel_filtered_packets_total Packets the kernel filter dropped on purpose: bulk traffic that cannot be a probe.
# TYPE scanwatch_kernel_filtered_packets_total counter
scanwatch_kernel_filtered_packets_total 960
# HELP scanwatch_received_bytes_total Captured bytes of the frames read (decoder.bytes).
# TYPE scanwatch_received_bytes_total counter
scanwatch_received_bytes_total 2400
# HELP scanwatch_flows Flows followed now (flow.active).
# TYPE scanwatch_flows gauge
scanwatch_flows 7
# HELP scanwatch_trackers_evicted_total Scanners' trackers evicted from the full tracker table.
# TYPE scanwatch_trackers_evicted_total counter
scanwatch_trackers_evicted_total 1
# HELP scanwatch_uptime_seconds Time since the sensor started, as of the counters (uptime).
# TYPE scanwatch_uptime_seconds gauge
scanwatch_uptime_seconds 90
# HELP scanwatch_rules_reload_failures_total Rule reloads refused: the old rules stayed.
# TYPE scanwatch_rules_reload_failures_total counter
scanwatch_rules_reload_failures_total 1
# HELP scanwatch_rules_last_reload_successful 1 when the last reload (or the start) succeeded, 0 when it was refused.
# TYPE scanwatch_rules_last_reload_successful gauge
scanwatch_rules_last_reload_successful 0
# HELP scanwatch_rules_last_reload_success_timestamp_seconds When the rules in force were loaded (Unix time).
# TYPE scanwatch_rules_last_reload_success_timestamp_seconds gauge
scanwatch_rules_last_reload_success_timestamp_seconds 1.7000000005e+09
# HELP scanwatch_output_write_errors_total Failed writes (a full disk, an I/O error); the record is kept and retried.
# TYPE scanwatch_output_write_errors_total counter
scanwatch_output_write_errors_total 4
# HELP scanwatch_output_pending_records Records kept while writing fails, not written yet.
# TYPE scanwatch_output_pending_records gauge
scanwatch_output_pending_records 1
`
	names := []string{"scanwatch_alerts_total", "scanwatch_build_info", "scanwatch_ring_dropped_packets_total",
		"scanwatch_kernel_filtered_packets_total", "scanwatch_received_bytes_total", "scanwatch_flows",
		"scanwatch_trackers_evicted_total", "scanwatch_uptime_seconds", "scanwatch_rules_reload_failures_total",
		"scanwatch_rules_last_reload_successful", "scanwatch_rules_last_reload_success_timestamp_seconds",
		"scanwatch_output_write_errors_total", "scanwatch_output_pending_records"}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

// TestNaming: every metric passes Prometheus's linter (base units, _total
// on counters, help), has the scanwatch_ prefix, and no label but the
// technique and the build's.
func TestNaming(t *testing.T) {
	c := NewCollector(testSources())
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	ch := make(chan *prometheus.Desc, 100)
	c.Describe(ch)
	close(ch)
	n := 0
	for d := range ch {
		n++
		s := d.String() // Desc{fqName: "...", help: "...", constLabels: {}, variableLabels: {...}}
		if !strings.Contains(s, `fqName: "scanwatch_`) {
			t.Errorf("%s: no scanwatch_ prefix", s)
		}
		if !strings.Contains(s, "variableLabels: {}") && !strings.Contains(s, "variableLabels: {technique}") &&
			!strings.Contains(s, "variableLabels: {version,commit,goversion}") {
			t.Errorf("%s: a label other than technique or the build's", s)
		}
	}
	if got := testutil.CollectAndCount(c); got != n-2+int(technique.Count)+1 {
		t.Errorf("%d metrics collected, want one per description (%d), one per technique and build_info", got, n)
	}
}

// TestOptionalSources: without Reloads and Output, their metrics are left
// out.
func TestOptionalSources(t *testing.T) {
	src := testSources()
	src.Reloads, src.Output = nil, nil
	c := NewCollector(src)
	if n := testutil.CollectAndCount(c, "scanwatch_output_records_total", "scanwatch_rules_reloads_total"); n != 0 {
		t.Errorf("%d output or reload metrics without their sources", n)
	}
	if n := testutil.CollectAndCount(c, "scanwatch_probes_total"); n != 1 {
		t.Errorf("scanwatch_probes_total: %d metrics, want 1", n)
	}
}

// TestServe: /metrics over HTTP has the sensor's metrics and the runtime's;
// a busy address fails at once.
func TestServe(t *testing.T) {
	s, err := Serve("127.0.0.1:0", testSources(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + s.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"scanwatch_received_packets_total 40", `scanwatch_alerts_total{technique="syn"} 2`, "go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if _, err := Serve(s.Addr().String(), testSources(), nil); err == nil {
		t.Error("Serve on a busy address: no error")
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := net.DialTimeout("tcp", s.Addr().String(), time.Second); err == nil {
		t.Error("still listening after Close")
	}
}
