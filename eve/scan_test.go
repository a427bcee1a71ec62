package eve

import (
	"net/netip"
	"testing"

	"github.com/scanwatch/scanwatch/detector"
)

func TestSummary(t *testing.T) {
	a := netip.MustParseAddr
	hosts := []netip.Addr{a("10.0.0.10"), a("10.0.0.11")}
	for _, tc := range []struct {
		s    detector.Scan
		want string
	}{
		{detector.Scan{Type: "syn", Targets: hosts[:1], TargetCount: 1, PortCount: 1024, Ports: "1-1024", OpenPorts: []uint16{22, 80}},
			"syn scan of 10.0.0.10, 1024 ports, open 22,80"},
		{detector.Scan{Type: "syn", Targets: hosts, TargetCount: 254, PortCount: 1, Ports: "22"},
			"syn scan of 10.0.0.10 and 253 other hosts, port 22"},
		{detector.Scan{Type: "udp", Targets: hosts, TargetCount: 2, PortCount: 2, Ports: "53,161", OpenPorts: []uint16{53}},
			"udp scan of 10.0.0.10 and 1 other host, 2 ports, open 53"},
		{detector.Scan{Type: "ping", Targets: hosts, TargetCount: 31}, "ping sweep of 10.0.0.10 and 30 other hosts"},
		{detector.Scan{Type: "arp", Scanner: a("10.0.0.2"), Targets: hosts[:1], TargetCount: 1}, "ARP sweep of 10.0.0.10"},
		{detector.Scan{Type: "arp", Scanner: a("fd77::2"), Targets: []netip.Addr{a("fd77::1")}, TargetCount: 16},
			"neighbour discovery sweep of fd77::1 and 15 other hosts"},
		{detector.Scan{Type: "ipproto", Targets: hosts[:1], TargetCount: 1, PortCount: 1, Ports: "6"}, "ipproto scan of 10.0.0.10, 1 protocol"},
		{detector.Scan{Type: "osprobe", Targets: hosts[:1], TargetCount: 1, PortCount: 8, Ports: "T1,T2", OpenPorts: []uint16{22}},
			"OS fingerprinting of 10.0.0.10, 8 probe kinds, open 22"},
	} {
		if got := Summary(tc.s); got != tc.want {
			t.Errorf("Summary = %q, want %q", got, tc.want)
		}
	}
}
