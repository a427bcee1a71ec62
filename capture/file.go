package capture

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"io"
	"os"
	"sync/atomic"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ErrNotCapture is wrapped by the error for a file that is neither pcap nor
// pcapng (after gzip decompression, if the file is gzip'd).
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// errReaderPanic marks a panic inside a format reader, turned into an error:
// a damaged file must never take the sensor down.
var errReaderPanic = errors.New("capture file reader panicked")

// FileError is the error for a damaged, truncated or unrecognised capture
// file. Offset says where the damage is, so the file can be inspected or cut.
type FileError struct {
	Path string
	// Offset is where the record (pcap packet record, pcapng block, file
	// header) that could not be read starts. For a gzip'd file it counts
	// bytes of the uncompressed stream.
	Offset int64
	// Packet is the 1-based number, within this file, of the packet being
	// read; 0 for an error in the file header.
	Packet uint64
	// Record names what was being read: "pcap file header", "packet record",
	// "enhanced packet block", "gzip stream", ...
	Record string
	// Compressed is true for a gzip'd file.
	Compressed bool
	Err        error

	readErr bool // the file itself could not be read (an I/O error)
}

func (e *FileError) Error() string {
	if errors.Is(e.Err, ErrNotCapture) {
		return e.Path + ": " + e.Err.Error()
	}
	where := fmt.Sprintf("at byte offset %d", e.Offset)
	if e.Compressed {
		where += " of the uncompressed stream"
	}
	if e.Packet > 0 {
		where += fmt.Sprintf(" (packet %d)", e.Packet)
	}
	switch {
	case e.readErr:
		return fmt.Sprintf("%s: read error %s: %v", e.Path, where, e.Err)
	case errors.Is(e.Err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("%s: truncated %s %s: %v", e.Path, e.Record, where, e.Err)
	default:
		return fmt.Sprintf("%s: corrupt %s %s: %v", e.Path, e.Record, where, e.Err)
	}
}

func (e *FileError) Unwrap() error { return e.Err }

// Buffer sizes. The large one sits right under the format reader; the small
// one only lets the gzip magic be peeked and feeds the decompressor.
const (
	readBufSize = 1 << 20
	rawBufSize  = 64 << 10
	// pcapgo uses a *bufio.Reader as it is only if it holds at least
	// 4096 bytes; a smaller one it would wrap in its own.
	minBufSize = 4096
)

// OpenFiles returns a Source that reads the given capture files in order, as
// one stream. Each may be pcap (either byte order, micro- or nanosecond
// timestamps) or pcapng (several sections, a link type per interface), and
// each may be gzip-compressed (recognised by its magic bytes, not its name).
//
// The first file is opened and its header read here, and every path is
// checked to exist, so that the common mistakes fail at once; a later file
// that turns out to be damaged fails in ReadPacket, after all packets before
// the damage were delivered. Errors about file contents are *FileError.
func OpenFiles(paths ...string) (Source, error) {
	if len(paths) == 0 {
		return nil, errors.New("no capture files given")
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return nil, err
		}
	}
	s := &fileSource{paths: paths}
	if err := s.openNext(); err != nil {
		return nil, err
	}
	return s, nil
}

// OpenReader returns a Source that reads one capture (pcap or pcapng,
// optionally gzip'd) from r, such as standard input. name is used in errors.
// Closing the Source closes r if it is an io.Closer.
func OpenReader(name string, r io.Reader) (Source, error) {
	fr, err := newFileReader(name, r, -1)
	if err != nil {
		return nil, err
	}
	if c, ok := r.(io.Closer); ok {
		fr.closer = c
	}
	return &fileSource{cur: fr}, nil
}

// fileSource reads a list of files one after the other.
type fileSource struct {
	paths    []string
	next     int // index in paths of the next file to open
	cur      *fileReader
	received atomic.Uint64
	err      error // sticky: io.EOF at the end, or the first error
}

