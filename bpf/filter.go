// Package bpf holds scanwatch's kernel-side packet filter: an eBPF socket
// filter (filter.c, compiled by bpf2go; the output is committed so building
// needs no clang) that runs on the capture's AF_PACKET socket and passes to
// user space only what can be a scan probe or the reply to one, and a classic
// BPF fallback built from the same flag patterns for kernels without eBPF.
//
// The socket filter is passive: it sees both directions of every interface the
// socket is bound to, attaches nothing to a NIC, and is gone when the socket
// is closed. A packet in a tunnel (VXLAN, Geneve, GRE) is judged by the packet
// inside, in a second program the filter tail-calls: a Filter loads both and
// links them before it is attached.
package bpf

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/scanwatch/scanwatch/tcpflags"
)

// Pattern is one tcp[13] probe pattern from the rules: a TCP segment matches
// when flags&Mask == Value. See PatternsFor.
type Pattern = tcpflags.Pattern

var (
	// ErrPermission: the process may not load eBPF programs or open packet
	// sockets.
	ErrPermission = errors.New("need root, or CAP_BPF, CAP_PERFMON and CAP_NET_RAW (--capture cbpf needs only CAP_NET_RAW)")
	// ErrNoEBPF: the kernel cannot run the eBPF filter.
	ErrNoEBPF = errors.New("kernel cannot run the eBPF socket filter (use --capture cbpf)")
)

// Defaults for Options fields left zero.
const (
	DefaultFlowEntries = 65536
	DefaultSnaplen     = 256
)

// Options configure the eBPF filter.
type Options struct {
	// Patterns are the rules' tcp[13] probe patterns; a TCP segment without
	// SYN, FIN or RST that matches one passes. Replace them later with
	// SetPatterns.
	Patterns []Pattern
	// FlowEntries sizes the LRU maps of flows already seen, one for IPv4
	// and one for IPv6, each this many entries (default 65536). An IPv4
	// entry is 16 bytes of key and 4 of value, an IPv6 entry 40 and 4, each
	// plus the kernel's overhead; LRU maps allocate all entries up front.
	FlowEntries int
	// Snaplen caps the bytes passed per packet (default 256). The filter
	// truncates to the headers anyway; this is an upper bound.
	Snaplen int
	// Cooked says that packets start at the network header, as on a
	// SOCK_DGRAM packet socket (scanwatch uses one for the "any"
	// interface); the ethertype is then taken from the skb. Otherwise packets
	// start at an Ethernet header (SOCK_RAW on an Ethernet interface).
	Cooked bool
}

// Filter is the loaded eBPF socket filter with its maps.
//
// Kernel needed: Linux 5.2 or later (MinKernel: socket filters with
// bpf_skb_load_bytes, LRU hash maps, and read-only global variables, which
// arrived in 5.2), run as root or with CAP_BPF, CAP_PERFMON and CAP_NET_RAW
// (CAP_SYS_ADMIN before 5.8): without CAP_PERFMON the verifier refuses the
// program's pointer arithmetic to unprivileged loaders. The program uses no
// CO-RE relocations, so the kernel's own BTF (/sys/kernel/btf/vmlinux) is not
// required. On older kernels use the classic filter (ClassicFilter,
// --capture cbpf).
type Filter struct {
	objs filterObjects
}

// Load loads the eBPF filter for an Ethernet (SOCK_RAW) socket with the
// default snaplen. See LoadOptions.
func Load(patterns []Pattern, flowEntries int) (*Filter, error) {
	return LoadOptions(Options{Patterns: patterns, FlowEntries: flowEntries})
}

