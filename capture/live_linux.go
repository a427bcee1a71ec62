package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/afpacket"
	xbpf "golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// openSocket opens an AF_PACKET socket with a TPACKET_V3 ring, bound to one
// interface (bindTo) or to all of them (""). A cooked (SOCK_DGRAM) socket
// hands over packets from their network header, a raw one from their link
// header.
func openSocket(bindTo string, cooked bool) (packetSocket, error) {
	sockType := afpacket.SocketRaw
	if cooked {
		sockType = afpacket.SocketDgram
	}
	opts := []any{
		afpacket.TPacketVersion3,
		sockType,
		afpacket.OptBlockSize(1 << 20),
		afpacket.OptNumBlocks(16),
		afpacket.OptBlockTimeout(20 * time.Millisecond),
		afpacket.OptPollTimeout(PollInterval),
	}
	if bindTo != "" {
		opts = append(opts, afpacket.OptInterface(bindTo))
	}
	tp, err := afpacket.NewTPacket(opts...)
	if err != nil {
		return nil, err
	}
	fd, err := descriptor(tp)
	if err != nil {
		tp.Close()
		return nil, err
	}
	return ring{tp, fd}, nil
}

// descriptor returns the socket under gopacket's TPacket. The library keeps
// it to itself, but following a link flap needs it (SO_ERROR, a new bind,
// interface look-ups in the socket's namespace), which the library does
// not offer. It is read by reflection (read-only) and checked to be a
// packet socket, so that a change in the library fails here, at start-up,
// with this message, not later.
func descriptor(tp *afpacket.TPacket) (int, error) {
	f := reflect.ValueOf(tp).Elem().FieldByName("fd")
	if f.Kind() != reflect.Int {
		return -1, errors.New("live: gopacket's afpacket.TPacket has no fd field any more: update capture.descriptor")
	}
	fd := int(f.Int())
	if dom, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN); err != nil || dom != unix.AF_PACKET {
		return -1, fmt.Errorf("live: gopacket's afpacket.TPacket fd %d is not a packet socket (domain %d, %v): update capture.descriptor", fd, dom, err)
	}
	return fd, nil
}

// ring is a packetSocket on gopacket's afpacket, with its descriptor.
type ring struct {
	tp *afpacket.TPacket
	fd int
}

func (r ring) read() ([]byte, gopacket.CaptureInfo, error) {
	data, ci, err := r.tp.ZeroCopyReadPacketData()
	switch {
	case errors.Is(err, afpacket.ErrTimeout):
		err = ErrTimeout
	case errors.Is(err, afpacket.ErrPoll):
		err = errPollError
	}
	return data, ci, err
}

func (r ring) attachEBPF(fd int) error                        { return r.tp.SetEBPF(int32(fd)) }
func (r ring) attachClassic(prog []xbpf.RawInstruction) error { return r.tp.SetBPF(prog) }
func (r ring) close()                                         { r.tp.Close() }

// setPromiscuous adds a promiscuous membership for the interface (the
// library's own SetPromiscuous would name the interface of the first bind).
func (r ring) setPromiscuous(ifindex int) error {
	mreq := unix.PacketMreq{Ifindex: int32(ifindex), Type: unix.PACKET_MR_PROMISC}
	return unix.SetsockoptPacketMreq(r.fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq)
}

func (r ring) pendingError() error {
	v, err := unix.GetsockoptInt(r.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return fmt.Errorf("getsockopt SO_ERROR: %w", err)
	}
	if v == 0 {
		return nil
	}
	return unix.Errno(v)
}

// link asks through the packet socket itself (netdevice(7) ioctls), so the
// answer is from the socket's network namespace, whichever thread asks,
// and needs neither a new socket nor a privilege.
func (r ring) link(name string) (linkInfo, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return linkInfo{}, fmt.Errorf("interface name %q: %w", name, err)
	}
	var info linkInfo
	if err := unix.IoctlIfreq(r.fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return linkInfo{}, err
	}
	info.index = int(ifr.Uint32())
	if err := unix.IoctlIfreq(r.fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return linkInfo{}, err
	}
	info.up = ifr.Uint16()&unix.IFF_UP != 0
	if err := unix.IoctlIfreq(r.fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return linkInfo{}, err
	}
	info.hwType = ifr.Uint16() // the hardware address's sa_family
	return info, nil
}

// bind binds the socket to the interface for every protocol (ETH_P_ALL, as
// the library's first bind did).
func (r ring) bind(ifindex int) error {
	return unix.Bind(r.fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex})
}

// htons puts v in network byte order, as sockaddr_ll's protocol wants it.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

func (r ring) stats() (passed, lost uint64, err error) {
	_, v3, err := r.tp.SocketStats()
	// tp_packets counts what passed the filter, queued or not.
	return uint64(v3.Packets()), uint64(v3.Drops()), err
}
