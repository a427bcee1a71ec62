//go:build linux

package e2e

// Integration tests of `scanwatch live` against real scanners (nmap, hping3)
// in a private pair of network namespaces: the attacker in A, the target and
// the sensor in B, joined by a veth, subnet 10.80.0.0/24 and fd80::/64, no
// default route (nothing leaves the pair). They run the binary as a service
// manager would (`ip netns exec B scanwatch live -i VETH --out FILE` with
// $NOTIFY_SOCKET set, waiting for its READY=1), stop it with SIGINT and read
// its EVE JSON lines.
//
// They need root, iproute2 and nmap (hping3 and tcpdump for some); `make deps`
// installs them. Without them they skip, saying what is missing.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/internal/netns"
)

var (
	liveSubnet  = netip.MustParsePrefix("10.80.0.0/24")
	liveSubnet6 = netip.MustParsePrefix("fd80::/64")
)

// Each scan runs from a source address of its own in A, so that each is an
// episode of its own and is classified on its own. From one source, the
// detector puts SYN and connect probes in one episode (one "syn family"
// within the idle timeout): an -sT after an -sS would raise no alert of its
// own, and hping3's SYN scan would join nmap's.
var (
	srcSyn     = netip.MustParseAddr("10.80.0.11")
	srcConnect = netip.MustParseAddr("10.80.0.12")
	srcFin     = netip.MustParseAddr("10.80.0.13")
	srcNull    = netip.MustParseAddr("10.80.0.14")
	srcXmas    = netip.MustParseAddr("10.80.0.15")
	srcAck     = netip.MustParseAddr("10.80.0.16")
	srcMaimon  = netip.MustParseAddr("10.80.0.17")
	srcUDP     = netip.MustParseAddr("10.80.0.18")
	srcHping   = netip.MustParseAddr("10.80.0.19")
	srcSyn6    = netip.MustParseAddr("fd80::11")
)

// Services in the target: the open ports the scans must find.
var (
	tcpOpen = []uint16{22, 80, 139}
	udpOpen = []uint16{7, 37}
)

const (
	tcpScanPorts = "1-200" // holds every tcpOpen port
	udpScanPorts = "1-40"  // holds every udpOpen port
	bulkPort     = 5001
)

// ---------------------------------------------------------------------------
// Requirements and the namespace pair.

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	netns.Require(t)
	var missing []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		t.Skipf("skipped: needs %s (make deps, or apt-get install -y %s)", strings.Join(missing, ", "), strings.Join(missing, " "))
	}
}

// testbed is the namespace pair with the target's services running in B.
type testbed struct {
	*netns.Pair
}

func newTestbed(t *testing.T, prefix string) testbed {
	t.Helper()
	p := netns.New(t, netns.Config{Prefix: prefix, Subnet: liveSubnet, Subnet6: liveSubnet6})
	// The target answers every closed UDP port: no ICMP rate limit.
	p.Sysctl(p.B.NS, "net.ipv4.icmp_ratelimit", "0")
	p.Sysctl(p.B.NS, "net.ipv6.icmp.ratelimit", "0")
	for _, a := range []netip.Addr{srcSyn, srcConnect, srcFin, srcNull, srcXmas, srcAck, srcMaimon, srcUDP, srcHping, srcSyn6} {
		p.AddAddr(p.A.NS, a)
	}
	startHelper(t, p, p.B.NS, "ready", "serve", joinInts(tcpOpen), joinInts(udpOpen))
	return testbed{p}
}

func joinInts(v []uint16) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(int(n))
	}
	return strings.Join(s, ",")
}

// ---------------------------------------------------------------------------
// The scans.

// scanStep is one scanner run from A against B.
type scanStep struct {
	name string
	src  netip.Addr
	typ  string // the alert type it must raise
	argv func(p *netns.Pair) []string
	open []uint16 // open_ports the alert must report; nil: not checked
}

func nmapStep(flag string, src netip.Addr, typ, ports string, open []uint16) scanStep {
	return scanStep{
		name: "nmap " + flag, src: src, typ: typ, open: open,
		argv: func(p *netns.Pair) []string {
			target := p.B.Addr
			argv := []string{"nmap", flag, "-n", "-Pn", "-T4", "--max-retries", "2", "-p", ports, "-S", src.String(), "-e", p.A.Veth}
			if src.Is6() {
				argv = append(argv, "-6")
				target = p.B.Addr6
			}
			return append(argv, target.String())
		},
	}
}

