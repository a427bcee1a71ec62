package capture

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	xbpf "golang.org/x/net/bpf"

	"github.com/scanwatch/scanwatch/bpf"
	"github.com/scanwatch/scanwatch/linktype"
)

// ErrTimeout is returned by a live source's ReadPacket when no packet arrived
// within PollInterval, so that the caller can advance its clock and check its
// context. It is not an error: call ReadPacket again.
var ErrTimeout = errors.New("capture: no packet within the poll interval")

// ErrNoInterface: the interface to capture on does not exist.
var ErrNoInterface = errors.New("interface not found")

var errNeedsLinux = errors.New("live: capture needs Linux (AF_PACKET)")

// PollInterval is how long a live ReadPacket waits before returning
// ErrTimeout, and so the longest Close waits for a concurrent ReadPacket.
const PollInterval = 200 * time.Millisecond

// Capture modes for LiveOptions.Mode.
const (
	ModeEBPF = "ebpf" // eBPF socket filter with flow state (default)
	ModeCBPF = "cbpf" // classic BPF, stateless: for kernels without eBPF
	ModeNone = "none" // no filter: every packet (debugging, benchmarks)
)

// LiveOptions configure OpenLive.
type LiveOptions struct {
	Mode        string        // ModeEBPF (default), ModeCBPF or ModeNone
	Patterns    []bpf.Pattern // the rules' tcp[13] probe patterns
	Snaplen     int           // bytes kept per packet at most (default 256)
	FlowEntries int           // eBPF flow map size (default 65536)
	Promisc     bool          // put the interface in promiscuous mode (a SPAN/mirror port)
	// Logf, when set, is told when the interface goes down or away and
	// when it comes back (see Live.ReadPacket).
	Logf func(format string, args ...any)
}

// packetSocket is the kernel's packet socket with its receive ring: the one
// part of a live capture that differs per OS. openSocket (live_linux.go)
// opens an AF_PACKET socket; other systems have none (live_other.go).
type packetSocket interface {
	// read returns the next packet, valid until the next call, or
	// ErrTimeout after PollInterval without one.
	read() ([]byte, gopacket.CaptureInfo, error)
	attachEBPF(fd int) error
	attachClassic(prog []xbpf.RawInstruction) error
	setPromiscuous(ifindex int) error
	// pendingError reads and clears the socket's pending error (SO_ERROR),
	// after a read failed with errPollError.
	pendingError() error
	// link looks an interface up by name in the socket's network
	// namespace; an error wrapping ENODEV says there is none of that name.
	link(name string) (linkInfo, error)
	// bind binds the socket to another interface, keeping its ring and
	// filter.
	bind(ifindex int) error
	// stats: packets that passed the filter (queued or not), and packets
	// lost because the ring was full.
	stats() (passed, lost uint64, err error)
	close()
}

// Live is a live capture on a network interface. It is a Source; SetPatterns
// changes its kernel filter while it runs.
type Live struct {
	name     string
	mode     string
	snaplen  int
	cooked   bool
	linkType linktype.LinkType
	filter   *bpf.Filter // ModeEBPF only
	promisc  bool
	logFn    func(format string, args ...any)

	mu        sync.Mutex // held while reading the ring; Close takes it
	sock      packetSocket
	link      linkState
	closed    atomic.Bool
	closeOnce sync.Once
	buf       []byte

	received atomic.Uint64

	statsMu sync.Mutex
	last    Stats // kept at Close
}

var _ Source = (*Live)(nil)

