//go:build linux

package scanner

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// rawSender sends complete IP packets (header included) on raw sockets,
// so the kernel routes them and resolves the next hop.
type rawSender struct {
	fd4, fd6 int
}

func openSender(v4, v6 bool) (*rawSender, error) {
	s := &rawSender{fd4: -1, fd6: -1}
	open := func(family int) (int, error) {
		fd, err := unix.Socket(family, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
		if err != nil {
			return -1, err
		}
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4<<20)
		return fd, nil
	}
	var err error
	if v4 {
		if s.fd4, err = open(unix.AF_INET); err != nil {
			return nil, fmt.Errorf("open raw IPv4 socket (needs CAP_NET_RAW): %w", err)
		}
		// IPPROTO_RAW implies IP_HDRINCL; say so anyway.
		_ = unix.SetsockoptInt(s.fd4, unix.IPPROTO_IP, unix.IP_HDRINCL, 1)
	}
	if v6 {
		if s.fd6, err = open(unix.AF_INET6); err != nil {
			s.Close()
			return nil, fmt.Errorf("open raw IPv6 socket (needs CAP_NET_RAW): %w", err)
		}
	}
	return s, nil
}

// send writes one packet to dst, waiting out a full send buffer.
func (s *rawSender) send(pkt []byte, dst netip.Addr) error {
	var sa unix.Sockaddr
	fd := s.fd4
	if dst.Is4() {
		sa = &unix.SockaddrInet4{Addr: dst.As4()}
	} else {
		fd = s.fd6
		sa = &unix.SockaddrInet6{Addr: dst.As16()}
	}
	for tries := 0; ; tries++ {
		err := unix.Sendto(fd, pkt, 0, sa)
		if err == nil {
			return nil
		}
		if (errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR)) && tries < 1000 {
			time.Sleep(200 * time.Microsecond)
			continue
		}
		return fmt.Errorf("send probe to %s: %w", dst, err)
	}
}

func (s *rawSender) Close() {
	for _, fd := range []int{s.fd4, s.fd6} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// rawReceiver reads IP packets (without link headers) from an AF_PACKET
// SOCK_DGRAM socket whose classic BPF filter passes only what can answer our
// probes: TCP or UDP to our source port (unfragmented), ICMP destination
// unreachable, ICMPv6 destination unreachable.
type rawReceiver struct {
	fd int
}

func openReceiver(sport uint16, ifname string) (*rawReceiver, error) {
	// Protocol 0 until the filter is attached, so nothing unfiltered queues up.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open AF_PACKET socket (needs CAP_NET_RAW): %w", err)
	}
	r := &rawReceiver{fd: fd}
	prog := replyFilter(sport)
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER,
		&unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}); err != nil {
		r.Close()
		return nil, fmt.Errorf("attach reply filter: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 32<<20); err != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 32<<20)
	}
	tv := unix.NsecToTimeval((50 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		r.Close()
		return nil, fmt.Errorf("set receive timeout: %w", err)
	}
	ifindex := 0
	if ifname != "" {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("interface %q: %w", ifname, err)
		}
		ifindex = ifi.Index
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		r.Close()
		return nil, fmt.Errorf("bind AF_PACKET socket: %w", err)
	}
	return r, nil
}

// read returns the next packet, or ok=false after the receive timeout.
func (r *rawReceiver) read(buf []byte) (n int, ok bool, err error) {
	for {
		n, from, err := unix.Recvfrom(r.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				return 0, false, nil
			}
			return 0, false, fmt.Errorf("read replies: %w", err)
		}
		if ll, isLL := from.(*unix.SockaddrLinklayer); isLL && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		return n, true, nil
	}
}

func (r *rawReceiver) Close() { unix.Close(r.fd) }

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// bpfIns is a classic BPF instruction with symbolic jump targets.
type bpfIns struct {
	label  string
	code   uint16
	k      uint32
	jt, jf string // labels; "" means the next instruction
}

