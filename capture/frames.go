package capture

import (
	"encoding/binary"
	"math/bits"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Frames is the hot path of a replay of one memory-mapped file: the next
// frame's bytes, time and link type, without a Packet or an error to pass
// back (NextFrame's results all travel in registers). It hands out a frame
// only when it is whole, in place, and on its file's timeline; for anything
// else (another block, damage, a clock jump, the end) it returns false and
// moves nothing, and the caller reads that frame with ReadPacket. Frames
// from both calls come in the one order of the file.
type Frames interface {
	NextFrame() (data []byte, t time.Time, link layers.LinkType, ok bool)
}

var _ Frames = (*fileSource)(nil)

// NextFrame: see Frames. The frame counts in Stats as a ReadPacket does.
func (s *fileSource) NextFrame() ([]byte, time.Time, layers.LinkType, bool) {
	fr := s.fast
	if fr == nil || fr.ahead.ok || fr.ngErr != nil {
		return nil, time.Time{}, 0, false
	}
	if !fr.isPcap {
		return s.nextNgFrame(fr)
	}
	mm, pos := fr.mm, fr.pos
	r := &fr.rec
	caplen, c := r.checkRecord(mm[pos:])
	if c != recordWhole {
		return nil, time.Time{}, 0, false
	}
	h := mm[pos : pos+pcapHeaderLen]
	sec, frac := binary.LittleEndian.Uint32(h), binary.LittleEndian.Uint32(h[4:])
	if r.bigEnd {
		sec, frac = bits.ReverseBytes32(sec), bits.ReverseBytes32(frac)
	}
	nsec := int64(frac)
	if !r.nanos {
		nsec *= 1000
	}
	if !fr.clock.onTimeNano(int64(sec)*1e9 + nsec) {
		return nil, time.Time{}, 0, false // judged by ReadPacket
	}
	n := pcapHeaderLen + int(caplen)
	fr.pos = pos + n
	fr.packets++
	if pos-fr.released >= releaseEvery {
		fr.release(pos)
	}
	s.fastReceived++
	return mm[pos+pcapHeaderLen : pos+n : pos+n], time.Unix(int64(sec), nsec).UTC(), r.linkType, true
}

// nextNgFrame is NextFrame for a pcapng file: an enhanced packet block.
func (s *fileSource) nextNgFrame(fr *fileReader) ([]byte, time.Time, layers.LinkType, bool) {
	b, off, ok := fr.nextEnhanced()
	if !ok {
		return nil, time.Time{}, 0, false
	}
	p, ok := fr.ngPacket(int64(off), ngEnhancedPacket, b)
	if !ok {
		return nil, time.Time{}, 0, false // ReadPacket reports fr.ngErr
	}
	if !fr.clock.onTime(p.Time) {
		p = fr.judge(p)
	}
	s.fastReceived++
	return p.Data, p.Time, p.LinkType, true
}

