// Package metrics exports a live sensor's counters as Prometheus metrics.
// A Collector reads them when /metrics is scraped, from what the sensor
// already keeps (sensor.Sensor.LastCounters, Reloads, the output's Stats):
// the packet path pays nothing for it.
//
// Names have the scanwatch_ prefix and base units, counters end in _total,
// and no label holds an address: the only labels are the technique of an
// alert (a fixed set) and the build. The pipeline's counters are those of
// the last stats record, so a scrape and the EVE stats record of the same
// moment agree; they move at each stats record (--stats-every).
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scanwatch/scanwatch/internal/buildinfo"
	"github.com/scanwatch/scanwatch/outfile"
	"github.com/scanwatch/scanwatch/sensor"
	"github.com/scanwatch/scanwatch/technique"
)

// Sources are where a Collector reads. Counters is required; a nil Reloads
// or Output leaves their metrics out.
type Sources struct {
	Counters func() sensor.Counters // sensor.Sensor.LastCounters
	Reloads  func() sensor.Reloads  // sensor.Sensor.Reloads
	Output   func() outfile.Stats   // outfile.File.Stats
	Build    buildinfo.Info
}

// metric is one exported value: its description and how to read it.
type metric[T any] struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(T) float64
}

func counter[T any](name, help string, v func(T) float64) metric[T] {
	return metric[T]{prometheus.NewDesc(name, help, nil, nil), prometheus.CounterValue, v}
}

func gauge[T any](name, help string, v func(T) float64) metric[T] {
	return metric[T]{prometheus.NewDesc(name, help, nil, nil), prometheus.GaugeValue, v}
}

func u(v uint64) float64 { return float64(v) }

// pipeline are the metrics of sensor.Counters; the names in parentheses
// are the same counters' names in EVE stats records.
var pipeline = []metric[sensor.Counters]{
	counter("scanwatch_kernel_seen_packets_total", "Packets the kernel filter looked at (live).",
		func(c sensor.Counters) float64 { return u(c.Capture.KernelSeen) }),
	counter("scanwatch_kernel_passed_packets_total", "Packets the kernel filter passed to the sensor (capture.kernel_packets).",
		func(c sensor.Counters) float64 { return u(c.Capture.KernelPassed) }),
	counter("scanwatch_kernel_filtered_packets_total", "Packets the kernel filter dropped on purpose: bulk traffic that cannot be a probe.",
		func(c sensor.Counters) float64 { return u(c.Capture.KernelDropped) }),
	counter("scanwatch_ring_dropped_packets_total", "Packets lost between the kernel and the sensor, the ring being full (capture.kernel_drops).",
		func(c sensor.Counters) float64 { return u(c.Capture.RingLost) }),
	counter("scanwatch_received_packets_total", "Frames the sensor read (decoder.pkts).",
		func(c sensor.Counters) float64 { return u(c.Frames) }),
	counter("scanwatch_received_bytes_total", "Captured bytes of the frames read (decoder.bytes).",
		func(c sensor.Counters) float64 { return u(c.Bytes) }),
	counter("scanwatch_decoded_packets_total", "Frames decoded into a packet for the detector.",
		func(c sensor.Counters) float64 { return u(c.Decoded) }),
	counter("scanwatch_undecodable_packets_total", "Frames that could not be decoded (decoder.invalid).",
		func(c sensor.Counters) float64 { return u(c.DecodeErrors) }),
	counter("scanwatch_probes_total", "First-contact probes seen.",
		func(c sensor.Counters) float64 { return u(c.Detector.Probes) }),
	gauge("scanwatch_flows", "Flows followed now (flow.active).",
		func(c sensor.Counters) float64 { return float64(c.Detector.Flows) }),
	gauge("scanwatch_flow_memory_bytes", "Bytes the flow table holds, about (flow.memuse).",
		func(c sensor.Counters) float64 { return u(c.Detector.FlowMemory) }),
	counter("scanwatch_flows_evicted_total", "Flows evicted from the full flow table.",
		func(c sensor.Counters) float64 { return u(c.Detector.FlowsEvicted) }),
	gauge("scanwatch_trackers", "Scanners followed now.",
		func(c sensor.Counters) float64 { return float64(c.Detector.Trackers) }),
	counter("scanwatch_trackers_evicted_total", "Scanners' trackers evicted from the full tracker table.",
		func(c sensor.Counters) float64 { return u(c.Detector.TrackersEvicted) }),
	counter("scanwatch_alerts_suppressed_total", "Alerts not written: over the alert rate limit.",
		alertsSuppressed),
	gauge("scanwatch_uptime_seconds", "Time since the sensor started, as of the counters (uptime).",
		func(c sensor.Counters) float64 { return c.Uptime.Seconds() }),
}