// replyFilter assembles the receive filter. Offsets are from the network
// header (SOCK_DGRAM); the IP version comes from skb->protocol.
func replyFilter(sport uint16) []unix.SockFilter {
	const (
		ldW   = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		ldH   = unix.BPF_LD | unix.BPF_H | unix.BPF_ABS
		ldB   = unix.BPF_LD | unix.BPF_B | unix.BPF_ABS
		ldHX  = unix.BPF_LD | unix.BPF_H | unix.BPF_IND
		ldBX  = unix.BPF_LD | unix.BPF_B | unix.BPF_IND
		ldxIH = unix.BPF_LDX | unix.BPF_B | unix.BPF_MSH
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jset  = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
		// SKF_AD_OFF + SKF_AD_PROTOCOL: skb->protocol in host order.
		adProto = 0xfffff000
	)
	p := uint32(sport)
	prog := []bpfIns{
		{code: ldW, k: adProto},
		{code: jeq, k: unix.ETH_P_IP, jf: "v6"},
		{code: ldB, k: 9},
		{code: jeq, k: unix.IPPROTO_TCP, jt: "l4v4"},
		{code: jeq, k: unix.IPPROTO_UDP, jt: "l4v4"},
		{code: jeq, k: unix.IPPROTO_ICMP, jt: "icmp4", jf: "drop"},
		{label: "l4v4", code: ldH, k: 6},
		{code: jset, k: 0x3fff, jt: "drop"}, // fragments: MF or offset
		{code: ldxIH, k: 0},
		{code: ldHX, k: 2},
		{code: jeq, k: p, jt: "pass", jf: "drop"},
		{label: "icmp4", code: ldxIH, k: 0},
		{code: ldBX, k: 0},
		{code: jeq, k: 3, jt: "pass", jf: "drop"},
		{label: "v6", code: jeq, k: unix.ETH_P_IPV6, jf: "drop"},
		{code: ldB, k: 6},
		{code: jeq, k: unix.IPPROTO_TCP, jt: "l4v6"},
		{code: jeq, k: unix.IPPROTO_UDP, jt: "l4v6"},
		{code: jeq, k: unix.IPPROTO_ICMPV6, jt: "icmp6", jf: "drop"},
		{label: "l4v6", code: ldH, k: 42},
		{code: jeq, k: p, jt: "pass", jf: "drop"},
		{label: "icmp6", code: ldB, k: 40},
		{code: jeq, k: 1, jt: "pass", jf: "drop"},
		{label: "pass", code: ret, k: 0x40000},
		{label: "drop", code: ret, k: 0},
	}
	at := map[string]int{}
	for i, in := range prog {
		if in.label != "" {
			at[in.label] = i
		}
	}
	rel := func(i int, l string) uint8 {
		if l == "" {
			return 0
		}
		t, ok := at[l]
		if !ok || t <= i || t-i-1 > 255 {
			panic("bpf: bad jump to " + l)
		}
		return uint8(t - i - 1)
	}
	out := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		out[i] = unix.SockFilter{Code: in.code, K: in.k}
		if in.code&0x07 == unix.BPF_JMP {
			out[i].Jt, out[i].Jf = rel(i, in.jt), rel(i, in.jf)
		}
	}
	return out
}

// pickPort returns a random source port in 1025-65535 that no local TCP or
// UDP socket holds right now (nmap also picks one at random per scan).
func pickPort(rnd func(n int) int, udp bool) uint16 {
	for i := 0; i < 64; i++ {
		p := uint16(1025 + rnd(65535-1025))
		network := "tcp"
		if udp {
			network = "udp"
		}
		var l interface{ Close() error }
		var err error
		if udp {
			l, err = net.ListenPacket(network, fmt.Sprintf(":%d", p))
		} else {
			l, err = net.Listen(network, fmt.Sprintf(":%d", p))
		}
		if err == nil {
			l.Close()
			return p
		}
	}
	return uint16(1025 + rnd(65535-1025))
}
