package capture

import (
	"encoding/binary"
	"math/bits"
	"time"

	"github.com/scanwatch/scanwatch/linktype"
)

// Frames is the hot path of a replay of one memory-mapped file: the next
// frame's bytes, time and link type, without a Packet or an error to pass
// back (NextFrame's results all travel in registers). It hands out a frame
// only when it is whole, in place, and on its file's timeline; for anything
// else (another block, damage, a clock jump, the end) it returns false and
// moves nothing, and the caller reads that frame with ReadPacket. Frames
// from both calls come in the one order of the file.
type Frames interface {
	NextFrame() (data []byte, t time.Time, link linktype.LinkType, ok bool)
}

var _ Frames = (*fileSource)(nil)

// NextFrame: see Frames. The frame counts in Stats as a ReadPacket does.
func (s *fileSource) NextFrame() ([]byte, time.Time, linktype.LinkType, bool) {
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

// nextNgFrame is NextFrame for a pcapng file: a whole enhanced packet
// block, parsed where it lies with the checks of checkBlock, ngPacket and
// ngTime inlined, for the usual case: an interface counting micro- or
// nanoseconds with no offset, a capture length within MaxRecord. Anything
// else, or anything they would report, is left to ReadPacket, which then
// reads the block as it always has.
func (s *fileSource) nextNgFrame(fr *fileReader) ([]byte, time.Time, linktype.LinkType, bool) {
	pos, big := fr.pos, fr.ng.big
	b := fr.mm[pos:]
	if len(b) < 32 || ngU32(big, b) != ngEnhancedPacket {
		return nil, time.Time{}, 0, false
	}
	length := ngU32(big, b[4:])
	if length%4 != 0 || length < 32 || int64(length) > int64(fr.ngLimit) || uint64(length) > uint64(len(b)) {
		return nil, time.Time{}, 0, false
	}
	b = b[:length]
	iface := ngU32(big, b[8:])
	if ngU32(big, b[length-4:]) != length || uint64(iface) >= uint64(len(fr.ng.ifaces)) {
		return nil, time.Time{}, 0, false
	}
	ifc := &fr.ng.ifaces[iface]
	ts := uint64(ngU32(big, b[12:]))<<32 | uint64(ngU32(big, b[16:]))
	var sec, nsec uint64
	switch {
	case ifc.offset != 0:
		return nil, time.Time{}, 0, false
	case ifc.resol == 9:
		sec, nsec = ts/1e9, ts%1e9
	case ifc.resol == 6:
		sec, nsec = ts/1e6, ts%1e6*1e3
	default:
		return nil, time.Time{}, 0, false
	}
	caplen := ngU32(big, b[20:])
	if sec > maxUnixSeconds || caplen > MaxRecord || caplen > length-32 {
		return nil, time.Time{}, 0, false
	}
	if opts := 28 + int((caplen+3)&^3); opts != int(length)-4 && fr.ngOptions(b, opts) != nil {
		return nil, time.Time{}, 0, false
	}
	if !fr.clock.onTimeNano(int64(sec)*1e9 + int64(nsec)) {
		return nil, time.Time{}, 0, false // judged by ReadPacket
	}
	t := time.Unix(int64(sec), int64(nsec)).UTC()
	fr.ng.last = t
	fr.pos = pos + int(length)
	fr.packets++
	if pos-fr.released >= releaseEvery {
		fr.release(pos)
	}
	s.fastReceived++
	end := 28 + int(min(caplen, ifc.snap))
	return b[28:end:end], t, ifc.linkType, true
}

// ngU32 reads a pcapng field in the section's byte order.
func ngU32(big bool, b []byte) uint32 {
	if big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}