// OpenLive captures on a network interface through an AF_PACKET socket
// (TPACKET_V3 ring) with a kernel filter that drops bulk traffic (see package
// bpf for what passes). iface "any" (or "") captures on every interface of
// the network namespace. It needs Linux.
//
// Link types: an Ethernet interface (or loopback) gives Ethernet frames from
// a SOCK_RAW socket. "any" and interfaces without an Ethernet header (tun,
// WireGuard, ...) use a SOCK_DGRAM ("cooked") socket, where the kernel hands
// over the packet from its network header; the source then prefixes a Linux
// cooked (SLL) header whose protocol field is inferred from the packet (IPv4,
// IPv6 or ARP). The packet type and hardware address fields of that header
// are not known and are zero.
//
// Packets that arrive in the instant between the socket's bind and the
// filter's attachment reach user space unfiltered; they count in Received but
// not in KernelSeen.
//
// Errors wrap bpf.ErrPermission (not root, no CAP_NET_RAW/CAP_BPF/CAP_PERFMON),
// ErrNoInterface, and bpf.ErrNoEBPF (kernel without eBPF: use ModeCBPF).
//
// The privileges are needed here only: once open, the capture goes on
// without any (reads, Stats, SetPatterns and following the interface
// through link flaps use the socket and the maps already open).
func OpenLive(iface string, opts LiveOptions) (*Live, error) {
	if runtime.GOOS != "linux" {
		return nil, errNeedsLinux
	}
	if opts.Mode == "" {
		opts.Mode = ModeEBPF
	}
	if opts.Snaplen == 0 {
		opts.Snaplen = bpf.DefaultSnaplen
	}
	if opts.Snaplen < 64 || opts.Snaplen > 65535 {
		return nil, fmt.Errorf("live: snaplen %d out of range 64..65535", opts.Snaplen)
	}
	switch opts.Mode {
	case ModeEBPF, ModeCBPF, ModeNone:
	default:
		return nil, fmt.Errorf("live: unknown capture mode %q (want %s or %s)", opts.Mode, ModeEBPF, ModeCBPF)
	}

	name := iface
	if name == "" {
		name = "any"
	}
	cooked := true
	bindTo := ""
	if name != "any" {
		ifc, err := net.InterfaceByName(name)
		if err != nil {
			return nil, fmt.Errorf("live: interface %q %w (have: %s)", name, ErrNoInterface, interfaceNames())
		}
		// Ethernet-like devices (and loopback, which has an all-zero
		// Ethernet header) give frames from their link header.
		cooked = !(ifc.Flags&net.FlagLoopback != 0 || len(ifc.HardwareAddr) == 6)
		bindTo = name
	}

	l := &Live{name: name, cooked: cooked, linkType: linktype.Ethernet, mode: opts.Mode, snaplen: opts.Snaplen,
		promisc: opts.Promisc, logFn: opts.Logf}
	if cooked {
		l.linkType = linktype.LinuxSLL
	}

	// Load the program before opening the socket, so the socket runs
	// unfiltered for as short a time as possible.
	var classic []xbpf.RawInstruction
	switch opts.Mode {
	case ModeEBPF:
		f, err := bpf.LoadOptions(bpf.Options{Patterns: opts.Patterns, FlowEntries: opts.FlowEntries, Snaplen: opts.Snaplen, Cooked: cooked})
		if err != nil {
			return nil, fmt.Errorf("live: %s: %w", name, err)
		}
		l.filter = f
	case ModeCBPF:
		var err error
		classic, err = l.classicFilter(opts.Patterns)
		if err != nil {
			return nil, fmt.Errorf("live: %s: %w", name, err)
		}
	}

	sock, err := openSocket(bindTo, cooked)
	if err != nil {
		l.filter.Close()
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("live: open AF_PACKET socket on %s: %w: %w", name, bpf.ErrPermission, err)
		}
		return nil, fmt.Errorf("live: open AF_PACKET socket on %s: %w", name, err)
	}
	l.sock = sock
	if bindTo != "" {
		// The interface as the socket sees it, to follow it through
		// link flaps (and to check the look-up works before we need it).
		info, err := sock.link(bindTo)
		if err != nil {
			l.closeAll()
			return nil, fmt.Errorf("live: look up %s on the socket: %s", name, errnoText(err))
		}
		l.link.ifindex, l.link.hwType = info.index, info.hwType
	}

	switch {
	case l.filter != nil:
		err = sock.attachEBPF(l.filter.FD())
	case classic != nil:
		err = sock.attachClassic(classic)
	}
	if err != nil {
		l.closeAll()
		if errors.Is(err, os.ErrPermission) {
			err = fmt.Errorf("%w: %w", bpf.ErrPermission, err)
		}
		return nil, fmt.Errorf("live: attach %s filter to the socket on %s: %w", opts.Mode, name, err)
	}
	if opts.Promisc {
		if err := sock.setPromiscuous(l.link.ifindex); err != nil {
			l.closeAll()
			return nil, fmt.Errorf("live: promiscuous mode on %s: %w", name, err)
		}
	}
	return l, nil
}

func (l *Live) classicFilter(patterns []bpf.Pattern) ([]xbpf.RawInstruction, error) {
	if l.cooked {
		return bpf.ClassicFilterCooked(patterns, l.snaplen)
	}
	return bpf.ClassicFilter(patterns, l.snaplen)
}

func interfaceNames() string {
	ifs, err := net.Interfaces()
	if err != nil {
		return "cannot list: " + err.Error()
	}
	names := make([]string, 0, len(ifs)+1)
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	sort.Strings(names)
	return strings.Join(append(names, "any"), ", ")
}

const sllLen = 16

