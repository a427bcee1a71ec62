// Package sensor owns scanwatch's pipeline: each frame of a capture source
// is decoded, fed to the detector, and what the detector reports goes to a
// sink (EVE JSON lines, or a callback). Replay runs a capture file to its
// end on packet time; Live runs a live capture until its context ends, and
// also keeps the detector's clock going through quiet periods, writes
// periodic stats, applies rule reloads between packets and drains the
// kernel's queue on shutdown. The command, the self-test, the tests and the
// fuzzer all run this one pipeline.
package sensor

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/detector"
	"github.com/scanwatch/scanwatch/linktype"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/technique"
)

// Sink receives what the pipeline reports, in order, on the goroutine that
// runs it. EVE is one.
type Sink interface {
	Event(detector.Event)          // an alert, or the record of a scan that ended
	Stats(t time.Time, c Counters) // the counters of every stage
}

// EventFunc is a Sink for callers that want the events only: it drops stats
// records (Live writes them; the counters they hold are not needed then).
type EventFunc func(detector.Event)

// Event calls f.
func (f EventFunc) Event(ev detector.Event) { f(ev) }

// Stats drops the record.
func (EventFunc) Stats(time.Time, Counters) {}

// DefaultStatsEvery is how often Live writes a stats record unless
// Options.StatsEvery says otherwise.
const DefaultStatsEvery = 60 * time.Second

// Options configure a Sensor.
type Options struct {
	Rules *rules.Rules // required
	Sink  Sink         // required
	// Contacts, if set, sees every first contact the detector resolves
	// (the fleet publisher), on the pipeline's goroutine.
	Contacts func(detector.Contact)

	// Replay only.

	// MaxJump is the largest step in packet time taken as time passing
	// (see replay.go); 0 means MaxJump(Rules).
	MaxJump time.Duration

	// Live only.

	// Ready, if set, is called once when Live starts reading: the capture
	// is open and its kernel filter attached, so traffic sent from now on
	// is seen. It runs on Live's goroutine; keep it short.
	Ready func()
	// StatsEvery is the interval of stats records (DefaultStatsEvery when
	// zero). A last record is always written when Live ends.
	StatsEvery time.Duration
}

// Sensor is one run of the pipeline over one source: call Replay or Live
// once. Its methods other than Reload are not safe for concurrent use; read
// Packets, Scans and Warnings after Replay or Live has returned.
type Sensor struct {
	opts  Options
	dec   *decode.Decoder
	det   *detector.Detector
	pkt   decode.Packet
	scans []detector.Scan // closed episodes, for a summary
	n     uint64          // frames read
	bytes uint64          // their captured bytes
	bad   uint64          // frames that could not be decoded
	first error           // the first decode error, as an example

	file    namedSource              // a replay's source, if it names its files
	started time.Time                // when Live started
	last    atomic.Pointer[Counters] // as of the last stats record

	// Replay (replay.go).
	maxJump    time.Duration
	latest     int64          // the latest packet time (UnixNano)
	timelines  int            // times packet time went back: the detector started again
	prior      detector.Stats // the counters of the detectors of earlier timelines
	perFile    []fileCount
	errs       []error                         // what went wrong with the capture files, in order
	jumps      [capture.JumpOutlier + 1]uint64 // clock jumps by kind
	jumpLines  []string                        // the first outliers and steps back
	pauses     map[string]*capture.ClockJump   // the longest pause of each file
	pauseCount map[string]int

	reloads chan reload   // to the Live loop
	stopped chan struct{} // closed when Live returns

	reloadLog *reloadLog              // what ReloadFrom did
	alertsBy  [technique.Count]uint64 // alerts by scan type
}

