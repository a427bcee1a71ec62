package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"time"

	"github.com/scanwatch/scanwatch/linktype"
)

// Classic pcap records are read straight out of memory: a record is a
// 16-byte header and its bytes, so the packet is handed over without a copy.
// A plain file is memory-mapped (readMapped); a gzip'd file or a stream is
// read from the file reader's buffer with a Peek and a Discard (readPcap).
// This is the hot path of every replay. Both paths judge a record with the
// same checkRecord, and treat what it does not pass alike (pcapSlow).
//
// What is accepted follows libpcap (sf-pcap.c), so that a file tcpdump reads
// is read here too: versions 2.0 to 2.4 and DG/UX's 543.0, with the capture
// and wire lengths swapped before 2.3; a record longer than the snapshot
// length is cut to it; nothing longer than MaxRecord is ever held.

// MaxRecord is the most bytes of one packet that are read: libpcap's and
// Wireshark's maximum snapshot length. A longer record is cut to it, the rest
// skipped, and reported (Opener.Warn) as a *FileError naming its offset.
const MaxRecord = 262144

// pcapRecords holds what the file header says about the records.
type pcapRecords struct {
	bigEnd bool
	nanos  bool
	// snap is the snapshot length records are cut to: the header's, or
	// MaxRecord when that is 0 or larger (libpcap's pcap_adjust_snapshot).
	snap     uint32
	snaplen  uint32 // as the header says
	linkType linktype.LinkType
	// caplenAt and wireAt are where a record header holds the capture and
	// wire lengths: 8 and 12, swapped in files older than version 2.3.
	caplenAt, wireAt int
	// maybeSwapped: version 2.3, where some writers swapped the lengths
	// and some did not; libpcap swaps them when the capture length is the
	// larger. Such a file is read through the buffer (fixSwapped).
	maybeSwapped bool
	big          []byte // a record cut to snap outside the read buffer
}

const (
	pcapFileHeaderLen = 24
	pcapHeaderLen     = 16 // a record header: seconds, fraction, capture length, wire length
)

// parsePcapHeader reads a pcap file header (its magic already recognised).
func parsePcapHeader(h []byte) (pcapRecords, error) {
	r := pcapRecords{caplenAt: 8, wireAt: 12}
	m := binary.LittleEndian.Uint32(h)
	switch m {
	case 0xa1b2c3d4, 0xa1b23c4d:
	default:
		r.bigEnd = true
		m = binary.BigEndian.Uint32(h)
	}
	r.nanos = m == 0xa1b23c4d
	major, minor := r.uint16(h[4:]), r.uint16(h[6:])
	switch {
	case major == 2 && minor < 3, major == 543 && minor == 0:
		r.caplenAt, r.wireAt = 12, 8
	case major == 2 && minor == 3:
		r.maybeSwapped = true
	case major == 2 && minor == 4:
	default:
		return r, fmt.Errorf("unsupported pcap version %d.%d", major, minor)
	}
	r.snaplen = r.uint32(h[16:])
	r.snap = r.snaplen
	if r.snap == 0 || r.snap > MaxRecord {
		r.snap = MaxRecord
	}
	// The upper 16 bits may carry the FCS length; the link type is below.
	r.linkType = linktype.LinkType(r.uint32(h[20:]) & 0xffff)
	return r, nil
}

// uint32 and uint16 read a header field in the file's byte order.
func (r *pcapRecords) uint32(b []byte) uint32 {
	v := binary.LittleEndian.Uint32(b)
	if r.bigEnd {
		v = bits.ReverseBytes32(v)
	}
	return v
}

func (r *pcapRecords) uint16(b []byte) uint16 {
	v := binary.LittleEndian.Uint16(b)
	if r.bigEnd {
		v = bits.ReverseBytes16(v)
	}
	return v
}

// recordCheck is checkRecord's verdict on a record.
type recordCheck uint8

const (
	recordWhole   recordCheck = iota // all its bytes are there
	recordPartial                    // the header is good, its bytes run past what can be seen
	recordShort                      // what can be seen ends inside the header
	recordTooLong                    // the capture length exceeds the snapshot length: cut it
)

// checkRecord is the one validation of a pcap record, for the mapped and the
// streamed path alike. b holds the bytes from the start of the record on
// that the reader can see at once: the rest of a mapped file, or what the
// read buffer holds. It returns the record's capture length and its verdict.
// It makes no calls, so that it is inlined into the hot path.
func (r *pcapRecords) checkRecord(b []byte) (caplen uint32, c recordCheck) {
	if len(b) < pcapHeaderLen {
		return 0, recordShort
	}
	caplen = r.uint32(b[r.caplenAt:])
	switch {
	case caplen > r.snap:
		return caplen, recordTooLong
	case uint64(caplen) > uint64(len(b)-pcapHeaderLen): // as uint64: no int overflow
		return caplen, recordPartial
	}
	return caplen, recordWhole
}

// packet makes the packet of a record whose header is at the start of rec
// and whose first n bytes (n >= 16) are kept, header included.
func (r *pcapRecords) packet(rec []byte, n int) Packet {
	h := rec[:pcapHeaderLen]
	o := binary.LittleEndian
	sec, frac, wirelen := o.Uint32(h), o.Uint32(h[4:]), o.Uint32(h[r.wireAt:])
	if r.bigEnd {
		sec, frac, wirelen = bits.ReverseBytes32(sec), bits.ReverseBytes32(frac), bits.ReverseBytes32(wirelen)
	}
	nsec := int64(frac)
	if !r.nanos {
		nsec *= 1000
	}
	return Packet{Data: rec[pcapHeaderLen:n:n], Time: time.Unix(int64(sec), nsec).UTC(), LinkType: r.linkType, Length: int(wirelen)}
}

