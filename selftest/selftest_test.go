package selftest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/sensor"
	"github.com/scanwatch/scanwatch/technique"
)

// checkNamed returns the check labelled label and its plan.
func checkNamed(t *testing.T, label string) (*check, plan) {
	t.Helper()
	plans := makePlans(checks, "vetha", "vethb")
	for i := range checks {
		if checks[i].label == label {
			return &checks[i], plans[i]
		}
	}
	t.Fatalf("no check %q", label)
	return nil, plan{}
}

// alertLine is one canned EVE line of the sensor (event alert or flow), as
// trimmed as the self-test's reader allows.
func alertLine(event, src, typ string, probes int, first, at string, open []uint16, extra string) string {
	ports := "[]"
	if len(open) > 0 {
		ports = strings.ReplaceAll(fmt.Sprint(open), " ", ",")
	}
	return fmt.Sprintf(`{"timestamp":"2026-11-21T01:00:%s+0000","event_type":%q,"src_ip":%q,"proto":"TCP","alert":{"context":{"scan":{"type":%q,"probes":%d,"open_ports":%s,"first_seen":"2026-11-21T01:00:%s+0000"%s}}}}`,
		at, event, src, typ, probes, ports, first, extra)
}

func TestEvaluate(t *testing.T) {
	open := []uint16{22, 80, 443, 8080}
	type tc struct {
		label    string
		lines    []string
		scanOpen []uint16
		scanErr  error
		ok       bool
		got      string
		probes   int    // ok rows: PROBES
		ms       int64  // ok rows: MS TO ALERT
		extra    string // ok rows: ASSERTED
		problem  string // failing rows: one of the problems
	}
	_, pSS := checkNamed(t, "-sS")
	_, pDist := checkNamed(t, "distributed")
	_, pDec := checkNamed(t, "-D (decoys on link)")
	_, pDecAbs := checkNamed(t, "-D")
	_, pSlow := checkNamed(t, "slow")
	src := func(p plan, k int) string { return p.sources[k].String() }
	group := func(g string) string { return fmt.Sprintf(`,"group":%q`, g) }
	for _, c := range []tc{
		{label: "-sS", scanOpen: open, ok: true, got: "syn", probes: 4, ms: 13, lines: []string{
			alertLine("alert", src(pSS, 0), "syn", 4, "00.500000", "00.513000", []uint16{22}, ""),
			alertLine("flow", src(pSS, 0), "syn", 102, "00.500000", "09.000000", open, ""),
		}},
		// An open port's contact resolves after the alert, with an
		// earlier first contact: the closing record still belongs to it.
		{label: "-sT", scanOpen: open, ok: true, got: "connect", probes: 4, ms: 1, lines: []string{
			alertLine("alert", src(plansOf(t, "-sT"), 0), "connect", 4, "00.500156", "00.501286", nil, ""),
			alertLine("flow", src(plansOf(t, "-sT"), 0), "connect", 102, "00.500069", "06.891431", open, ""),
		}},
		{label: "-sS", scanOpen: open, got: "syn", problem: "open ports: scanner 22,80,443,8080, sensor 80", lines: []string{
			alertLine("alert", src(pSS, 0), "syn", 4, "00.500000", "00.513000", []uint16{80}, ""),
		}},
		{label: "-sS", scanOpen: open, got: "syn", scanErr: io.EOF, problem: "scan from " + src(pSS, 0) + " failed: EOF", lines: []string{
			alertLine("alert", src(pSS, 0), "syn", 4, "00.500000", "00.513000", []uint16{80}, ""),
		}},
		{label: "-sW", got: "custom", problem: "type custom, want ack", lines: []string{
			alertLine("alert", src(plansOf(t, "-sW"), 0), "custom", 4, "01.000000", "01.010000", nil, ""),
		}},
		{label: "-sM", problem: "no alert", lines: []string{
			// Another check's alert is never taken.
			alertLine("alert", src(pSS, 0), "syn", 4, "00.500000", "00.513000", nil, ""),
		}},
		{label: "-sA", got: "ack", problem: "also alerted: udp from " + src(plansOf(t, "-sA"), 0), lines: []string{
			alertLine("alert", src(plansOf(t, "-sA"), 0), "ack", 4, "01.000000", "01.010000", nil, ""),
			alertLine("alert", src(plansOf(t, "-sA"), 0), "udp", 4, "02.000000", "02.010000", nil, ""),
		}},
		// The first source's alert comes before the group exists; the
		// closing records carry it.
		{label: "distributed", scanOpen: []uint16{22, 80}, ok: true, got: "syn", probes: 4, ms: 10, extra: "group dist-1 over 3 sources", lines: []string{
			alertLine("alert", src(pDist, 0), "syn", 4, "01.000000", "01.010000", []uint16{22}, ""),
			alertLine("alert", src(pDist, 1), "syn", 4, "01.001000", "01.020000", nil, group("dist-1")),
			alertLine("alert", src(pDist, 2), "syn", 4, "01.002000", "01.030000", nil, group("dist-1")),
			alertLine("flow", src(pDist, 0), "syn", 100, "01.000000", "09.000000", []uint16{22, 80}, group("dist-1")+`,"ports":"1-100"`),
			alertLine("flow", src(pDist, 1), "syn", 100, "01.001000", "09.000000", nil, group("dist-1")+`,"ports":"101-200"`),
			alertLine("flow", src(pDist, 2), "syn", 100, "01.002000", "09.000000", nil, group("dist-1")+`,"ports":"201-300"`),
		}},
		{label: "distributed", scanOpen: []uint16{22, 80}, got: "syn", problem: "2 syn alerts, want 3 (one per source)", lines: []string{
			alertLine("alert", src(pDist, 0), "syn", 4, "01.000000", "01.010000", []uint16{22, 80}, ""),
			alertLine("alert", src(pDist, 1), "syn", 4, "01.001000", "01.020000", nil, group("dist-1")),
		}},
		{label: "-D (decoys on link)", scanOpen: open, ok: true, got: "syn", probes: 4, ms: 10,
			extra: "decoys 10.75.0.210-212 named, scanner undetermined (all answered)", lines: []string{
				alertLine("alert", "undetermined", "syn", 4, "01.000000", "01.010000", open,
					fmt.Sprintf(`,"decoys":["%s","%s","%s","%s"]`, pDec.decoys[2], pDec.decoys[0], src(pDec, 0), pDec.decoys[1])),
			}},
		{label: "-D", scanOpen: open, got: "syn", problem: "src_ip undetermined, want " + src(pDecAbs, 0), lines: []string{
			alertLine("alert", "undetermined", "syn", 4, "01.000000", "01.010000", open,
				fmt.Sprintf(`,"decoys":["%s","%s","%s","%s"]`, pDecAbs.decoys[0], pDecAbs.decoys[1], pDecAbs.decoys[2], src(pDecAbs, 0))),
		}},
		{label: "slow", ok: true, got: "syn", probes: 4, ms: 3000, extra: "slow, 1.0 s/probe", lines: []string{
			alertLine("alert", src(pSlow, 0), "syn", 4, "01.000000", "04.000000", nil, `,"slow":true`),
		}},
		{label: "slow", got: "syn", problem: "scan.slow false at 0.0 s/probe", lines: []string{
			alertLine("alert", src(pSlow, 0), "syn", 4, "01.000000", "01.010000", nil, ""),
		}},
		{label: "-sZ", ok: true, got: "sctp", probes: 4, ms: 10, extra: "evidence: 4 SCTP COOKIE ECHO (no association), 4 ABORT", lines: []string{
			alertLine("alert", src(plansOf(t, "-sZ"), 0), "sctp", 4, "01.000000", "01.010000", nil, `,"evidence":"4 SCTP COOKIE ECHO (no association), 4 ABORT"`),
		}},
		{label: "-sZ", got: "sctp", problem: `evidence "4 SCTP INIT, 4 ABORT" does not name COOKIE ECHO`, lines: []string{
			alertLine("alert", src(plansOf(t, "-sZ"), 0), "sctp", 4, "01.000000", "01.010000", nil, `,"evidence":"4 SCTP INIT, 4 ABORT"`),
		}},
	} {
		out, err := parseSensorOutput(strings.NewReader(strings.Join(c.lines, "\n") + "\n"))
		if err != nil {
			t.Fatalf("%s: %v", c.label, err)
		}
		ch, p := checkNamed(t, c.label)
		cr := &checkRun{check: ch, plan: p}
		for _, s := range p.sources {
			cr.scans = append(cr.scans, scanRun{src: s, err: c.scanErr, hosts: []hostResult{{addr: p.targets[0], up: true, open: c.scanOpen}}})
		}
		r := judgeCheck(cr, out)
		if r.ok() != c.ok || r.got != c.got || c.ok && (r.probes != c.probes || r.msToAlert != c.ms || r.extra != c.extra) {
			t.Errorf("%s: ok %v got %q probes %d ms %d extra %q (problems %q); want %v %q %d %d %q",
				c.label, r.ok(), r.got, r.probes, r.msToAlert, r.extra, r.problems, c.ok, c.got, c.probes, c.ms, c.extra)
		}
		if c.problem != "" && !slices.Contains(r.problems, c.problem) {
			t.Errorf("%s: problems %q, want %q among them", c.label, r.problems, c.problem)
		}
		if c.ok && !cr.complete(out) {
			t.Errorf("%s: not complete with every alert in", c.label)
		}
	}
}

