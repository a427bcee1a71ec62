package eve

import (
	"time"

	"github.com/rs/zerolog"
)

// Stats is a stats record's "stats" object: the sensor's counters that
// have a name in Suricata's stats, under that name, so dashboards built
// for Suricata read them as they read Suricata's. The sensor's other
// counters are not here (the schema allows no other key).
type Stats struct {
	Uptime  uint64        `json:"uptime"`            // seconds since the sensor started
	Capture *CaptureStats `json:"capture,omitempty"` // live captures only
	Decoder DecoderStats  `json:"decoder"`
	Detect  DetectStats   `json:"detect"`
	Flow    FlowStats     `json:"flow"`
}

// CaptureStats are the kernel's counters of a live capture.
type CaptureStats struct {
	// KernelPackets are the packets the kernel's filter passed to the
	// socket, queued or lost.
	KernelPackets uint64 `json:"kernel_packets"`
	// KernelDrops are packets lost between the kernel and the sensor
	// (ring full), never the packets the filter dropped on purpose.
	KernelDrops uint64 `json:"kernel_drops"`
}

// DecoderStats count the frames the sensor read.
type DecoderStats struct {
	Pkts    uint64 `json:"pkts"`    // frames read
	Bytes   uint64 `json:"bytes"`   // their captured bytes
	Invalid uint64 `json:"invalid"` // frames that could not be decoded
}

// DetectStats count the detector's alerts.
type DetectStats struct {
	Alert uint64 `json:"alert"`
}

// FlowStats describe the detector's flow table.
type FlowStats struct {
	Active uint64 `json:"active"` // flows followed now
	Memuse uint64 `json:"memuse"` // bytes the flow table holds, about
}

// Stats writes a stats record: {"timestamp":..,"event_type":"stats","stats":{..}}.
func (w *Writer) Stats(t time.Time, s Stats) {
	st := zerolog.Dict().Uint64("uptime", s.Uptime)
	if c := s.Capture; c != nil {
		st = st.Dict("capture", zerolog.Dict().
			Uint64("kernel_packets", c.KernelPackets).
			Uint64("kernel_drops", c.KernelDrops))
	}
	st = st.Dict("decoder", zerolog.Dict().
		Uint64("pkts", s.Decoder.Pkts).
		Uint64("bytes", s.Decoder.Bytes).
		Uint64("invalid", s.Decoder.Invalid)).
		Dict("detect", zerolog.Dict().Uint64("alert", s.Detect.Alert)).
		Dict("flow", zerolog.Dict().
			Uint64("active", s.Flow.Active).
			Uint64("memuse", s.Flow.Memuse))
	e := w.log.Log().
		Str("timestamp", t.UTC().Format(TimeFormat)).
		Str("event_type", EventStats).
		Dict("stats", st)
	if w.opts.Host != "" {
		e = e.Str("host", w.opts.Host)
	}
	e.Send()
}