// LoadOptions loads the eBPF filter into the kernel. Attach it to a packet
// socket with SO_ATTACH_BPF using FD, and Close it when the socket is closed
// (the socket holds its own reference to the program).
//
// Errors wrap ErrPermission when the process lacks the privileges, and
// ErrNoEBPF when the kernel cannot run the program.
func LoadOptions(o Options) (*Filter, error) {
	if o.FlowEntries == 0 {
		o.FlowEntries = DefaultFlowEntries
	}
	if o.Snaplen == 0 {
		o.Snaplen = DefaultSnaplen
	}
	if o.FlowEntries < 0 || o.Snaplen < 64 {
		return nil, fmt.Errorf("bpf: bad options: flow entries %d, snaplen %d (need >= 64)", o.FlowEntries, o.Snaplen)
	}
	table, err := flagTable(o.Patterns)
	if err != nil {
		return nil, err
	}

	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; newer ones
	// ignore it. A failure here shows up below as EPERM if it matters.
	removeMemlock()

	spec, err := loadFilter()
	if err != nil {
		return nil, fmt.Errorf("bpf: parse embedded program: %w", err)
	}
	spec.Maps[filterMapFlowMap].MaxEntries = uint32(o.FlowEntries)
	spec.Maps[filterMapFlow4Map].MaxEntries = uint32(o.FlowEntries)
	cooked := uint32(0)
	if o.Cooked {
		cooked = 1
	}
	if err := spec.Variables[filterVarCfgCooked].Set(cooked); err != nil {
		return nil, fmt.Errorf("bpf: set cfg_cooked: %w", err)
	}
	if err := spec.Variables[filterVarCfgSnaplen].Set(uint32(o.Snaplen)); err != nil {
		return nil, fmt.Errorf("bpf: set cfg_snaplen: %w", err)
	}

	f := &Filter{}
	if err := spec.LoadAndAssign(&f.objs, nil); err != nil {
		return nil, classify("load socket filter", err)
	}
	if err := f.objs.FlagMap.Put(uint32(0), table); err != nil {
		f.Close()
		return nil, fmt.Errorf("bpf: fill flag table: %w", err)
	}
	// The program that judges a tunnel's inner packet (filter.c).
	if err := f.objs.InnerProg.Put(uint32(0), f.objs.ScanwatchInner); err != nil {
		f.Close()
		return nil, fmt.Errorf("bpf: install the tunnel program: %w", err)
	}
	return f, nil
}

// classify wraps a load error with ErrPermission or ErrNoEBPF where it is
// one, and says what is missing. The thread's own capabilities tell the
// cases apart: a verifier rejection (EACCES) is a missing CAP_PERFMON to a
// loader without it (the verifier refuses pointer arithmetic to
// unprivileged loaders) but a rejection of the program to one with it; an
// EPERM is a missing CAP_BPF to a loader without it, but a security module
// or RLIMIT_MEMLOCK (before Linux 5.11) to one with it. The library's
// "MEMLOCK may be too low" hint is kept only for the latter.
func classify(step string, err error) error {
	var ve *ebpf.VerifierError
	caps, known := effectiveCaps()
	missing := missingToLoad(caps)
	denied := errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)
	switch {
	case errors.Is(err, ebpf.ErrNotSupported), errors.Is(err, unix.ENOSYS):
		return fmt.Errorf("bpf: %s: %w: %w", step, ErrNoEBPF, err)
	case errors.As(err, &ve) && denied && known && missing != "":
		return fmt.Errorf("bpf: %s: %w: missing %s (uid %d): the verifier refuses the program to a loader without it: %w",
			step, ErrPermission, missing, os.Geteuid(), err)
	case errors.As(err, &ve):
		// The program verifies on supported kernels; a rejection means
		// one too old for it.
		return fmt.Errorf("bpf: %s: %w: kernel rejected the program (older than 5.2?): %w", step, ErrNoEBPF, err)
	case denied && known && missing != "":
		errno := unix.EPERM
		if !errors.Is(err, unix.EPERM) {
			errno = unix.EACCES
		}
		return fmt.Errorf("bpf: %s: %w: missing %s (uid %d): %w", step, ErrPermission, missing, os.Geteuid(), errno)
	case denied && known:
		return fmt.Errorf("bpf: %s: refused although this process has CAP_BPF and CAP_PERFMON: a security module "+
			"(SELinux, AppArmor, lockdown), or RLIMIT_MEMLOCK before Linux 5.11: %w", step, err)
	case denied:
		return fmt.Errorf("bpf: %s: %w (running as uid %d): %w", step, ErrPermission, os.Geteuid(), err)
	}
	return fmt.Errorf("bpf: %s: %w", step, err)
}

