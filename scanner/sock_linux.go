//go:build linux

package scanner

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawSender sends complete IP packets (header included) on raw sockets, so
// the kernel routes them and resolves the next hop, many per system call
// (sendmmsg). ARP requests go out on a packet socket.
type rawSender struct {
	fd4, fd6, fdARP int
	hdrs            []mmsghdr
	iovs            []unix.Iovec
	names4          []unix.RawSockaddrInet4
	names6          []unix.RawSockaddrInet6
}

// mmsghdr is struct mmsghdr of sendmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

// openSender opens the sockets; with ifname (-e) the IP sockets send on
// that interface only.
func openSender(v4, v6, arp bool, ifname string) (*rawSender, error) {
	s := &rawSender{fd4: -1, fd6: -1, fdARP: -1}
	open := func(family, typ, proto int) (int, error) {
		fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return -1, err
		}
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4<<20)
		if ifname != "" && family != unix.AF_PACKET {
			if err := unix.BindToDevice(fd, ifname); err != nil {
				unix.Close(fd)
				return -1, fmt.Errorf("bind to interface %s: %w", ifname, err)
			}
		}
		return fd, nil
	}
	var err error
	if v4 {
		// IPPROTO_RAW implies IP_HDRINCL.
		if s.fd4, err = open(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW); err != nil {
			return nil, fmt.Errorf("open raw IPv4 socket (needs CAP_NET_RAW): %w", err)
		}
	}
	if v6 {
		if s.fd6, err = open(unix.AF_INET6, unix.SOCK_RAW, unix.IPPROTO_RAW); err != nil {
			s.Close()
			return nil, fmt.Errorf("open raw IPv6 socket (needs CAP_NET_RAW): %w", err)
		}
	}
	if arp {
		if s.fdARP, err = open(unix.AF_PACKET, unix.SOCK_DGRAM, 0); err != nil {
			s.Close()
			return nil, fmt.Errorf("open packet socket for ARP (needs CAP_NET_RAW): %w", err)
		}
	}
	return s, nil
}

// send writes pkts in order, waiting out a full send buffer. It stops at
// the first packet the kernel refuses and returns how many went before it.
func (s *rawSender) send(pkts []outPacket) (int, error) {
	done := 0
	for done < len(pkts) {
		p := pkts[done]
		if p.arp {
			if err := s.sendARP(p); err != nil {
				return done, err
			}
			done++
			continue
		}
		// A run of packets of one family goes in one sendmmsg.
		end := done + 1
		for end < len(pkts) && !pkts[end].arp && pkts[end].dst.Is4() == p.dst.Is4() {
			end++
		}
		n, err := s.sendRun(pkts[done:end])
		done += n
		if err != nil {
			return done, fmt.Errorf("send probe to %s: %w", pkts[done].dst, err)
		}
	}
	return done, nil
}

// sendRun sends packets of one family with sendmmsg.
func (s *rawSender) sendRun(pkts []outPacket) (int, error) {
	n := len(pkts)
	if cap(s.hdrs) < n {
		s.hdrs = make([]mmsghdr, n)
		s.iovs = make([]unix.Iovec, n)
		s.names4 = make([]unix.RawSockaddrInet4, n)
		s.names6 = make([]unix.RawSockaddrInet6, n)
	}
	hdrs, iovs := s.hdrs[:n], s.iovs[:n]
	fd := s.fd4
	if !pkts[0].dst.Is4() {
		fd = s.fd6
	}
	for i, p := range pkts {
		iovs[i] = unix.Iovec{Base: &p.data[0]}
		iovs[i].SetLen(len(p.data))
		hdrs[i] = mmsghdr{}
		hdrs[i].hdr.Iov = &iovs[i]
		hdrs[i].hdr.SetIovlen(1)
		if p.dst.Is4() {
			s.names4[i] = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: p.dst.As4()}
			hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&s.names4[i]))
			hdrs[i].hdr.Namelen = unix.SizeofSockaddrInet4
		} else {
			s.names6[i] = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: p.dst.As16(), Scope_id: uint32(p.ifindex)}
			hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&s.names6[i]))
			hdrs[i].hdr.Namelen = unix.SizeofSockaddrInet6
		}
	}
	sent := 0
	for waits := 0; sent < n; {
		r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&hdrs[sent])), uintptr(n-sent), 0, 0, 0)
		runtime.KeepAlive(pkts)
		if errno == 0 {
			sent += int(r)
			continue
		}
		if (errno == unix.ENOBUFS || errno == unix.EAGAIN || errno == unix.EINTR) && waits < 1000 {
			waits++
			time.Sleep(200 * time.Microsecond)
			continue
		}
		return sent, errno
	}
	return sent, nil
}