func (s *fileSource) openNext() error {
	path := s.paths[s.next]
	s.next++
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	fr, err := newFileReader(path, f, size)
	if err != nil {
		f.Close()
		return err
	}
	fr.closer = f
	fr.mapPcap(f, size)
	s.cur = fr
	return nil
}

// ReadPacket returns the next packet. Its Data is valid until the next call.
func (s *fileSource) ReadPacket() (Packet, error) {
	if fr := s.cur; fr != nil && fr.mm != nil {
		if p, ok := fr.nextMapped(); ok {
			s.received.Add(1)
			return p, nil
		}
	}
	for s.err == nil {
		if s.cur == nil {
			if s.next >= len(s.paths) {
				s.err = io.EOF
				break
			}
			if err := s.openNext(); err != nil {
				s.err = err
				break
			}
		}
		p, err := s.cur.read()
		if err == nil {
			s.received.Add(1)
			return p, nil
		}
		if err != io.EOF {
			s.err = err
			break
		}
		s.cur.close()
		s.cur = nil
	}
	return Packet{}, s.err
}

func (s *fileSource) Stats() Stats {
	return Stats{Received: s.received.Load()}
}

// Close closes the file being read. Later reads return an error.
func (s *fileSource) Close() error {
	var err error
	if s.cur != nil {
		err = s.cur.close()
		s.cur = nil
	}
	if s.err == nil || s.err == io.EOF {
		s.err = errors.New("capture source closed")
	}
	return err
}

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
type fileReader struct {
	path       string
	closer     io.Closer
	gz         *gzip.Reader
	compressed bool
	cr         countingReader
	br         *bufio.Reader
	pcap       *pcapgo.Reader
	rec        pcapRecords
	mm         []byte // a plain pcap file, memory-mapped (see mapPcap)
	pos        int    // offset of the next record in mm
	released   int    // mm before this offset has been handed back (see release)
	ng         *pcapgo.NgReader
	ngBig      bool // byte order of the current pcapng section
	ngSure     bool // ngBig is known (see ngWalk)
	packets    uint64
}

// newFileReader starts reading a capture from r. size is the length of the
// file if known (else -1): a small plain file gets a small buffer.
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

	magic, _ := fr.br.Peek(4)
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

func (fr *fileReader) read() (p Packet, err error) {
	if fr.pcap != nil {
		return fr.readPcap()
	}
	defer func() {
		if r := recover(); r != nil {
			err = fr.errorAt(fr.offset(), "record", fmt.Errorf("%w: %v", errReaderPanic, r))
		}
	}()
	start := fr.offset()
	var (
		data []byte
		ci   gopacket.CaptureInfo
		lt   layers.LinkType
	)
	if fr.pcap != nil {
		data, ci, err = fr.pcap.ZeroCopyReadPacketData()
		if err != nil {
			if err == io.EOF && fr.offset() == start {
				return Packet{}, io.EOF
			}
			return Packet{}, fr.errorAt(start, "packet record", err)
		}
		lt = fr.pcap.LinkType()
	} else {
		off, typ, short, verr := fr.ngWalk()
		if verr != nil {
			return Packet{}, fr.errorAt(off, blockName(typ), verr)
		}
		data, ci, err = fr.ng.ZeroCopyReadPacketData()
		if err != nil {
			if err == io.EOF {
				// pcapgo gives io.EOF only at a block boundary.
				if fr.cr.err != nil && fr.br.Buffered() == 0 {
					return Packet{}, fr.errorAt(fr.offset(), "block", fr.cr.err)
				}
				return Packet{}, io.EOF
			}
			if short {
				// pcapgo does not always keep io.ErrUnexpectedEOF in
				// its errors (name resolution blocks, discards).
				err = io.ErrUnexpectedEOF
			}
			return Packet{}, fr.errorAt(off, blockName(typ), err)
		}
		if len(ci.AncillaryData) > 0 {
			lt, _ = ci.AncillaryData[0].(layers.LinkType)
		}
	}
	fr.packets++
	return Packet{Data: data, Time: ci.Timestamp, LinkType: lt, Length: ci.Length}, nil
}