// ReadPacket returns the next packet, ErrTimeout after PollInterval without
// one, or io.EOF after Close. Its Data is valid until the next call.
//
// Link flaps: when the interface goes down, or is deleted, reads return
// ErrTimeout (so the caller keeps its clock and can stop) while the capture
// waits for the interface to come up again, or for one of the same name to
// appear, which it then captures on; Stats counts the gaps, their time and
// the re-created interfaces, and LiveOptions.Logf hears of each. An error
// ends the capture only when it cannot go on, and names the errno and the
// interface.
func (l *Live) ReadPacket() (Packet, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return Packet{}, io.EOF
	}
	data, ci, err := l.sock.read()
	if l.link.down() && (err == nil || errors.Is(err, ErrTimeout)) {
		if err := l.followLink(time.Now()); err != nil {
			return Packet{}, err
		}
	}
	if err != nil {
		switch {
		case errors.Is(err, ErrTimeout):
			return Packet{}, ErrTimeout
		case errors.Is(err, errPollError):
			return Packet{}, l.socketError()
		}
		return Packet{}, fmt.Errorf("live: read from %s: %w", l.name, err)
	}
	// Copy out of the ring: the ring is unmapped at Close, which another
	// goroutine may call while the caller still looks at the packet.
	l.buf = l.buf[:0]
	length := ci.Length
	if l.cooked {
		l.buf = appendSLL(l.buf, data)
		length += sllLen
	}
	if len(data) > l.snaplen { // ModeNone: the kernel did not cut it
		data = data[:l.snaplen]
	}
	l.buf = append(l.buf, data...)
	l.received.Add(1)
	return Packet{Data: l.buf, Time: ci.Timestamp, LinkType: l.linkType, Length: length}, nil
}

// appendSLL appends a Linux cooked-mode header for a packet that starts at
// its network header.
func appendSLL(b, pkt []byte) []byte {
	var proto uint16
	switch {
	case len(pkt) > 0 && pkt[0]>>4 == 4:
		proto = 0x0800
	case len(pkt) > 0 && pkt[0]>>4 == 6:
		proto = 0x86dd
	case len(pkt) >= 4 && pkt[0] == 0 && pkt[1] == 1 && pkt[2] == 8 && pkt[3] == 0:
		proto = 0x0806 // hardware type 1, protocol IPv4
	}
	var h [sllLen]byte
	h[14] = byte(proto >> 8)
	h[15] = byte(proto)
	return append(b, h[:]...)
}

// Stats reads the kernel counters. In ModeCBPF the kernel cannot count what
// the classic filter dropped: KernelSeen and KernelDropped stay zero and
// KernelPassed counts what passed the filter. In ModeNone KernelPassed counts
// every packet.
func (l *Live) Stats() Stats {
	l.statsMu.Lock()
	defer l.statsMu.Unlock()
	if l.closed.Load() {
		return l.last
	}
	s := Stats{Received: l.received.Load(), LinkGaps: l.link.gaps.Load(), LinkRebinds: l.link.rebinds.Load(),
		LinkGapTime: l.link.gapTime(time.Now())}
	if l.filter != nil {
		if c, err := l.filter.Counters(); err == nil {
			s.KernelSeen, s.KernelPassed, s.KernelDropped = c.Seen, c.Passed, c.Dropped
		}
	}
	if passed, lost, err := l.sock.stats(); err == nil {
		if l.filter == nil {
			s.KernelPassed = passed
		}
		s.RingLost = lost
	}
	l.last = s
	return s
}

// Close stops the capture. A ReadPacket running in another goroutine returns
// within PollInterval; later ones return io.EOF.
func (l *Live) Close() error {
	l.closeOnce.Do(func() {
		l.Stats() // keep the final counters
		l.statsMu.Lock()
		l.closed.Store(true)
		l.statsMu.Unlock()
		l.mu.Lock()
		defer l.mu.Unlock()
		l.closeAll()
	})
	return nil
}

func (l *Live) closeAll() {
	if l.sock != nil {
		l.sock.close()
	}
	if l.filter != nil {
		l.filter.Close()
	}
}

// SetPatterns replaces the kernel filter's tcp[13] probe patterns, for a
// rules reload: the eBPF map is updated in place (flow state is kept), the
// classic program is rebuilt and attached again. In ModeNone there is no
// filter and nothing to change.
func (l *Live) SetPatterns(patterns []bpf.Pattern) error {
	switch l.mode {
	case ModeEBPF:
		return l.filter.SetPatterns(patterns)
	case ModeCBPF:
		prog, err := l.classicFilter(patterns)
		if err != nil {
			return err
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.sock.attachClassic(prog)
	}
	return nil
}

// Exercise makes each kind of kernel call that the open capture makes from
// now on, and changes nothing: it reads the eBPF filter's counters (a map
// lookup, as a reload's map update is one), the socket's statistics, and
// looks the interface up as a link flap does. A caller that sheds its
// privileges after OpenLive tries it to find which it still needs (see
// package sandbox): none on current kernels.
func (l *Live) Exercise() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return io.EOF
	}
	if l.filter != nil {
		if _, err := l.filter.Counters(); err != nil {
			return err
		}
	}
	if _, _, err := l.sock.stats(); err != nil {
		return fmt.Errorf("live: socket statistics: %w", err)
	}
	if l.link.ifindex != 0 {
		if _, err := l.sock.link(l.name); err != nil && !linkGone(err) {
			return fmt.Errorf("live: look up %s: %w", l.name, err)
		}
	}
	return nil
}
