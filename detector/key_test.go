package detector

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/scanwatch/scanwatch/rules"
)

// TestProcessKeyIsProcess: real scanners' captures and benign traffic,
// IPv4 and IPv6, give the same events when some packets come with keys
// computed beforehand (as a replay's reader computes them while the
// detector is the slower side) as when the detector computes every key.
func TestProcessKeyIsProcess(t *testing.T) {
	var pkts = decodeFile(t, "../testdata/benign_services.pcap", 1<<20)
	for _, f := range []string{"nmap_sS.pcap", "nmap_sU.pcap", "nmap_sS6.pcap", "nmap_decoy.pcap", "masscan.pcap", "benign_dns.pcap", "nmap_sT.pcap"} {
		pkts = append(pkts, decodeFile(t, "../testdata/"+f, 1<<20)...)
	}
	run := func(keyed func(i int) bool) []Event {
		var events []Event
		d := New(rules.Default(), func(e Event) { events = append(events, e) })
		var k Key
		for i := range pkts {
			if keyed(i) {
				k.Set(&pkts[i])
				d.ProcessKey(&pkts[i], &k)
			} else {
				d.Process(&pkts[i])
			}
		}
		d.Flush()
		return events
	}
	plain := run(func(int) bool { return false })
	if alerts := countAlerts(plain); alerts < 5 {
		t.Fatalf("%d alerts from %d packets: the captures' scans were not reported", alerts, len(pkts))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for name, keyed := range map[string]func(int) bool{
		"all":  func(int) bool { return true },
		"some": func(int) bool { return rng.IntN(2) == 0 },
	} {
		if got := run(keyed); !reflect.DeepEqual(got, plain) {
			t.Errorf("%s keyed: %d events, %d with the detector's own keys", name, len(got), len(plain))
		}
	}
}

func countAlerts(events []Event) int {
	n := 0
	for _, e := range events {
		if e.Kind == "alert" {
			n++
		}
	}
	return n
}
