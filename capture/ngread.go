package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"time"

	"github.com/scanwatch/scanwatch/linktype"
)

// pcapng files are read block by block: where they lie in a memory-mapped
// file (ngmapped.go), else from the read buffer (ngstream.go). Both check a
// block with the same functions: checkBlock its framing, ngWhole what a
// block that is read whole holds (lengths, options), ngPacket a packet
// block, whose packet is handed over in place. A block longer than the read
// buffer is never read whole, on either path (ngBig): a packet block gives
// its first MaxRecord bytes and the rest is skipped, any other block is
// skipped. The interfaces of a section are bounded too (maxInterfaces), so
// a small hostile file cannot make the reader hold much memory.

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
	ngOptionTSResol   = 9  // if_tsresol
	ngOptionTSOffset  = 14 // if_tsoffset
)

// maxInterfaces bounds the interfaces of one section: a 48 KB gzip'd file
// can hold a million interface blocks. The obsolete packet block numbers
// interfaces in 16 bits; real captures have a handful.
const maxInterfaces = 1 << 16

// maxUnixSeconds is the last second a time.Time's UnixNano holds
// (2262-04-11), which the detector's clock uses.
const maxUnixSeconds = math.MaxInt64/1_000_000_000 - 1

// ngIface is what a packet needs of its interface, in 16 bytes: a section
// may hold maxInterfaces of them.
type ngIface struct {
	linkType linktype.LinkType
	resol    uint8  // if_tsresol: 10^-n s, or 2^-n s with the top bit set
	snap     uint32 // snapshot length, MaxRecord when 0 or larger
	offset   int64  // seconds added to every timestamp (if_tsoffset)
}

// units is the number of timestamp units per second.
func (ifc *ngIface) units() uint64 {
	if ifc.resol&0x80 != 0 {
		return 1 << (ifc.resol & 0x7f)
	}
	return pow10[ifc.resol]
}

var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// ngSection is the state of the current section.
type ngSection struct {
	big    bool // byte order
	ifaces []ngIface
	last   time.Time // the last packet's time, for simple packet blocks (which have none)
}

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

func isPacketBlock(typ uint32) bool {
	return typ == ngEnhancedPacket || typ == ngSimplePacket || typ == ngPacket
}

// blockCheck is checkBlock's verdict on a block.
type blockCheck uint8

const (
	blockWhole   blockCheck = iota // all of it can be seen, and its lengths agree
	blockPartial                   // its head is good, it runs past what can be seen
	blockBig                       // its head is good, it is longer than a block read whole
	blockShort                     // what can be seen ends inside its head
	blockBad                       // its head or trailer is wrong (the error says how)
)

// checkBlock is the one check of a pcapng block's framing (its type, its
// lengths, a section header's byte order), for the mapped and the streamed
// path alike. b holds the bytes from the start of the block on that the
// reader can see at once: the rest of a mapped file, or what the read
// buffer holds. A block longer than limit is never read whole (ngBig). A
// section header sets the byte order of what follows.
func (fr *fileReader) checkBlock(b []byte, limit int) (typ, length uint32, c blockCheck, err error) {
	typ = ngUnknownBlock
	if len(b) >= 4 {
		typ = fr.ngUint32(b) // a section header's type reads the same either way
	}
	if len(b) < 8 || typ == ngSectionHeader && len(b) < 12 {
		return typ, 0, blockShort, nil
	}
	if typ == ngSectionHeader {
		switch {
		case binary.LittleEndian.Uint32(b[8:]) == ngByteOrderMagic:
			fr.ng.big = false
		case binary.BigEndian.Uint32(b[8:]) == ngByteOrderMagic:
			fr.ng.big = true
		default:
			return typ, 0, blockBad, fmt.Errorf("bad byte-order magic 0x%x", b[8:12])
		}
	}
	length = fr.ngUint32(b[4:])
	switch {
	case length%4 != 0 || length < ngMinLength(typ):
		return typ, length, blockBad, fmt.Errorf("block length %d is invalid", length)
	case int64(length) > int64(limit):
		return typ, length, blockBig, nil
	case uint64(length) > uint64(len(b)):
		return typ, length, blockPartial, nil
	}
	if trail := fr.ngUint32(b[length-4:]); trail != length {
		return typ, length, blockBad, fmt.Errorf("trailing block length %d does not match block length %d", trail, length)
	}
	return typ, length, blockWhole, nil
}

