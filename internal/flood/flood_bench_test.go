package flood

import (
	"os"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/rules"
)

// BenchmarkSlowScanUnderFlood is TestSlowScanUnderSpoofedFlood at full
// size: 100,000 spoofed one-packet SYN sources a second against the
// default rules, an nmap -sS probe every 20 s among them (and, with
// SCANWATCH_FLOOD_LONG=1, every 5 minutes: 30 million sources between two
// probes, 280 million packets in all), fed through the decoder and the
// detector. It reports how many probes the alert took.
func BenchmarkSlowScanUnderFlood(b *testing.B) {
	for _, tc := range []struct {
		name string
		gap  time.Duration
		long bool
	}{{"gap-20s", 20 * time.Second, false}, {"gap-5m", 5 * time.Minute, true}} {
		b.Run(tc.name, func(b *testing.B) {
			if tc.long && os.Getenv("SCANWATCH_FLOOD_LONG") == "" {
				b.Skip("280 million packets: set SCANWATCH_FLOOD_LONG=1")
			}
			const probes, rate = 10, 100_000
			c := Config{Kind: SYN, Rate: rate, Sources: int(rate * probes * tc.gap.Seconds()), Seed: 5,
				Scan: Scan{Ports: probes, Gap: tc.gap, At: time.Second}}
			c.defaults()
			for b.Loop() {
				start := time.Now()
				events, st := run(b, c, rules.Default())
				b.ReportMetric(float64(st.Packets)/time.Since(start).Seconds(), "packets/s")
				a := alerted(events, c.Scan.Scanner)
				if a == nil {
					b.Fatalf("slow scan not alerted under %d spoofed sources a second; stats %+v", rate, st)
				}
				b.ReportMetric(float64(a.Scan.LastSeen.Sub(c.Start.Add(c.Scan.At))/tc.gap)+1, "probes-to-alert")
			}
		})
	}
}
