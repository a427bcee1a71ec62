//go:build linux

package scanner

import (
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestTopPortsLikeNmap compares the port lists of the default scan,
// --top-ports and -F with the lists real nmap announces in its XML
// scaninfo, scanning loopback inside a throwaway namespace (nmap -Pn -T5
// --max-retries 0 against 127.0.0.1 ends in well under a second).
func TestTopPortsLikeNmap(t *testing.T) {
	needRoot(t, "nmap")
	tn := setupNet(t)
	for _, tc := range []struct {
		args []string // nmap's port options
		n    int      // ports per protocol
	}{
		{nil, DefaultPorts},
		{[]string{"-F"}, FastPorts},
		{[]string{"--top-ports", "10"}, 10},
		{[]string{"--top-ports", "2000"}, 2000},
	} {
		args := append([]string{"nmap", "-n", "-Pn", "-T5", "--max-retries", "0", "-sS", "-sU", "-oX", "-"}, tc.args...)
		out, err := tn.Output(tn.A.NS, append(args, "127.0.0.1")...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		var x struct {
			Info []struct {
				Protocol string `xml:"protocol,attr"`
				Services string `xml:"services,attr"`
			} `xml:"scaninfo"`
		}
		if err := xml.Unmarshal([]byte(out[strings.Index(out, "<?xml"):]), &x); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if len(x.Info) != 2 {
			t.Fatalf("%v: %d scaninfo elements", args, len(x.Info))
		}
		for _, si := range x.Info {
			theirs, err := ParsePorts(si.Services)
			if err != nil {
				t.Fatal(err)
			}
			ours, _ := TopPorts(si.Protocol, tc.n)
			if !slices.Equal(ours, theirs) {
				t.Errorf("%v %s: %d ports, nmap %d; first differences: %s", tc.args, si.Protocol, len(ours), len(theirs), diffPorts(ours, theirs))
			}
		}
	}
}

func diffPorts(a, b []uint16) string {
	var d []string
	for _, p := range a {
		if !slices.Contains(b, p) {
			d = append(d, fmt.Sprintf("+%d", p))
		}
	}
	for _, p := range b {
		if !slices.Contains(a, p) {
			d = append(d, fmt.Sprintf("-%d", p))
		}
	}
	return strings.Join(d[:min(len(d), 10)], " ")
}
