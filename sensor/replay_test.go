package sensor

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/rules"
)

// readFrames reads a capture whole (copies of its frames).
func readFrames(t *testing.T, path string) []capture.Packet {
	t.Helper()
	src, err := capture.OpenFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var pks []capture.Packet
	for {
		p, err := src.ReadPacket()
		if errors.Is(err, io.EOF) {
			return pks
		}
		if err != nil {
			t.Fatal(err)
		}
		p.Data = slices.Clone(p.Data)
		pks = append(pks, p)
	}
}

// writeFrames writes frames as an Ethernet pcap.
func writeFrames(t *testing.T, name string, pks []capture.Packet) string {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	for _, p := range pks {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(p.Data), Length: p.Length}, p.Data)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReplayInTimeOrder: files given newest first read oldest first, each
// scan stamped with its own capture's time (it used to take the time of the
// file read before it, with duration 0).
func TestReplayInTimeOrder(t *testing.T) {
	newer, older := "../testdata/nmap_sS.pcap", "../testdata/hping3_syn.pcap"
	recs, _, _, err := replayFiles(t, newer, older)
	if err != nil {
		t.Fatal(err)
	}
	span := func(path string) (time.Time, time.Time) {
		pks := readFrames(t, path)
		return pks[0].Time, pks[len(pks)-1].Time
	}
	var tools []string
	for _, r := range recs {
		tools = append(tools, r.EventType+" "+r.Scan().Tool)
		from, to := span(older)
		if r.Scan().Tool == "nmap" {
			from, to = span(newer)
		}
		first, _ := time.Parse(time.RFC3339Nano, strings.Replace(r.Scan().FirstSeen, "+0000", "Z", 1))
		last, _ := time.Parse(time.RFC3339Nano, strings.Replace(r.Scan().LastSeen, "+0000", "Z", 1))
		if first.Before(from) || last.After(to) {
			t.Errorf("%s %s: %s to %s, outside its capture (%v to %v)", r.EventType, r.Scan().Tool, r.Scan().FirstSeen, r.Scan().LastSeen, from, to)
		}
	}
	if want := []string{"alert hping3", "flow hping3", "alert nmap", "flow nmap"}; !slices.Equal(tools, want) {
		t.Errorf("records %v, want %v", tools, want)
	}
}

