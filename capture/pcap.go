package capture

import (
	"math"
	"os"

	"encoding/binary"
	"fmt"
	"golang.org/x/sys/unix"
	"io"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pcapRecords reads classic pcap records straight out of the file
// reader's buffer: a record is a 16-byte header and its bytes, so a Peek
// and a Discard hand the packet over without copying it. This is the hot
// path of every replay; pcapgo still parses and checks the file header.
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

// maxRecord bounds a record read outside the buffer; a larger capture
// length is corrupt, and must not become a huge allocation.
const maxRecord = 16 << 20

// header decodes a record header: seconds, fraction, capture and wire length.
func (r *pcapRecords) header(h []byte) (sec, frac, caplen, wirelen uint32) {
	if r.bigEnd {
		b := binary.BigEndian
		return b.Uint32(h), b.Uint32(h[4:]), b.Uint32(h[8:]), b.Uint32(h[12:])
	}
	l := binary.LittleEndian
	return l.Uint32(h), l.Uint32(h[4:]), l.Uint32(h[8:]), l.Uint32(h[12:])
}

func (r *pcapRecords) packet(data []byte, sec, frac, wirelen uint32) Packet {
	nsec := int64(frac)
	if !r.nanos {
		nsec *= 1000
	}
	return Packet{Data: data, Time: time.Unix(int64(sec), nsec).UTC(), LinkType: r.linkType, Length: int(wirelen)}
}

func (r *pcapRecords) tooLong(caplen uint32) error {
	if r.snaplen != 0 && caplen > r.snaplen {
		return fmt.Errorf("capture length exceeds snap length: %d > %d", caplen, r.snaplen)
	}
	return nil
}

// nextMapped is the hot path of a replay: the next whole, sane record of a
// memory-mapped file. Anything else (the end, damage) is left to readMapped.
func (fr *fileReader) nextMapped() (Packet, bool) {
	mm, pos := fr.mm, fr.pos
	if len(mm)-pos < 16 {
		return Packet{}, false
	}
	r := &fr.rec
	sec, frac, caplen, wirelen := r.header(mm[pos : pos+16])
	end := pos + 16 + int(caplen)
	if caplen > r.snaplen && r.snaplen != 0 || caplen > uint32(len(mm)) || end > len(mm) {
		return Packet{}, false
	}
	fr.pos = end
	fr.packets++
	if pos-fr.released >= releaseEvery {
		fr.release(pos)
	}
	return r.packet(mm[pos+16:end:end], sec, frac, wirelen), true
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

// readMapped reads the next record of a memory-mapped file: no copy, no
// system call per buffer.
func (fr *fileReader) readMapped() (Packet, error) {
	r, mm, pos := &fr.rec, fr.mm, fr.pos
	if pos == len(mm) {
		return Packet{}, io.EOF
	}
	if len(mm)-pos < 16 {
		return Packet{}, fr.mappedError(pos, io.ErrUnexpectedEOF)
	}
	sec, frac, caplen, wirelen := r.header(mm[pos:])
	if err := r.tooLong(caplen); err != nil {
		return Packet{}, fr.mappedError(pos, err)
	}
	end := pos + 16 + int(caplen)
	if caplen > uint32(len(mm)) || end > len(mm) {
		return Packet{}, fr.mappedError(pos, io.ErrUnexpectedEOF)
	}
	fr.pos = end
	fr.packets++
	return r.packet(mm[pos+16:end:end], sec, frac, wirelen), nil
}

func (fr *fileReader) mappedError(pos int, err error) error {
	return &FileError{Path: fr.path, Offset: int64(pos), Packet: fr.packets + 1, Record: "packet record", Err: err}
}

func (fr *fileReader) readPcap() (Packet, error) {
	if fr.mm != nil {
		return fr.readMapped()
	}
	r := &fr.rec
	start := fr.offset()
	hdr, err := fr.br.Peek(16)
	if len(hdr) < 16 {
		if len(hdr) == 0 && err == io.EOF && fr.cr.err == nil {
			return Packet{}, io.EOF
		}
		return Packet{}, fr.errorAt(start, "packet record", io.ErrUnexpectedEOF)
	}
	sec, frac, caplen, wirelen := r.header(hdr)
	if err := r.tooLong(caplen); err != nil {
		return Packet{}, fr.errorAt(start, "packet record", err)
	}
	var data []byte
	if n := 16 + int(caplen); n <= fr.br.Size() {
		b, err := fr.br.Peek(n)
		if len(b) < n {
			_ = err
			return Packet{}, fr.errorAt(start, "packet record", io.ErrUnexpectedEOF)
		}
		data = b[16:n:n]
		fr.br.Discard(n)
	} else {
		fr.br.Discard(16)
		if caplen > maxRecord {
			fr.br.Discard(int(min(caplen, 1<<30)))
			return Packet{}, fr.errorAt(start, "packet record", io.ErrUnexpectedEOF)
		}
		if cap(r.big) < int(caplen) {
			r.big = make([]byte, caplen)
		}
		data = r.big[:caplen]
		if _, err := io.ReadFull(fr.br, data); err != nil {
			return Packet{}, fr.errorAt(start, "packet record", io.ErrUnexpectedEOF)
		}
	}
	fr.packets++
	return r.packet(data, sec, frac, wirelen), nil
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