// sendARP broadcasts an ARP request on its interface.
func (s *rawSender) sendARP(p outPacket) error {
	sa := &unix.SockaddrLinklayer{Protocol: htons(ethARP), Ifindex: p.ifindex, Halen: 6,
		Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	for waits := 0; ; waits++ {
		err := unix.Sendto(s.fdARP, p.data, 0, sa)
		if err == nil {
			return nil
		}
		if (errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN)) && waits < 1000 {
			time.Sleep(200 * time.Microsecond)
			continue
		}
		return fmt.Errorf("send ARP request for %s: %w", p.dst, err)
	}
}

func (s *rawSender) Close() {
	for _, fd := range []int{s.fd4, s.fd6, s.fdARP} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// isDestErr reports whether a send error concerns one destination only (no
// neighbour, no route, a local firewall), so the others go on.
func isDestErr(err error) bool {
	for _, e := range []error{unix.EHOSTUNREACH, unix.ENETUNREACH, unix.EPERM, unix.EACCES, unix.EHOSTDOWN,
		unix.EADDRNOTAVAIL, unix.EINVAL, unix.EMSGSIZE} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// rawReceiver reads packets (without link headers) from an AF_PACKET
// SOCK_DGRAM socket whose classic BPF filter passes only what can answer
// our probes (replyFilter).
type rawReceiver struct {
	fd int
}

func openReceiver(f filterSpec, ifname string) (*rawReceiver, error) {
	// Protocol 0 until the filter is attached, so nothing unfiltered queues up.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open AF_PACKET socket (needs CAP_NET_RAW): %w", err)
	}
	r := &rawReceiver{fd: fd}
	prog := replyFilter(f)
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

// read returns the next packet and its Ethernet type, or ok=false after
// the receive timeout.
func (r *rawReceiver) read(buf []byte) (n int, ethType uint16, ok bool, err error) {
	for {
		n, from, err := unix.Recvfrom(r.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				return 0, 0, false, nil
			}
			return 0, 0, false, fmt.Errorf("read replies: %w", err)
		}
		ll, isLL := from.(*unix.SockaddrLinklayer)
		if isLL && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if isLL {
			ethType = htons(ll.Protocol)
		}
		return n, ethType, true, nil
	}
}

func (r *rawReceiver) Close() { unix.Close(r.fd) }

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// pickPort returns a random source port in 1025-65535-span whose span
// ports no local TCP or UDP socket holds right now (nmap also picks one at
// random per scan).
func pickPort(rnd func(n int) int, udp bool, span int) uint16 {
	network := "tcp"
	if udp {
		network = "udp"
	}
	for i := 0; i < 64; i++ {
		p := uint16(1025 + rnd(65535-1025-span))
		free := true
		for q := p; q < p+uint16(max(span, 1)) && free; q++ {
			var l interface{ Close() error }
			var err error
			if udp {
				l, err = net.ListenPacket(network, fmt.Sprintf(":%d", q))
			} else {
				l, err = net.Listen(network, fmt.Sprintf(":%d", q))
			}
			if err != nil {
				free = false
				continue
			}
			l.Close()
		}
		if free {
			return p
		}
	}
	return uint16(1025 + rnd(65535-1025-span))
}

// linkOf returns the interface that holds a local address, with its index
// and hardware address, when it is an Ethernet-like link.
func linkOf(local netip.Addr) (ifindex int, mac net.HardwareAddr, prefix netip.Prefix, ok bool) {
	ifs, err := net.Interfaces()
	if err != nil {
		return 0, nil, prefix, false
	}
	for _, ifi := range ifs {
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, isNet := a.(*net.IPNet)
			if !isNet {
				continue
			}
			ip, _ := netip.AddrFromSlice(ipn.IP)
			if ip.Unmap() != local {
				continue
			}
			ones, _ := ipn.Mask.Size()
			p := netip.PrefixFrom(local, ones).Masked()
			return ifi.Index, ifi.HardwareAddr, p, len(ifi.HardwareAddr) == 6 && ifi.Flags&net.FlagLoopback == 0
		}
	}
	return 0, nil, prefix, false
}
