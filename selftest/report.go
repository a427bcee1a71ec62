package selftest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/sensor"
)

// sensorRecord is one EVE line of the sensor, with its times parsed.
type sensorRecord struct {
	eve.Record
	time, first time.Time // parsed Timestamp and Scan.FirstSeen
	used        bool
}

// sensorOutput is the sensor's records by kind.
type sensorOutput struct {
	alerts []*sensorRecord
	scans  []*sensorRecord
	stats  *eve.Stats // the last stats record
}

func parseSensorOutput(r io.Reader) (*sensorOutput, error) {
	out := &sensorOutput{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		rec := &sensorRecord{}
		if err := json.Unmarshal(line, &rec.Record); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		var err error
		if rec.time, err = eve.ParseTime(rec.Timestamp); err != nil {
			return nil, fmt.Errorf("line %d: timestamp: %w", n, err)
		}
		switch rec.EventType {
		case eve.EventAlert, eve.EventFlow:
			if rec.Scan() == nil {
				return nil, fmt.Errorf("line %d: %s record without alert.context.scan", n, rec.EventType)
			}
			if rec.first, err = eve.ParseTime(rec.Scan().FirstSeen); err != nil {
				return nil, fmt.Errorf("line %d: alert.context.scan.first_seen: %w", n, err)
			}
			if rec.EventType == eve.EventAlert {
				out.alerts = append(out.alerts, rec)
			} else {
				out.scans = append(out.scans, rec)
			}
		case eve.EventStats:
			out.stats = rec.Stats
		}
	}
	return out, sc.Err()
}

// row is one line of the report.
type row struct {
	label      string
	want       string
	detected   bool
	got        string
	probes     int
	msToAlert  int64
	compare    bool
	scanOpen   []uint16
	sensorOpen []uint16
	problems   []string
}

func (r *row) ok() bool { return len(r.problems) == 0 }

// evaluate attributes the sensor's alerts to the scans, by time
// window (alert timestamps are packet times, from the clock the scans were
// timed with) and source address, and judges each row.
func evaluate(runs []scanRun, out *sensorOutput) []row {
	inWindow := func(t time.Time, r *scanRun) bool {
		return !t.Before(r.start.Add(-windowBefore)) && !t.After(r.end.Add(windowAfter))
	}
	// pick returns the first unused record in r's window, preferring r's
	// source and the expected type.
	pick := func(recs []*sensorRecord, r *scanRun, at func(*sensorRecord) time.Time) *sensorRecord {
		var best *sensorRecord
		bestScore := -1
		for _, rec := range recs {
			if rec.used || !inWindow(at(rec), r) {
				continue
			}
			score := 0
			if rec.SrcIP == r.src.String() {
				score += 2
			}
			if rec.Scan().Type == r.tech.want {
				score++
			}
			if score > bestScore {
				best, bestScore = rec, score
			}
		}
		return best
	}
	// Alerts from a scan's own source are claimed first, so that a
	// window-only match never takes another row's alert.
	claimed := make([]*sensorRecord, len(runs))
	for pass := 0; pass < 2; pass++ {
		for i := range runs {
			r := &runs[i]
			if claimed[i] != nil {
				continue
			}
			rec := pick(out.alerts, r, func(x *sensorRecord) time.Time { return x.time })
			if rec == nil || (pass == 0 && rec.SrcIP != r.src.String()) {
				continue
			}
			rec.used = true
			claimed[i] = rec
		}
	}

	rows := make([]row, len(runs))
	for i := range runs {
		r := &runs[i]
		rw := row{label: r.tech.label, want: r.tech.want, compare: r.tech.compareOpen, scanOpen: r.open}
		if r.err != nil {
			rw.problems = append(rw.problems, "scan failed: "+r.err.Error())
		}
		a := claimed[i]
		if a == nil {
			rw.problems = append(rw.problems, "no alert")
		} else {
			rw.detected, rw.got = true, a.Scan().Type
			rw.probes = a.Scan().Probes
			rw.msToAlert = a.time.Sub(a.first).Milliseconds()
			if a.Scan().Type != r.tech.want {
				rw.problems = append(rw.problems, fmt.Sprintf("type %s, want %s", a.Scan().Type, r.tech.want))
			}
			if a.SrcIP != r.src.String() {
				rw.problems = append(rw.problems, fmt.Sprintf("alert from %s, scan from %s", a.SrcIP, r.src))
			}
			// Open ports: the episode's closing record has the final
			// list; the alert has the list as it stood at the alert.
			rw.sensorOpen = a.Scan().OpenPorts
			for _, s := range out.scans {
				if !s.used && s.SrcIP == a.SrcIP && s.first.Equal(a.first) {
					s.used = true
					rw.sensorOpen = s.Scan().OpenPorts
					break
				}
			}
		}
		if rw.compare && rw.detected && r.err == nil && !slices.Equal(sorted(rw.sensorOpen), sorted(rw.scanOpen)) {
			rw.problems = append(rw.problems, fmt.Sprintf("open ports: scanner %s, sensor %s", formatPorts(rw.scanOpen), formatPorts(rw.sensorOpen)))
		}
		rows[i] = rw
	}
	return rows
}

// writeReport prints the table, the problems under it and the
// sensor's counters (nil: it wrote no stats record). It returns the number
// of failed rows.
func writeReport(w io.Writer, rows []row, c *sensor.Counters) int {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TECHNIQUE\tDETECTED\tTYPE (GOT/WANT)\tPROBES\tMS TO ALERT\tOPEN (SCANNER)\tOPEN (SENSOR)\tRESULT")
	failed := 0
	for i := range rows {
		r := &rows[i]
		det, typ, probes, ms := "no", "-/"+r.want+" FAIL", "-", "-"
		if r.detected {
			det = "yes"
			verdict := "ok"
			if r.got != r.want {
				verdict = "FAIL"
			}
			typ = r.got + "/" + r.want + " " + verdict
			probes, ms = strconv.Itoa(r.probes), strconv.FormatInt(r.msToAlert, 10)
		}
		scanOpen, sensorOpen := "-", "-"
		if r.compare {
			scanOpen = formatPorts(r.scanOpen)
			if r.detected {
				sensorOpen = formatPorts(r.sensorOpen)
			}
		}
		result := "ok"
		if !r.ok() {
			result = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.label, det, typ, probes, ms, scanOpen, sensorOpen, result)
	}
	tw.Flush()
	for _, r := range rows {
		for _, p := range r.problems {
			fmt.Fprintf(w, "  %s: %s\n", r.label, p)
		}
	}
	if c != nil {
		fmt.Fprintln(w, "sensor:", c)
	} else {
		fmt.Fprintln(w, "sensor: no stats record")
	}
	return failed
}

func countDetected(rows []row) int {
	n := 0
	for _, r := range rows {
		if r.detected {
			n++
		}
	}
	return n
}