// Alerts no check owns are listed, the target's as such.
func TestOthers(t *testing.T) {
	ch, p := checkNamed(t, "-sS")
	lines := alertLine("alert", p.sources[0].String(), "syn", 4, "00.500000", "00.513000", nil, "") + "\n" +
		alertLine("alert", targetAddr, "arp", 16, "01.000000", "10.000000", nil, `,"target_count":16,"evidence":"16 ARP requests"`) + "\n"
	out, err := parseSensorOutput(strings.NewReader(lines))
	if err != nil {
		t.Fatal(err)
	}
	rows, others := evaluate([]*checkRun{{check: ch, plan: p, scans: []scanRun{{src: p.sources[0]}}}}, out)
	want := []string{"arp alert from 10.75.0.10 (the target): 16 targets, 16 ARP requests"}
	if len(rows) != 1 || !rows[0].ok() || !slices.Equal(others, want) {
		t.Errorf("rows %+v, others %q; want one ok row and %q", rows, others, want)
	}
}

func plansOf(t *testing.T, label string) plan {
	_, p := checkNamed(t, label)
	return p
}

// Every check scans from sources of its own to targets of its own, so
// that they can run at once and the sensor tells them apart.
func TestPlansApart(t *testing.T) {
	plans := makePlans(checks, "vetha", "vethb")
	sources, targets := map[netip.Addr]string{}, map[netip.Addr]string{}
	for i, p := range plans {
		c := &checks[i]
		if len(p.sources) != max(1, len(c.split)) {
			t.Errorf("%s: %d sources", c.label, len(p.sources))
		}
		for _, s := range p.sources {
			if other, dup := sources[s]; dup {
				t.Errorf("%s and %s share source %s", c.label, other, s)
			}
			sources[s] = c.label
			in := netip.MustParsePrefix(subnet).Contains(s) || netip.MustParsePrefix(subnet6).Contains(s)
			if c.on == overlay {
				in = netip.MustParsePrefix(overlaySubnet).Contains(s)
			}
			if s.Is6() != c.v6 || !in {
				t.Errorf("%s: source %s", c.label, s)
			}
		}
		for _, a := range append(slices.Clone(p.targets), p.decoys...) {
			if other, dup := targets[a]; dup {
				t.Errorf("%s and %s share target or decoy %s", c.label, other, a)
			}
			targets[a] = c.label
		}
		if want := max(1, c.hosts); len(p.targets) != want {
			t.Errorf("%s: %d targets, want %d", c.label, len(p.targets), want)
		}
		if len(p.route) == 0 || p.route[len(p.route)-1] != p.sources[0].String() {
			t.Errorf("%s: route %q does not prefer source %s", c.label, p.route, p.sources[0])
		}
		if c.decoys == decoysPresent && !slices.Contains(p.attackerHold, p.decoys[0]) ||
			c.decoys == decoysAbsent && (slices.Contains(p.attackerHold, p.decoys[0]) || slices.Contains(p.hold, p.decoys[0])) {
			t.Errorf("%s: decoys %v held wrongly", c.label, p.decoys)
		}
	}
	for a := range sources {
		if _, dup := targets[a]; dup {
			t.Errorf("%s is a source and a target", a)
		}
	}
	_, p := checkNamed(t, "-sU")
	if p.spec != targetAddr {
		t.Errorf("-sU scans %s, want the target's first address %s (the UDP services answer from it)", p.spec, targetAddr)
	}
	_, p = checkNamed(t, "horizontal")
	if p.spec != "10.76.20.1-32" || len(p.hold) != sweepHeld || p.route[2] != "via" {
		t.Errorf("horizontal: spec %s, holds %d, route %q", p.spec, len(p.hold), p.route)
	}
}

