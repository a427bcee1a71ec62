package eve

import (
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/scanwatch/scanwatch/detector"
)

// scanDict is alert.context.scan: the episode as it stood at the alert, or
// its totals when it ended.
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
		Str("scanner", s.ScannerText()).
		Array("targets", targets).
		Int("target_count", s.TargetCount).
		Str("summary", Summary(s))
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
	if s.Zombie.IsValid() {
		d = d.Str("zombie", s.Zombie.String())
	}
	if s.Relay.IsValid() {
		d = d.Str("relay", s.Relay.String())
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

// Summary says in one line what was scanned, for people: dest_ip names one
// target, so this says how many others there were, e.g.
// "syn scan of 10.77.0.10, 1024 ports, open 22,80,443" or
// "ping sweep of 10.77.0.20 and 30 other hosts".
func Summary(s detector.Scan) string {
	var b strings.Builder
	switch s.Type {
	case "ping":
		b.WriteString("ping sweep")
	case "arp":
		if s.Scanner.Is6() {
			b.WriteString("neighbour discovery sweep")
		} else {
			b.WriteString("ARP sweep")
		}
	case "osprobe":
		b.WriteString("OS fingerprinting")
	default:
		b.WriteString(s.Type + " scan")
	}
	if len(s.Targets) > 0 {
		b.WriteString(" of " + s.Targets[0].String())
	}
	switch others := s.TargetCount - 1; {
	case others == 1:
		b.WriteString(" and 1 other host")
	case others > 1:
		b.WriteString(" and " + strconv.Itoa(others) + " other hosts")
	}
	unit := "ports"
	switch s.Type {
	case "ipproto":
		unit = "protocols"
	case "osprobe":
		unit = "probe kinds"
	}
	switch {
	case s.Ports == "":
	case s.PortCount == 1 && unit == "ports":
		b.WriteString(", port " + s.Ports)
	case s.PortCount == 1:
		b.WriteString(", 1 " + strings.TrimSuffix(unit, "s"))
	default:
		b.WriteString(", " + strconv.Itoa(s.PortCount) + " " + unit)
	}
	if len(s.OpenPorts) > 0 {
		b.WriteString(", open ")
		for i, p := range s.OpenPorts {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(int(p)))
		}
	}
	return b.String()
}
