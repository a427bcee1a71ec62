//go:build linux

package scanner

import (
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// BenchmarkFullPortScan scans all 65535 TCP ports of the namespace target
// with -sS at --rate 20000, checks every port against a slower scan and
// against nmap -T4 --min-rate 20000 -p-, and reports both durations. Run it
// with: go test -run '^$' -bench FullPortScan ./scanner (as root).
// SWSCAN_SLOW_RATE sets the reference scan's rate (default 5000 probes/s).
func BenchmarkFullPortScan(b *testing.B) {
	if testing.Short() {
		b.Skip("scans 65535 ports three times; skipped with -short")
	}
	needRoot(b)
	tn := setupNet(b)
	ports, _ := ParsePorts("-")
	targets := []netip.Addr{target4}

	slowRate := 5000
	if v, err := strconv.Atoi(os.Getenv("SWSCAN_SLOW_RATE")); err == nil && v > 0 {
		slowRate = v
	}
	slow, slowRes := tn.scanInNetns(b, testConfig(SYN, ports, float64(slowRate), targets...))
	b.Logf("reference scan at %d/s: %.2fs, %d probes, %d retransmits", slowRate, slowRes.Seconds, slowRes.ProbesSent, slowRes.Retransmits)
	checkTruth(b, "reference scan", slow)

	var fast map[uint16]PortState
	var fastRes scanResult
	var wall time.Duration
	for b.Loop() {
		start := time.Now()
		fast, fastRes = tn.scanInNetns(b, testConfig(SYN, ports, 20000, targets...))
		wall = time.Since(start)
	}
	agree := comparePorts(b, "--rate 20000 vs reference scan", ports, fast, slow)
	checkTruth(b, "fast scan", fast)

	var nmapAgree int
	var nmapTook time.Duration
	if hasNmap() {
		var theirs map[uint16]PortState
		theirs, nmapTook = tn.nmapScan(b, ports, target4, "-sS", "-T4", "--min-rate", "20000", "-p-")
		// nmap at this speed sometimes loses replies on a busy machine
		// (it then calls closed ports filtered): report, don't fail.
		for _, p := range ports {
			if fast[p] == theirs[p] {
				nmapAgree++
			}
		}
		if nmapAgree != len(ports) {
			b.Logf("nmap disagrees on %d ports (see checkTruth above for which tool is right)", len(ports)-nmapAgree)
			checkTruth(&logOnly{b}, "nmap", theirs)
		}
		b.ReportMetric(nmapTook.Seconds(), "nmap-s")
	}
	// nmap's --min-rate is a floor (it goes faster when replies keep up);
	// --rate is a ceiling. For the same footing, also time an uncapped-ish run.
	top, topRes := tn.scanInNetns(b, testConfig(SYN, ports, 100000, targets...))
	topAgree := countAgree(ports, top, slow)
	b.Logf("--rate 100000: %.2fs, %d retransmits, agrees with the reference scan on %d ports", topRes.Seconds, topRes.Retransmits, topAgree)
	b.ReportMetric(topRes.Seconds, "scan100k-s")
	b.ReportMetric(fastRes.Seconds, "scan-s")
	b.ReportMetric(float64(fastRes.ProbesSent)/fastRes.Seconds, "probes/s")
	b.ReportMetric(float64(fastRes.Retransmits), "retransmits")
	b.Logf("65535 ports -sS: scanwatch --rate 20000 %.2fs (%.2fs with process start; %d probes, %d retransmits), "+
		"agrees with the %d/s scan on %d ports; nmap -T4 --min-rate 20000 %.2fs, agrees on %d ports",
		fastRes.Seconds, wall.Seconds(), fastRes.ProbesSent, fastRes.Retransmits, slowRate, agree, nmapTook.Seconds(), nmapAgree)
}

func hasNmap() bool {
	_, err := exec.LookPath("nmap")
	return err == nil
}

// checkTruth checks a full -sS scan against what the namespace offers.
func checkTruth(tb testing.TB, what string, got map[uint16]PortState) {
	tb.Helper()
	want := map[uint16]PortState{dropTCP: Filtered, rejectTCP: Filtered}
	for _, p := range openTCP {
		want[p] = Open
	}
	bad := 0
	for p := 1; p <= 65535; p++ {
		w, ok := want[uint16(p)]
		if !ok {
			w = Closed
		}
		if got[uint16(p)] != w {
			if bad < 10 {
				tb.Errorf("%s: port %d is %v, want %v", what, p, got[uint16(p)], w)
			}
			bad++
		}
	}
	if bad > 0 {
		tb.Errorf("%s: %d ports wrong", what, bad)
	}
}

// logOnly turns a checker's errors into log lines.
type logOnly struct{ testing.TB }

func (l *logOnly) Errorf(format string, args ...any) { l.TB.Helper(); l.TB.Logf(format, args...) }
