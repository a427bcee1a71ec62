// Package eve writes detector events as JSON lines in the shape of
// Suricata's EVE format: fields an EVE alert has keep their names, so SIEM
// pipelines built for Suricata take these records unchanged; scan details
// live under "scan".
package eve

import (
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/scanwatch/scanwatch/detector"
)

// TimeFormat is Suricata's timestamp layout: microseconds and a +0000 offset.
const TimeFormat = "2006-01-02T15:04:05.000000-0700"

// Writer writes one JSON object per line. Not safe for concurrent use.
type Writer struct {
	log zerolog.Logger
}

// NewWriter writes records to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{log: zerolog.New(w)}
}

// Event writes an "alert" or "scan" record. src_ip is always the scanner.
func (w *Writer) Event(ev detector.Event) {
	s := ev.Scan
	e := w.log.Log().
		Str("timestamp", ev.Time.UTC().Format(TimeFormat)).
		Str("event_type", ev.Kind).
		Str("src_ip", s.Scanner.String())
	if len(s.Targets) > 0 {
		e = e.Str("dest_ip", s.Targets[0].String())
	}
	e = e.Str("proto", s.Proto)
	if ev.Kind == "alert" {
		sig := signatureFor(s.Type)
		e = e.Dict("alert", zerolog.Dict().
			Str("action", "allowed").
			Int("gid", 1).
			Int("signature_id", sig.ID).
			Int("rev", 1).
			Str("signature", sig.Text).
			Str("category", "Detection of a Network Scan").
			Int("severity", sig.Severity))
	}
	e.Dict("scan", scanDict(s)).Send()
}

func scanDict(s detector.Scan) *zerolog.Event {
	targets := zerolog.Arr()
	for _, t := range s.Targets {
		targets = targets.Str(t.String())
	}
	d := zerolog.Dict().Str("type", s.Type)
	if s.Name != "" {
		d = d.Str("flags", s.Name)
	}
	d = d.Str("shape", s.Shape).
		Str("scanner", s.Scanner.String()).
		Array("targets", targets).
		Int("target_count", s.TargetCount)
	if s.Ports != "" {
		open := zerolog.Arr()
		for _, p := range s.OpenPorts {
			open = open.Uint16(p)
		}
		d = d.Int("port_count", s.PortCount).Str("ports", s.Ports).
			Int("probes", s.Probes).Array("open_ports", open)
	} else {
		d = d.Int("probes", s.Probes)
	}
	d = d.Str("first_seen", s.FirstSeen.UTC().Format(TimeFormat)).
		Str("last_seen", s.LastSeen.UTC().Format(TimeFormat)).
		Float64("duration_s", roundMillis(s.LastSeen.Sub(s.FirstSeen)))
	if s.Slow {
		d = d.Bool("slow", true)
	}
	if len(s.Decoys) > 0 {
		decoys := zerolog.Arr()
		for _, a := range s.Decoys {
			decoys = decoys.Str(a.String())
		}
		d = d.Array("decoys", decoys)
	}
	if s.Group != "" {
		d = d.Str("group", s.Group)
	}
	if len(s.Sensors) > 0 {
		d = d.Strs("sensors", s.Sensors)
	}
	d = d.Str("tool", s.Tool)
	if s.ToolEvidence != "" {
		d = d.Str("tool_evidence", s.ToolEvidence)
	}
	return d.Str("evidence", s.Evidence)
}

func roundMillis(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}

// Stats writes a Suricata-style {"event_type":"stats","stats":{...}} record.
// Fields are written in the order given, so output stays deterministic.
func (w *Writer) Stats(t time.Time, fields []Field) {
	d := zerolog.Dict()
	for _, f := range fields {
		d = d.Uint64(f.Name, f.Value)
	}
	w.log.Log().
		Str("timestamp", t.UTC().Format(TimeFormat)).
		Str("event_type", "stats").
		Dict("stats", d).Send()
}

// Field is one named counter of a stats record.
type Field struct {
	Name  string
	Value uint64
}
