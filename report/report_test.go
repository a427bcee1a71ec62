package report

import (
	"bytes"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/eve"
)

// alertLine is an alert record as scanwatch writes it, with the scan's
// evidence, scanner and first/last probe given.
func alertLine(eventType string, flowID int, scanner, evidence, first, last string) string {
	flow := ""
	if eventType == "flow" {
		flow = `"flow":{"pkts_toserver":100,"start":"` + first + `","end":"` + last + `","age":0,"state":"closed","alerted":true},`
	}
	return fmt.Sprintf(`{"timestamp":%q,"flow_id":%d,"event_type":%q,"src_ip":%q,"dest_ip":"10.0.0.9","proto":"TCP",%s`+
		`"alert":{"action":"allowed","gid":1,"signature_id":1990001,"rev":1,"signature":"scanwatch: TCP SYN port scan","category":"Detection of a Network Scan","severity":2,`+
		`"context":{"scan":{"type":"syn","shape":"vertical","scanner":%q,"targets":["10.0.0.9"],"target_count":1,"summary":"syn scan of 10.0.0.9","port_count":100,"ports":"1-100","probes":100,"open_ports":[22],`+
		`"first_seen":%q,"last_seen":%q,"duration_s":1,"tool":"nmap","evidence":%q}}},"host":"s1"}`,
		last, flowID, eventType, scanner, flow, scanner, first, last, evidence)
}

const (
	t0 = "2026-11-21T01:00:00.000000+0000"
	t1 = "2026-11-21T01:00:05.000000+0000"
	t2 = "2026-11-21T01:00:09.000000+0000"
)