func TestAddrCommands(t *testing.T) {
	got := addrCommands([]netip.Addr{netip.MustParseAddr("10.75.0.21"), netip.MustParseAddr("fd75::15")}, "v", true)
	want := []string{"addr add 10.75.0.21/24 dev v", "addr add fd75::15/64 dev v nodad"}
	if !slices.Equal(got, want) {
		t.Errorf("subnet: %q, want %q", got, want)
	}
	got = addrCommands([]netip.Addr{netip.MustParseAddr("10.76.3.1")}, "v", false)
	if want := []string{"addr add 10.76.3.1/32 dev v"}; !slices.Equal(got, want) {
		t.Errorf("host: %q, want %q", got, want)
	}
}

func TestReport(t *testing.T) {
	rows := []row{
		{label: "-sS", want: "syn", detected: true, got: "syn", probes: 4, msToAlert: 2, compare: true, scanOpen: []uint16{22}, sensorOpen: []uint16{22}},
		{label: "-sW", want: "ack", got: "custom", problems: []string{"type custom, want ack"}},
		{label: "-sM", want: "maimon", problems: []string{"no alert"}},
		{label: "-D", want: "syn", detected: true, got: "syn", probes: 4, extra: "decoys 10.75.0.200-202 named, real 10.75.0.34 found"},
		{label: "-sV (nmap)", want: "version", skipped: "skipped: nmap is not installed"},
	}
	var b bytes.Buffer
	counters := &sensor.Counters{Capture: capture.Stats{KernelSeen: 18725, KernelPassed: 18709, KernelDropped: 16, Received: 18709}}
	if failed := writeReport(&b, rows, []string{"arp alert from 10.75.0.10 (the target): 16 targets, 16 ARP requests"}, counters); failed != 2 {
		t.Errorf("failed rows %d, want 2", failed)
	}
	if n := countSkipped(rows); n != 1 {
		t.Errorf("skipped %d, want 1", n)
	}
	if n := countDetected(rows); n != 2 {
		t.Errorf("detected %d, want 2", n)
	}
	report := b.String()
	for _, s := range []string{
		"CHECK", "MS TO ALERT", "OPEN (SCANNER)", "OPEN (SENSOR)", "ASSERTED",
		"syn/syn ok", "custom/ack FAIL", "-/maimon FAIL", "decoys 10.75.0.200-202 named",
		"-/version", "skipped: nmap is not installed",
		"  -sM: no alert", "  -sW: type custom, want ack",
		"  not a check's: arp alert from 10.75.0.10 (the target): 16 targets",
		"sensor: kernel seen 18725, passed 18709, filtered out 16; ring lost 0; received 18709",
	} {
		if !strings.Contains(report, s) {
			t.Errorf("report lacks %q:\n%s", s, report)
		}
	}
	for _, line := range strings.Split(report, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "-D" && f[len(f)-1] != "ok" {
			t.Errorf("-D row: %q", line)
		}
	}
}

