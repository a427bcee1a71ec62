package fleet

import (
	"bytes"
	"net/netip"
	"slices"
	"strconv"

	"github.com/scanwatch/scanwatch/detector"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

// Wire numbers of the detector's techniques and outcomes, matched by name
// once: the wire keeps its own numbering, the detector may reorder its.
var (
	wireTech    [technique.Count]Technique
	detTech     [numTechniques]technique.Technique
	detTechOK   [numTechniques]bool
	wireOutcome = map[detector.Outcome]Outcome{}
	detOutcome  [numOutcomes]detector.Outcome
)

func init() {
	for t := range technique.Count {
		w, ok := TechniqueOf(t.String())
		if !ok {
			panic("fleet: no wire number for technique " + t.String())
		}
		wireTech[t], detTech[w], detTechOK[w] = w, t, true
	}
	for o := range numOutcomes {
		for d := range detector.Outcome(255) {
			if d.String() == o.String() {
				wireOutcome[d], detOutcome[o] = o, d
				break
			}
		}
	}
}

// FromDetector is the wire record of a detector's contact.
func FromDetector(c *detector.Contact) Contact {
	w := Contact{Time: c.Time, First: c.First, Scanner: c.Scanner, Target: c.Target, Port: c.Port,
		Technique: TechUnknown, Outcome: wireOutcome[c.Outcome], Probes: uint32(c.Probes)}
	if c.Technique.Valid() {
		w.Technique = wireTech[c.Technique]
	}
	if p := c.Print; p != (detector.Print{}) {
		w.HasPrint = true
		w.Print = Fingerprint{Flags: uint8(p.Flags), TTL: p.TTL, Options: OptionClass(p.Options), DF: p.DF, AckNoFlag: p.AckNoFlag, Frag: p.Frag,
			IDMatch: p.IDMatch, Window: p.Window, MSS: p.MSS, IPID: p.IPID, SrcPort: p.SrcPort, Seq: p.Seq}
	}
	return w
}

// toDetector is the detector's contact of a wire record; false when the
// record names a technique or an outcome this build does not know.
func (c *Contact) toDetector() (detector.Contact, bool) {
	if c.Technique >= numTechniques || !detTechOK[c.Technique] || c.Outcome >= numOutcomes {
		return detector.Contact{}, false
	}
	d := detector.Contact{Time: c.Time, First: c.First, Scanner: c.Scanner, Target: c.Target, Port: c.Port,
		Probes: uint16(min(c.Probes, 0xffff)), Technique: detTech[c.Technique], Outcome: detOutcome[c.Outcome]}
	if c.HasPrint {
		p := &c.Print
		d.Print = detector.Print{Flags: tcpflags.Flags(p.Flags), V6: c.Target.Is6() && !c.Target.Is4In6(), TTL: p.TTL, DF: p.DF,
			Options: detector.OptClass(p.Options), MSS: p.MSS, Window: p.Window, IPID: p.IPID, AckNoFlag: p.AckNoFlag,
			IDMatch: p.IDMatch, SrcPort: p.SrcPort, Seq: p.Seq, Frag: p.Frag}
	}
	return d, true
}

// Publishable reports whether a sensor sends a contact to the fleet:
// every first contact but the benign exchanges (established traffic).
func Publishable(c *detector.Contact) bool { return c.Outcome != detector.OutBenign }

// AddDetector queues a detector's contact unless it is a benign exchange:
// a sensor's contact hook.
func (p *Publisher) AddDetector(c detector.Contact) {
	if Publishable(&c) {
		p.Add(FromDetector(&c))
	}
}

// DetectorEngine runs the detector's episode logic (the same thresholds,
// sequential test, shapes, decoys and tools as a sensor) over a
// partition's merged contacts, and writes its events as EVE lines whose
// scan object names the sensors that saw the episode; host is the records'
// "host" (the correlator).
func DetectorEngine(r *rules.Rules, host string) EngineFactory {
	return func(partition int, emit func(Output)) Engine {
		e := &episodesEngine{emit: emit, sensors: map[sensorKey]*sensorSet{}, idle: int64(r.Timeouts.Idle)}
		e.w = eve.NewWriter(&e.buf, eve.Options{Host: host})
		e.eps = detector.NewEpisodes(r, e.event)
		return e
	}
}

type sensorKey struct {
	scanner netip.Addr
	tech    technique.Technique
}

type sensorSet struct {
	names []string
	last  int64
}

type episodesEngine struct {
	eps       *detector.Episodes
	emit      func(Output)
	sensors   map[sensorKey]*sensorSet // who saw each scanner's technique lately
	idle      int64
	now       int64
	nextPrune int64
	buf       bytes.Buffer
	w         *eve.Writer
	unknown   uint64
}

func (e *episodesEngine) Contact(c *Contact) {
	d, ok := c.toDetector()
	if !ok {
		e.unknown++
		return
	}
	k := sensorKey{d.Scanner, d.Technique}
	s := e.sensors[k]
	if s == nil {
		s = &sensorSet{}
		e.sensors[k] = s
	}
	if i, found := slices.BinarySearch(s.names, c.Sensor); !found {
		s.names = slices.Insert(s.names, i, c.Sensor)
	}
	s.last = max(s.last, d.Time)
	e.eps.Add(d)
	e.Advance(d.Time)
}

func (e *episodesEngine) Advance(t int64) {
	e.eps.Advance(t)
	e.now = max(e.now, t)
	if e.now >= e.nextPrune {
		// Forget the sensors of scanners quiet for longer than an episode
		// can stay open.
		for k, s := range e.sensors {
			if e.now-s.last > 2*e.idle {
				delete(e.sensors, k)
			}
		}
		e.nextPrune = e.now + e.idle/4 + 1
	}
}

// event renders one detector event as an output. Its ID is the episode's
// scanner, technique and first contact time with the event's kind: the
// same for every owner that rebuilds the episode from the stream.
func (e *episodesEngine) event(ev detector.Event) {
	if t, err := technique.Parse(ev.Scan.Type); err == nil {
		k := sensorKey{ev.Scan.Scanner, t}
		if s := e.sensors[k]; s != nil {
			ev.Scan.Sensors = slices.Clone(s.names)
		}
		if ev.Kind == "scan" { // the episode ended: the next one starts afresh
			delete(e.sensors, k)
		}
	}
	e.buf.Reset()
	e.w.Event(ev)
	id := ev.Kind + "/" + ev.Scan.Scanner.String() + "/" + ev.Scan.Type + "/" + strconv.FormatInt(ev.Scan.FirstSeen.UnixNano(), 10)
	e.emit(Output{ID: id, Record: bytes.Clone(e.buf.Bytes())})
}
