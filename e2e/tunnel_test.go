//go:build linux

package e2e

import (
	"bytes"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/internal/netns"
)

// TestLiveTunnel: an overlay (VXLAN over the pair's veth) where nmap scans
// from A's overlay address while a bulk transfer runs in the overlay too,
// the sensor capturing the underlay on B's veth with the eBPF filter. The
// kernel filter judges the packet inside the tunnel: the scan passes and
// raises its alert, with the overlay's addresses, and the bulk is dropped.
func TestLiveTunnel(t *testing.T) {
	needTools(t, "nmap")
	tb := newTestbed(t, "swltun")
	overA, overB := netip.MustParseAddr("10.81.0.1"), netip.MustParseAddr("10.81.0.2")
	vxlan(t, tb.Pair, tb.A, tb.B, overA)
	vxlan(t, tb.Pair, tb.B, tb.A, overB)
	s := startSensor(t, tb.Pair)

	const bulkBytes = 64 << 20
	sink, sinkOut := startHelper(t, tb.Pair, tb.B.NS, "ready", "sink", strconv.Itoa(bulkPort))
	send := helper(tb.Pair, tb.A.NS, "send", overB.String(), strconv.Itoa(bulkPort), strconv.Itoa(bulkBytes))
	var sendErr bytes.Buffer
	send.Stderr = &sendErr
	tb.StartCmd(send)
	if !waitLine(sinkOut, "flowing", 10*time.Second) {
		t.Fatalf("bulk transfer in the overlay did not start: %s", sendErr.String())
	}
	step := scanStep{
		name: "nmap -sS in VXLAN", src: overA, typ: "syn", open: tcpOpen,
		argv: func(p *netns.Pair) []string {
			return []string{"nmap", "-sS", "-n", "-Pn", "-T4", "--max-retries", "2", "-p", tcpScanPorts, "-e", "vx42", overB.String()}
		},
	}
	runSteps(t, tb.Pair, []scanStep{step})
	if err := send.Wait(); err != nil {
		t.Fatalf("bulk sender: %v: %s", err, sendErr.String())
	}
	if err := sink.Wait(); err != nil {
		t.Fatalf("bulk sink: %v", err)
	}
	if !s.waitAlerts(wantKeys([]scanStep{step}), 15*time.Second) {
		t.Logf("no syn alert from the overlay within 15 s; stopping the sensor to see the rest")
	}
	rs := s.stop()
	checkAlerts(t, rs, []scanStep{step})

	c := finalCounters(t, s)
	ratio := float64(c.received) / float64(max(c.seen, 1))
	t.Logf("kernel seen=%d passed=%d filtered out=%d received=%d: %.2f%% received", c.seen, c.passed, c.filtered, c.received, 100*ratio)
	// 64 MiB in segments of at most 1398 bytes is over 48,000 frames, and
	// the scan about 400.
	if c.seen < bulkBytes/1500 {
		t.Errorf("kernel seen = %d, want at least %d: the bulk did not cross the veth in segments", c.seen, bulkBytes/1500)
	}
	if ratio >= 0.03 {
		t.Errorf("received %d of %d frames (%.2f%%), want under 3%%: the filter passed the overlay's bulk", c.received, c.seen, 100*ratio)
	}
}

// vxlan makes the VXLAN device vx42 (VNI 42, UDP 4789) in from's namespace,
// to to's veth address over from's veth, with the overlay address addr/24.
func vxlan(t *testing.T, p *netns.Pair, from, to netns.End, addr netip.Addr) {
	t.Helper()
	p.Run(from.NS, "ip", "link", "add", "vx42", "type", "vxlan", "id", "42", "dstport", "4789",
		"local", from.Addr.String(), "remote", to.Addr.String(), "dev", from.Veth)
	p.Run(from.NS, "ip", "addr", "add", addr.String()+"/24", "dev", "vx42")
	p.Run(from.NS, "ip", "link", "set", "vx42", "up")
}