// errorAt builds the error for a failure reading the record that starts at
// off. If the stream under the format reader failed and the reader has used
// up every byte before the failure, the stream's error is the cause.
func (fr *fileReader) errorAt(off int64, record string, err error) error {
	if fr.cr.err != nil && fr.br.Buffered() == 0 {
		return fr.streamError(off, record, fr.cr.err)
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &FileError{Path: fr.path, Offset: off, Packet: fr.packets + 1, Record: record, Compressed: fr.compressed, Err: err}
}

func (fr *fileReader) headerError(record string, err error) error {
	var e *FileError
	if errors.As(fr.errorAt(0, record, err), &e) {
		e.Packet = 0
	}
	return e
}

// streamError reports a failure of the stream under the format reader. A
// truncated gzip stream reads like a truncated file: the record being read
// is named. Other errors are named after the stream.
func (fr *fileReader) streamError(off int64, record string, err error) *FileError {
	e := &FileError{Path: fr.path, Offset: off, Packet: fr.packets + 1, Record: record, Compressed: fr.compressed, Err: err}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		e.Offset = fr.offset()
		if fr.compressed {
			e.Record = "gzip stream"
		} else {
			e.readErr = true
		}
	}
	return e
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

// pcapng block types.
const (
	ngSectionHeader   = 0x0a0d0d0a
	ngInterface       = 0x00000001
	ngPacket          = 0x00000002 // obsolete
	ngSimplePacket    = 0x00000003
	ngNameResolution  = 0x00000004
	ngInterfaceStats  = 0x00000005
	ngEnhancedPacket  = 0x00000006
	ngDecryptSecrets  = 0x0000000a
	ngByteOrderMagic  = 0x1a2b3c4d
	ngUnknownBlock    = 0xffffffff // the block type could not be read
	ngMinBlockLength  = 12
	ngOptionEndOfOpts = 0
)

func blockName(typ uint32) string {
	switch typ {
	case ngSectionHeader:
		return "section header block"
	case ngInterface:
		return "interface description block"
	case ngPacket:
		return "packet block"
	case ngSimplePacket:
		return "simple packet block"
	case ngNameResolution:
		return "name resolution block"
	case ngInterfaceStats:
		return "interface statistics block"
	case ngEnhancedPacket:
		return "enhanced packet block"
	case ngDecryptSecrets:
		return "decryption secrets block"
	case ngUnknownBlock:
		return "block"
	}
	return fmt.Sprintf("block of type 0x%08x", typ)
}

// ngMinLength is the smallest valid total length of a block of each type.
func ngMinLength(typ uint32) uint32 {
	switch typ {
	case ngSectionHeader:
		return 28
	case ngEnhancedPacket, ngPacket:
		return 32
	case ngInterface:
		return 20
	case ngSimplePacket:
		return 16
	case ngInterfaceStats:
		return 24
	}
	return ngMinBlockLength
}

// ngWalk looks at the pcapng blocks ahead without consuming them, up to and
// including the next packet block, which is what one ZeroCopyReadPacketData
// call consumes. It returns the offset and type of the block that call will
// stop in (the packet block, or the block where the data runs out), whether
// the data runs out in that block (so that any error there is a truncation,
// however pcapgo words it), and an error for a block whose lengths are inconsistent, before pcapgo trusts them
// and reads across block boundaries.
//
// Blocks bigger than the read buffer cannot be seen whole; after one, the
// byte order is unknown until the next section header, and lengths are not
// checked (offsets are still right, as blocks are walked by their lengths).
func (fr *fileReader) ngWalk() (off int64, typ uint32, short bool, err error) {
	base := fr.offset()
	pos := 0
	for {
		h, perr := fr.br.Peek(pos + 12)
		if len(h) < pos+8 && perr == bufio.ErrBufferFull {
			// The next block header is beyond the buffer: let pcapgo
			// read on, unchecked, from here.
			fr.ngSure = false
			return base + int64(pos), ngUnknownBlock, false, nil
		}
		if len(h) < pos+8 {
			typ = ngUnknownBlock
			if len(h) >= pos+4 {
				typ = fr.ngUint32(h[pos:])
			}
			return base + int64(pos), typ, len(h) > pos, nil
		}
		typ = fr.ngUint32(h[pos:]) // a section header's type reads the same either way
		if typ == ngSectionHeader {
			if len(h) < pos+12 {
				return base + int64(pos), typ, true, nil
			}
			switch {
			case binary.LittleEndian.Uint32(h[pos+8:]) == ngByteOrderMagic:
				fr.ngBig = false
			case binary.BigEndian.Uint32(h[pos+8:]) == ngByteOrderMagic:
				fr.ngBig = true
			default:
				return base + int64(pos), typ, false, fmt.Errorf("bad byte-order magic 0x%x", h[pos+8:pos+12])
			}
			fr.ngSure = true
		}
		length := fr.ngUint32(h[pos+4:])
		if fr.ngSure {
			if length%4 != 0 || length < ngMinLength(typ) {
				return base + int64(pos), typ, false, fmt.Errorf("block length %d is invalid", length)
			}
		}
		packet := typ == ngEnhancedPacket || typ == ngSimplePacket || typ == ngPacket
		if int64(pos)+int64(length) > int64(fr.br.Size()) {
			// Too big to see whole: let pcapgo read it.
			if !packet {
				fr.ngSure = false
			}
			return base + int64(pos), typ, false, nil
		}
		end := pos + int(length)
		b, _ := fr.br.Peek(end)
		if len(b) < end {
			return base + int64(pos), typ, true, nil // pcapgo will fail here
		}
		if !fr.ngSure {
			return base + int64(pos), typ, false, nil // lengths cannot be checked
		}
		if trail := fr.ngUint32(b[end-4:]); trail != length {
			return base + int64(pos), typ, false, fmt.Errorf("trailing block length %d does not match block length %d", trail, length)
		}
		if err := fr.ngCheckBlock(typ, b[pos:end]); err != nil {
			return base + int64(pos), typ, false, err
		}
		if packet {
			return base + int64(pos), typ, false, nil
		}
		pos = end
	}
}

// ngCheckBlock checks that the contents of a whole block fit its length.
func (fr *fileReader) ngCheckBlock(typ uint32, b []byte) error {
	var opts int // where the options start
	switch typ {
	case ngEnhancedPacket, ngPacket:
		caplen := fr.ngUint32(b[20:])
		if uint64(caplen) > uint64(len(b)-32) {
			return fmt.Errorf("capture length %d exceeds block length %d", caplen, len(b))
		}
		if typ == ngPacket {
			return nil // pcapgo skips a packet block's options
		}
		opts = 28 + int((caplen+3)&^3)
	case ngSectionHeader:
		opts = 24
	case ngInterface:
		opts = 16
	case ngInterfaceStats:
		opts = 20
	default:
		return nil
	}
	// Options are (code, length, value padded to 4 bytes), up to the
	// trailing length; an end-of-options code ends them early.
	rest := b[opts : len(b)-4]
	for len(rest) >= 4 {
		code := fr.ngUint16(rest)
		n := int(fr.ngUint16(rest[2:]))
		if code == ngOptionEndOfOpts {
			return nil
		}
		padded := 4 + (n+3)&^3
		if padded > len(rest) {
			return fmt.Errorf("option %d of length %d overruns the block", code, n)
		}
		rest = rest[padded:]
	}
	if len(rest) != 0 {
		return fmt.Errorf("%d stray bytes after the options", len(rest))
	}
	return nil
}

func (fr *fileReader) ngUint32(b []byte) uint32 {
	if fr.ngBig {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (fr *fileReader) ngUint16(b []byte) uint16 {
	if fr.ngBig {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}
