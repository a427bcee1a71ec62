package capture

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"

	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/sys/unix"
)

// Buffer sizes. The large one sits right under the format reader; the small
// one only lets the gzip magic be peeked and feeds the decompressor.
const (
	readBufSize = 1 << 20
	rawBufSize  = 64 << 10
	// pcapgo uses a *bufio.Reader as it is only if it holds at least
	// 4096 bytes; a smaller one it would wrap in its own.
	minBufSize = 4096
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
// bufio.Reader that the pcapgo reader uses directly (pcapgo wraps any other
// reader in its own 4 KiB bufio.Reader, which would read ahead of any counter
// placed above ours). The offset the format reader has consumed is then the
// count minus what the big buffer still holds.
//
// A plain pcap file is read by pcap.go (memory-mapped when it can be, else
// from the buffer), a pcapng file by ngread.go.
type fileReader struct {
	path       string
	closer     io.Closer
	gz         *gzip.Reader
	compressed bool
	cr         countingReader
	br         *bufio.Reader
	packets    uint64

	// pcap (pcap.go)
	pcap     *pcapgo.Reader // set for a pcap file: it read the file header
	rec      pcapRecords
	mm       []byte // a plain pcap file, memory-mapped (see mapPcap)
	pos      int    // offset of the next record in mm
	released int    // mm before this offset has been handed back (see release)

	// pcapng (ngread.go)
	ng     *pcapgo.NgReader
	ngBig  bool       // byte order of the current pcapng section
	ngSure bool       // ngBig is known (see ngWalk)
	ngf    ngFastPath // in-place enhanced packet blocks (ngfast.go)
}

// newFileReader starts reading a capture from r: it undoes gzip if the
// stream starts with its magic, then tells pcap from pcapng by theirs and
// reads the file header. size is the length of the file if known (else -1):
// a small plain file gets a small buffer.
func newFileReader(path string, r io.Reader, size int64) (*fileReader, error) {
	fr := &fileReader{path: path}
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

	// A copy: Peek's slice points into the buffer, which later reads
	// overwrite (a stream that arrives in small reads has the file header
	// read into the start of the buffer again).
	var head4 [4]byte
	peeked, _ := fr.br.Peek(4)
	magic := head4[:copy(head4[:], peeked)]
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
		pr, err := pcapgo.NewReader(fr.br)
		if err != nil {
			return nil, fr.headerError("pcap file header", err)
		}
		fr.pcap = pr
		fr.rec = newPcapRecords(magic, pr)
	case kindPcapng:
		if _, typ, _, err := fr.ngWalk(); err != nil {
			return nil, fr.errorAt(0, blockName(typ), err)
		}
		nr, err := pcapgo.NewNgReader(fr.br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, fr.headerError("pcapng section header block", err)
		}
		fr.ng = nr
	}
	return fr, nil
}

// read returns the next packet of the file, or io.EOF at its clean end.
func (fr *fileReader) read() (Packet, error) {
	switch {
	case fr.mm != nil:
		if p, ok := fr.readMapped(); ok {
			return p, nil
		}
		return Packet{}, fr.mappedError()
	case fr.pcap != nil:
		return fr.readPcap()
	}
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
