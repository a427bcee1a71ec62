package selftest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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
	skipped    string // why the check did not run; the row neither passes nor fails
	detected   bool
	got        string
	probes     int
	msToAlert  int64
	compare    bool
	scanOpen   []uint16
	sensorOpen []uint16
	extra      string // the check's own assertion (CHECK column)
	problems   []string
}

func (r *row) ok() bool { return len(r.problems) == 0 }

// writeReport prints the table, the problems under it, the alerts no
// check owns, and the sensor's counters (nil: it wrote no stats record). It returns the number
// of failed rows.
func writeReport(w io.Writer, rows []row, others []string, c *sensor.Counters) int {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tDETECTED\tTYPE (GOT/WANT)\tPROBES\tMS TO ALERT\tOPEN (SCANNER)\tOPEN (SENSOR)\tASSERTED\tRESULT")
	failed := 0
	for i := range rows {
		r := &rows[i]
		if r.skipped != "" {
			fmt.Fprintf(tw, "%s\t-\t-/%s\t-\t-\t-\t-\t-\t%s\n", r.label, r.want, r.skipped)
			continue
		}
		det, typ, probes, ms := "no", "-/"+r.want+" FAIL", "-", "-"
		if r.got != "" {
			typ = r.got + "/" + r.want + " FAIL"
		}
		if r.detected {
			det = "yes"
			typ = r.got + "/" + r.want + " ok"
			probes, ms = strconv.Itoa(r.probes), strconv.FormatInt(r.msToAlert, 10)
		}
		scanOpen, sensorOpen := "-", "-"
		if r.compare {
			scanOpen = formatPorts(r.scanOpen)
			if r.detected {
				sensorOpen = formatPorts(r.sensorOpen)
			}
		}
		extra := r.extra
		if extra == "" {
			extra = "-"
		}
		result := "ok"
		if !r.ok() {
			result = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.label, det, typ, probes, ms, scanOpen, sensorOpen, extra, result)
	}
	tw.Flush()
	for _, r := range rows {
		for _, p := range r.problems {
			fmt.Fprintf(w, "  %s: %s\n", r.label, p)
		}
	}
	for _, o := range others {
		fmt.Fprintf(w, "  not a check's: %s\n", o)
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
		if r.detected && r.skipped == "" {
			n++
		}
	}
	return n
}

func countSkipped(rows []row) int {
	n := 0
	for _, r := range rows {
		if r.skipped != "" {
			n++
		}
	}
	return n
}
