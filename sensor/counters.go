package sensor

import (
	"fmt"
	"time"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/detector"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/technique"
)

// Counters are every counter of the pipeline at one moment, so that loss is
// never silent: a Sink gets them with each stats record. The ones with a
// name in Suricata's stats go into EVE stats records under that name
// (EVE); the rest are for metrics and the summary.
type Counters struct {
	// Uptime is the time since Live started (0 in a replay).
	Uptime time.Duration // stats.uptime
	// Capture are the source's counters. RingLost is stats.capture.kernel_drops
	// and KernelPassed stats.capture.kernel_packets; KernelSeen and
	// KernelDropped (filtered out on purpose) have no Suricata name, nor
	// have the link flaps a live capture waited out (LinkGaps, LinkGapTime,
	// LinkRebinds).
	Capture capture.Stats
	Live    bool // Capture holds a live capture's kernel counters

	Frames       uint64 // frames read: stats.decoder.pkts
	Bytes        uint64 // their captured bytes: stats.decoder.bytes
	Decoded      uint64 // frames that gave a packet to the detector
	DecodeErrors uint64 // frames that could not be decoded: stats.decoder.invalid

	// FileRead and FileSize are a replay's bytes of the capture files
	// consumed and their total size (-1: unknown, a stream), for a
	// progress line; zero in a live capture.
	FileRead, FileSize int64

	// Detector holds probes, flows (stats.flow.active), flow memory
	// (stats.flow.memuse), flow and tracker evictions, trackers and
	// alerts (stats.detect.alert).
	Detector detector.Stats
	// AlertsBy are the alerts by technique (scan.type): a bounded set, for
	// metrics. They add up to Detector.Alerts.
	AlertsBy [technique.Count]uint64
}

// EVE returns the counters that have a Suricata name, in the shape of an
// EVE stats record.
func (c Counters) EVE() eve.Stats {
	s := eve.Stats{
		Uptime:  uint64(c.Uptime / time.Second),
		Decoder: eve.DecoderStats{Pkts: c.Frames, Bytes: c.Bytes, Invalid: c.DecodeErrors},
		Detect:  eve.DetectStats{Alert: c.Detector.Alerts},
		Flow:    eve.FlowStats{Active: uint64(c.Detector.Flows), Memuse: c.Detector.FlowMemory},
	}
	if c.Live {
		s.Capture = &eve.CaptureStats{KernelPackets: c.Capture.KernelPassed, KernelDrops: c.Capture.RingLost}
	}
	return s
}

// counters reads every stage's counters.
func (s *Sensor) counters(src capture.Source, live bool) Counters {
	c := s.frameCounters(src)
	c.Live = live
	c.Detector, c.AlertsBy = s.detStats(), s.alertsBy
	if !s.started.IsZero() {
		c.Uptime = time.Since(s.started)
	}
	return c
}

// frameCounters are the counters of the reading side: the source's, the
// frames and the decoder's. A replay of capture files reads them on its
// reader's goroutine (readahead.go).
func (s *Sensor) frameCounters(src capture.Source) Counters {
	c := Counters{
		Capture:      src.Stats(),
		Frames:       s.n,
		Bytes:        s.bytes,
		Decoded:      s.dec.Stats().Decoded(),
		DecodeErrors: s.bad,
	}
	if p, ok := src.(progresser); ok {
		c.FileRead, c.FileSize = p.Progress()
	}
	return c
}

// progresser is a source that can say how far through its files it is
// (capture.OpenFiles); it is asked on the goroutine that reads packets only.
type progresser interface{ Progress() (read, total int64) }

// publish makes the counters of a replay so far readable by LastCounters,
// from any goroutine: Replay calls it every 65536 frames and at its end,
// so that a progress line costs the packet loop nothing per packet. (A
// replay of capture files publishes from its two goroutines' counters
// instead: see readahead.go.)
func (s *Sensor) publish(src capture.Source) {
	c := s.counters(src, false)
	s.last.Store(&c)
}

// LastCounters returns the counters of the last stats record Live wrote,
// or in a replay as of the last 65536 frames (zero before the first):
// safe to call from any goroutine, while Live or Replay runs or after.
func (s *Sensor) LastCounters() Counters {
	if c := s.last.Load(); c != nil {
		return *c
	}
	return Counters{}
}

// EVE is a Sink that writes EVE JSON lines: each event as it comes, and the
// counters that have a Suricata name as stats records. In a replay it
// names the capture file of each record (pcap_filename).
type EVE struct{ W *eve.Writer }

// Event writes an alert or the flow record of a scan that ended.
func (e EVE) Event(ev detector.Event) { e.W.Event(ev) }

// Stats writes a stats record.
func (e EVE) Stats(t time.Time, c Counters) { e.W.Stats(t, c.EVE()) }

// SetCaptureFile names the capture file of the records that follow.
func (e EVE) SetCaptureFile(name string) { e.W.SetCaptureFile(name) }

// captureFiler is a Sink that wants to know the capture file its events
// come from (EVE does).
type captureFiler interface{ SetCaptureFile(name string) }

// namedSource is a source that can say which file it is reading
// (capture.OpenFiles).
type namedSource interface{ File() string }

// String is the counters in one line for people: what `scanwatch live`
// prints when it ends, with the counters EVE has no name for.
func (c Counters) String() string {
	k, d := c.Capture, c.Detector
	link := ""
	if k.LinkGaps > 0 {
		link = fmt.Sprintf("; link down %d times, %.1fs in all, re-created %d times", k.LinkGaps, k.LinkGapTime.Seconds(), k.LinkRebinds)
	}
	return fmt.Sprintf("kernel seen %d, passed %d, filtered out %d; ring lost %d; received %d, decoded %d, undecodable %d; "+
		"probes %d, alerts %d; flows %d (evicted %d), trackers %d (evicted %d)%s",
		k.KernelSeen, k.KernelPassed, k.KernelDropped, k.RingLost, k.Received, c.Decoded, c.DecodeErrors,
		d.Probes, d.Alerts, d.Flows, d.FlowsEvicted, d.Trackers, d.TrackersEvicted, link)
}
