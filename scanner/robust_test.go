//go:build linux

package scanner

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestUnroutableTargetSkipped: a target without a route is reported, and
// the targets around it are still scanned, by raw and connect scans alike.
func TestUnroutableTargetSkipped(t *testing.T) {
	needRoot(t)
	tn := setupNet(t)
	nowhere := netip.MustParseAddr("10.200.0.1") // the namespaces have no default route
	for _, tech := range []Technique{SYN, Connect, UDP} {
		ports := []uint16{22, 80, 1}
		if tech == UDP {
			ports = []uint16{53, 1}
		}
		cfg := testConfig(tech, ports, 0, target4, nowhere, target6)
		res, errText := tn.runInNetns(t, cfg, 0)
		if errText != "" {
			t.Errorf("%s: scan failed: %s", tech, errText)
		}
		if len(res.Hosts) != 3 || res.Hosts[1].Addr != nowhere {
			t.Fatalf("%s: hosts %+v, want 3 in target order", tech, res.Hosts)
		}
		for i, h := range res.Hosts {
			switch {
			case i == 1 && (!strings.Contains(h.Error, "unreachable") || len(h.Ports) > 0 && h.Ports[0].State != Filtered):
				t.Errorf("%s: unroutable host: %+v", tech, h)
			case i != 1 && (h.Error != "" || len(h.Ports) != len(ports) || h.States(tech.Proto())[1] != Closed):
				t.Errorf("%s: host %s: %+v", tech, h.Addr, h)
			}
		}
	}
}

// TestInterruptKeepsResults: cancelling a scan returns the ports answered
// so far, each with its true state, and leaves out the rest.
func TestInterruptKeepsResults(t *testing.T) {
	needRoot(t)
	tn := setupNet(t)
	ports, _ := ParsePorts("-")
	for _, tech := range []Technique{SYN, Connect} {
		cfg := testConfig(tech, ports, 2000, target4)
		start := time.Now()
		res, errText := tn.runInNetns(t, cfg, 700*time.Millisecond)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s: cancelled scan took %v", tech, took)
		}
		if !strings.Contains(errText, context.Canceled.Error()) || !res.Interrupted {
			t.Errorf("%s: error %q, interrupted %v; want the context's error", tech, errText, res.Interrupted)
		}
		if len(res.Hosts) != 1 {
			t.Fatalf("%s: %d hosts", tech, len(res.Hosts))
		}
		got := res.Hosts[0].Ports
		if len(got) < 100 || len(got) >= len(ports) {
			t.Errorf("%s: %d ports reported after the interrupt, want some but not all", tech, len(got))
		}
		for _, p := range got {
			want := Closed
			if slices.Contains(openTCP, p.Port) {
				want = Open
			} else if p.Port == dropTCP || p.Port == rejectTCP {
				want = Filtered
			}
			if p.State != want {
				t.Errorf("%s: port %d is %v, want %v", tech, p.Port, p.State, want)
			}
		}
	}
}