func realScanSteps() []scanStep {
	return []scanStep{
		nmapStep("-sS", srcSyn, "syn", tcpScanPorts, tcpOpen),
		nmapStep("-sT", srcConnect, "connect", tcpScanPorts, tcpOpen),
		nmapStep("-sF", srcFin, "fin", tcpScanPorts, nil),
		nmapStep("-sN", srcNull, "null", tcpScanPorts, nil),
		nmapStep("-sX", srcXmas, "xmas", tcpScanPorts, nil),
		nmapStep("-sA", srcAck, "ack", tcpScanPorts, nil),
		nmapStep("-sM", srcMaimon, "maimon", tcpScanPorts, nil),
		nmapStep("-sU", srcUDP, "udp", udpScanPorts, udpOpen),
		nmapStep("-sS", srcSyn6, "syn", tcpScanPorts, tcpOpen), // IPv6: the services listen on both
		{
			name: "hping3 -S", src: srcHping, typ: "syn", open: tcpOpen,
			argv: func(p *netns.Pair) []string {
				// Ports 1..200, one SYN every ms, from srcHping.
				return []string{"hping3", "-q", "-S", "-a", srcHping.String(), "-p", "++1", "-c", "200", "-i", "u1000", p.B.Addr.String()}
			},
		},
	}
}

// runSteps runs each step to completion, in order.
func runSteps(t *testing.T, p *netns.Pair, steps []scanStep) {
	t.Helper()
	for _, st := range steps {
		start := time.Now()
		argv := st.argv(p)
		out, err := p.Output(p.A.NS, argv...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", st.name, err, out)
		}
		t.Logf("%-10s from %-10s %5.2fs  %s", st.name, st.src, time.Since(start).Seconds(), strings.Join(argv, " "))
	}
}

func wantKeys(steps []scanStep) []scanKey {
	var ks []scanKey
	for _, st := range steps {
		ks = append(ks, scanKey{st.src.String(), st.typ})
	}
	return ks
}

// checkAlerts asserts that each step raised exactly one alert of its type
// from its source, with the open ports it must have found, and that no other
// alert was raised.
func checkAlerts(t *testing.T, rs []record, steps []scanStep) {
	t.Helper()
	alerts := map[scanKey][]record{}
	for _, r := range byType(rs, eve.EventAlert) {
		if r.SrcIP != r.Scan().Scanner {
			t.Errorf("alert src_ip %s is not the scanner %s: %s", r.SrcIP, r.Scan().Scanner, r.raw)
		}
		k := scanKey{r.Scan().Scanner, r.Scan().Type}
		alerts[k] = append(alerts[k], r)
	}
	expected := map[scanKey]scanStep{}
	for _, st := range steps {
		expected[scanKey{st.src.String(), st.typ}] = st
	}
	for _, st := range steps {
		k := scanKey{st.src.String(), st.typ}
		got := alerts[k]
		switch {
		case len(got) == 0:
			t.Errorf("%s from %s: no %q alert", st.name, st.src, st.typ)
			continue
		case len(got) > 1:
			t.Errorf("%s from %s: %d %q alerts, want exactly 1", st.name, st.src, len(got), st.typ)
		}
		// open_ports grow after the alert; the closing scan record has the totals.
		if st.open != nil {
			sum := findScan(rs, k)
			if sum == nil {
				t.Errorf("%s from %s: no %q scan record at shutdown", st.name, st.src, st.typ)
			} else if !slices.Equal(sum.Scan().OpenPorts, st.open) {
				t.Errorf("%s from %s: open_ports %v, want %v (the ports listening in the target)", st.name, st.src, sum.Scan().OpenPorts, st.open)
			}
		}
		t.Logf("%-10s -> alert %-7s shape=%s ports=%d probes=%d tool=%s", st.name, got[0].Scan().Type, got[0].Scan().Shape, got[0].Scan().PortCount, got[0].Scan().Probes, got[0].Scan().Tool)
	}
	for _, r := range byType(rs, eve.EventAlert) {
		if _, ok := expected[scanKey{r.Scan().Scanner, r.Scan().Type}]; !ok {
			t.Errorf("unexpected alert of type %q from %s: %s", r.Scan().Type, r.Scan().Scanner, r.raw)
		}
	}
}