// readNg reads blocks up to and including the next packet block, and
// returns its packet; io.EOF at the clean end of the file (between blocks).
func (fr *fileReader) readNg() (Packet, error) {
	if fr.mm != nil {
		if fr.ngErr == nil {
			if p, ok := fr.readNgMapped(); ok {
				return p, nil
			}
		}
		if err := fr.ngErr; err != nil {
			fr.ngErr = nil
			return Packet{}, err
		}
	}
	for {
		var p Packet
		var ok bool
		var err error
		if fr.mm != nil {
			p, ok, err = fr.ngMappedBlock()
		} else {
			p, ok, err = fr.ngBlock()
		}
		if err != nil || ok {
			return p, err
		}
	}
}

// ngWhole reads a whole block b (checked by checkBlock) that starts at off:
// the packet of a packet block (ok), nothing for other blocks.
func (fr *fileReader) ngWhole(off int64, typ uint32, b []byte) (p Packet, ok bool, err error) {
	switch typ {
	case ngEnhancedPacket, ngPacket, ngSimplePacket:
		if p, ok = fr.ngPacket(off, typ, b); !ok {
			err, fr.ngErr = fr.ngErr, nil
		}
		return p, ok, err
	case ngSectionHeader:
		err = fr.ngSectionHeader(b)
	case ngInterface:
		err = fr.ngInterface(b)
	case ngInterfaceStats:
		err = fr.ngOptions(b, 20)
	}
	if err != nil {
		return Packet{}, false, fr.errorAt(off, blockName(typ), err)
	}
	return Packet{}, false, nil
}

func (fr *fileReader) ngSectionHeader(b []byte) error {
	if major := fr.ngUint16(b[12:]); major != 1 {
		return fmt.Errorf("unsupported pcapng version %d.%d", major, fr.ngUint16(b[14:]))
	}
	fr.ng.ifaces = fr.ng.ifaces[:0]
	return fr.ngOptions(b, 24)
}

func (fr *fileReader) ngInterface(b []byte) error {
	if len(fr.ng.ifaces) >= maxInterfaces {
		return fmt.Errorf("more than %d interfaces in one section", maxInterfaces)
	}
	if err := fr.ngOptions(b, 16); err != nil {
		return err
	}
	ifc := ngIface{linkType: linktype.LinkType(fr.ngUint16(b[8:])), snap: fr.ngUint32(b[12:]), resol: 6}
	if ifc.snap == 0 || ifc.snap > MaxRecord {
		ifc.snap = MaxRecord
	}
	for rest := b[16 : len(b)-4]; len(rest) >= 4; {
		code, n := fr.ngUint16(rest), int(fr.ngUint16(rest[2:]))
		if code == ngOptionEndOfOpts {
			break
		}
		v := rest[4 : 4+n]
		switch {
		case code == ngOptionTSResol && n >= 1:
			exp := v[0] & 0x7f
			switch {
			case v[0]&0x80 != 0 && exp > 63:
				return fmt.Errorf("if_tsresol 2^-%d is out of range", exp)
			case v[0]&0x80 == 0 && int(exp) >= len(pow10):
				return fmt.Errorf("if_tsresol 10^-%d is out of range", exp)
			}
			ifc.resol = v[0]
		case code == ngOptionTSOffset && n >= 8:
			ifc.offset = int64(fr.ngUint64(v))
		}
		rest = rest[4+(n+3)&^3:]
	}
	if n := len(fr.ng.ifaces); n == cap(fr.ng.ifaces) {
		// Doubling (append grows big slices by a quarter), so that
		// growing to the bound allocates about twice what it holds.
		fr.ng.ifaces = append(make([]ngIface, 0, max(8, 2*n)), fr.ng.ifaces...)
	}
	fr.ng.ifaces = append(fr.ng.ifaces, ifc)
	return nil
}

