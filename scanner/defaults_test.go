//go:build linux

package scanner

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// scanArgsInNetns parses a scanwatch command line as the command does and
// runs it in the attacker namespace.
func (tn *testNet) scanArgsInNetns(tb testing.TB, args ...string) scanResult {
	tb.Helper()
	o, err := ParseArgs(args)
	if err != nil {
		tb.Fatalf("%q: %v", args, err)
	}
	targets, _, err := ExpandTargets(context.Background(), o.TargetSpecs, o.Exclude)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := o.Config
	cfg.Targets = targets
	res, errText := tn.runInNetns(tb, cfg, 0)
	if errText != "" {
		tb.Fatalf("%q: %s", args, errText)
	}
	return res
}

// statesOf maps a host's ports of one protocol to states.
func statesOf(res scanResult, addr netip.Addr, proto string) map[uint16]PortState {
	for _, h := range res.Hosts {
		if h.Addr == addr {
			return h.States(proto)
		}
	}
	return nil
}

// TestDefaultsLikeNmap: with no port options, a SYN and UDP scan in one
// run covers nmap's default ports (the 1000 most common of each protocol)
// with the same state for each, host discovery included.
func TestDefaultsLikeNmap(t *testing.T) {
	if testing.Short() {
		t.Skip("scans a namespace with scanwatch and nmap; skipped with -short")
	}
	needRoot(t, "nmap")
	tn := setupNet(t)
	ours := tn.scanArgsInNetns(t, "-sS", "-sU", target4.String())
	theirs, took := tn.nmapRun(t, "-sS", "-sU", target4.String())
	nh := theirs[target4]
	if nh == nil || !nh.up {
		t.Fatalf("nmap: target not up: %+v", nh)
	}
	for _, proto := range []string{"tcp", "udp"} {
		if n := len(nh.ports[proto]); n != DefaultPorts {
			t.Errorf("nmap scanned %d %s ports, want %d", n, proto, DefaultPorts)
		}
		compareStates(t, "default "+proto, statesOf(ours, target4, proto), nh.ports[proto])
	}
	t.Logf("-sS -sU, default ports: scanwatch %.2fs, nmap %.2fs", ours.Seconds, took.Seconds())
}

// TestUDPRateLimitedLikeNmap: against a target that rate-limits its ICMP
// port unreachables (Linux's default is one per second; here 20 per second
// so the test is short), the UDP scan slows down until the unreachables come, and calls
// the closed ports closed, as nmap does, not open|filtered.
// (At Linux's default rate both tools take about 100 s.)
func TestUDPRateLimitedLikeNmap(t *testing.T) {
	if testing.Short() {
		t.Skip("a rate-limited UDP scan takes ~5-10 s per tool; skipped with -short")
	}
	needRoot(t, "nmap")
	tn := setupNet(t)
	tn.Sysctl(tn.B.NS, "net.ipv4.icmp_ratelimit", "50")
	tn.Sysctl(tn.B.NS, "net.ipv4.icmp_msgs_per_sec", "1000")
	tn.Sysctl(tn.B.NS, "net.ipv4.icmp_msgs_burst", "50")
	ours := tn.scanArgsInNetns(t, "-sU", "--top-ports", "100", target4.String())
	theirs, took := tn.nmapRun(t, "-sU", "--top-ports", "100", target4.String())
	got := statesOf(ours, target4, "udp")
	compareStates(t, "-sU --top-ports 100, rate-limited", got, theirs[target4].ports["udp"])
	closed := 0
	for _, s := range got {
		if s == Closed {
			closed++
		}
	}
	if closed < 90 {
		t.Errorf("only %d of 100 ports closed", closed)
	}
	t.Logf("-sU --top-ports 100 against 20 unreachables/s: scanwatch %.2fs (%d probes, %d retransmits), nmap %.2fs",
		ours.Seconds, ours.ProbesSent, ours.Retransmits, took.Seconds())
}

// TestDiscoveryLikeNmap: host discovery finds the same hosts as nmap -sn,
// by ARP/ND on the local link and by each IP probe type without it.
func TestDiscoveryLikeNmap(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out absent hosts with both tools; skipped with -short")
	}
	needRoot(t, "nmap")
	tn := setupNet(t)
	second := netip.MustParseAddr("10.79.0.3")
	tn.AddAddr(tn.B.NS, second)
	for _, args := range [][]string{
		{"10.79.0.0/29"},
		{"--disable-arp-ping", "10.79.0.0/29"},
		{"--disable-arp-ping", "-PE", "10.79.0.2-4"},
		{"--disable-arp-ping", "-PS22", "-PA80", "10.79.0.2-4"},
		{"--disable-arp-ping", "-PU", "10.79.0.2-4"},
		{"--disable-arp-ping", "-PP", "10.79.0.2-4"},
		{"-6", "fd79::/126"},
		{"-6", "--disable-arp-ping", "fd79::/126"},
	} {
		nargs := slices.Clone(args)
		ourArgs := slices.DeleteFunc(slices.Clone(args), func(a string) bool { return a == "-6" })
		ours := tn.scanArgsInNetns(t, append([]string{"-sn"}, ourArgs...)...)
		theirs, took := tn.nmapRun(t, append([]string{"-sn"}, nargs...)...)
		// The hosts must agree; the reason is whichever probe's answer
		// came first, a race for both tools.
		var ourUp, theirUp, reasons []string
		for _, h := range ours.Hosts {
			if h.Up {
				ourUp = append(ourUp, h.Addr.String())
				reasons = append(reasons, h.Addr.String()+" "+h.Reason)
			}
		}
		for a, h := range theirs {
			if h.up {
				theirUp = append(theirUp, a.String())
				reasons = append(reasons, "nmap "+a.String()+" "+h.reason)
			}
		}
		slices.Sort(ourUp)
		slices.Sort(theirUp)
		if !slices.Equal(ourUp, theirUp) {
			t.Errorf("-sn %s: up: scanwatch %q, nmap %q", strings.Join(args, " "), ourUp, theirUp)
		}
		t.Logf("-sn %s: scanwatch %.2fs, nmap %.2fs; %s", strings.Join(args, " "), ours.Seconds, took.Seconds(), strings.Join(reasons, ", "))
	}
}
