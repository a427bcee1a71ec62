package report

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/detector"
	"github.com/scanwatch/scanwatch/eve"
)

// genEVE writes, with the real EVE writer, the alert and flow records of n
// scans by a few hundred scanners over a day in bursts (a busy sensor's
// day), followed by a stats record and another tool's record: what a
// report of a few thousand scans reads.
func genEVE(t testing.TB, n int) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	types := []string{"syn", "syn", "syn", "connect", "udp", "ping", "ping", "arp", "fin", "xmas", "null", "ack", "osprobe"}
	tools := []string{"nmap", "nmap", "masscan", "zmap", "unknown", "hping3"}
	start := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	var events []detector.Event
	for i := range n {
		// 400 scanners, a few of them very busy.
		src := rng.IntN(400)
		if rng.IntN(3) == 0 {
			src = rng.IntN(8)
		}
		scanner := netip.AddrFrom4([4]byte{198, 51, byte(src / 250), byte(1 + src%250)})
		if src%37 == 0 {
			scanner = netip.MustParseAddr(fmt.Sprintf("2001:db8:%x::%x", src, src+1))
		}
		// Bursts: most scans in three busy hours.
		hour := []int{2, 9, 10, 17}[rng.IntN(4)]
		if rng.IntN(5) == 0 {
			hour = rng.IntN(24)
		}
		first := start.Add(time.Duration(hour)*time.Hour + time.Duration(rng.Int64N(int64(time.Hour))))
		dur := time.Duration(rng.ExpFloat64() * float64(20*time.Second))
		typ := types[rng.IntN(len(types))]
		s := detector.Scan{
			ID: uint64(i + 1), Type: typ, Proto: "TCP", Shape: "vertical", Scanner: scanner,
			FirstSeen: first, LastSeen: first.Add(dur), Tool: tools[rng.IntN(len(tools))],
			Evidence: fmt.Sprintf("%d probes, some answered", 100+i%900),
		}
		ntargets := 1
		if typ == "ping" || typ == "arp" || rng.IntN(4) == 0 {
			s.Shape = "horizontal"
			ntargets = 2 + rng.IntN(200)
		}
		for j := range min(ntargets, detector.MaxListedTargets) {
			s.Targets = append(s.Targets, netip.AddrFrom4([4]byte{10, 0, byte(j / 200), byte(1 + (j+i)%200)}))
		}
		s.TargetCount = ntargets
		if typ != "ping" && typ != "arp" {
			lo := 1 + rng.IntN(2000)
			hi := lo + rng.IntN(1500)
			s.Ports, s.PortCount = fmt.Sprintf("%d-%d,8080,%d", lo, hi, 40000+rng.IntN(20000)), hi-lo+3
			for _, p := range []uint16{22, 80, 443, 3306} {
				if int(p) >= lo && int(p) <= hi && rng.IntN(2) == 0 {
					s.OpenPorts = append(s.OpenPorts, p)
				}
			}
		}
		s.Probes = max(s.PortCount, 1) * ntargets
		events = append(events, detector.Event{Kind: "alert", Time: first, Scan: s}, detector.Event{Kind: "scan", Time: s.LastSeen, Scan: s})
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) })
	var b bytes.Buffer
	w := eve.NewWriter(&b, eve.Options{Host: "sensor-1"})
	for _, ev := range events {
		w.Event(ev)
	}
	w.Stats(start.Add(24*time.Hour), eve.Stats{Uptime: 86400})
	b.WriteString(`{"timestamp":"2026-11-21T23:59:59.000000+0000","event_type":"dns","src_ip":"10.0.0.1","dns":{"type":"query"}}` + "\n")
	return b.Bytes()
}