// alertsSuppressed counts the alerts past the rules' alert budget (summed
// up in flood records instead).
func alertsSuppressed(c sensor.Counters) float64 { return float64(c.Detector.AlertsSuppressed) }

var reloads = []metric[sensor.Reloads]{
	counter("scanwatch_rules_reloads_total", "Rule reloads asked for (SIGHUP).",
		func(r sensor.Reloads) float64 { return u(r.Total) }),
	counter("scanwatch_rules_reload_failures_total", "Rule reloads refused: the old rules stayed.",
		func(r sensor.Reloads) float64 { return u(r.Failed) }),
	gauge("scanwatch_rules_last_reload_successful", "1 when the last reload (or the start) succeeded, 0 when it was refused.",
		func(r sensor.Reloads) float64 {
			if r.LastOK {
				return 1
			}
			return 0
		}),
	gauge("scanwatch_rules_last_reload_success_timestamp_seconds", "When the rules in force were loaded (Unix time).",
		func(r sensor.Reloads) float64 { return float64(r.LastSuccess.UnixNano()) / 1e9 }),
}

var output = []metric[outfile.Stats]{
	counter("scanwatch_output_records_total", "Records the sensor produced for its output.",
		func(s outfile.Stats) float64 { return u(s.Records) }),
	counter("scanwatch_output_written_records_total", "Records written whole.",
		func(s outfile.Stats) float64 { return u(s.Written) }),
	counter("scanwatch_output_write_errors_total", "Failed writes (a full disk, an I/O error); the record is kept and retried.",
		func(s outfile.Stats) float64 { return u(s.WriteErrors) }),
	counter("scanwatch_output_dropped_records_total", "Records lost: writing failed and the buffer of kept records was full.",
		func(s outfile.Stats) float64 { return u(s.Dropped) }),
	gauge("scanwatch_output_pending_records", "Records kept while writing fails, not written yet.",
		func(s outfile.Stats) float64 { return float64(s.Pending) }),
	counter("scanwatch_output_reopens_total", "Reopens of the output file (SIGHUP, log rotation).",
		func(s outfile.Stats) float64 { return u(s.Reopens) }),
	counter("scanwatch_output_reopen_failures_total", "Reopens that failed: records kept going to the old file.",
		func(s outfile.Stats) float64 { return u(s.ReopenFails) }),
}

var (
	alertsDesc = prometheus.NewDesc("scanwatch_alerts_total", "Alerts raised, by technique (scan.type; they add up to detect.alert).",
		[]string{"technique"}, nil)
	buildDesc = prometheus.NewDesc("scanwatch_build_info", "The running scanwatch's build: always 1.",
		[]string{"version", "commit", "goversion"}, nil)
)

// Collector is a prometheus.Collector of a sensor's metrics.
type Collector struct{ src Sources }

// NewCollector returns the collector of src's metrics.
func NewCollector(src Sources) *Collector {
	if src.Counters == nil {
		panic("metrics: Sources.Counters is required")
	}
	return &Collector{src: src}
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	describe(ch, pipeline)
	if c.src.Reloads != nil {
		describe(ch, reloads)
	}
	if c.src.Output != nil {
		describe(ch, output)
	}
	ch <- alertsDesc
	ch <- buildDesc
}

// Collect reads the sources once and sends every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	counters := c.src.Counters()
	collect(ch, pipeline, counters)
	for t := range technique.Count {
		ch <- prometheus.MustNewConstMetric(alertsDesc, prometheus.CounterValue, u(counters.AlertsBy[t]), t.String())
	}
	if c.src.Reloads != nil {
		collect(ch, reloads, c.src.Reloads())
	}
	if c.src.Output != nil {
		collect(ch, output, c.src.Output())
	}
	b := c.src.Build
	ch <- prometheus.MustNewConstMetric(buildDesc, prometheus.GaugeValue, 1, b.Version, b.Commit, b.GoVersion)
}

func describe[T any](ch chan<- *prometheus.Desc, ms []metric[T]) {
	for _, m := range ms {
		ch <- m.desc
	}
}

func collect[T any](ch chan<- prometheus.Metric, ms []metric[T], v T) {
	for _, m := range ms {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(v))
	}
}
