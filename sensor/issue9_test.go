package sensor

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/scanwatch/scanwatch/eve"
)

// issue9Scan is an entry of testdata/expected_issue9.yaml, as far as these
// tests read it.
type issue9Scan struct {
	wantScan `yaml:",inline"`
	Ports    string `yaml:"ports"`
}

// issue9Cases are the issue-9 captures of detection truth (items 1-4 and
// 9-12): benign look-alikes that must stay silent, and the scans that were
// missed or mislabelled. marks are substrings each named scan record's
// evidence must hold (by scanner and type, in order).
var issue9Cases = []struct {
	name  string
	marks map[string][]string
}{
	// benign look-alikes
	{name: "traceroute_udp.pcap"},
	{name: "traceroute_udp_target.pcap"},
	{name: "traceroute_icmp.pcap"},
	{name: "traceroute_tcp.pcap"},
	{name: "mtr_udp.pcap"},
	{name: "ntp_pool.pcap"},
	{name: "resolver_dead_auth.pcap"},
	{name: "snmp_poller.pcap"},
	{name: "quic_client.pcap"},
	{name: "lan_chatter.pcap"},
	{name: "esp_oneside.pcap"},
	{name: "health_checker.pcap"},
	{name: "ftp_active.pcap"},
	// scans
	{name: "unicorn_null.pcap", marks: map[string][]string{"10.77.0.2 null": {"100 NULL", "RST"}}},
	{name: "unicorn_xmas.pcap", marks: map[string][]string{"10.77.0.2 xmas": {"100 FIN|PSH|URG", "RST"}}},
	{name: "unicorn_all.pcap", marks: map[string][]string{"10.77.0.2 custom": {"100 CWR|ECE|URG|ACK|PSH|RST|SYN|FIN, 100 unanswered"}}},
	{name: "v6frag_oslike.pcap", marks: map[string][]string{"fd77::2 syn": {"2 SYN-ACK then RST from scanner"}}},
	{name: "decoy_after_scans.pcap", marks: map[string][]string{"10.77.0.2 syn": {"", "real scanner 10.77.0.2: the only source the target answered", ""}}},
	{name: "decoy_live.pcap", marks: map[string][]string{"undetermined syn": {"from 4 sources; real scanner undetermined"}}},
	{name: "small_syn10.pcap"},
	{name: "small_syn10x3.pcap"},
}

// TestIssue9Captures replays the issue-9 captures of detection truth made
// with the real tools (testdata/README.md, "Issue 9 captures"): each gives
// exactly the scans testdata/expected_issue9.yaml lists, the benign ones
// none; an alert and its closing record name the same scanner and type.
// Scans of one scanner and type are matched in the order they end.
func TestIssue9Captures(t *testing.T) {
	b, err := os.ReadFile("../testdata/expected_issue9.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Captures map[string]struct {
			Scans []issue9Scan `yaml:"scans"`
		} `yaml:"captures"`
	}
	if err := yaml.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	for _, tc := range issue9Cases {
		t.Run(strings.TrimSuffix(tc.name, ".pcap"), func(t *testing.T) {
			want, ok := exp.Captures[tc.name]
			if !ok {
				t.Fatalf("%s not in expected_issue9.yaml", tc.name)
			}
			recs, _, s, err := replayFiles(t, filepath.Join("../testdata/issue9", tc.name))
			if err != nil {
				t.Fatal(err)
			}
			if w := s.Warnings(); len(w) > 0 {
				t.Errorf("replay warned: %q", w)
			}
			checkInOrder(t, recs, want.Scans, tc.marks)
		})
	}
}

// checkInOrder checks records against want: the same scanner-and-type keys
// among alerts and closing (flow) records, and the n-th closing record of a
// key against the n-th expected scan of that key.
func checkInOrder(t *testing.T, recs []eve.Record, want []issue9Scan, marks map[string][]string) {
	t.Helper()
	key := func(scanner, typ string) string { return scanner + " " + typ }
	var wantKeys, alertKeys, scanKeys []string
	scans := map[string][]*eve.RecordScan{}
	for _, r := range recs {
		switch r.EventType {
		case eve.EventAlert:
			alertKeys = append(alertKeys, key(r.SrcIP, r.Scan().Type))
		case eve.EventFlow:
			k := key(r.SrcIP, r.Scan().Type)
			scanKeys = append(scanKeys, k)
			scans[k] = append(scans[k], r.Scan())
		}
	}
	for _, w := range want {
		wantKeys = append(wantKeys, key(w.Scanner, w.Type))
	}
	slices.Sort(wantKeys)
	slices.Sort(alertKeys)
	slices.Sort(scanKeys)
	if !slices.Equal(wantKeys, alertKeys) || !slices.Equal(wantKeys, scanKeys) {
		t.Fatalf("want scans %v\ngot alerts %v\ngot scan records %v", wantKeys, alertKeys, scanKeys)
	}
	seen := map[string]int{}
	for _, w := range want {
		k := key(w.Scanner, w.Type)
		i := seen[k]
		seen[k]++
		g := scans[k][i]
		where := fmt.Sprintf("%s #%d", k, i+1)
		if g.Shape != w.Shape || !slices.Equal(g.OpenPorts, w.OpenPorts) {
			t.Errorf("%s: shape %s open %v, want %s open %v", where, g.Shape, g.OpenPorts, w.Shape, w.OpenPorts)
		}
		// "tool: unknown is acceptable if no unicornscan fingerprint is implemented"
		if w.Tool != "" && g.Tool != w.Tool && (w.Tool != "unicornscan" || g.Tool != "unknown") {
			t.Errorf("%s: tool %q, want %q", where, g.Tool, w.Tool)
		}
		if w.TargetCount != 0 && g.TargetCount != w.TargetCount || w.PortCount != 0 && g.PortCount != w.PortCount {
			t.Errorf("%s: %d targets %d ports, want %d %d", where, g.TargetCount, g.PortCount, w.TargetCount, w.PortCount)
		}
		if w.Ports != "" && g.Ports != w.Ports {
			t.Errorf("%s: ports %q, want %q", where, g.Ports, w.Ports)
		}
		if !slices.Equal(g.Decoys, w.Decoys) || g.Slow != w.Slow {
			t.Errorf("%s: decoys %v slow %v, want %v %v", where, g.Decoys, g.Slow, w.Decoys, w.Slow)
		}
		if m := marks[k]; i < len(m) && !strings.Contains(g.Evidence, m[i]) {
			t.Errorf("%s: evidence %q, want it to say %q", where, g.Evidence, m[i])
		}
		if len(w.Decoys) == 0 && strings.Contains(g.Evidence, "decoys") {
			t.Errorf("%s: evidence speaks of decoys: %q", where, g.Evidence)
		}
	}
}
