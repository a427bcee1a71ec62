package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/gopacket/gopacket/layers"
)

// pcapng files are read by pcapgo's NgReader. pcapgo trusts the lengths a
// block states, so ngWalk checks the blocks ahead of each read against each
// other first: a damaged file gets an error naming the block, never a read
// across block boundaries.

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

// readNg reads the next packet of a pcapng file through pcapgo, after
// ngWalk has checked the blocks up to it.
func (fr *fileReader) readNg() (p Packet, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fr.errorAt(fr.offset(), "record", fmt.Errorf("%w: %v", errReaderPanic, r))
		}
	}()
	off, typ, short, err := fr.ngWalk()
	if err != nil {
		return Packet{}, fr.errorAt(off, blockName(typ), err)
	}
	if typ == ngEnhancedPacket && off == fr.offset() {
		if p, ok := fr.ngFast(); ok { // ngfast.go
			return p, nil
		}
	}
	fr.ngf.fresh = false // pcapgo may read sections and interfaces
	data, ci, err := fr.ng.ZeroCopyReadPacketData()
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
	var lt layers.LinkType
	if len(ci.AncillaryData) > 0 {
		lt, _ = ci.AncillaryData[0].(layers.LinkType)
	}
	fr.packets++
	return Packet{Data: data, Time: ci.Timestamp, LinkType: lt, Length: ci.Length}, nil
}

// ngWalk looks at the pcapng blocks ahead without consuming them, up to and
// including the next packet block, which is what one ZeroCopyReadPacketData
// call consumes. It returns the offset and type of the block that call will
// stop in (the packet block, or the block where the data runs out), whether
// the data runs out in that block (so that any error there is a truncation,
// however pcapgo words it), and an error for a block whose lengths are
// inconsistent, before pcapgo trusts them and reads across block boundaries.
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