// New builds the pipeline. It panics without Rules or Sink: that is a
// programming error, not a runtime condition.
func New(opts Options) *Sensor {
	if opts.Rules == nil || opts.Sink == nil {
		panic("sensor: Options.Rules and Options.Sink are required")
	}
	if opts.StatsEvery <= 0 {
		opts.StatsEvery = DefaultStatsEvery
	}
	s := &Sensor{
		opts:       opts,
		dec:        decode.NewDecoder(decode.FragmentsFor(opts.Rules.MemoryFor(rules.FragmentTable), opts.Rules.State.MaxFragments)),
		reloads:    make(chan reload),
		stopped:    make(chan struct{}),
		maxJump:    opts.MaxJump,
		pauses:     map[string]*capture.ClockJump{},
		pauseCount: map[string]int{},
	}
	// The rules' memory budget is the Go runtime's soft limit too.
	rules.ApplyMemoryLimit(opts.Rules)
	s.reloadLog = newReloadLog(time.Now())
	if s.maxJump <= 0 {
		s.maxJump = MaxJump(opts.Rules)
	}
	s.det = s.newDetector()
	return s
}

// newDetector makes a detector that reports to the sink, with the rules
// the sensor started with.
func (s *Sensor) newDetector() *detector.Detector {
	cf, _ := s.opts.Sink.(captureFiler)
	d := detector.New(s.opts.Rules, func(ev detector.Event) {
		if cf != nil && s.file != nil {
			cf.SetCaptureFile(s.file.File())
		}
		s.opts.Sink.Event(ev)
		switch ev.Kind {
		case "scan":
			s.scans = append(s.scans, ev.Scan)
		case "alert":
			if t, err := technique.Parse(ev.Scan.Type); err == nil {
				s.alertsBy[t]++
			}
		}
	})
	if s.opts.Contacts != nil {
		d.OnContact(s.opts.Contacts)
	}
	return d
}

// handle decodes one frame and feeds it to the detector. It reports
// whether the frame decoded to something the detector reads (IP or ARP).
func (s *Sensor) handle(pk capture.Packet) bool {
	ok := s.decodeFrame(pk, &s.pkt)
	if ok {
		s.det.Process(&s.pkt)
	}
	return ok
}

// decodeFrame decodes one frame into p, counting it. It reports whether p
// holds something the detector reads (IP or ARP).
func (s *Sensor) decodeFrame(pk capture.Packet, p *decode.Packet) bool {
	return s.decodeData(pk.LinkType, pk.Data, pk.Time, p)
}

// decodeData is decodeFrame of a frame's parts.
func (s *Sensor) decodeData(link linktype.LinkType, data []byte, t time.Time, p *decode.Packet) bool {
	s.n++
	s.bytes += uint64(len(data))
	ok, err := s.dec.Decode(link, data, t, p)
	if err != nil {
		s.bad++
		if s.first == nil {
			s.first = err
		}
		return false
	}
	return ok
}

// Packets is the number of frames read.
func (s *Sensor) Packets() uint64 { return s.n }

// Scans are the episodes that ended, in the order their records were
// reported, for a summary.
func (s *Sensor) Scans() []detector.Scan { return s.scans }

// Warnings say, one line each, when frames could not be decoded, so that an
// unexpected encapsulation never silently hides every packet. Empty when
// all is well.
func (s *Sensor) Warnings() []string {
	var w []string
	if s.bad > 0 {
		w = append(w, fmt.Sprintf("%d of %d frames could not be decoded (first: %v)", s.bad, s.n, s.first))
	}
	if line := s.dec.Stats().Warning(0.1); line != "" {
		w = append(w, line)
	}
	return append(w, s.clockWarnings()...)
}

// detStats are the detector's counters, those of earlier timelines
// included (see replay.go).
func (s *Sensor) detStats() detector.Stats {
	d := s.det.Stats()
	d.Packets += s.prior.Packets
	d.Probes += s.prior.Probes
	d.FlowsEvicted += s.prior.FlowsEvicted
	d.TrackersEvicted += s.prior.TrackersEvicted
	d.Alerts += s.prior.Alerts
	return d
}

// writeStats hands the counters of every stage to the sink, so that loss is
// never silent.
func (s *Sensor) writeStats(t time.Time, src capture.Source) {
	c := s.counters(src, true)
	s.last.Store(&c)
	s.opts.Sink.Stats(t, c)
}