func TestParseScanJSON(t *testing.T) {
	r := scanRun{src: netip.MustParseAddr("10.75.0.21")}
	err := parseScanJSON([]byte(`{"source":"10.75.0.21","probes_sent":7,"hosts":[{"addr":"10.75.0.100","up":true,"ports":[{"port":80,"state":"open"},{"port":22,"state":"open"},{"port":23,"state":"closed"}]}]}`), &r)
	if err != nil || r.probes != 7 || len(r.hosts) != 1 || !slices.Equal(r.hosts[0].open, []uint16{22, 80}) {
		t.Errorf("parsed %+v, %v", r, err)
	}
	for in, want := range map[string]string{
		`{"source":"10.75.0.2","hosts":[]}`:                                "scanned from 10.75.0.2, not 10.75.0.21",
		`{"hosts":[{"addr":"10.76.0.1","error":"no route to 10.76.0.1"}]}`: "10.76.0.1: no route",
		`not json`: "scan result",
	} {
		if err := parseScanJSON([]byte(in), &scanRun{src: r.src}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}

func TestParseNmapXML(t *testing.T) {
	const x = `<?xml version="1.0" encoding="UTF-8"?>
<nmaprun scanner="nmap" args="nmap -sV" version="7.93">
<host><status state="up" reason="user-set"/><address addr="10.75.0.124" addrtype="ipv4"/>
<ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/><service name="ssh" product="OpenSSH" version="9.2p1"/></port>
<port protocol="tcp" portid="23"><state state="closed" reason="conn-refused"/></port>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack"/></port></ports></host>
</nmaprun>`
	var r scanRun
	if err := parseNmapXML([]byte(x), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.hosts) != 1 || r.hosts[0].addr != netip.MustParseAddr("10.75.0.124") || !r.hosts[0].up || !slices.Equal(r.hosts[0].open, []uint16{22, 80}) ||
		!slices.Equal(r.hosts[0].services, []string{"ssh OpenSSH"}) {
		t.Errorf("parsed %+v", r.hosts)
	}
}

func TestAddrRange(t *testing.T) {
	a := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, x := range s {
			out = append(out, netip.MustParseAddr(x))
		}
		return out
	}
	for _, c := range []struct {
		in   []netip.Addr
		want string
	}{
		{a("10.75.0.200", "10.75.0.201", "10.75.0.202"), "10.75.0.200-202"},
		{a("10.75.0.200", "10.75.0.202"), "10.75.0.200,10.75.0.202"},
		{a("10.75.0.200"), "10.75.0.200"},
		{a("fd75::1", "fd75::2"), "fd75::1,fd75::2"},
	} {
		if got := addrRange(c.in); got != c.want {
			t.Errorf("addrRange(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

// The self-test's rules are the defaults but the SYN window.
func TestSelftestRules(t *testing.T) {
	r, err := selftestRules()
	if err != nil {
		t.Fatal(err)
	}
	def := rules.Default()
	for tc := range technique.Count {
		got, want := r.Threshold(tc), def.Threshold(tc)
		if tc == technique.Syn || tc == technique.Connect {
			want.Window = synWindow
		}
		if got != want {
			t.Errorf("%s: threshold %+v, want %+v", tc, got, want)
		}
	}
}

func TestStaleOwner(t *testing.T) {
	for name, want := range map[string]int{
		"swself-1234-a": 1234, "swself-99-b": 99,
		"swself-1234-c": 0, "swself--a": 0, "swselfx-12-a": 0, "swlead-a": 0, "swself-12x-a": 0,
	} {
		pid, ok := staleOwner(name)
		if (want != 0) != ok || pid != want && ok {
			t.Errorf("staleOwner(%q) = %d, %v; want %d", name, pid, ok, want)
		}
	}
}

// Run rejects bad options before it looks at the machine (no root needed).
func TestRunOptions(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Exe: "/bin/true", Capture: "xdp"}, `capture must be ebpf or cbpf, not "xdp"`},
		{Options{}, "Options.Exe is empty"},
	} {
		err := Run(context.Background(), tc.opts, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Run(%+v) = %v, want an error with %q", tc.opts, err, tc.want)
		}
	}
}
