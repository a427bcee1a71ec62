package bpf

import (
	"os"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/gopacket/gopacket/layers"

	"github.com/scanwatch/scanwatch/internal/kernelver"
)

var testPatterns = []Pattern{
	{Mask: 0x3f, Value: 0x00}, // null
	{Mask: 0x3f, Value: 0x29}, // xmas: FIN PSH URG
	{Mask: 0x3f, Value: 0x11}, // maimon: FIN ACK
}

// needRoot skips when the test cannot load eBPF programs, saying why.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root (loads eBPF programs, opens packet sockets); run `sudo go test ./bpf`")
	}
}

// loadTest loads the filter. It skips on a kernel older than MinKernel;
// on any other, a failure to load (a verifier rejection included) fails the
// test.
func loadTest(t testing.TB, o Options) *Filter {
	t.Helper()
	needRoot(t)
	kernelver.SkipOnOldKernel(t, MinKernel, "the eBPF socket filter")
	f, err := LoadOptions(o)
	if err != nil {
		t.Fatalf("load on a kernel that must run it: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// run feeds one frame to the program with BPF_PROG_TEST_RUN and returns its
// verdict (bytes to keep, 0 = drop).
//
// For socket filters the kernel's test run (bpf_prog_test_run_skb) calls
// eth_type_trans() on the input, which sets skb->protocol and pulls the first
// 14 bytes, so the program sees the data from the network header on, the way
// a SOCK_DGRAM packet socket shows it. A SOCK_RAW packet socket instead shows
// the program the frame from its link header. So for the raw (Ethernet) mode
// the frame is prefixed with a 14-byte dummy header for the kernel to pull;
// TestTestRunPullsLinkHeader checks this.
func run(t testing.TB, f *Filter, cooked bool, frame []byte) uint32 {
	t.Helper()
	data := frame
	if !cooked {
		data = append(make([]byte, 14), frame...)
	}
	ret, err := f.objs.ScanwatchFilter.Run(&ebpf.RunOptions{Data: data})
	if err != nil {
		t.Fatalf("test run: %v", err)
	}
	return ret
}

func TestTestRunPullsLinkHeader(t *testing.T) {
	f := loadTest(t, Options{})
	syn := tcpFrame(t, seg{sport: 40000, dport: 80, flags: fSYN})
	// Without the dummy header the program reads the IP source address
	// (10.78 = 0x0a4e) where it expects the ethertype, and drops.
	ret, err := f.objs.ScanwatchFilter.Run(&ebpf.RunOptions{Data: syn})
	if err != nil {
		t.Fatal(err)
	}
	if ret != 0 {
		t.Errorf("SYN without a dummy link header: got %d, want 0 (the kernel did not pull 14 bytes?)", ret)
	}
	if got := run(t, f, false, syn); got == 0 {
		t.Errorf("SYN with a dummy link header dropped")
	}
}

type step struct {
	name  string
	frame []byte
	pass  bool
	keep  uint32 // exact bytes kept if non-zero (relative to the program's data start)
}

func runSteps(t *testing.T, f *Filter, cooked bool, steps []step) {
	t.Helper()
	for _, s := range steps {
		got := run(t, f, cooked, s.frame)
		if (got != 0) != s.pass {
			t.Errorf("%s: returned %d, want pass=%v", s.name, got, s.pass)
			continue
		}
		if s.keep != 0 && got != s.keep {
			t.Errorf("%s: kept %d bytes, want %d", s.name, got, s.keep)
		}
		if got > DefaultSnaplen {
			t.Errorf("%s: kept %d bytes, more than snaplen %d", s.name, got, DefaultSnaplen)
		}
	}
}

// tcpSteps is the TCP behaviour, the same in both modes. hdr is the link
// header length the program sees.
func tcpSteps(t *testing.T, hdr uint32, v6 bool) []step {
	ipLen := uint32(20)
	if v6 {
		ipLen = 40
	}
	keep := hdr + ipLen + 20 + 32 // headers + slack
	s := func(sport uint16, flags uint8, payload int, reverse bool) []byte {
		return tcpFrame(t, seg{v6: v6, sport: sport, dport: 80, flags: flags, payload: payload, reverse: reverse})
	}
	return []step{
		{name: "SYN", frame: s(1001, fSYN, 0, false), pass: true, keep: keep},
		{name: "SYN-ACK", frame: s(1001, fSYN|fACK, 0, true), pass: true, keep: keep},
		{name: "RST", frame: s(1002, fRST, 0, false), pass: true},
		{name: "RST-ACK", frame: s(1002, fRST|fACK, 0, true), pass: true},
		{name: "FIN", frame: s(1003, fFIN, 0, false), pass: true},
		{name: "SYN with 1400 bytes payload is cut to the headers", frame: s(1004, fSYN, 1400, false), pass: true, keep: keep},
		// Established flow, as from a capture started mid-stream: the
		// first packet passes, and the first with payload each way.
		{name: "first ACK+payload of a flow", frame: s(2001, fACK|fPSH, 1000, false), pass: true},
		{name: "second ACK+payload", frame: s(2001, fACK|fPSH, 1000, false), pass: false},
		{name: "pure ACK back", frame: s(2001, fACK, 0, true), pass: false},
		{name: "first payload back", frame: s(2001, fACK, 500, true), pass: true},
		{name: "second payload back", frame: s(2001, fACK, 500, true), pass: false},
		{name: "pure ACK again", frame: s(2001, fACK, 0, false), pass: false},
		{name: "FIN-ACK closing passes", frame: s(2001, fFIN|fACK, 0, false), pass: true},
		// ACK probe: one per flow.
		{name: "ACK probe", frame: s(3001, fACK, 0, false), pass: true},
		{name: "ACK probe repeated", frame: s(3001, fACK, 0, false), pass: false},
		// Probes by pattern, on a known flow so that only the pattern
		// can pass them.
		{name: "NULL on a known flow", frame: s(2001, 0, 0, false), pass: true},
		{name: "Xmas", frame: s(2001, fFIN|fPSH|fURG, 0, false), pass: true},
		{name: "Maimon", frame: s(2001, fFIN|fACK, 0, false), pass: true},
		{name: "URG-ACK (no pattern) on a known flow", frame: s(2001, fURG|fACK, 0, false), pass: false},
	}
}

// filterModes are the two sockets the filter runs on: a raw one, where the
// program sees the link header (hdr bytes), and a cooked one, where it sees
// the network header first.
var filterModes = []struct {
	name   string
	cooked bool
	hdr    uint32
}{{"ethernet", false, 14}, {"cooked", true, 0}}

func TestTCP(t *testing.T) {
	for _, mode := range filterModes {
		for _, v6 := range []bool{false, true} {
			name := mode.name + "/ipv4"
			if v6 {
				name = mode.name + "/ipv6"
			}
			t.Run(name, func(t *testing.T) {
				f := loadTest(t, Options{Patterns: testPatterns, Cooked: mode.cooked})
				runSteps(t, f, mode.cooked, tcpSteps(t, mode.hdr, v6))
			})
		}
	}
}

func TestPatternUpdate(t *testing.T) {
	f := loadTest(t, Options{Patterns: testPatterns})
	urgAck := func() []byte { return tcpFrame(t, seg{sport: 5000, dport: 443, flags: fURG | fACK}) }
	if run(t, f, false, urgAck()) == 0 {
		t.Fatal("first URG-ACK of a flow dropped")
	}
	if run(t, f, false, urgAck()) != 0 {
		t.Fatal("second URG-ACK of a flow passed before the pattern was added")
	}
	before, _ := f.Counters()
	if err := f.SetPatterns(append(testPatterns, Pattern{Mask: 0xff, Value: fURG | fACK})); err != nil {
		t.Fatal(err)
	}
	if run(t, f, false, urgAck()) == 0 {
		t.Fatal("URG-ACK dropped after its pattern was added")
	}
	after, _ := f.Counters()
	if after.TCPPattern != before.TCPPattern+1 {
		t.Errorf("TCPPattern %d -> %d, want +1", before.TCPPattern, after.TCPPattern)
	}
	if err := f.SetPatterns([]Pattern{{Mask: 0x0f, Value: 0x10}}); err == nil {
		t.Error("pattern with value bits outside its mask accepted")
	}
}

func TestOtherProtocols(t *testing.T) {
	f := loadTest(t, Options{Patterns: testPatterns})
	udp := func(sport uint16, reverse bool) []byte {
		return udpFrame(t, seg{sport: sport, dport: 53, payload: 30, reverse: reverse})
	}
	hop := withHopByHop(tcpFrame(t, seg{v6: true, sport: 7001, dport: 22, flags: fSYN}))
	runSteps(t, f, false, []step{
		{name: "VLAN SYN", frame: tcpFrame(t, seg{vlans: []uint16{10}, sport: 6001, dport: 80, flags: fSYN}), pass: true, keep: 18 + 20 + 20 + 32},
		{name: "QinQ SYN", frame: tcpFrame(t, seg{vlans: []uint16{10, 20}, sport: 6002, dport: 80, flags: fSYN}), pass: true, keep: 22 + 20 + 20 + 32},
		{name: "VLAN bulk ACK, first", frame: tcpFrame(t, seg{vlans: []uint16{10}, sport: 6003, dport: 80, flags: fACK, payload: 1000}), pass: true},
		{name: "VLAN bulk ACK, second", frame: tcpFrame(t, seg{vlans: []uint16{10}, sport: 6003, dport: 80, flags: fACK, payload: 1000}), pass: false},
		{name: "IPv6 hop-by-hop SYN", frame: hop, pass: true, keep: 14 + 40 + 8 + 20 + 32},
		{name: "UDP first", frame: udp(9001, false), pass: true, keep: 14 + 20 + 8 + 32},
		{name: "UDP second, same way", frame: udp(9001, false), pass: false},
		{name: "UDP reply", frame: udp(9001, true), pass: true},
		{name: "UDP second reply", frame: udp(9001, true), pass: false},
		{name: "UDP v6 first", frame: udpFrame(t, seg{v6: true, sport: 9002, dport: 161}), pass: true},
		{name: "ICMP echo request", frame: icmp4Frame(t, 8, 0), pass: true},
		{name: "ICMP port unreachable", frame: icmp4Frame(t, 3, 3), pass: true},
		{name: "ICMP protocol unreachable", frame: icmp4Frame(t, 3, 2), pass: true},
		{name: "ICMP router advertisement", frame: icmp4Frame(t, 9, 0), pass: false},
		{name: "ICMPv6 echo request", frame: icmp6Frame(t, 128, 0), pass: true},
		{name: "ICMPv6 port unreachable", frame: icmp6Frame(t, 1, 4), pass: true},
		{name: "ICMPv6 router advertisement", frame: icmp6Frame(t, 134, 0), pass: false},
		{name: "SCTP INIT", frame: sctpFrame(t, seg{sport: 9100, dport: 80}, 1), pass: true},
		{name: "SCTP INIT again", frame: sctpFrame(t, seg{sport: 9100, dport: 80}, 1), pass: true},
		{name: "SCTP INIT-ACK", frame: sctpFrame(t, seg{sport: 9100, dport: 80, reverse: true}, 2), pass: true},
		{name: "SCTP ABORT", frame: sctpFrame(t, seg{sport: 9100, dport: 80, reverse: true}, 6), pass: true},
		{name: "SCTP DATA first", frame: sctpFrame(t, seg{sport: 9101, dport: 80}, 0), pass: true},
		{name: "SCTP DATA second", frame: sctpFrame(t, seg{sport: 9101, dport: 80}, 0), pass: false},
		{name: "ARP", frame: arpFrame(t), pass: true},
		{name: "IPv4 fragment", frame: tcpFrame(t, seg{sport: 9200, dport: 80, flags: fACK, fragment: true}), pass: true},
		{name: "IP proto 99 first", frame: rawIPFrame(t, seg{}, 99, make([]byte, 8)), pass: true},
		{name: "IP proto 99 second", frame: rawIPFrame(t, seg{}, 99, make([]byte, 8)), pass: false},
		{name: "LLDP", frame: serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeLinkLayerDiscovery}, gopacketPayload(40)), pass: false},
	})
	// A frame cut inside the IP header cannot be parsed: it passes, counted.
	before, _ := f.Counters()
	short := tcpFrame(t, seg{sport: 9300, dport: 80, flags: fACK})[:14+10]
	if run(t, f, false, short) == 0 {
		t.Error("truncated frame dropped, want pass (fail open)")
	}
	after, _ := f.Counters()
	if after.Errors != before.Errors+1 {
		t.Errorf("errors %d -> %d, want +1", before.Errors, after.Errors)
	}
}

func TestCounters(t *testing.T) {
	f := loadTest(t, Options{Patterns: testPatterns})
	steps := tcpSteps(t, 14, false)
	var pass uint64
	for _, s := range steps {
		if run(t, f, false, s.frame) != 0 {
			pass++
		}
	}
	c, err := f.Counters()
	if err != nil {
		t.Fatal(err)
	}
	n := uint64(len(steps))
	if c.Seen != n || c.Passed != pass || c.Dropped != n-pass {
		t.Errorf("counters seen %d passed %d dropped %d; want %d, %d, %d", c.Seen, c.Passed, c.Dropped, n, pass, n-pass)
	}
	reasons := c.Errors + c.TCPControl + c.TCPPattern + c.TCPFirst + c.TCPData + c.UDPFirst + c.ICMP + c.SCTP + c.ARP + c.OtherFirst + c.Fragment
	if reasons != c.Passed {
		t.Errorf("pass reasons add up to %d, passed %d: %+v", reasons, c.Passed, c)
	}
}

func TestSnaplen(t *testing.T) {
	f := loadTest(t, Options{Snaplen: 64})
	if got := run(t, f, false, tcpFrame(t, seg{sport: 1, dport: 2, flags: fSYN, options: true, payload: 100})); got != 64 {
		t.Errorf("kept %d, want snaplen 64", got)
	}
	if _, err := LoadOptions(Options{Snaplen: 10}); err == nil {
		t.Error("snaplen 10 accepted")
	}
}

func TestFlowMapEviction(t *testing.T) {
	// A tiny LRU: flows pushed out are "new" again, so their next packet
	// passes. The filter must keep working when the map is full.
	f := loadTest(t, Options{FlowEntries: 16})
	for i := 0; i < 200; i++ {
		if run(t, f, false, tcpFrame(t, seg{sport: uint16(10000 + i), dport: 80, flags: fACK})) == 0 {
			t.Fatalf("first ACK of flow %d dropped with a full flow map", i)
		}
	}
}
