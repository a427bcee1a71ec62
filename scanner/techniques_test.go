//go:build linux

package scanner

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestTechniquesLikeNmap runs the techniques and evasions the sensor
// detects with both tools against the namespace target and requires the
// same state for every port: SCTP INIT and COOKIE ECHO (this kernel may
// have no SCTP: then every port is filtered for both), the IP protocol
// scan, fragments, decoys, a spoofed source, a fixed source port with
// padding and a TTL, bad checksums, a scan delay, over IPv4 and IPv6.
func TestTechniquesLikeNmap(t *testing.T) {
	if testing.Short() {
		t.Skip("scans a namespace with scanwatch and nmap; skipped with -short")
	}
	needRoot(t, "nmap")
	tn := setupNet(t)
	spoof := netip.MustParseAddr("10.79.0.5")
	tn.AddAddr(tn.A.NS, spoof)
	const ports = "21-23,80-82,443,8080"
	for _, tc := range []struct {
		args   []string // for both tools, before the target
		proto  string
		target netip.Addr
	}{
		{[]string{"-sY", "-p", "80,2905,3868"}, "sctp", target4},
		{[]string{"-sZ", "-p", "80,2905"}, "sctp", target4},
		{[]string{"-sO", "-p", "1,2,4,6,17,41,47,50,132,255"}, "ip", target4},
		{[]string{"-sO", "-p", "6,17,47,58"}, "ip", target6},
		{[]string{"-sS", "-f", "-p", ports}, "tcp", target4},
		{[]string{"-sS", "-D", "10.79.0.50,ME,10.79.0.51", "-p", ports}, "tcp", target4},
		{[]string{"-sS", "-D", "fd79::50,fd79::51", "-p", ports}, "tcp", target6},
		{[]string{"-sS", "-Pn", "-S", spoof.String(), "-e", tn.A.Veth, "-p", ports}, "tcp", target4},
		{[]string{"-sU", "-g", "53", "--data-length", "20", "--ttl", "33", "-p", "53,161,162,163,1000"}, "udp", target4},
		{[]string{"-sS", "--badsum", "--max-retries", "1", "-p", "22,80,1000"}, "tcp", target4},
		{[]string{"-sA", "--scan-delay", "5ms", "-p", ports}, "tcp", target6},
	} {
		name := strings.Join(tc.args, " ") + " " + tc.target.String()
		ours := tn.scanArgsInNetns(t, append(slices.Clone(tc.args), tc.target.String())...)
		nargs := slices.Clone(tc.args)
		if tc.target.Is6() {
			nargs = append(nargs, "-6")
		}
		theirs, took := tn.nmapRun(t, append(nargs, tc.target.String())...)
		nh := theirs[tc.target]
		if nh == nil {
			t.Errorf("%s: nmap did not report the target", name)
			continue
		}
		got := statesOf(ours, tc.target, tc.proto)
		compareStates(t, name, got, nh.ports[tc.proto])
		t.Logf("%s: %v; scanwatch %.2fs, nmap %.2fs", name, got, ours.Seconds, took.Seconds())
	}
	// nmap refuses to fragment IPv6; scanwatch sends fragment headers (the
	// first with the whole TCP header, which RFC 7112 requires) and the
	// target reassembles them.
	ours := tn.scanArgsInNetns(t, "-sS", "-f", "--data-length", "24", "-p", ports, target6.String())
	want := map[uint16]PortState{21: Closed, 22: Open, 23: Closed, 80: Open, 81: Filtered, 82: Filtered, 443: Open, 8080: Open}
	if !tn.firewall {
		want[81], want[82] = Closed, Closed
	}
	compareStates(t, "-sS -f --data-length 24 -6", statesOf(ours, target6, "tcp"), want)
}
