package capture

import (
	"errors"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/afpacket"
	xbpf "golang.org/x/net/bpf"
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
	return ring{tp}, nil
}

// ring is a packetSocket on gopacket's afpacket.
type ring struct{ tp *afpacket.TPacket }

func (r ring) read() ([]byte, gopacket.CaptureInfo, error) {
	data, ci, err := r.tp.ZeroCopyReadPacketData()
	if errors.Is(err, afpacket.ErrTimeout) {
		err = ErrTimeout
	}
	return data, ci, err
}

func (r ring) attachEBPF(fd int) error                        { return r.tp.SetEBPF(int32(fd)) }
func (r ring) attachClassic(prog []xbpf.RawInstruction) error { return r.tp.SetBPF(prog) }
func (r ring) setPromiscuous() error                          { return r.tp.SetPromiscuous(true) }
func (r ring) close()                                         { r.tp.Close() }

func (r ring) stats() (passed, lost uint64, err error) {
	_, v3, err := r.tp.SocketStats()
	// tp_packets counts what passed the filter, queued or not.
	return uint64(v3.Packets()), uint64(v3.Drops()), err
}