// ngOptions checks that the options of a whole block, from opts on, fit it:
// (code, length, value padded to 4 bytes) up to the trailing length; an
// end-of-options code ends them early.
func (fr *fileReader) ngOptions(b []byte, opts int) error {
	if opts > len(b)-4 {
		return fmt.Errorf("block length %d is too short for its contents", len(b))
	}
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

// ngPacket makes the packet of a whole packet block b that starts at off.
// Both paths read every packet block through it (or, for one longer than
// they read whole, ngBig). This is the hot path of a pcapng replay: the
// packet is made once, at the end, and an error is left in fr.ngErr (false)
// rather than returned, so that the packet and the bool travel in
// registers, which a packet and an error do not.
func (fr *fileReader) ngPacket(off int64, typ uint32, b []byte) (Packet, bool) {
	ifc, t, caplen, wire, dataAt, err := fr.ngPacketHeader(typ, b, uint32(len(b)))
	if err != nil {
		return fr.ngFail(off, typ, err)
	}
	if uint64(caplen) > uint64(len(b)-dataAt-4) {
		return fr.ngFail(off, typ, fmt.Errorf("capture length %d exceeds block length %d", caplen, len(b)))
	}
	if opts := dataAt + int((caplen+3)&^3); typ == ngEnhancedPacket && opts != len(b)-4 {
		if err := fr.ngOptions(b, opts); err != nil {
			return fr.ngFail(off, typ, err)
		}
	}
	end := dataAt + int(min(caplen, ifc.snap))
	fr.packets++
	if caplen > MaxRecord {
		fr.warnCut(off, typ, caplen)
	}
	return Packet{Data: b[dataAt:end:end], Time: t, LinkType: ifc.linkType, Length: int(wire)}, true
}

// ngFail leaves the error for the packet block at off in fr.ngErr.
func (fr *fileReader) ngFail(off int64, typ uint32, err error) (Packet, bool) {
	fr.ngErr = fr.errorAt(off, blockName(typ), err)
	return Packet{}, false
}

// ngCounted counts a packet read from the block at off, and warns when its
// data was cut to MaxRecord.
func (fr *fileReader) ngCounted(off int64, typ uint32, caplen uint32) {
	fr.packets++
	if caplen > MaxRecord {
		fr.warnCut(off, typ, caplen)
	}
}

// warnCut warns of a packet block whose data was cut to MaxRecord.
func (fr *fileReader) warnCut(off int64, typ uint32, caplen uint32) {
	fr.warn(fr.cutError(off, blockName(typ), caplen))
}

// ngPacketHeader reads the fixed part of a packet block (b holds at least
// its first 28 bytes; length is the block's): its interface, its time, its
// capture and wire lengths and where its data starts.
func (fr *fileReader) ngPacketHeader(typ uint32, b []byte, length uint32) (ifc *ngIface, t time.Time, caplen, wire uint32, dataAt int, err error) {
	var iface int
	switch typ {
	case ngEnhancedPacket:
		iface = int(fr.ngUint32(b[8:]))
	case ngPacket:
		iface = int(fr.ngUint16(b[8:]))
	}
	if n := len(fr.ng.ifaces); iface >= n {
		return nil, t, 0, 0, 0, fmt.Errorf("interface %d is not in the section (it has %d)", iface, n)
	}
	ifc = &fr.ng.ifaces[iface]
	if typ == ngSimplePacket {
		// No capture length and no time: the data up to the block's
		// end, at the time of the packet before it.
		wire = fr.ngUint32(b[8:])
		return ifc, fr.ng.last, min(wire, length-16), wire, 12, nil
	}
	ts := uint64(fr.ngUint32(b[12:]))<<32 | uint64(fr.ngUint32(b[16:]))
	s, ns, ok := ngTime(ts, ifc)
	if !ok {
		return nil, t, 0, 0, 0, ngTimeError(ts, ifc)
	}
	t = time.Unix(s, ns).UTC()
	fr.ng.last = t
	return ifc, t, fr.ngUint32(b[20:]), fr.ngUint32(b[24:]), 28, nil
}

// ngTime turns a timestamp in an interface's units into seconds and
// nanoseconds since 1970, or false for one a time value does not hold
// (before 1970, after 2262). Microseconds and nanoseconds, nearly every
// capture's units, divide by a constant.
func ngTime(ts uint64, ifc *ngIface) (sec, nsec int64, ok bool) {
	var s, ns uint64
	switch ifc.resol {
	case 6:
		s, ns = ts/1e6, ts%1e6*1e3
	case 9:
		s, ns = ts/1e9, ts%1e9
	default:
		units := ifc.units()
		var frac uint64
		s, frac = ts/units, ts%units
		hi, lo := bits.Mul64(frac, 1e9)
		ns, _ = bits.Div64(hi, lo, units) // frac < units, so hi < units
	}
	sec = int64(s) + ifc.offset
	if s > maxUnixSeconds || sec < 0 || sec > maxUnixSeconds || ifc.offset > 0 && sec < int64(s) {
		return 0, 0, false
	}
	return sec, int64(ns), true
}

func ngTimeError(ts uint64, ifc *ngIface) error {
	return fmt.Errorf("%w: %d units of 1/%d s, offset %d s", ErrTimeRange, ts, ifc.units(), ifc.offset)
}

// ngBig judges a block longer than the reader reads whole (limit), which
// is never held: a packet block gives its first bytes (at most MaxRecord)
// and the rest is skipped, any other block is skipped. A section header or
// an interface block that big is damage: what follows could not be read
// right. For a packet block h holds at least its first 28 bytes; it returns
// the packet without its data, where the data starts and how much of it is
// kept. The rest of the data, the options and the trailer are skipped
// unread, so their lengths are not checked (on either path).
func (fr *fileReader) ngBig(off int64, typ, length uint32, h []byte, limit int) (p Packet, caplen uint32, dataAt, keep int, err error) {
	name := blockName(typ)
	if typ == ngSectionHeader || typ == ngInterface {
		return p, 0, 0, 0, fr.errorAt(off, name, fmt.Errorf("block length %d exceeds the limit of %d", length, limit))
	}
	if !isPacketBlock(typ) {
		return p, 0, 0, 0, nil
	}
	if len(h) < 28 {
		return p, 0, 0, 0, fr.errorAt(off, name, io.ErrUnexpectedEOF)
	}
	ifc, t, caplen, wire, dataAt, err := fr.ngPacketHeader(typ, h, length)
	if err != nil {
		return p, 0, 0, 0, fr.errorAt(off, name, err)
	}
	if uint64(caplen) > uint64(int(length)-dataAt-4) {
		return p, 0, 0, 0, fr.errorAt(off, name, fmt.Errorf("capture length %d exceeds block length %d", caplen, length))
	}
	p = Packet{Time: t, LinkType: ifc.linkType, Length: int(wire)}
	return p, caplen, dataAt, int(min(caplen, ifc.snap)), nil
}

// startNg reads the section header block that starts a pcapng file (its
// magic says it is one).
func (fr *fileReader) startNg() error {
	fr.ng.last = time.Unix(0, 0).UTC()
	fr.ngLimit = fr.br.Size()
	_, _, err := fr.ngBlock()
	return err
}

func (fr *fileReader) ngUint64(b []byte) uint64 {
	if fr.ng.big {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

func (fr *fileReader) ngUint32(b []byte) uint32 {
	if fr.ng.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (fr *fileReader) ngUint16(b []byte) uint16 {
	if fr.ng.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}
