package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/sys/unix"
)

// Classic pcap records are read straight out of memory: a record is a
// 16-byte header and its bytes, so the packet is handed over without a copy.
// A plain file is memory-mapped (readMapped); a gzip'd file or a stream is
// read from the file reader's buffer with a Peek and a Discard (readPcap).
// This is the hot path of every replay; pcapgo still parses and checks the
// file header. Both paths judge a record with the same checkRecord.

// pcapRecords holds what the file header says about the records.
type pcapRecords struct {
	bigEnd   bool
	nanos    bool
	snaplen  uint32
	linkType layers.LinkType
	big      []byte // records larger than the read buffer
}

func newPcapRecords(magic []byte, pr *pcapgo.Reader) pcapRecords {
	r := pcapRecords{snaplen: pr.Snaplen(), linkType: pr.LinkType()}
	m := binary.LittleEndian.Uint32(magic)
	switch m {
	case 0xa1b2c3d4, 0xa1b23c4d:
	default:
		r.bigEnd = true
		m = binary.BigEndian.Uint32(magic)
	}
	r.nanos = m == 0xa1b23c4d
	return r
}

// A record header: seconds, fraction (micro- or nanoseconds), capture length
// (bytes in the file) and length on the wire, 4 bytes each.
const (
	pcapHeaderLen = 16
	pcapCaplenAt  = 8
)

// uint32 reads a header field in the file's byte order.
func (r *pcapRecords) uint32(b []byte) uint32 {
	v := binary.LittleEndian.Uint32(b)
	if r.bigEnd {
		v = bits.ReverseBytes32(v)
	}
	return v
}

// recordCheck is checkRecord's verdict on a record.
type recordCheck uint8

const (
	recordWhole   recordCheck = iota // all its bytes are there
	recordPartial                    // the header is good, its bytes run past what can be seen
	recordShort                      // what can be seen ends inside the header
	recordTooLong                    // the capture length exceeds the file's snap length
)

// checkRecord is the one validation of a pcap record, for the mapped and the
// streamed path alike. b holds the bytes from the start of the record on
// that the reader can see at once: the rest of a mapped file, or what the
// read buffer holds. It returns the record's capture length and its verdict.
// It makes no calls, so that it is inlined into the hot path; recordError
// turns a verdict other than recordWhole into the error.
func (r *pcapRecords) checkRecord(b []byte) (caplen uint32, c recordCheck) {
	if len(b) < pcapHeaderLen {
		return 0, recordShort
	}
	caplen = r.uint32(b[pcapCaplenAt:])
	switch {
	case r.snaplen != 0 && caplen > r.snaplen:
		return caplen, recordTooLong
	case uint64(caplen) > uint64(len(b)-pcapHeaderLen): // as uint64: no int overflow
		return caplen, recordPartial
	}
	return caplen, recordWhole
}

// recordError is the error for the packet record that starts at off, which
// checkRecord did not find whole.
func (fr *fileReader) recordError(off int64, caplen uint32, c recordCheck) error {
	err := io.ErrUnexpectedEOF
	if c == recordTooLong {
		err = fmt.Errorf("capture length exceeds snap length: %d > %d", caplen, fr.rec.snaplen)
	}
	return fr.errorAt(off, "packet record", err)
}

// packet makes the packet of the whole record at the start of rec, whose
// length (header included) is n.
func (r *pcapRecords) packet(rec []byte, n int) Packet {
	h := rec[:pcapHeaderLen]
	o := binary.LittleEndian
	sec, frac, wirelen := o.Uint32(h), o.Uint32(h[4:]), o.Uint32(h[12:])
	if r.bigEnd {
		sec, frac, wirelen = bits.ReverseBytes32(sec), bits.ReverseBytes32(frac), bits.ReverseBytes32(wirelen)
	}
	nsec := int64(frac)
	if !r.nanos {
		nsec *= 1000
	}
	return Packet{Data: rec[pcapHeaderLen:n:n], Time: time.Unix(int64(sec), nsec).UTC(), LinkType: r.linkType, Length: int(wirelen)}
}

// mapPcap memory-maps a plain (uncompressed) pcap file, so records are read
// in place. Anything else, or a failed mmap, keeps the buffered path.
func (fr *fileReader) mapPcap(f *os.File, size int64) {
	if fr.pcap == nil || fr.compressed || size < 24 || size > math.MaxInt32*16 {
		return
	}
	mm, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return
	}
	unix.Madvise(mm, unix.MADV_SEQUENTIAL)
	fr.mm, fr.pos = mm, 24
}

// readMapped reads the next record of a memory-mapped file in place: no
// copy, no system call. It returns false at the end of the file or at
// damage, and mappedError says which. (It does not return an error itself:
// a Packet and a bool still travel in registers, a Packet and an error do
// not, and this is the hot path of a replay.)
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

// mappedError says why readMapped returned false: io.EOF at the end of the
// file, else the error for the record there.
func (fr *fileReader) mappedError() error {
	if fr.pos == len(fr.mm) {
		return io.EOF
	}
	caplen, c := fr.rec.checkRecord(fr.mm[fr.pos:])
	return fr.recordError(int64(fr.pos), caplen, c)
}

// releaseEvery is how much of a mapped file is read before the pages
// behind the reader are handed back: a replay of a 10 GB file should not
// hold 10 GB of resident pages.
const releaseEvery = 64 << 20

// release drops the mapped pages before offset upTo (rounded down to a
// page), none of which a later packet can point into.
func (fr *fileReader) release(upTo int) {
	end := upTo &^ (os.Getpagesize() - 1)
	if end > fr.released {
		unix.Madvise(fr.mm[fr.released:end], unix.MADV_DONTNEED)
		fr.released = end
	}
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
		b, _ = fr.br.Peek(fr.br.Buffered()) // all there is without reading
	}
	caplen, c := r.checkRecord(b)
	n := pcapHeaderLen + int(caplen)
	if c == recordPartial && n <= fr.br.Size() {
		// Not all read yet, but it fits in the buffer: fill it.
		b, _ = fr.br.Peek(n)
		caplen, c = r.checkRecord(b)
	}
	switch {
	case c == recordWhole:
		fr.br.Discard(n)
		fr.packets++
		return r.packet(b, n), nil
	case c == recordPartial && n > fr.br.Size():
		return fr.readBig(start, caplen)
	}
	return Packet{}, fr.recordError(start, caplen, c)
}

// maxRecord bounds a record read outside the buffer; a larger capture
// length is corrupt, and must not become a huge allocation.
const maxRecord = 16 << 20

// readBig reads a record too big for the read buffer (a file with a big snap
// length) into a buffer of its own.
func (fr *fileReader) readBig(start int64, caplen uint32) (Packet, error) {
	r := &fr.rec
	if caplen > maxRecord {
		fr.br.Discard(pcapHeaderLen + int(min(caplen, 1<<30)))
		return Packet{}, fr.recordError(start, caplen, recordPartial)
	}
	n := pcapHeaderLen + int(caplen)
	if cap(r.big) < n {
		r.big = make([]byte, n)
	}
	if _, err := io.ReadFull(fr.br, r.big[:n]); err != nil {
		return Packet{}, fr.recordError(start, caplen, recordPartial)
	}
	fr.packets++
	return r.packet(r.big, n), nil
}
