package selftest

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// scanRun is one scan process as it ran.
type scanRun struct {
	src        netip.Addr
	start, end time.Time // wall clock, around the scan process
	probes     int       // probes sent, retransmissions included
	hosts      []hostResult
	err        error
}

// hostResult is what a scan found on one target.
type hostResult struct {
	addr     netip.Addr
	up       bool
	open     []uint16 // open ports (-sO: protocol numbers)
	services []string // nmap -sV: the services it named ("ssh OpenSSH")
}

// checkRun is a check as it ran: its addresses and its scans.
type checkRun struct {
	check   *check
	plan    plan
	scans   []scanRun
	skipped string // why it did not run
	// reassembled is how many datagrams the target reassembled from
	// fragments while the check ran (-1: not measured).
	reassembled int64
}

// scanOpen is the union of the open ports the check's scans found.
func (cr *checkRun) scanOpen() []uint16 {
	var open []uint16
	for _, s := range cr.scans {
		for _, h := range s.hosts {
			for _, p := range h.open {
				if !slices.Contains(open, p) {
					open = append(open, p)
				}
			}
		}
	}
	slices.Sort(open)
	return open
}

// attribution is the sensor's records about one check.
type attribution struct {
	alerts  []*sensorRecord // of the wanted type, oldest first
	closing []*sensorRecord // each alert's closing record (nil: none)
	other   []*sensorRecord // alerts of another type from the check's sources
}

// expectedAlerts is how many alerts a check must raise: one per source,
// but one for a decoy set, whatever its size.
func (cr *checkRun) expectedAlerts() int {
	if cr.check.decoys != noDecoys {
		return 1
	}
	return len(cr.plan.sources)
}

// attribute finds a check's records: by source address, since every
// check scans from addresses of its own; a decoy set's alert by the
// members it names (its src_ip is "undetermined" when no member is
// singled out).
func attribute(cr *checkRun, out *sensorOutput) *attribution {
	mine := func(rec *sensorRecord) bool {
		if a, err := netip.ParseAddr(rec.SrcIP); err == nil && slices.Contains(cr.plan.sources, a) {
			return true
		}
		for _, d := range rec.Scan().Decoys {
			a, err := netip.ParseAddr(d)
			if err == nil && (slices.Contains(cr.plan.sources, a) || slices.Contains(cr.plan.decoys, a)) {
				return true
			}
		}
		return false
	}
	a := &attribution{}
	for _, rec := range out.alerts {
		switch {
		case !mine(rec):
		case rec.Scan().Type == cr.check.want:
			a.alerts = append(a.alerts, rec)
		default:
			a.other = append(a.other, rec)
		}
	}
	slices.SortStableFunc(a.alerts, func(x, y *sensorRecord) int { return x.time.Compare(y.time) })
	for _, al := range a.alerts {
		a.closing = append(a.closing, closingOf(al, out.scans))
	}
	return a
}

// closingOf is the closing record of alert al's episode, or nil: the
// same source and type, begun no later than the alert's first contact and
// not before the record that closed the source's previous episode. The
// first contact can move back after the alert (an open port's connect
// probe is resolved when the scanner closes it, after refused ports were
// counted), so the times need not be equal.
func closingOf(al *sensorRecord, scans []*sensorRecord) *sensorRecord {
	for _, s := range scans {
		if s.SrcIP == al.SrcIP && s.Scan().Type == al.Scan().Type && !s.first.After(al.first) && !s.time.Before(al.time) {
			return s
		}
	}
	return nil
}

// complete reports whether the sensor has raised every alert the check
// expects (or the check did not run).
func (cr *checkRun) complete(out *sensorOutput) bool {
	return cr.skipped != "" || len(attribute(cr, out).alerts) >= cr.expectedAlerts()
}

// evaluate judges every check against the sensor's records. others are
// the alerts no check owns, in words: they fail no row, but the report
// shows them (an alert about the test's own traffic would be a false
// positive).
func evaluate(runs []*checkRun, out *sensorOutput) (rows []row, others []string) {
	owned := map[*sensorRecord]bool{}
	for _, cr := range runs {
		rows = append(rows, judgeCheck(cr, out))
		if cr.skipped == "" {
			a := attribute(cr, out)
			for _, rec := range append(a.alerts, a.other...) {
				owned[rec] = true
			}
		}
	}
	for _, rec := range out.alerts {
		if owned[rec] {
			continue
		}
		s := rec.Scan()
		who := rec.SrcIP
		if who == targetAddr || who == netns6Target() {
			who += " (the target)"
		}
		others = append(others, fmt.Sprintf("%s alert from %s: %d targets, %s", s.Type, who, s.TargetCount, s.Evidence))
	}
	return rows, others
}

func judgeCheck(cr *checkRun, out *sensorOutput) row {
	c := cr.check
	rw := row{label: c.label, want: c.want, compare: c.open, skipped: cr.skipped}
	if cr.skipped != "" {
		return rw
	}
	scanFailed := false
	for _, s := range cr.scans {
		if s.err != nil {
			scanFailed = true
			rw.problems = append(rw.problems, fmt.Sprintf("scan from %s failed: %v", s.src, s.err))
		}
	}
	rw.scanOpen = cr.scanOpen()
	a := attribute(cr, out)
	switch {
	case len(a.alerts) == 0 && len(a.other) > 0:
		rw.got = a.other[0].Scan().Type
		rw.problems = append(rw.problems, fmt.Sprintf("type %s, want %s", rw.got, c.want))
	case len(a.alerts) == 0:
		rw.problems = append(rw.problems, "no alert")
	default:
		first := a.alerts[0]
		rw.detected, rw.got = true, first.Scan().Type
		rw.probes = first.Scan().Probes
		rw.msToAlert = first.time.Sub(first.first).Milliseconds()
		if n := cr.expectedAlerts(); len(a.alerts) != n {
			rw.problems = append(rw.problems, fmt.Sprintf("%d %s alerts, want %d (one per source)", len(a.alerts), c.want, n))
		}
		for _, o := range a.other {
			rw.problems = append(rw.problems, fmt.Sprintf("also alerted: %s from %s", o.Scan().Type, o.SrcIP))
		}
		// Open ports: the closing record has the episode's final list;
		// an alert has the list as it stood at the alert.
		for k, al := range a.alerts {
			ports := al.Scan().OpenPorts
			if cl := a.closing[k]; cl != nil {
				ports = cl.Scan().OpenPorts
			}
			for _, p := range ports {
				if !slices.Contains(rw.sensorOpen, p) {
					rw.sensorOpen = append(rw.sensorOpen, p)
				}
			}
		}
		slices.Sort(rw.sensorOpen)
		if c.open && !scanFailed && !slices.Equal(rw.sensorOpen, rw.scanOpen) {
			rw.problems = append(rw.problems, fmt.Sprintf("open ports: scanner %s, sensor %s", formatPorts(rw.scanOpen), formatPorts(rw.sensorOpen)))
		}
	}
	if c.verify != nil && rw.detected {
		text, problems := c.verify(cr, a)
		rw.extra = text
		rw.problems = append(rw.problems, problems...)
	}
	return rw
}