// TestRead: scans are linked by flow_id (the flow record's totals win, in
// either order); records that are no scan are counted by kind; broken
// lines are named by file and line and skipped, never fatal.
func TestRead(t *testing.T) {
	input := strings.Join([]string{
		alertLine("alert", 7, "10.0.0.1", "at alert", t0, t1),
		``,
		`{"timestamp":"2026-11-21T01:00:06.000000+0000","event_type":"stats","stats":{"uptime":6}}`,
		`{"timestamp":"2026-11-21T01:00:06.000000+0000","event_type":"dns","dns":{}}`,
		`{"timestamp":"2026-11-21T01:00:06.000000+0000","event_type":"alert","alert":{"signature":"ET SCAN something"}}`,
		`{"event_type":"alert",`, // cut short
		`not json at all`,
		`{"timestamp":"x","flow_id":1}`, // JSON, no event type
		alertLine("flow", 7, "10.0.0.1", "totals", t0, t2),
		alertLine("alert", 7, "10.0.0.1", "late duplicate alert", t0, t1), // never replaces the totals
		alertLine("flow", 8, "10.0.0.2", "flow first", t0, t1),
		alertLine("alert", 9, "10.0.0.3", "never ended", t1, t2),
		alertLine("alert", 10, "10.0.0.4", "bad time", "yesterday", t2),
	}, "\n")
	rep := New()
	if err := rep.Read("eve.json", strings.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	if rep.Records != 12 {
		t.Errorf("records %d, want 12 (the blank line is none)", rep.Records)
	}
	wantSkipped := map[string]int{"stats": 1, "dns": 1, "alert (not a scan)": 1}
	if fmt.Sprint(rep.Skipped) != fmt.Sprint(wantSkipped) {
		t.Errorf("skipped %v, want %v", rep.Skipped, wantSkipped)
	}
	var problems []string
	for _, p := range rep.Problems {
		problems = append(problems, p.String())
	}
	wantProblems := []string{"eve.json:6: not an EVE record: unexpected end of JSON input", "eve.json:7: not an EVE record: invalid character",
		"eve.json:8: not an EVE record: no event_type", "eve.json:13: scan without scanner, first_seen or last_seen"}
	if len(problems) != len(wantProblems) || rep.Broken != len(wantProblems) {
		t.Fatalf("problems (%d broken) %q, want %q", rep.Broken, problems, wantProblems)
	}
	for i, w := range wantProblems {
		if !strings.HasPrefix(problems[i], w) {
			t.Errorf("problem %d: %q, want it to start %q", i, problems[i], w)
		}
	}
	scans := rep.Scans()
	var got []string
	for _, s := range scans {
		got = append(got, fmt.Sprintf("%d %s %s ended=%v %s", s.FlowID, s.Scanner, s.Evidence, s.Ended, s.Duration()))
	}
	want := []string{"7 10.0.0.1 totals ended=true 9s", "8 10.0.0.2 flow first ended=true 5s", "9 10.0.0.3 never ended ended=false 4s"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("scans:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReadLimits: a huge line and many broken lines are counted, the
// first few named, and nothing panics.
func TestReadLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString(strings.Repeat("x", maxLine+10) + "\n")
	for range 50 {
		b.WriteString("{\n")
	}
	b.WriteString(alertLine("flow", 1, "10.0.0.1", "ok", t0, t1)) // no final newline
	rep := New()
	if err := rep.Read("big.json", strings.NewReader(b.String())); err != nil {
		t.Fatal(err)
	}
	if rep.Broken != 51 || len(rep.Problems) != maxProblems || len(rep.Scans()) != 1 {
		t.Fatalf("broken %d, problems %d, scans %d", rep.Broken, len(rep.Problems), len(rep.Scans()))
	}
	if p := rep.Problems[0].String(); !strings.HasPrefix(p, "big.json:1: line longer than") {
		t.Errorf("first problem %q", p)
	}
	if p := rep.Problems[1].String(); !strings.HasPrefix(p, "big.json:2: ") {
		t.Errorf("second problem %q", p)
	}
	var out bytes.Buffer
	if err := rep.WriteHTML(&out, ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "and 31 more") {
		t.Error("the page does not say how many broken lines it did not list")
	}
}

// FuzzRead: no input makes Read or WriteHTML panic or fail.
func FuzzRead(f *testing.F) {
	f.Add([]byte(alertLine("alert", 1, "10.0.0.1", "e", t0, t1)))
	f.Add([]byte(alertLine("flow", 1, "::1", "e", t1, t0) + "\n{}\n[]\nnull\n"))
	f.Add([]byte(`{"event_type":"flow","alert":{"context":{"scan":{"scanner":"x","first_seen":"` + t0 + `","last_seen":"` + t0 + `","ports":"9-1,70000,a-b,...(+x ranges)"}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		start := time.Now()
		defer func() {
			if d := time.Since(start); d > 3*time.Second { // a forged record once made the axis loop for ever
				t.Fatalf("took %v", d)
			}
		}()
		rep := New()
		if err := rep.Read("f", bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		if err := rep.WriteHTML(&bytes.Buffer{}, ""); err != nil {
			t.Fatal(err)
		}
	})
}

// TestHostileStrings: what a scanner controls (it chooses its payloads,
// hence the evidence; a forged EVE file controls everything) is text on
// the page, never markup or script, wherever it is shown: tables, SVG
// tooltips, the script's data.
func TestHostileStrings(t *testing.T) {
	const evil = `</script><script>alert(1)</script><img src=x onerror=alert(2)>"'&`
	evilScanner := `"><svg onload=alert(3)>`
	rec := alertLine("flow", 1, evilScanner, evil, t0, t1)
	rec = strings.Replace(rec, `"tool":"nmap"`, `"tool":"<b>nmap</b>","tool_evidence":"<iframe src=javascript:alert(4)>"`, 1)
	rec = strings.Replace(rec, `"type":"syn"`, `"type":"syn\" onmouseover=\"alert(5)"`, 1)
	rep := New()
	if err := rep.Read("evil.json", strings.NewReader(rec+"\n"+`{"event_type":"<script>alert(6)</script>"}`+"\n")); err != nil {
		t.Fatal(err)
	}
	if len(rep.Scans()) != 1 {
		t.Fatalf("%d scans", len(rep.Scans()))
	}
	var out bytes.Buffer
	if err := rep.WriteHTML(&out, `<script>alert("title")</script>`); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	for _, bad := range []string{"<script>alert", "<img", "<iframe", "<svg onload", "onerror=alert(2)>", `" onmouseover="`, "<b>nmap"} {
		if strings.Contains(page, bad) {
			i := strings.Index(page, bad)
			t.Errorf("the page holds %q unescaped: …%s…", bad, page[max(i-80, 0):min(i+80, len(page))])
		}
	}
	// The text is all there, escaped.
	for _, good := range []string{html.EscapeString(`<img src=x onerror=alert(2)>`), "&lt;b&gt;nmap&lt;/b&gt;", `\u003cimg src=x onerror=alert(2)\u003e`} {
		if !strings.Contains(page, good) {
			t.Errorf("the page lacks %q", good)
		}
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("%d script elements, want only the page's own", n)
	}
}

// TestManyScans: a day of a busy sensor (5,000 scans, 400 scanners) gives
// a page of bounded size, quickly, with every cap saying what it left out.
func TestManyScans(t *testing.T) {
	data := genEVE(t, 5000)
	start := time.Now()
	rep := New()
	if err := rep.Read("day.json", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := rep.WriteHTML(&out, ""); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("%d bytes of EVE (%d scans) -> %d bytes of HTML in %v", len(data), len(rep.Scans()), out.Len(), took)
	if len(rep.Scans()) != 5000 || rep.SkippedTotal() != 2 || rep.Broken != 0 {
		t.Fatalf("scans %d, skipped %d, broken %d", len(rep.Scans()), rep.SkippedTotal(), rep.Broken)
	}
	if out.Len() > 3<<20 {
		t.Errorf("page is %d bytes, want at most 3 MiB", out.Len())
	}
	if took > 5*time.Second {
		t.Errorf("took %v, want under 5 s", took)
	}
	page := out.String()
	if n := strings.Count(page, "<rect"); n > 15000 {
		t.Errorf("%d SVG rects: the pictures are not aggregated", n)
	}
	for _, re := range []string{`and \d+ more scanners`, `and \d+ more targets`, `\d+ other scanners`, `1–50 of|ROWS = \[\[`} {
		if !regexp.MustCompile(re).MatchString(page) {
			t.Errorf("page lacks %q", re)
		}
	}
	if dir := os.Getenv("SCANWATCH_REPORT_OUT"); dir != "" { // to look at it
		os.WriteFile(filepath.Join(dir, "many.html"), out.Bytes(), 0o644)
	}
}

func TestParsePorts(t *testing.T) {
	for _, tc := range []struct {
		in     string
		ranges string
		more   int
	}{
		{"1-87,443", "[[1 87] [443 443]]", 0},
		{"22", "[[22 22]]", 0},
		{"1-3,5,...(+12 ranges)", "[[1 3] [5 5]]", 12},
		{"", "[]", 0},
		{"9-1,70000,a,SEQ,T2", "[]", 0},
	} {
		r, more := parsePorts(tc.in)
		if got := fmt.Sprint(r); (got != tc.ranges && !(got == "[]" && len(r) == 0)) || more != tc.more {
			t.Errorf("parsePorts(%q) = %v, %d; want %s, %d", tc.in, r, more, tc.ranges, tc.more)
		}
	}
}

// TestAxis: a burst after a long idle gap gets its own segment (with a
// break saying how long the gap was) instead of a hairline; time maps in
// order, and tick labels never overlap.
func TestAxis(t *testing.T) {
	at := func(s string) time.Time {
		v, err := eve.ParseTime(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	spans := []interval{
		{at("2026-11-21T01:00:00.000000+0000"), at("2026-11-21T01:00:00.020000+0000")},
		{at("2026-11-21T01:00:01.000000+0000"), at("2026-11-21T01:00:02.000000+0000")},
		{at("2026-11-21T03:00:00.000000+0000"), at("2026-11-21T03:00:00.050000+0000")},
	}
	a := newAxis(spans, 100, 1000)
	if len(a.segs) != 2 {
		t.Fatalf("%d segments, want 2: %+v", len(a.segs), a.segs)
	}
	ticks, breaks := a.ticks()
	if len(breaks) != 1 || breaks[0].Label != "1h59m" {
		t.Errorf("breaks %+v, want one of 1h59m", breaks)
	}
	if a.segs[1].x1-a.segs[1].x0 < minSegment {
		t.Errorf("the second burst is %.0f px wide", a.segs[1].x1-a.segs[1].x0)
	}
	prev := 0.0
	for _, s := range spans {
		x0, x1 := a.x(s.from), a.x(s.to)
		if x0 < prev || x1 < x0 || x1 > 1100 {
			t.Errorf("span %v maps to %.1f-%.1f after %.1f", s, x0, x1, prev)
		}
		prev = x1
	}
	for i := 1; i < len(ticks); i++ {
		if ticks[i].X-ticks[i-1].X < float64(len(ticks[i].Label))*6 {
			t.Errorf("ticks %+v and %+v overlap", ticks[i-1], ticks[i])
		}
	}
	if len(ticks) < 4 {
		t.Errorf("only %d ticks: %+v", len(ticks), ticks)
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		20 * time.Millisecond: "20ms", 1500 * time.Millisecond: "1.5s", 42 * time.Second: "42s",
		4*time.Minute + 10*time.Second: "4m10s", 2 * time.Hour: "2h", 50 * time.Hour: "2d2h",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestForgedTimes: records whose times span the whole range a timestamp
// can hold (a forged file) still make a page, quickly.
func TestForgedTimes(t *testing.T) {
	in := alertLine("flow", 1, "10.0.0.1", "e", "0001-01-01T00:00:00.000000+0000", "0001-01-01T00:00:01.000000+0000") + "\n" +
		alertLine("flow", 2, "10.0.0.1", "e", "9999-12-31T00:00:00.000000+0000", "9999-12-31T23:59:59.000000+0000") + "\n" +
		alertLine("flow", 3, "10.0.0.2", "e", "5000-06-01T00:00:00.000000+0000", "5000-06-01T00:00:00.000000+0000") + "\n"
	start := time.Now()
	rep := New()
	if err := rep.Read("forged.json", strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := rep.WriteHTML(&out, ""); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second || len(rep.Scans()) != 3 {
		t.Errorf("%d scans in %v", len(rep.Scans()), d)
	}
}