// flagTable builds the 256-bit table of flags bytes that match a pattern.
func flagTable(patterns []Pattern) (filterFlagTable, error) {
	var t filterFlagTable
	for _, p := range patterns {
		if err := p.Validate(); err != nil {
			return t, fmt.Errorf("bpf: pattern: %w", err)
		}
		for f := 0; f < 256; f++ {
			if p.Match(tcpflags.Flags(f)) {
				t.Bits[f>>6] |= 1 << (f & 63)
			}
		}
	}
	return t, nil
}

// SetPatterns replaces the tcp[13] patterns atomically (for a rules reload).
func (f *Filter) SetPatterns(patterns []Pattern) error {
	t, err := flagTable(patterns)
	if err != nil {
		return err
	}
	if err := f.objs.FlagMap.Put(uint32(0), t); err != nil {
		return fmt.Errorf("bpf: update flag table: %w", err)
	}
	return nil
}

// FD is the program's file descriptor, for SO_ATTACH_BPF. It stays valid
// until Close.
func (f *Filter) FD() int { return f.objs.ScanwatchFilter.FD() }

// Counters are the filter's totals since it was loaded, summed over CPUs.
// Seen == Passed + Dropped once no packet is in flight. Every passed packet
// counts in Errors or in exactly one of the pass reasons.
type Counters struct {
	Seen    uint64 // packets the program looked at
	Passed  uint64 // passed to the socket (user space)
	Dropped uint64 // dropped as bulk traffic
	Errors  uint64 // could not be parsed (truncated, bad header): passed, fail open

	TCPControl uint64 // SYN, FIN or RST set
	TCPPattern uint64 // flags matched a rules pattern
	TCPFirst   uint64 // first TCP packet of a flow the kernel had not seen
	TCPData    uint64 // first TCP segment with payload in a direction
	UDPFirst   uint64 // first UDP packet in a direction
	ICMP       uint64 // echo, timestamp, mask, NDP solicitation/advertisement, errors
	SCTP       uint64 // INIT, INIT-ACK, ABORT, COOKIE-ECHO, or first in a direction
	ARP        uint64
	OtherFirst uint64 // other IP protocols: first in a direction
	Fragment   uint64 // IP fragments

	FlowInsertFailed uint64 // flow map insertions that failed (races; the packet still passed)
}

// Counters reads and sums the per-CPU counters.
func (f *Filter) Counters() (Counters, error) {
	var per []filterCounters
	if err := f.objs.CounterMap.Lookup(uint32(0), &per); err != nil {
		return Counters{}, fmt.Errorf("bpf: read counters: %w", err)
	}
	var c Counters
	for _, p := range per {
		c.Seen += p.Seen
		c.Passed += p.Passed
		c.Dropped += p.Dropped
		c.Errors += p.Errors
		c.TCPControl += p.TcpControl
		c.TCPPattern += p.TcpPattern
		c.TCPFirst += p.TcpFirst
		c.TCPData += p.TcpData
		c.UDPFirst += p.UdpFirst
		c.ICMP += p.Icmp
		c.SCTP += p.Sctp
		c.ARP += p.Arp
		c.OtherFirst += p.OtherFirst
		c.Fragment += p.Fragment
		c.FlowInsertFailed += p.FlowInsertFailed
	}
	return c, nil
}

// Close releases the program and its maps. A socket the program is attached
// to keeps its own reference: the filter keeps running there, but its
// counters can no longer be read.
func (f *Filter) Close() error {
	if f == nil {
		return nil
	}
	return f.objs.Close()
}

// removeMemlock lifts RLIMIT_MEMLOCK, which kernels before 5.11 charge BPF
// maps and programs to (newer ones ignore it, so lifting it costs nothing).
// It is done here, not with cilium/ebpf's rlimit package, whose init probes
// the kernel with a BPF map at the start of every command of the binary.
func removeMemlock() {
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim) == nil && lim.Cur == unix.RLIM_INFINITY {
		return
	}
	_ = unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY})
}
