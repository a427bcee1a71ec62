package capture

import "io"

// A pcapng file that is not mapped (gzip'd, a FIFO, standard input) is read
// block by block from the read buffer, with the checks of the mapped path:
// a block that fits in the buffer is checked whole and its packet handed
// over in place; a bigger one is never held (ngBig).

// ngBlock reads one block from the read buffer. It returns the packet of a
// packet block (ok), nothing for other blocks, or the error for the block
// at the read offset.
func (fr *fileReader) ngBlock() (p Packet, ok bool, err error) {
	off := fr.offset()
	b, _ := fr.br.Peek(12)
	if len(b) == 0 && fr.cr.err == nil {
		return Packet{}, false, io.EOF
	}
	typ, length, c, err := fr.checkBlock(b, fr.ngLimit)
	if c == blockPartial {
		// Not all read yet, but it fits in the buffer: fill it.
		b, _ = fr.br.Peek(int(length))
		typ, length, c, err = fr.checkBlock(b, fr.ngLimit)
	}
	switch c {
	case blockShort, blockPartial:
		return Packet{}, false, fr.errorAt(off, blockName(typ), io.ErrUnexpectedEOF)
	case blockBad:
		return Packet{}, false, fr.errorAt(off, blockName(typ), err)
	case blockBig:
		return fr.ngBigBlock(off, typ, length)
	}
	p, ok, err = fr.ngWhole(off, typ, b[:length])
	if err == nil {
		fr.br.Discard(int(length)) // p.Data stays in the buffer until the next read
	}
	return p, ok, err
}

// ngBigBlock reads a block longer than the read buffer from the stream
// without holding it (see ngBig): a packet block's kept data is read into a
// buffer of its own, the rest skipped.
func (fr *fileReader) ngBigBlock(off int64, typ uint32, length uint32) (Packet, bool, error) {
	var h []byte
	if isPacketBlock(typ) {
		h, _ = fr.br.Peek(28)
	}
	p, caplen, dataAt, keep, err := fr.ngBig(off, typ, length, h, fr.ngLimit)
	if err != nil {
		return Packet{}, false, err
	}
	skip := func(n int) error {
		if _, err := fr.br.Discard(n); err != nil {
			return fr.errorAt(off, blockName(typ), io.ErrUnexpectedEOF)
		}
		return nil
	}
	if !isPacketBlock(typ) {
		return Packet{}, false, skip(int(length))
	}
	if cap(fr.rec.big) < keep {
		fr.rec.big = make([]byte, keep)
	}
	if err := skip(dataAt); err != nil {
		return Packet{}, false, err
	}
	if _, err := io.ReadFull(fr.br, fr.rec.big[:keep]); err != nil {
		return Packet{}, false, fr.errorAt(off, blockName(typ), io.ErrUnexpectedEOF)
	}
	if err := skip(int(length) - dataAt - keep); err != nil {
		return Packet{}, false, err
	}
	p.Data = fr.rec.big[:keep:keep]
	fr.ngCounted(off, typ, caplen)
	return p, true, nil
}
