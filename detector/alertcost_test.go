package detector

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/linktype"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/technique"
)

// replayCapture runs one committed capture through the decoder and a
// detector with the default rules and returns every event.
func replayCapture(t *testing.T, path string) []Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var events []Event
	det := New(rules.Default(), func(e Event) { events = append(events, e) })
	dec := decode.NewDecoder(rules.Default().State.MaxFragments)
	var p decode.Packet
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if ok, _ := dec.Decode(linktype.LinkType(r.LinkType()), data, ci.Timestamp, &p); ok {
			det.Process(&p)
		}
	}
	det.Flush()
	return events
}

// TestProbesToAlert replays every committed capture of a real tool
// (testdata and testdata/issue9) and reports, per scan
// type, how many probes each alert record counted when it fired: the cost
// of a decision, in packets the scanner got away with. Run it with -v for
// the table. Reply techniques (whose probes fail or succeed) must decide
// within maxMedianProbes at the median.
func TestProbesToAlert(t *testing.T) {
	files, _ := filepath.Glob("../testdata/*.pcap")
	more, _ := filepath.Glob("../testdata/issue9/*.pcap")
	for _, f := range more {
		if !strings.HasPrefix(filepath.Base(f), "crafted_") { // file-format cases, some no capture at all
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		t.Skip("no captures in ../testdata")
	}
	byType := map[string][]int{}
	where := map[string][]string{}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".pcap")
		for _, e := range replayCapture(t, path) {
			if e.Kind != "alert" {
				continue
			}
			byType[e.Scan.Type] = append(byType[e.Scan.Type], e.Scan.Probes)
			where[e.Scan.Type] = append(where[e.Scan.Type], fmt.Sprintf("%s=%d", name, e.Scan.Probes))
		}
	}
	types := make([]string, 0, len(byType))
	for typ := range byType {
		types = append(types, typ)
	}
	sort.Strings(types)
	var b strings.Builder
	fmt.Fprintf(&b, "%-8s %6s %6s  %s\n", "TYPE", "ALERTS", "MEDIAN", "PROBES AT ALERT, BY CAPTURE")
	for _, typ := range types {
		fmt.Fprintf(&b, "%-8s %6d %6d  %s\n", typ, len(byType[typ]), median(byType[typ]), strings.Join(where[typ], " "))
	}
	t.Log("probes to alert:\n" + b.String())
	for _, typ := range types {
		tech, err := technique.Parse(typ)
		if err != nil || !replyTechnique(tech) {
			continue
		}
		if m := median(byType[typ]); m > maxMedianProbes {
			t.Errorf("%s: median %d probes to alert, want at most %d", typ, m, maxMedianProbes)
		}
	}
}

// maxMedianProbes is the cost of a decision the sequential test promises:
// four or five failed first contacts.
const maxMedianProbes = 5

// median of ns (the lower middle for an even count); 0 for none.
func median[T cmp.Ordered](ns []T) T {
	if len(ns) == 0 {
		var zero T
		return zero
	}
	s := slices.Sorted(slices.Values(ns))
	return s[(len(s)-1)/2]
}
