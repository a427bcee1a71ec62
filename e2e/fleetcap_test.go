package e2e

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// The fleet sweep: one scanner probes ports 22, 80 and 443 of every server
// (nmap -sS over the fleet); each server's capture holds only its own three
// probes and their answers, plus a monitoring client that fetches a page
// from every server. No server alone sees a scan.
var (
	sweeper    = netip.MustParseAddr("203.0.113.66")
	monitor    = netip.MustParseAddr("10.50.1.5")
	sweepPorts = []uint16{22, 80, 443}
)

func fleetServer(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 50, 0, byte(10 + i)}) }

func sensorName(i int) string { return fmt.Sprintf("web-%02d", i) }

// capWriter writes Ethernet frames of one server's capture.
type capWriter struct {
	t   *testing.T
	w   *pcapgo.Writer
	now time.Time
}

func (c *capWriter) tcp(src, dst netip.Addr, sport, dport uint16, seq, ack uint32, flags string, payload []byte, crafted bool) {
	c.t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice()), Flags: layers.IPv4DontFragment, Id: uint16(seq)}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: seq, Ack: ack, Window: 64240}
	if crafted { // nmap's SYN: window 1024, MSS only, no DF, TTL in 37-59
		ip.TTL, ip.Flags, ip.Id = 45, 0, 31337
		tcp.Window = 1024
		tcp.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}}
	}
	for _, f := range flags {
		switch f {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK = true
		case 'R':
			tcp.RST = true
		case 'F':
			tcp.FIN = true
		case 'P':
			tcp.PSH = true
		}
	}
	tcp.SetNetworkLayerForChecksum(ip)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		c.t.Fatal(err)
	}
	b := buf.Bytes()
	if err := c.w.WritePacket(gopacket.CaptureInfo{Timestamp: c.now, CaptureLength: len(b), Length: len(b)}, b); err != nil {
		c.t.Fatal(err)
	}
	c.now = c.now.Add(300 * time.Microsecond)
}

// writeSweepCaptures writes one capture per server and returns their paths.
func writeSweepCaptures(t *testing.T, dir string, servers int, t0 time.Time) []string {
	t.Helper()
	var paths []string
	for i := range servers {
		p := filepath.Join(dir, sensorName(i)+".pcap")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		w := pcapgo.NewWriter(f)
		if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
			t.Fatal(err)
		}
		c := &capWriter{t: t, w: w, now: t0.Add(time.Duration(i) * 40 * time.Millisecond)}
		server := fleetServer(i)
		// The monitoring client fetches a page now and then (benign
		// exchanges); between two fetches, the sweep's three probes: 22
		// open (SYN-ACK, then the scanner's RST), 80 and 443 closed
		// (RST-ACK). The last fetch comes 10s later, so the probes' reply
		// timers run out on packet time.
		for round := range 3 {
			c.fetch(server, uint16(40000+10*i+round))
			if round == 1 {
				c.probes(server)
				c.now = c.now.Add(10 * time.Second)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// fetch is one monitoring request: handshake, request, response, close.
func (c *capWriter) fetch(server netip.Addr, cport uint16) {
	cseq, sseq := uint32(1000+cport), uint32(5000+cport)
	req := []byte("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	c.tcp(monitor, server, cport, 9100, cseq, 0, "S", nil, false)
	c.tcp(server, monitor, 9100, cport, sseq, cseq+1, "SA", nil, false)
	c.tcp(monitor, server, cport, 9100, cseq+1, sseq+1, "A", nil, false)
	c.tcp(monitor, server, cport, 9100, cseq+1, sseq+1, "PA", req, false)
	cseq, sseq = cseq+1+uint32(len(req)), sseq+1
	c.tcp(server, monitor, 9100, cport, sseq, cseq, "PA", resp, false)
	sseq += uint32(len(resp))
	c.tcp(monitor, server, cport, 9100, cseq, sseq, "FA", nil, false)
	c.tcp(server, monitor, 9100, cport, sseq, cseq+1, "FA", nil, false)
	c.tcp(monitor, server, cport, 9100, cseq+1, sseq+1, "A", nil, false)
	c.now = c.now.Add(200 * time.Millisecond)
}

// probes are the sweep's three probes to one server and their answers.
func (c *capWriter) probes(server netip.Addr) {
	const seq = 0x5eed0001
	for _, port := range sweepPorts {
		c.tcp(sweeper, server, 61234, port, seq, 0, "S", nil, true)
		if port == 22 {
			c.tcp(server, sweeper, port, 61234, 9000, seq+1, "SA", nil, false)
			c.tcp(sweeper, server, 61234, port, seq+1, 0, "R", nil, true)
		} else {
			c.tcp(server, sweeper, port, 61234, 0, seq+1, "RA", nil, false)
		}
	}
}

// TestSweepCaptures checks the generated captures: replayed alone, no
// server's capture holds a scan; replayed together they hold one, the
// sweeper's, and the monitoring client is never reported.
func TestSweepCaptures(t *testing.T) {
	dir := t.TempDir()
	caps := writeSweepCaptures(t, dir, 20, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	replay := func(files ...string) []record {
		out, err := exec.Command(scanwatchBin, append([]string{"replay", "-q"}, files...)...).Output()
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
		return parseRecords(t, out)
	}
	for _, c := range caps {
		if rs := replay(c); len(rs) > 0 {
			t.Errorf("%s alone: %v", filepath.Base(c), rs[0].raw)
		}
	}
	rs := replay(caps...)
	alerts := byType(rs, "alert")
	if len(alerts) != 1 || alerts[0].SrcIP != sweeper.String() || alerts[0].Scan().Type != "syn" {
		t.Fatalf("all together: %d alerts, want the sweeper's SYN scan: %v", len(alerts), rs)
	}
	for _, r := range rs {
		if r.SrcIP == monitor.String() {
			t.Errorf("monitoring client reported: %s", r.raw)
		}
	}
}
