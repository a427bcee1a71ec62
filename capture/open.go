package capture

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// Buffer sizes. The large one sits right under the format reader; the small
// one only lets the gzip magic be peeked and feeds the decompressor.
const (
	readBufSize = 1 << 20
	rawBufSize  = 64 << 10
	minBufSize  = 4096
)

// countingReader counts the bytes read through it and remembers the first
// error other than io.EOF (a damaged gzip stream, an I/O error).
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// fileReader reads one capture file.
//
// The layers, bottom up: file, a small bufio.Reader (to peek the gzip
// magic), the gzip.Reader if any, the countingReader, and a 1 MiB
// bufio.Reader the format readers peek into. The offset the format reader
// has consumed is then the count minus what the big buffer still holds.
//
// A plain file is memory-mapped when it can be (mapped.go) and its records
// read in place; a pcap file is read by pcap.go, a pcapng file by ngread.go
// (and ngmapped.go when mapped); clock.go keeps its time.
type fileReader struct {
	path       string
	closer     io.Closer
	gz         *gzip.Reader
	compressed bool
	cr         countingReader
	br         *bufio.Reader
	packets    uint64 // packets read (the number of the last one)
	warn       func(error)
	counts     *fileCounts // its source's

	// pcap (pcap.go)
	isPcap   bool
	rec      pcapRecords
	mm       []byte // a plain file, memory-mapped (see mapFile)
	pos      int    // offset of the next record in mm
	released int    // mm before this offset has been handed back (see release)

	// pcapng (ngread.go)
	ng ngSection
	// ngLimit is the longest block read whole: the read buffer's size. A
	// mapped file keeps the limit its buffer had, so that it reads as
	// the same file streamed does.
	ngLimit int
	ngErr   error // the error of the packet block ngPacket failed to read

	// clock.go
	clock fileClock
	ahead aheadPacket // read ahead by a look ahead, handed out next
	side  []byte      // a packet's data copied out of the way of a look ahead
}

// newFileReader starts reading a capture from r: it undoes gzip if the
// stream starts with its magic, then tells pcap from pcapng by theirs and
// reads the file header. size is the length of the file if known (else -1):
// a small plain file gets a small buffer.
func newFileReader(path string, r io.Reader, size int64) (*fileReader, error) {
	fr := &fileReader{path: path, warn: func(error) {}, counts: new(fileCounts)}
	fr.clock.off()
	rawSize := rawBufSize
	if size >= 0 && size < rawBufSize {
		rawSize = max(int(size), 16)
	}
	raw := bufio.NewReaderSize(r, rawSize)
	head, _ := raw.Peek(2)
	var src io.Reader = raw
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(raw)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, &FileError{Path: path, Record: "gzip header", Err: err}
		}
		fr.gz, fr.compressed, src = gz, true, gz
	}
	fr.cr.r = src
	bufSize := readBufSize
	if !fr.compressed && size >= 0 && size < readBufSize {
		bufSize = max(int(size), minBufSize)
	}
	fr.br = bufio.NewReaderSize(&fr.cr, bufSize)

	peeked, _ := fr.br.Peek(pcapFileHeaderLen)
	magic := peeked[:min(4, len(peeked))]
	kind, err := classifyMagic(magic)
	if err != nil {
		if fr.cr.err != nil && len(magic) < 4 {
			e := fr.streamError(0, "file header", fr.cr.err)
			e.Packet = 0
			return nil, e
		}
		return nil, &FileError{Path: path, Record: "file header", Compressed: fr.compressed, Err: err}
	}
	switch kind {
	case kindPcap:
		if len(peeked) < pcapFileHeaderLen {
			return nil, fr.headerError("pcap file header", io.ErrUnexpectedEOF)
		}
		if fr.rec, err = parsePcapHeader(peeked); err != nil {
			return nil, fr.headerError("pcap file header", err)
		}
		fr.br.Discard(pcapFileHeaderLen)
		fr.isPcap = true
	case kindPcapng:
		if err := fr.startNg(); err != nil {
			return nil, err
		}
	}
	return fr, nil
}

// readRaw returns the next packet of the file as the file has it, or io.EOF
// at its clean end.
func (fr *fileReader) readRaw() (Packet, error) {
	switch {
	case fr.isPcap && fr.mm != nil:
		return fr.readMappedSlow()
	case fr.isPcap:
		return fr.readPcap()
	}
	return fr.readNgSafe()
}

// readNgSafe is readNg with a panic turned into an error: a damaged file
// must never take the sensor down.
func (fr *fileReader) readNgSafe() (p Packet, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fr.errorAt(fr.offset(), "record", fmt.Errorf("%w: %v", errReaderPanic, r))
		}
	}()
	return fr.readNg()
}

func (fr *fileReader) close() error {
	var err error
	if fr.mm != nil {
		unix.Munmap(fr.mm)
		fr.mm = nil
	}
	if fr.gz != nil {
		fr.gz.Close()
	}
	if fr.closer != nil {
		err = fr.closer.Close()
		fr.closer = nil
	}
	return err
}

// offset is how many bytes of the (uncompressed) stream the format reader
// has consumed.
func (fr *fileReader) offset() int64 {
	if fr.mm != nil {
		return int64(fr.pos)
	}
	return fr.cr.n - int64(fr.br.Buffered())
}

type captureKind int

const (
	kindPcap captureKind = iota + 1
	kindPcapng
)

// Magic numbers as they appear in the first four bytes of a file.
var (
	pcapMagics = [][]byte{
		{0xd4, 0xc3, 0xb2, 0xa1}, // microseconds, little endian
		{0xa1, 0xb2, 0xc3, 0xd4}, // microseconds, big endian
		{0x4d, 0x3c, 0xb2, 0xa1}, // nanoseconds, little endian
		{0xa1, 0xb2, 0x3c, 0x4d}, // nanoseconds, big endian
	}
	pcapngMagic    = []byte{0x0a, 0x0d, 0x0d, 0x0a}
	kuznetzovMagic = [][]byte{{0x34, 0xcd, 0xb2, 0xa1}, {0xa1, 0xb2, 0xcd, 0x34}}
)

// classifyMagic tells the format from a file's first four bytes (fewer if
// the file is shorter).
func classifyMagic(b []byte) (captureKind, error) {
	if len(b) == 4 {
		for _, m := range pcapMagics {
			if string(b) == string(m) {
				return kindPcap, nil
			}
		}
		if string(b) == string(pcapngMagic) {
			return kindPcapng, nil
		}
		for _, m := range kuznetzovMagic {
			if string(b) == string(m) {
				return 0, fmt.Errorf("%w (magic 0x%x is the modified pcap format, which is not supported)", ErrNotCapture, b)
			}
		}
		return 0, fmt.Errorf("%w (magic 0x%x)", ErrNotCapture, b)
	}
	if len(b) == 0 {
		return 0, fmt.Errorf("%w (empty file)", ErrNotCapture)
	}
	for _, m := range append(pcapMagics, pcapngMagic) {
		if string(b) == string(m[:len(b)]) {
			return 0, io.ErrUnexpectedEOF // the start of a capture, cut short
		}
	}
	return 0, fmt.Errorf("%w (magic 0x%x, %d bytes long)", ErrNotCapture, b, len(b))
}