// TestReplayClockOutlier: one frame dated ten years ahead changes nothing
// in what is reported (it is read at the time of the frame before it), and
// is said in a warning with the file and packet number.
func TestReplayClockOutlier(t *testing.T) {
	pks := readFrames(t, "../testdata/nmap_sS.pcap")
	for _, at := range []int{1000, 0} { // in the middle, and the very first frame
		wild := slices.Clone(pks)
		wild[at].Time = wild[at].Time.Add(10 * 365 * 24 * time.Hour)
		path := writeFrames(t, "wild.pcap", wild)
		_, want, _, err := replayFiles(t, writeFrames(t, "orig.pcap", pks))
		if err != nil {
			t.Fatal(err)
		}
		_, got, s, err := replayFiles(t, path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := withoutFile(got), withoutFile(want); !bytes.Equal(got, want) {
			t.Errorf("frame %d dated 10 years ahead changed the output:\n%s\nwant\n%s", at, got, want)
		}
		w := strings.Join(s.Warnings(), "\n")
		if o, _, _ := s.ClockJumps(); o != 1 || !strings.Contains(w, "wild.pcap: packet "+strconv.Itoa(at+1)+" is dated 2036-") {
			t.Errorf("frame %d: %d outliers, warnings %q", at, o, w)
		}
		var sum bytes.Buffer
		s.WriteSummary(&sum)
		if !strings.Contains(sum.String(), "1 clock jumps (1 outliers, 0 steps back, 0 pauses)") {
			t.Errorf("summary %q", sum.String())
		}
	}
}

// TestReplayGluedCaptures: two captures glued into one file, the second
// made earlier (mergecap -a, a clock set back): the step back starts a new
// timeline, so each capture's scans are reported as replaying it alone
// reports them, with their own times.
func TestReplayGluedCaptures(t *testing.T) {
	// b was made 142 s before a; it is moved 10 minutes further back, so
	// that the step back exceeds the longest window of the default rules.
	a := "../testdata/nmap_sS.pcap"
	bFrames := readFrames(t, "../testdata/hping3_syn.pcap")
	for i := range bFrames {
		bFrames[i].Time = bFrames[i].Time.Add(-10 * time.Minute)
	}
	b := writeFrames(t, "older.pcap", bFrames)
	glued := writeFrames(t, "glued.pcap", append(readFrames(t, a), bFrames...))
	_, got, s, err := replayFiles(t, glued)
	if err != nil {
		t.Fatal(err)
	}
	_, wantA, _, _ := replayFiles(t, a)
	_, wantB, _, _ := replayFiles(t, b)
	if got, want := withoutFile(got), withoutFile(append(wantA, wantB...)); !bytes.Equal(got, want) {
		t.Errorf("glued captures:\n%s\nwant\n%s", got, want)
	}
	w := strings.Join(s.Warnings(), "\n")
	bound := MaxJump(rules.Default()).String()
	if _, back, _ := s.ClockJumps(); back != 1 || !strings.Contains(w, "glued.pcap: packet 2056: the clock goes 12m") || !strings.Contains(w, "went back by more than "+bound+" 1 times") {
		t.Errorf("warnings %q", w)
	}
}

// TestReplayBadFiles: a missing, a damaged and an empty capture among good
// ones are each reported, after every good file was read; the error lists
// them all.
func TestReplayBadFiles(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("../testdata/nmap_sS.pcap")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	os.WriteFile(cut, b[:200], 0o644)
	empty := filepath.Join(dir, "empty.pcap")
	os.WriteFile(empty, b[:24], 0o644)
	missing := filepath.Join(dir, "missing.pcap")
	recs, _, _, err := replayFiles(t, missing, "../testdata/hping3_syn.pcap", cut, empty, "../testdata/masscan.pcap")
	var fe *FilesError
	if !errors.As(err, &fe) || len(fe.Errs) != 3 || fe.Files != 5 {
		t.Fatalf("Replay: %v, want a *FilesError of 3", err)
	}
	for _, want := range []string{"3 problems with the capture files (5 files given):", "missing.pcap: no such file", "cut.pcap: truncated packet record at byte offset 198 (packet 4)", "empty.pcap: holds no packets"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	var tools []string
	for _, r := range recs {
		if r.EventType == "alert" {
			tools = append(tools, r.Scan().Tool)
		}
	}
	if !slices.Equal(tools, []string{"masscan", "hping3"}) {
		t.Errorf("alerts of %v, want masscan's and hping3's", tools)
	}
}

// TestReplayInterrupted: a context that ends stops a replay blocked on a
// FIFO whose writer stalls, with the alerts before the stall written and
// the episodes closed.
func TestReplayInterrupted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skip(err)
	}
	b, err := os.ReadFile("../testdata/nmap_sS.pcap")
	if err != nil {
		t.Fatal(err)
	}
	stall := make(chan struct{})
	defer close(stall)
	go func() {
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		w.Write(b[:len(b)/2])
		<-stall
	}()
	var buf bytes.Buffer
	sink := &pairingSink{EVE: EVE{eve.NewWriter(&buf, eve.Options{})}, t: t}
	s := New(Options{Rules: rules.Default(), Sink: sink})
	ctx, cancel := context.WithCancel(context.Background())
	src, err := s.OpenFiles(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	done := make(chan error)
	go func() { done <- s.Replay(ctx, src) }()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Replay: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Replay still blocked 1 s after the cancel")
	}
	if recs := parseRecords(t, buf.Bytes()); len(recs) != 2 || recs[0].EventType != "alert" || recs[1].EventType != "flow" {
		t.Errorf("records %+v, want the alert and its closing flow record", recs)
	}
}

// pcapFilename is the record field that names the capture file.
var pcapFilename = regexp.MustCompile(`,"pcap_filename":"[^"]*"`)

// withoutFile drops the capture file's name from EVE lines, for comparing
// the records of one capture read from files of other names.
func withoutFile(b []byte) []byte { return pcapFilename.ReplaceAll(b, nil) }

// TestPortScansAfterPingSweep: nmap -sn, then a horizontal SYN sweep of
// ports 22 and 80, then masscan's 1000-port scan, from one source within
// the idle timeout: the discovery probes fold into the ping sweep, the port
// scans are scans of their own (they used to be folded in and never
// alerted).
func TestPortScansAfterPingSweep(t *testing.T) {
	recs, _, _, err := replayFiles(t, "../testdata/nmap_sn.pcap", "../testdata/nmap_horizontal.pcap", "../testdata/masscan.pcap")
	if err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, r := range recs {
		if r.EventType == "alert" {
			alerts = append(alerts, r.Scan().Type+" "+r.Scan().Shape+" "+r.Scan().Tool)
		}
	}
	want := []string{"ping horizontal nmap", "syn horizontal nmap", "syn vertical masscan"}
	if !slices.Equal(alerts, want) {
		t.Errorf("alerts %q, want %q", alerts, want)
	}
}
