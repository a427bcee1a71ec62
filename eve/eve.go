// Package eve writes detector events as JSON lines that validate against the
// schema of Suricata's EVE output (etc/schema.json in Suricata's repository),
// so that pipelines built for Suricata take them as they are:
//
//   - an "alert" record when a scan is recognised, with the scan under
//     alert.context.scan (the schema's place for extra alert context) and
//     MITRE ATT&CK, scan type, shape and tool in alert.metadata, as
//     Emerging Threats rules carry theirs;
//   - a "flow" record when the scan ends, as Suricata writes one when a
//     flow ends: flow.start/end/age/pkts_toserver and flow.alerted, the same
//     flow_id as the alert, and the final totals under alert.context.scan;
//   - "stats" records with Suricata's counter names (Stats).
//
// A pipeline that keeps only event_type "alert" still has everything an
// analyst acts on; one that routes by event_type never takes the end of a
// scan for a second alert.
package eve

import (
	"io"
	"net/netip"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/scanwatch/scanwatch/detector"
)

// TimeFormat is Suricata's timestamp layout: microseconds and a +0000
// offset. It matches the schema's pattern for timestamp,
// ^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+[+\-]\d+$.
const TimeFormat = "2006-01-02T15:04:05.000000-0700"

// The event types scanwatch writes.
const (
	EventAlert = "alert" // a scan recognised
	EventFlow  = "flow"  // a scan ended: its totals
	EventStats = "stats" // the sensor's counters
)

// PktSrc is Suricata's pkt_src for a packet read from a capture, live or
// from a file (PktSrcToString in Suricata's decode.c).
const PktSrc = "wire/pcap"

// Options say where the records come from.
type Options struct {
	// Host is the sensor's name, written as "host" on every record
	// (Suricata's sensor-name). Empty: no host field.
	Host string
	// InIface is the interface captured on, written as "in_iface" on
	// alert and flow records (live only).
	InIface string
}

// Writer writes one JSON object per line. Not safe for concurrent use.
type Writer struct {
	log  zerolog.Logger
	opts Options
	file string // pcap_filename, replay only
}

// NewWriter writes records to w.
func NewWriter(w io.Writer, opts Options) *Writer {
	return &Writer{log: zerolog.New(w), opts: opts}
}

// SetCaptureFile names the capture file the following records come from,
// written as "pcap_filename" as Suricata does when it reads a file
// (Suricata's "capture_file" is another thing: the file its own packet
// logger wrote the alert's packet to). Empty: no pcap_filename.
func (w *Writer) SetCaptureFile(name string) { w.file = name }

// Event writes an alert record (ev.Kind "alert") or the flow record that
// ends a scan (ev.Kind "scan"). src_ip is always the scanner; dest_ip is
// the first target, and alert.context.scan says how many others there are.
func (w *Writer) Event(ev detector.Event) {
	s := ev.Scan
	end := ev.Kind != EventAlert
	eventType := EventAlert
	if end {
		eventType = EventFlow
	}
	e := w.log.Log().Str("timestamp", ev.Time.UTC().Format(TimeFormat))
	if s.ID != 0 {
		e = e.Uint64("flow_id", s.ID)
	}
	if w.opts.InIface != "" {
		e = e.Str("in_iface", w.opts.InIface)
	}
	e = e.Str("event_type", eventType).Str("src_ip", s.ScannerText())
	proto, transport := suricataProto(s.Proto)
	if transport && s.SrcPort != 0 {
		e = e.Uint16("src_port", s.SrcPort)
	}
	if len(s.Targets) > 0 {
		e = e.Str("dest_ip", s.Targets[0].String())
	}
	if port, ok := onePort(s); ok && transport {
		e = e.Uint16("dest_port", port)
	}
	if proto != "" {
		e = e.Str("proto", proto)
	}
	if s.Proto != "ARP" {
		e = e.Int("ip_v", ipVersion(anyAddr(s)))
	}
	if end {
		e = e.Dict("flow", flowDict(s))
	} else {
		e = e.Str("pkt_src", PktSrc)
	}
	e = e.Dict("alert", alertDict(s))
	w.trailer(e).Send()
}

// trailer adds the fields Suricata adds last: host and pcap_filename.
func (w *Writer) trailer(e *zerolog.Event) *zerolog.Event {
	if w.opts.Host != "" {
		e = e.Str("host", w.opts.Host)
	}
	if w.file != "" {
		e = e.Str("pcap_filename", w.file)
	}
	return e
}

// alertDict is the alert object: the signature of the scan's technique,
// its metadata, and the scan as it stands in context.scan.
func alertDict(s detector.Scan) *zerolog.Event {
	sig := signatureFor(s.Type)
	return zerolog.Dict().
		Str("action", "allowed").
		Int("gid", 1).
		Int("signature_id", sig.ID).
		Int("rev", sig.Rev).
		Str("signature", sig.Text).
		Str("category", Category).
		Int("severity", sig.Severity).
		Dict("metadata", metadataDict(sig, s)).
		Dict("context", zerolog.Dict().Dict("scan", scanDict(s)))
}

// metadataDict is alert.metadata: string lists, as rule metadata is.
func metadataDict(sig Signature, s detector.Scan) *zerolog.Event {
	list := func(v string) *zerolog.Array { return zerolog.Arr().Str(v) }
	return zerolog.Dict().
		Array("mitre_tactic_id", list(sig.Tactic.ID)).
		Array("mitre_tactic_name", list(sig.Tactic.Name)).
		Array("mitre_technique_id", list(sig.Technique.ID)).
		Array("mitre_technique_name", list(sig.Technique.Name)).
		Array("scan_type", list(s.Type)).
		Array("scan_shape", list(s.Shape)).
		Array("scan_tool", list(s.Tool)).
		Array("signature_severity", list(sig.SeverityName()))
}

// flowDict is Suricata's flow object for a scan that ended: its probes
// (the scanner's packets), start, end and age, and that it alerted.
func flowDict(s detector.Scan) *zerolog.Event {
	return zerolog.Dict().
		Int("pkts_toserver", s.Probes).
		Str("start", s.FirstSeen.UTC().Format(TimeFormat)).
		Str("end", s.LastSeen.UTC().Format(TimeFormat)).
		Int64("age", int64(s.LastSeen.Sub(s.FirstSeen)/time.Second)).
		Str("state", "closed").
		Bool("alerted", true)
}

// suricataProto spells the detector's proto as Suricata does, and says
// whether it has ports. A scan with no single IP protocol (an IP protocol
// scan, an ARP sweep) has no proto.
func suricataProto(p string) (proto string, ports bool) {
	switch p {
	case "TCP", "UDP", "SCTP":
		return p, true
	case "ICMP":
		return p, false
	case "IPV6-ICMP":
		return "IPv6-ICMP", false
	}
	return "", false
}

// onePort returns the destination port of a scan of one port.
func onePort(s detector.Scan) (uint16, bool) {
	if s.PortCount != 1 {
		return 0, false
	}
	p, err := strconv.ParseUint(s.Ports, 10, 16)
	return uint16(p), err == nil
}

// anyAddr is the scanner, or a target when the scanner is undetermined
// (decoys): the scan's IP version.
func anyAddr(s detector.Scan) netip.Addr {
	if !s.Scanner.IsValid() && len(s.Targets) > 0 {
		return s.Targets[0]
	}
	return s.Scanner
}

func ipVersion(a netip.Addr) int {
	if a.Is4() || a.Is4In6() {
		return 4
	}
	return 6
}
