package capture

import "io"

// A memory-mapped pcapng file is read block by block where the blocks lie
// (see mapped.go), with the checks of the streamed path: checkBlock for the
// framing of every block, ngWhole for what a block holds, ngBig for a block
// longer than the streamed path reads whole. The mapping lets the whole
// rest of the file be seen at once, so a block is either whole or cut short
// by the end of the file.

// readNgMapped reads the next block of a mapped file in place if it is a
// whole enhanced packet block: no copy, no allocation. It returns false for
// any other block and at the end of the file, and ngMappedBlock deals with
// those; and false for a packet block ngPacket finds damaged, whose error
// it leaves in fr.ngErr. (It returns no error, so that the packet travels
// in registers.)
func (fr *fileReader) readNgMapped() (Packet, bool) {
	b, off, ok := fr.nextEnhanced()
	if !ok {
		return Packet{}, false
	}
	return fr.ngPacket(int64(off), ngEnhancedPacket, b)
}

// nextEnhanced moves past the next block of a mapped file and returns it if
// it is a whole enhanced packet block, for ngPacket; else it returns false
// and moves nothing. It is readNgMapped without its call of ngPacket, for
// the hot path of a replay (fileSource.ReadPacket), where a packet passed
// up through one more call would be copied through the stack once more.
func (fr *fileReader) nextEnhanced() (b []byte, off int, ok bool) {
	pos := fr.pos
	b = fr.mm[pos:]
	typ, length, c, _ := fr.checkBlock(b, fr.ngLimit)
	if c != blockWhole || typ != ngEnhancedPacket {
		return nil, 0, false
	}
	if pos-fr.released >= releaseEvery {
		fr.release(pos)
	}
	fr.pos = pos + int(length) // past the block even if it is damaged: the file ends there
	return b[:length], pos, true
}

// ngMappedBlock reads one block of a mapped file. It returns the packet of
// a packet block (ok), nothing for other blocks, or the error for the block
// at the read offset.
func (fr *fileReader) ngMappedBlock() (p Packet, ok bool, err error) {
	pos := fr.pos
	if pos == len(fr.mm) {
		return Packet{}, false, io.EOF
	}
	off, b := int64(pos), fr.mm[pos:]
	typ, length, c, err := fr.checkBlock(b, fr.ngLimit)
	switch c {
	case blockShort, blockPartial:
		return Packet{}, false, fr.errorAt(off, blockName(typ), io.ErrUnexpectedEOF)
	case blockBad:
		return Packet{}, false, fr.errorAt(off, blockName(typ), err)
	case blockBig:
		return fr.ngMappedBig(off, typ, length, b)
	}
	if p, ok, err = fr.ngWhole(off, typ, b[:length]); err == nil {
		fr.pos = pos + int(length)
	}
	return p, ok, err
}

// ngMappedBig reads a block longer than the streamed path reads whole, b
// being the rest of the file from its start: a packet block's kept data is
// handed over in place, the rest skipped, as on the streamed path.
func (fr *fileReader) ngMappedBig(off int64, typ, length uint32, b []byte) (Packet, bool, error) {
	p, caplen, dataAt, keep, err := fr.ngBig(off, typ, length, b, fr.ngLimit)
	if err != nil {
		return Packet{}, false, err
	}
	if uint64(length) > uint64(len(b)) {
		return Packet{}, false, fr.errorAt(off, blockName(typ), io.ErrUnexpectedEOF)
	}
	fr.pos += int(length)
	if !isPacketBlock(typ) {
		return Packet{}, false, nil
	}
	p.Data = b[dataAt : dataAt+keep : dataAt+keep]
	fr.ngCounted(off, typ, caplen)
	return p, true, nil
}
