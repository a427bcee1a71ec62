//go:build linux

package selftest

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// SCTP in the target. A kernel without SCTP (this one's case, often) never
// answers an INIT, and the -sY and -sZ checks would prove only that the
// sensor alerts on unanswered probes. So when the kernel has no SCTP, the
// target answers as an SCTP stack would (RFC 9260), from a raw socket:
// INIT-ACK to an INIT on the open port, ABORT to an INIT on any other
// port, ABORT with the T bit to a COOKIE ECHO with no association (the open
// port drops it, as Linux does with a cookie it did not make).

const (
	protoSCTP        = 132
	chunkInit        = 1
	chunkInitAck     = 2
	chunkAbort       = 6
	chunkCookieEcho  = 10
	paramStateCookie = 7
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// kernelSCTP reports whether this kernel has an SCTP stack of its own.
func kernelSCTP() bool {
	_, err := os.Stat("/proc/net/sctp")
	return err == nil
}

// startSCTPResponder opens the raw socket and answers in the background
// until the process exits. It says which SCTP answers the target.
func startSCTPResponder(openPort uint16) (string, error) {
	if kernelSCTP() {
		return "kernel SCTP (no listener: ABORT on every port)", nil
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, protoSCTP)
	if err != nil {
		return "", fmt.Errorf("raw SCTP socket: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_HDRINCL, 1); err != nil {
		unix.Close(fd)
		return "", fmt.Errorf("raw SCTP socket: IP_HDRINCL: %w", err)
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				return
			}
			if reply, dst, ok := sctpAnswer(buf[:n], openPort); ok {
				_ = unix.Sendto(fd, reply, 0, &unix.SockaddrInet4{Addr: dst.As4()})
			}
		}
	}()
	return fmt.Sprintf("userspace responder (kernel has no SCTP), port %d open", openPort), nil
}

// sctpAnswer is the answer to one IPv4 SCTP packet, with its IP header
// (from the packet's destination, so every target address answers as
// itself), and where it goes; ok is false when nothing is to be sent.
func sctpAnswer(pkt []byte, openPort uint16) (reply []byte, dst netip.Addr, ok bool) {
	if len(pkt) < 20 || pkt[0]>>4 != 4 {
		return nil, dst, false
	}
	ihl := int(pkt[0]&0x0f) * 4
	if len(pkt) < ihl+16 {
		return nil, dst, false
	}
	src := netip.AddrFrom4([4]byte(pkt[12:16]))
	sc := pkt[ihl:]
	sport, dport := binary.BigEndian.Uint16(sc[0:2]), binary.BigEndian.Uint16(sc[2:4])
	vtag := binary.BigEndian.Uint32(sc[4:8])
	var tag uint32
	var chunk []byte
	switch sc[12] {
	case chunkCookieEcho:
		if dport == openPort {
			return nil, dst, false
		}
		// Out of the blue: ABORT with the T bit, the packet's own tag
		// reflected (RFC 9260 8.4, 8.5.1).
		tag, chunk = vtag, []byte{chunkAbort, 1, 0, 4}
	case chunkInit:
		if vtag != 0 || len(sc) < 32 {
			return nil, dst, false
		}
		tag = binary.BigEndian.Uint32(sc[16:20]) // the INIT's initiate tag
		if dport != openPort {
			chunk = []byte{chunkAbort, 0, 0, 4}
			break
		}
		var rnd [8 + 32]byte
		_, _ = rand.Read(rnd[:])
		body := make([]byte, 0, 16+4+32)
		body = binary.BigEndian.AppendUint32(body, binary.BigEndian.Uint32(rnd[0:4])|1) // initiate tag, not 0
		body = binary.BigEndian.AppendUint32(body, 106496)                              // a_rwnd
		body = binary.BigEndian.AppendUint16(body, 10)                                  // outbound streams
		body = binary.BigEndian.AppendUint16(body, 10)                                  // inbound streams
		body = binary.BigEndian.AppendUint32(body, binary.BigEndian.Uint32(rnd[4:8]))   // initial TSN
		body = binary.BigEndian.AppendUint16(body, paramStateCookie)
		body = binary.BigEndian.AppendUint16(body, 4+32)
		body = append(body, rnd[8:]...)
		chunk = []byte{chunkInitAck, 0, 0, 0}
		binary.BigEndian.PutUint16(chunk[2:], uint16(4+len(body)))
		chunk = append(chunk, body...)
	default:
		return nil, dst, false
	}
	out := make([]byte, 20, 20+12+len(chunk))
	out[0], out[8], out[9] = 0x45, 64, protoSCTP // version 4, IHL 5; TTL; protocol
	copy(out[12:16], pkt[16:20])                 // from the address probed
	copy(out[16:20], pkt[12:16])                 // the kernel fills length, ID and checksum
	out = binary.BigEndian.AppendUint16(out, dport)
	out = binary.BigEndian.AppendUint16(out, sport)
	out = binary.BigEndian.AppendUint32(out, tag)
	out = append(out, 0, 0, 0, 0)
	out = append(out, chunk...)
	// The CRC32c goes in little-endian byte order (RFC 9260 appendix A).
	binary.LittleEndian.PutUint32(out[28:32], crc32.Checksum(out[20:], castagnoli))
	return out, src, true
}
