//go:build linux

package scanner

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

// BenchmarkVsNmap times scanwatch and nmap, both at their default timing,
// on the namespace target and requires the same results: "-sS -p-" (all
// 65535 TCP ports of one host) and a default scan (discovery and the top
// 1000 ports) of a /28 with two live hosts. make bench runs it; the
// scanwatch-s and nmap-s columns are the wall times of one scan each
// (scanwatch's includes starting its process, as nmap's does). Run it alone
// with: go test -run '^$' -bench VsNmap ./scanner (as root).
func BenchmarkVsNmap(b *testing.B) {
	if testing.Short() {
		b.Skip("scans a namespace with scanwatch and nmap; skipped with -short")
	}
	needRoot(b, "nmap")
	tn := setupNet(b)
	live := []netip.Addr{netip.MustParseAddr("10.79.0.18"), netip.MustParseAddr("10.79.0.19")}
	for _, a := range live {
		tn.AddAddr(tn.B.NS, a)
	}
	for _, bc := range []struct {
		name string
		args []string
		up   []netip.Addr
	}{
		{"sS-p-", []string{"-sS", "-p-", target4.String()}, []netip.Addr{target4}},
		{"default-28", []string{"10.79.0.16/28"}, live},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var ours scanResult
			var oursWall, nmapSeconds float64
			for b.Loop() {
				start := time.Now()
				ours = tn.scanArgsInNetns(b, bc.args...)
				oursWall = time.Since(start).Seconds()
				theirs, took := tn.nmapRun(b, bc.args...)
				nmapSeconds = took.Seconds()
				var ourUp, theirUp []netip.Addr
				for _, h := range ours.Hosts {
					if h.Up {
						ourUp = append(ourUp, h.Addr)
					}
				}
				for a, h := range theirs {
					if h.up {
						theirUp = append(theirUp, a)
						compareStates(b, bc.name+" "+a.String(), statesOf(ours, a, "tcp"), h.ports["tcp"])
					}
				}
				slices.SortFunc(ourUp, netip.Addr.Compare)
				slices.SortFunc(theirUp, netip.Addr.Compare)
				if !slices.Equal(ourUp, bc.up) || !slices.Equal(theirUp, bc.up) {
					b.Errorf("hosts up: scanwatch %v, nmap %v, want %v", ourUp, theirUp, bc.up)
				}
			}
			b.ReportMetric(oursWall, "scanwatch-s")
			b.ReportMetric(nmapSeconds, "nmap-s")
			b.ReportMetric(float64(ours.ProbesSent), "probes")
			b.Logf("%v: scanwatch %.2fs (%.2fs in the scan; %d probes, %d retransmits), nmap %.2fs",
				bc.args, oursWall, ours.Seconds, ours.ProbesSent, ours.Retransmits, nmapSeconds)
		})
	}
}
