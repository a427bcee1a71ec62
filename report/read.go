package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/scanwatch/scanwatch/eve"
)

// maxLine bounds one EVE line. A record of scanwatch's is a few KiB (64
// targets, 256 port ranges); anything longer is not one of ours.
const maxLine = 4 << 20

// maxProblems caps the broken lines a Report keeps (and the page lists);
// the rest are only counted.
const maxProblems = 20

// Scan is one scan episode as the records tell it: its flow record's final
// totals when it ended, else its alert (the scan was still going when the
// records stop).
type Scan struct {
	FlowID    uint64
	Host      string // the sensor that saw it
	Signature string
	Severity  int
	Ended     bool // a flow record closed it
	eve.RecordScan
	First, Last time.Time
}

// Duration is the time from the scan's first probe to its last.
func (s *Scan) Duration() time.Duration { return s.Last.Sub(s.First) }

// Problem is a line that could not be read: it is skipped.
type Problem struct {
	File string
	Line int
	Err  string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Err) }

// Report is what EVE files say about scans, ready to render (WriteHTML).
// Build it with Read (or ReadFiles); it holds every scan, and the page
// aggregates and caps what it shows.
type Report struct {
	Files   []string
	Records int            // lines read, blank ones aside
	Skipped map[string]int // records that are no scan, by kind ("stats", "dns", "alert (not a scan)")
	// Problems are the first maxProblems lines that could not be read;
	// Broken counts them all.
	Problems []Problem
	Broken   int

	scans map[scanKey]*Scan
}

// scanKey names an episode: its flow_id, on the sensor that saw it.
type scanKey struct {
	host string
	id   uint64
}

// New returns an empty Report.
func New() *Report {
	return &Report{Skipped: map[string]int{}, scans: map[scanKey]*Scan{}}
}

// ReadFiles reads EVE files into a new Report. Only an I/O error fails it;
// records it does not know and broken lines are counted and skipped.
func ReadFiles(paths ...string) (*Report, error) {
	r := New()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		err = r.Read(p, f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Read adds the records of one EVE stream (JSON lines) named name. A line
// that is not JSON, or not a record, is noted as a Problem with its line
// number; a record that is not a scan (stats, another tool's event) is
// counted in Skipped. It fails only when r fails.
func (rep *Report) Read(name string, r io.Reader) error {
	rep.Files = append(rep.Files, name)
	br := bufio.NewReaderSize(r, 64<<10)
	for line := 1; ; line++ {
		b, tooLong, err := readLine(br)
		if len(bytes.TrimSpace(b)) > 0 || tooLong {
			rep.Records++
			if tooLong {
				rep.problem(name, line, fmt.Sprintf("line longer than %d bytes", maxLine))
			} else if msg := rep.add(b); msg != "" {
				rep.problem(name, line, msg)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
}

// readLine reads one line without its newline, keeping at most maxLine
// bytes of it (tooLong says some were dropped).
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > maxLine {
			tooLong = true
		} else {
			buf = append(buf, chunk...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimSuffix(buf, []byte("\n")), tooLong, err
	}
}

func (rep *Report) problem(file string, line int, msg string) {
	rep.Broken++
	if len(rep.Problems) < maxProblems {
		rep.Problems = append(rep.Problems, Problem{File: file, Line: line, Err: msg})
	}
}

// add takes one record. It returns why the line is broken, or "".
func (rep *Report) add(b []byte) string {
	var rec eve.Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return "not an EVE record: " + jsonError(err)
	}
	sc := rec.Scan()
	switch {
	case rec.EventType == "":
		return "not an EVE record: no event_type"
	case sc == nil || (rec.EventType != eve.EventAlert && rec.EventType != eve.EventFlow):
		kind := rec.EventType
		if kind == eve.EventAlert {
			kind = "alert (not a scan)"
		}
		rep.Skipped[kind]++
		return ""
	}
	first, err1 := eve.ParseTime(sc.FirstSeen)
	last, err2 := eve.ParseTime(sc.LastSeen)
	if err1 != nil || err2 != nil || sc.Scanner == "" {
		return "scan without scanner, first_seen or last_seen"
	}
	if last.Before(first) {
		last = first
	}
	s := &Scan{FlowID: rec.FlowID, Host: rec.Host, Ended: rec.EventType == eve.EventFlow, RecordScan: *sc, First: first, Last: last}
	if rec.Alert != nil {
		s.Signature, s.Severity = rec.Alert.Signature, rec.Alert.Severity
	}
	if s.Type == "" {
		s.Type = "unknown"
	}
	if s.Tool == "" {
		s.Tool = "unknown"
	}
	k := scanKey{rec.Host, rec.FlowID}
	if rec.FlowID == 0 { // no link: every record is its own scan
		k.id = uint64(len(rep.scans)) | 1<<63
	}
	// The flow record holds the totals; an alert never replaces it.
	if old, ok := rep.scans[k]; !ok || !old.Ended || s.Ended {
		rep.scans[k] = s
	}
	return ""
}

// jsonError shortens encoding/json's messages for one line.
func jsonError(err error) string {
	msg := err.Error()
	if len(msg) > 120 {
		msg = msg[:120] + "…"
	}
	return strings.TrimPrefix(msg, "json: ")
}

// Scans returns every scan, ordered by first probe (then scanner and
// flow_id, so that the order is stable).
func (rep *Report) Scans() []*Scan {
	out := make([]*Scan, 0, len(rep.scans))
	for _, s := range rep.scans {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.First.Equal(b.First) {
			return a.First.Before(b.First)
		}
		if a.Scanner != b.Scanner {
			return a.Scanner < b.Scanner
		}
		return a.FlowID < b.FlowID
	})
	return out
}

// SkippedTotal is the number of records that are not scans.
func (rep *Report) SkippedTotal() int {
	n := 0
	for _, c := range rep.Skipped {
		n += c
	}
	return n
}

// WriteNotes says, for people, which lines were skipped (file:line: why)
// and what was read.
func (rep *Report) WriteNotes(w io.Writer) {
	for _, p := range rep.Problems {
		fmt.Fprintln(w, "skipped:", p)
	}
	if more := rep.Broken - len(rep.Problems); more > 0 {
		fmt.Fprintf(w, "skipped: and %d more broken lines\n", more)
	}
	fmt.Fprintf(w, "%d scans from %d records (%d skipped, %d broken)\n", len(rep.scans), rep.Records, rep.SkippedTotal(), rep.Broken)
}