func findScan(rs []record, k scanKey) *record {
	for i := range rs {
		if rs[i].EventType == eve.EventFlow && rs[i].Scan().Scanner == k.scanner && rs[i].Scan().Type == k.typ {
			return &rs[i]
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Tests.

// TestLiveDetectsRealScans runs every nmap scan type and hping3 in one sensor
// session and checks that each raised its alert, and nothing else did.
func TestLiveDetectsRealScans(t *testing.T) {
	needTools(t, "nmap", "hping3")
	tb := newTestbed(t, "swlive")
	s := startSensor(t, tb.Pair)
	steps := realScanSteps()
	runSteps(t, tb.Pair, steps)
	if !s.waitAlerts(wantKeys(steps), 15*time.Second) {
		t.Logf("not every expected alert within 15 s of the last scan; stopping the sensor to see the rest")
	}
	rs := s.stop()
	checkAlerts(t, rs, steps)
	st := finalStats(t, rs)
	if st.Capture.KernelDrops != 0 {
		t.Errorf("capture.kernel_drops = %d, want 0", st.Capture.KernelDrops)
	}
	if st.Decoder.Invalid != 0 {
		t.Errorf("decoder.invalid = %d, want 0", st.Decoder.Invalid)
	}
	t.Logf("stats: %v", st)
}

// TestLiveReplayParity captures the same scans with tcpdump while the sensor
// runs, replays the capture, and compares what both reported.
func TestLiveReplayParity(t *testing.T) {
	needTools(t, "nmap", "hping3", "tcpdump")
	tb := newTestbed(t, "swlpar")
	s := startSensor(t, tb.Pair)

	pcap := filepath.Join(t.TempDir(), "live.pcap")
	// --immediate-mode: without it libpcap hands packets over in ring
	// blocks retired up to a second late, and the last block is lost at
	// SIGINT (the last scans would be missing from the file).
	td := tb.Exec(tb.B.NS, "tcpdump", "-n", "--immediate-mode", "-B", "16384", "-s", "256", "-i", tb.B.Veth, "-w", pcap)
	tdErr, err := td.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	tb.StartCmd(td)
	tdLines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(tdErr)
		for sc.Scan() {
			tdLines <- sc.Text()
		}
		close(tdLines)
	}()
	waitTcpdump := func(want string, timeout time.Duration) (string, bool) {
		var seen []string
		deadline := time.After(timeout)
		for {
			select {
			case l, ok := <-tdLines:
				if !ok {
					return strings.Join(seen, "\n"), false
				}
				seen = append(seen, l)
				if strings.Contains(l, want) {
					return l, true
				}
			case <-deadline:
				return strings.Join(seen, "\n"), false
			}
		}
	}
	if out, ok := waitTcpdump("listening on", 10*time.Second); !ok {
		t.Fatalf("tcpdump did not start: %s", out)
	}

	steps := realScanSteps()
	runSteps(t, tb.Pair, steps)
	s.waitAlerts(wantKeys(steps), 15*time.Second)

	// tcpdump first: it must hold everything the sensor saw.
	td.Process.Signal(syscall.SIGINT)
	drops, ok := waitTcpdump("dropped by kernel", 10*time.Second)
	if !ok {
		t.Fatalf("tcpdump did not report its counts at exit: %s", drops)
	}
	td.Wait()
	if !strings.HasPrefix(drops, "0 ") {
		t.Fatalf("tcpdump lost packets (%s): the capture cannot be compared", drops)
	}
	live := s.stop()

	replayOut := filepath.Join(t.TempDir(), "replay.json")
	cmd := exec.Command(scanwatchBin, "replay", "-q", "--out", replayOut, pcap)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scanwatch replay %s: %v\n%s", pcap, err, out)
	}
	b, err := os.ReadFile(replayOut)
	if err != nil {
		t.Fatal(err)
	}
	replay := parseRecords(t, b)

	for _, kind := range []string{eve.EventAlert, eve.EventFlow} {
		l, r := scanSet(live, kind), scanSet(replay, kind)
		if !slices.Equal(l, r) {
			t.Errorf("%s records differ (scanner type shape):\nlive:   %v\nreplay: %v", kind, l, r)
		} else {
			t.Logf("%s records, live = replay: %v", kind, l)
		}
	}
	if t.Failed() {
		keep := filepath.Join(os.TempDir(), fmt.Sprintf("scanwatch-parity-%d.pcap", time.Now().UnixNano()))
		if b, err := os.ReadFile(pcap); err == nil && os.WriteFile(keep, b, 0o644) == nil {
			t.Logf("capture kept at %s", keep)
		}
	}
}

// scanSet is the sorted set of "scanner type shape" of the records of a kind.
func scanSet(rs []record, kind string) []string {
	set := map[string]bool{}
	for _, r := range byType(rs, kind) {
		set[r.Scan().Scanner+" "+r.Scan().Type+" "+r.Scan().Shape] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestLiveKernelFiltering pushes 1 GiB of bulk TCP through the veth while
// nmap scans, and checks from the stats that the kernel filter dropped the
// bulk, counted every packet, lost nothing, and the scan was still seen.
func TestLiveKernelFiltering(t *testing.T) {
	needTools(t, "nmap")
	tb := newTestbed(t, "swlbulk")
	s := startSensor(t, tb.Pair)

	const bulkBytes = 1 << 30
	sink, sinkOut := startHelper(t, tb.Pair, tb.B.NS, "ready", "sink", strconv.Itoa(bulkPort))
	send := helper(tb.Pair, tb.A.NS, "send", tb.B.Addr.String(), strconv.Itoa(bulkPort), strconv.Itoa(bulkBytes))
	var sendErr bytes.Buffer
	send.Stderr = &sendErr
	start := time.Now()
	tb.StartCmd(send)
	if !waitLine(sinkOut, "flowing", 10*time.Second) {
		t.Fatalf("bulk transfer did not start: %s", sendErr.String())
	}
	// The scan runs while the bulk flows.
	step := nmapStep("-sS", srcSyn, "syn", "1-100", []uint16{22, 80})
	runSteps(t, tb.Pair, []scanStep{step})
	if err := send.Wait(); err != nil {
		t.Fatalf("bulk sender: %v: %s", err, sendErr.String())
	}
	if err := sink.Wait(); err != nil {
		t.Fatalf("bulk sink: %v", err)
	}
	bulkTime := time.Since(start)
	if !s.waitAlerts(wantKeys([]scanStep{step}), 15*time.Second) {
		t.Logf("no syn alert within 15 s; stopping the sensor to see the rest")
	}
	rs := s.stop()
	checkAlerts(t, rs, []scanStep{step})

	// EVE's stats record has what Suricata names (kernel_packets: passed,
	// kernel_drops: lost); the line on stderr has the rest, and both agree.
	st, c := finalStats(t, rs), finalCounters(t, s)
	seen, passed, dropped, received, lost := c.seen, c.passed, c.filtered, c.received, c.lost
	if st.Capture.KernelPackets != passed || st.Capture.KernelDrops != lost || st.Decoder.Pkts != received {
		t.Errorf("stats record %+v %+v disagrees with the counters line %+v", *st.Capture, st.Decoder, c)
	}
	ratio := float64(received) / float64(max(seen, 1))
	t.Logf("bulk: %d bytes in %v (%.0f Mbit/s)", bulkBytes, bulkTime.Round(time.Millisecond), float64(bulkBytes)*8/bulkTime.Seconds()/1e6)
	t.Logf("kernel seen=%d passed=%d filtered out=%d received=%d ring lost=%d received/kernel seen=%.5f%%",
		seen, passed, dropped, received, lost, 100*ratio)

	// Every data segment crossed B's veth once; fewer frames than that means
	// the sensor saw GSO super-packets, not the segments on the wire.
	if minFrames := uint64(bulkBytes / 1500); seen < minFrames {
		t.Errorf("kernel seen = %d, want at least %d (1 GiB in segments of at most 1500 bytes): offloads not off?", seen, minFrames)
	}
	// The counters are per-CPU and read at shutdown, after all traffic
	// ended; a packet between the program's seen++ and its passed++ or
	// dropped++ (a stray IPv6 ND/MLD frame) could be counted half. Allow
	// one per CPU.
	if diff := int64(seen) - int64(passed+dropped); diff < 0 || diff > int64(runtime.NumCPU()) {
		t.Errorf("kernel seen (%d) != passed (%d) + filtered out (%d): off by %d", seen, passed, dropped, diff)
	}
	if ratio >= 0.01 {
		t.Errorf("received = %d is %.2f%% of kernel seen = %d, want under 1%%: the kernel filter did not drop the bulk", received, 100*ratio, seen)
	}
	if lost != 0 {
		t.Errorf("ring lost = %d, want 0", lost)
	}
}

// TestLiveCBPF runs the classic BPF filter against a SYN scan.
func TestLiveCBPF(t *testing.T) {
	needTools(t, "nmap")
	tb := newTestbed(t, "swlcbpf")
	s := startSensor(t, tb.Pair, "--capture", "cbpf")
	if !strings.Contains(s.Stderr(), "(cbpf filter)") {
		t.Errorf("stderr does not name the cbpf filter: %q", s.Stderr())
	}
	step := nmapStep("-sS", srcSyn, "syn", "1-100", []uint16{22, 80})
	runSteps(t, tb.Pair, []scanStep{step})
	if !s.waitAlerts(wantKeys([]scanStep{step}), 15*time.Second) {
		t.Logf("no syn alert within 15 s; stopping the sensor to see the rest")
	}
	rs := s.stop()
	checkAlerts(t, rs, []scanStep{step})
	t.Logf("stats: %v", finalStats(t, rs))
}

// TestLiveErrors checks the exit codes and messages of a bad interface and
// a bad --capture. It needs neither root nor namespaces.
func TestLiveErrors(t *testing.T) {
	bin := scanwatchBin
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"live", "-i", "nosuchif0"}, 1, "nosuchif0"},
		{[]string{"live", "-i", "lo", "--capture", "bogus"}, 2, "bogus"},
	} {
		cmd := exec.Command(bin, tc.args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("scanwatch %s: still running after 10 s", strings.Join(tc.args, " "))
			continue
		}
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code {
			t.Errorf("scanwatch %s: exit %d, want %d; stderr: %s", strings.Join(tc.args, " "), code, tc.code, stderr.String())
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("scanwatch %s: stderr %q does not name %q", strings.Join(tc.args, " "), stderr.String(), tc.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("scanwatch %s: wrote to stdout: %q", strings.Join(tc.args, " "), stdout.String())
		}
	}
}

// TestLiveReload: SIGHUP reloads the rules file without a restart. A bad
// file is refused and the old rules stay; a good one that allow-lists a
// scanner silences it while others are still detected.
func TestLiveReload(t *testing.T) {
	needTools(t, "nmap")
	tb := newTestbed(t, "swlhup")
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte("allow: {scanners: []}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startSensor(t, tb.Pair, "--rules", path)
	hup := func(want string) {
		t.Helper()
		if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.Stderr(), want); {
			if time.Now().After(deadline) {
				t.Fatalf("no %q on stderr after SIGHUP:\n%s", want, s.Stderr())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if err := os.WriteFile(path, []byte("allow: {scaners: []}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hup("rules not reloaded")
	if err := os.WriteFile(path, []byte("allow: {scanners: ["+srcSyn.String()+"]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hup("rules reloaded")
	steps := []scanStep{
		nmapStep("-sS", srcSyn, "syn", "1-100", []uint16{22, 80}),
		nmapStep("-sF", srcFin, "fin", "1-100", nil),
	}
	runSteps(t, tb.Pair, steps)
	s.waitAlerts(wantKeys(steps[1:]), 15*time.Second)
	rs := s.stop()
	for _, r := range byType(rs, eve.EventAlert) {
		if r.SrcIP == srcSyn.String() {
			t.Errorf("allow-listed scanner %s alerted after the reload", srcSyn)
		}
	}
	checkAlerts(t, rs, steps[1:])
}
