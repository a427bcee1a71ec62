//go:build linux

package capture

import (
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/scanwatch/scanwatch/bpf"
	"github.com/scanwatch/scanwatch/internal/kernelver"
	"github.com/scanwatch/scanwatch/internal/netns"
	"github.com/scanwatch/scanwatch/linktype"
)

var livePatterns = []bpf.Pattern{
	{Mask: 0x3f, Value: 0x00}, // null
	{Mask: 0x3f, Value: 0x29}, // xmas
	{Mask: 0x3f, Value: 0x11}, // maimon
}

const probeSrcPort = 33333

// probe is one crafted scan probe from A to B.
type probe struct {
	port  uint16
	flags uint8
}

func probeSet() []probe {
	var ps []probe
	add := func(lo, hi uint16, flags uint8) {
		for p := lo; p <= hi; p++ {
			ps = append(ps, probe{p, flags})
		}
	}
	add(1, 50, 0x02)  // SYN
	add(51, 60, 0x01) // FIN
	add(61, 70, 0x00) // NULL
	add(71, 80, 0x29) // Xmas
	add(81, 90, 0x10) // ACK (no options, no payload)
	return ps
}

// sendProbes writes the probes onto A's veth from inside A with an
// AF_PACKET socket, so that they look exactly like a raw-socket scanner's.
func sendProbes(t testing.TB, pair *netns.Pair, ps []probe) {
	t.Helper()
	var dstMAC net.HardwareAddr
	if err := pair.Do(pair.B.NS, func() error {
		ifc, err := net.InterfaceByName(pair.B.Veth)
		if err == nil {
			dstMAC = ifc.HardwareAddr
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	err := pair.Do(pair.A.NS, func() error {
		ifc, err := net.InterfaceByName(pair.A.Veth)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		to := &unix.SockaddrLinklayer{Ifindex: ifc.Index, Halen: 6}
		copy(to.Addr[:], dstMAC)
		for i, p := range ps {
			eth := &layers.Ethernet{SrcMAC: ifc.HardwareAddr, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4}
			ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 50, Id: uint16(1000 + i), Protocol: layers.IPProtocolTCP,
				SrcIP: net.ParseIP(addrA).To4(), DstIP: net.ParseIP(addrB).To4()}
			tcp := &layers.TCP{SrcPort: probeSrcPort, DstPort: layers.TCPPort(p.port), Seq: 0x5c000000 + uint32(i), Window: 1024,
				FIN: p.flags&0x01 != 0, SYN: p.flags&0x02 != 0, PSH: p.flags&0x08 != 0, ACK: p.flags&0x10 != 0, URG: p.flags&0x20 != 0}
			if tcp.ACK {
				tcp.Ack = 0x1234
			}
			tcp.SetNetworkLayerForChecksum(ip)
			buf := gopacket.NewSerializeBuffer()
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp); err != nil {
				return err
			}
			if err := unix.Sendto(fd, buf.Bytes(), 0, to); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("send probes: %v", err)
	}
}

// tally is what the reader saw.
type tally struct {
	mu        sync.Mutex
	received  int
	bulk      int // packets of the bulk connection
	probes    map[uint16]bool
	replies   int // RSTs from the target to the probe port
	maxLen    int
	badDecode int
	err       error
}

// readLive reads src until stop is closed and the source has been idle for a
// poll interval, tallying what it gets.
func readLive(src Source, stop <-chan struct{}, tl *tally, done chan<- struct{}) {
	defer close(done)
	stopping := false
	for {
		p, err := src.ReadPacket()
		if errors.Is(err, ErrTimeout) {
			if stopping {
				return
			}
			select {
			case <-stop:
				stopping = true // one more idle interval drains the ring
			default:
			}
			continue
		}
		if err != nil {
			tl.mu.Lock()
			tl.err = err
			tl.mu.Unlock()
			return
		}
		select {
		case <-stop:
			stopping = true
		default:
		}
		tl.mu.Lock()
		tl.received++
		if len(p.Data) > tl.maxLen {
			tl.maxLen = len(p.Data)
		}
		first := gopacket.LayerType(layers.LayerTypeEthernet)
		if p.LinkType == linktype.LinuxSLL {
			first = layers.LayerTypeLinuxSLL
		}
		pkt := gopacket.NewPacket(p.Data, first, gopacket.DecodeOptions{NoCopy: true, Lazy: true})
		tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		switch {
		case tcp == nil:
		case tcp.SrcPort == bulkPort || tcp.DstPort == bulkPort:
			tl.bulk++
		case tcp.SrcPort == probeSrcPort:
			tl.probes[uint16(tcp.DstPort)] = true
		case tcp.DstPort == probeSrcPort && tcp.RST:
			tl.replies++
		}
		if p.LinkType == linktype.LinuxSLL && pkt.Layer(layers.LayerTypeIPv4) == nil && pkt.Layer(layers.LayerTypeIPv6) == nil && pkt.Layer(layers.LayerTypeARP) == nil {
			tl.badDecode++
		}
		tl.mu.Unlock()
	}
}

// openInB opens a live source inside B. With the eBPF filter it skips on a
// kernel older than the filter needs; on any other, failing to open fails
// the test.
func openInB(t testing.TB, p *netns.Pair, iface string, opts LiveOptions) Source {
	t.Helper()
	if opts.Mode == "" || opts.Mode == ModeEBPF {
		kernelver.SkipOnOldKernel(t, bpf.MinKernel, "the eBPF socket filter")
	}
	var src Source
	err := p.Do(p.B.NS, func() error {
		var err error
		src, err = OpenLive(iface, opts)
		return err
	})
	if err != nil {
		t.Fatalf("OpenLive(%q): %v", iface, err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// vethIface, in a table of interfaces, stands for B's end of the veth pair,
// whose name each pair chooses.
const vethIface = "veth"

func TestLiveEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: moves 200 MB through network namespaces")
	}
	for _, c := range []struct {
		name  string
		iface string
		mode  string
		bytes int64
	}{
		{"ebpf", vethIface, ModeEBPF, 200 << 20},
		{"ebpf-any", "any", ModeEBPF, 50 << 20},
		{"cbpf", vethIface, ModeCBPF, 50 << 20},
		{"cbpf-any", "any", ModeCBPF, 50 << 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := setupNetns(t)
			if c.iface == vethIface {
				c.iface = p.B.Veth
			}
			const snaplen = 200
			src := openInB(t, p, c.iface, LiveOptions{Mode: c.mode, Patterns: livePatterns, Snaplen: snaplen})

			tl := &tally{probes: map[uint16]bool{}}
			stop, done := make(chan struct{}), make(chan struct{})
			go readLive(src, stop, tl, done)

			ps := probeSet()
			sent := make(chan struct{})
			go func() {
				defer close(sent)
				time.Sleep(100 * time.Millisecond) // while the bulk transfer runs
				sendProbes(t, p, ps)
			}()
			start := time.Now()
			bulkTransfer(t, p, c.bytes)
			elapsed := time.Since(start)
			<-sent
			close(stop)
			<-done

			st := src.Stats()
			tl.mu.Lock()
			defer tl.mu.Unlock()
			if tl.err != nil {
				t.Fatalf("read: %v", tl.err)
			}
			t.Logf("%s on %s: %d MB in %v; kernel seen %d passed %d dropped %d, ring lost %d; user space received %d (bulk %d, probes %d/%d, RST replies %d), largest %d bytes",
				c.mode, c.iface, c.bytes>>20, elapsed.Round(time.Millisecond), st.KernelSeen, st.KernelPassed, st.KernelDropped, st.RingLost,
				st.Received, tl.bulk, len(tl.probes), len(ps), tl.replies, tl.maxLen)

			for _, p := range ps {
				if !tl.probes[p.port] {
					t.Errorf("probe to port %d (flags %#02x) not received", p.port, p.flags)
				}
			}
			if tl.replies < len(ps)/2 {
				t.Errorf("only %d RST replies from the target received", tl.replies)
			}
			if st.Received != uint64(tl.received) {
				t.Errorf("Stats.Received %d, reader got %d", st.Received, tl.received)
			}
			// Segments of the bulk connection, at least: one per MSS
			// (gso_max_segs 1 makes the sensor see each).
			minBulk := c.bytes / 1448
			if st.KernelSeen != 0 && int64(st.KernelSeen) < minBulk {
				t.Errorf("kernel saw %d packets, fewer than the %d segments of the transfer", st.KernelSeen, minBulk)
			}
			if float64(tl.bulk) > 0.01*float64(minBulk) {
				t.Errorf("user space got %d packets of the bulk connection, more than 1%% of its %d+ segments", tl.bulk, minBulk)
			}
			if c.mode == ModeEBPF {
				if st.KernelSeen != st.KernelPassed+st.KernelDropped {
					t.Errorf("seen %d != passed %d + dropped %d", st.KernelSeen, st.KernelPassed, st.KernelDropped)
				}
				if float64(st.KernelPassed) > 0.01*float64(st.KernelSeen) {
					t.Errorf("passed %d of %d packets, more than 1%%", st.KernelPassed, st.KernelSeen)
				}
			}
			// Everything that passed reached user space or was lost in the
			// ring. A few stragglers may pass after the reader stopped (IPv6
			// neighbour discovery), and a few may arrive between the socket's
			// bind and the filter's attach, unfiltered and uncounted.
			if diff := int64(st.KernelPassed) - int64(st.Received+st.RingLost); diff > 5 || diff < -5 {
				t.Errorf("passed %d, received %d + ring lost %d", st.KernelPassed, st.Received, st.RingLost)
			}
			if limit := snaplen + sllLen; tl.maxLen > limit {
				t.Errorf("a packet of %d bytes reached user space, snaplen %d", tl.maxLen, snaplen)
			}
			if tl.badDecode != 0 {
				t.Errorf("%d cooked packets did not decode as IP or ARP", tl.badDecode)
			}
		})
	}
}

// TestLiveSetPatterns checks that a rules reload reaches the kernel: PSH+URG
// probes (no SYN, FIN or RST, not a bare ACK) pass the filter only once a
// pattern asks for them. Each probe is sent twice to its port: the eBPF
// filter passes the first packet of any flow anyway, but not the second.
func TestLiveSetPatterns(t *testing.T) {
	for _, mode := range []string{ModeEBPF, ModeCBPF} {
		t.Run(mode, func(t *testing.T) {
			p := setupNetns(t)
			src := openInB(t, p, p.B.Veth, LiveOptions{Mode: mode})
			const pshURG = 0x28
			twice := func(lo, hi uint16) []probe {
				var ps []probe
				for port := lo; port <= hi; port++ {
					ps = append(ps, probe{port, pshURG}, probe{port, pshURG})
				}
				return ps
			}
			// count reads until the source is idle and counts the probes
			// seen per destination port.
			count := func() map[uint16]int {
				seen := map[uint16]int{}
				for {
					pk, err := src.ReadPacket()
					if errors.Is(err, ErrTimeout) {
						return seen
					}
					if err != nil {
						t.Fatal(err)
					}
					pkt := gopacket.NewPacket(pk.Data, layers.LayerTypeEthernet, gopacket.NoCopy)
					if tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP); tcp != nil && tcp.SrcPort == probeSrcPort {
						seen[uint16(tcp.DstPort)]++
					}
				}
			}
			sendProbes(t, p, twice(1001, 1010))
			before := count()
			if err := src.(*Live).SetPatterns([]bpf.Pattern{{Mask: 0x3f, Value: pshURG}}); err != nil {
				t.Fatal(err)
			}
			sendProbes(t, p, twice(1011, 1020))
			after := count()
			for port := uint16(1001); port <= 1010; port++ {
				if before[port] > 1 {
					t.Errorf("before SetPatterns: port %d: %d probes passed, want at most 1", port, before[port])
				}
			}
			for port := uint16(1011); port <= 1020; port++ {
				if after[port] != 2 {
					t.Errorf("after SetPatterns: port %d: %d probes passed, want 2", port, after[port])
				}
			}
		})
	}
}

func TestLiveCloseUnblocksRead(t *testing.T) {
	p := setupNetns(t)
	src := openInB(t, p, p.B.Veth, LiveOptions{Patterns: livePatterns})
	errc := make(chan error, 1)
	go func() {
		for {
			// Packets that arrive before Close (IPv6 duplicate address
			// detection on the fresh link) are fine; only the end matters.
			_, err := src.ReadPacket()
			if err == nil || errors.Is(err, ErrTimeout) {
				continue
			}
			errc <- err
			return
		}
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	src.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, io.EOF) {
			t.Errorf("ReadPacket after Close: %v, want io.EOF", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("ReadPacket took %v to return after Close", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("ReadPacket still blocked 2s after Close")
	}
	if st := src.Stats(); st.KernelSeen != st.KernelPassed+st.KernelDropped {
		t.Errorf("stats after Close: %+v", st)
	}
}

func TestLiveTimeout(t *testing.T) {
	p := setupNetns(t)
	src := openInB(t, p, p.B.Veth, LiveOptions{Patterns: livePatterns})
	// The link just came up: IPv6 duplicate address detection may still
	// send a neighbour solicitation or two, which pass. Read past them.
	deadline := time.Now().Add(5 * time.Second)
	for {
		start := time.Now()
		_, err := src.ReadPacket()
		if err == nil && time.Now().Before(deadline) {
			continue
		}
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("idle ReadPacket: %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d < PollInterval/2 || d > 2*PollInterval {
			t.Errorf("ErrTimeout after %v, want about %v", d, PollInterval)
		}
		return
	}
}

func TestLiveErrors(t *testing.T) {
	netns.Require(t)
	_, err := OpenLive("swbpf-nope9", LiveOptions{})
	if !errors.Is(err, ErrNoInterface) || !strings.Contains(err.Error(), `"swbpf-nope9"`) || !strings.Contains(err.Error(), "have: ") {
		t.Errorf("unknown interface: %v", err)
	}
	if _, err := OpenLive("lo", LiveOptions{Mode: "xdp"}); err == nil || !strings.Contains(err.Error(), "xdp") {
		t.Errorf("bad mode: %v", err)
	}
}

// TestLivePermission drops CAP_NET_RAW and CAP_BPF/CAP_SYS_ADMIN on a locked
// thread and checks the error says what is missing.
func TestLivePermission(t *testing.T) {
	netns.Require(t)
	errc := make(chan error, 1)
	go func() {
		// This thread's capabilities are dropped for good: never unlock
		// it, so it exits with the goroutine.
		runtime.LockOSThread()
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		for _, c := range []uint{unix.CAP_NET_RAW, unix.CAP_BPF, unix.CAP_SYS_ADMIN, unix.CAP_PERFMON} {
			data[c/32].Effective &^= 1 << (c % 32)
		}
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		for _, mode := range []string{ModeEBPF, ModeCBPF} {
			src, err := OpenLive("lo", LiveOptions{Mode: mode})
			if err == nil {
				src.Close()
				errc <- errors.New(mode + ": opened without privileges")
				return
			}
			if !errors.Is(err, bpf.ErrPermission) || !strings.Contains(err.Error(), "CAP_NET_RAW") {
				errc <- errors.New(mode + ": want ErrPermission, got: " + err.Error())
				return
			}
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Error(err)
	}
}