// cutError is the warning for a record longer than MaxRecord that starts at
// off: its first bytes are read, the rest skipped.
func (fr *fileReader) cutError(off int64, record string, caplen uint32) *FileError {
	fr.counts.cut.Add(1)
	return &FileError{Path: fr.path, Offset: off, Packet: fr.packets, Record: record, Compressed: fr.compressed,
		Err: fmt.Errorf("%w: capture length %d, the first %d bytes read, the rest skipped", ErrRecordTooLong, caplen, MaxRecord)}
}

// readMapped reads the next record of a memory-mapped file in place: no
// copy, no system call. It returns false at the end of the file, at damage,
// or at a record to cut, and readMappedSlow deals with those. (It does not
// return an error itself: a Packet and a bool still travel in registers, a
// Packet and an error do not, and this is the hot path of a replay.)
func (fr *fileReader) readMapped() (Packet, bool) {
	mm, pos := fr.mm, fr.pos
	caplen, c := fr.rec.checkRecord(mm[pos:])
	if c != recordWhole {
		return Packet{}, false
	}
	n := pcapHeaderLen + int(caplen)
	fr.pos = pos + n
	fr.packets++
	if pos-fr.released >= releaseEvery {
		fr.release(pos)
	}
	return fr.rec.packet(mm[pos:], n), true
}

// readMappedSlow reads the next record of a mapped file: one readMapped
// passes, or one to cut to the snapshot length, or the end or the damage
// there.
func (fr *fileReader) readMappedSlow() (Packet, error) {
	if p, ok := fr.readMapped(); ok {
		return p, nil
	}
	pos := fr.pos
	if pos == len(fr.mm) {
		return Packet{}, io.EOF
	}
	rest := fr.mm[pos:]
	caplen, c := fr.rec.checkRecord(rest)
	if c != recordTooLong || uint64(caplen) > uint64(len(rest)-pcapHeaderLen) {
		return Packet{}, fr.recordError(int64(pos))
	}
	fr.pos = pos + pcapHeaderLen + int(caplen)
	fr.packets++
	if caplen > MaxRecord {
		fr.warn(fr.cutError(int64(pos), "packet record", caplen))
	}
	return fr.rec.packet(rest, pcapHeaderLen+int(fr.rec.snap)), nil
}

// recordError is the error for the packet record that starts at off, which
// the file cuts short.
func (fr *fileReader) recordError(off int64) error {
	return fr.errorAt(off, "packet record", io.ErrUnexpectedEOF)
}

// readPcap reads the next record from the read buffer (a gzip'd file, a
// stream, or a file that could not be mapped).
func (fr *fileReader) readPcap() (Packet, error) {
	r := &fr.rec
	start := fr.offset()
	b, err := fr.br.Peek(pcapHeaderLen)
	if len(b) == 0 && err == io.EOF && fr.cr.err == nil {
		return Packet{}, io.EOF
	}
	if len(b) == pcapHeaderLen {
		if r.maybeSwapped {
			r.fixSwapped(b)
		}
		b, _ = fr.br.Peek(fr.br.Buffered()) // all there is without reading
	}
	caplen, c := r.checkRecord(b)
	keep := caplen // bytes of the record's data handed over
	if c == recordTooLong {
		keep = r.snap
	}
	n := pcapHeaderLen + int(keep)
	if c != recordShort && n > len(b) && n <= fr.br.Size() {
		// Not all read yet, but it fits in the buffer: fill it.
		b, _ = fr.br.Peek(n)
	}
	switch {
	case c == recordShort || len(b) < n && n <= fr.br.Size():
		return Packet{}, fr.recordError(start)
	case len(b) < n || keep < caplen:
		// Skipping the cut part may refill the buffer, which would
		// overwrite the packet: a record to cut takes this path too.
		return fr.readBig(start, caplen)
	}
	fr.br.Discard(n)
	fr.packets++
	return r.packet(b, n), nil
}

// fixSwapped undoes, in the read buffer, the swap of the capture and wire
// lengths that some version 2.3 writers made: libpcap's rule is that a
// capture length larger than the wire length means they are swapped.
func (r *pcapRecords) fixSwapped(h []byte) {
	if r.uint32(h[8:]) > r.uint32(h[12:]) {
		var t [4]byte
		copy(t[:], h[8:12])
		copy(h[8:12], h[12:16])
		copy(h[12:16], t[:])
	}
}

// readBig reads a record whose kept part is bigger than the read buffer (a
// small buffer for a small file, or a snapshot length near MaxRecord) into a
// buffer of its own, and skips what is cut.
func (fr *fileReader) readBig(start int64, caplen uint32) (Packet, error) {
	r := &fr.rec
	keep := min(caplen, r.snap)
	n := pcapHeaderLen + int(keep)
	if cap(r.big) < n {
		r.big = make([]byte, n)
	}
	if _, err := io.ReadFull(fr.br, r.big[:n]); err != nil {
		return Packet{}, fr.recordError(start)
	}
	if keep < caplen {
		if _, err := fr.br.Discard(int(caplen - keep)); err != nil {
			return Packet{}, fr.recordError(start)
		}
	}
	fr.packets++
	if caplen > MaxRecord {
		fr.warn(fr.cutError(start, "packet record", caplen))
	}
	return r.packet(r.big, n), nil
}
