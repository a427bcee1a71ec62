package capture

import (
	"time"

	"github.com/gopacket/gopacket/layers"
)

// The pcapng fast path: an enhanced packet block at the head of the read
// buffer, which ngWalk has just checked whole, is parsed where it lies and
// its frame handed over without a copy or an allocation, as readPcap does
// for pcap records. Everything else (section headers, interfaces,
// statistics, blocks with options, anything ngWalk could not check) goes
// through pcapgo as before, so pcapgo's view of sections and interfaces
// stays the truth: the fast path only copies what it needs of it after
// every block pcapgo reads.

// ngIface is what an enhanced packet block needs of its interface: pcapgo's
// timestamp conversion (see its readInterfaceDescriptor and convertTime),
// done the same way so that times are the same to the nanosecond.
type ngIface struct {
	linkType                       layers.LinkType
	secondMask, scaleUp, scaleDown uint64
	offset                         uint64
}

// ngFastPath is the fast path's copy of the current section's interfaces.
type ngFastPath struct {
	ifaces []ngIface
	fresh  bool // ifaces is as pcapgo has them (no pcapgo read since)
}

// refresh copies the interfaces of the current section from pcapgo.
func (fr *fileReader) ngRefresh() {
	nf := &fr.ngf
	nf.ifaces = nf.ifaces[:0]
	for i := range fr.ng.NInterfaces() {
		in, err := fr.ng.Interface(i)
		if err != nil {
			break
		}
		res := in.TimestampResolution
		exp := res.Exponent()
		if exp > 63 {
			break // pcapgo refuses these; it will say so
		}
		ifc := ngIface{linkType: in.LinkType, offset: in.TimestampOffset, scaleUp: 1, scaleDown: 1}
		if res.Binary() {
			ifc.secondMask = 1 << exp
		} else {
			ifc.secondMask = 1
			for range exp {
				ifc.secondMask *= 10
			}
		}
		if ifc.secondMask == 0 {
			break // wrapped: leave it to pcapgo
		}
		if ifc.secondMask < 1e9 {
			ifc.scaleUp = 1e9 / ifc.secondMask
		} else {
			ifc.scaleDown = ifc.secondMask / 1e9
		}
		nf.ifaces = append(nf.ifaces, ifc)
	}
	nf.fresh = true
}

// ngFast reads the enhanced packet block at the head of the read buffer in
// place. It returns false, having consumed nothing, when the block is not
// one it takes: options present, an interface it does not know, bytes not
// all buffered, or a byte order not known for sure.
func (fr *fileReader) ngFast() (Packet, bool) {
	if !fr.ngSure {
		return Packet{}, false
	}
	h, _ := fr.br.Peek(32)
	if len(h) < 32 || fr.ngUint32(h) != ngEnhancedPacket {
		return Packet{}, false
	}
	length := fr.ngUint32(h[4:])
	caplen := fr.ngUint32(h[20:])
	if uint64(length) != 32+uint64((caplen+3)&^3) || int64(length) > int64(fr.br.Buffered()) {
		return Packet{}, false // options to parse, or not all in the buffer
	}
	if !fr.ngf.fresh {
		fr.ngRefresh()
	}
	idx := fr.ngUint32(h[8:])
	if uint64(idx) >= uint64(len(fr.ngf.ifaces)) {
		return Packet{}, false
	}
	b, _ := fr.br.Peek(int(length))
	ifc := &fr.ngf.ifaces[idx]
	ts := uint64(fr.ngUint32(b[12:]))<<32 | uint64(fr.ngUint32(b[16:]))
	sec := int64(ts/ifc.secondMask + ifc.offset)
	nsec := int64(ts % ifc.secondMask * ifc.scaleUp / ifc.scaleDown)
	end := 28 + int(caplen)
	p := Packet{Data: b[28:end:end], Time: time.Unix(sec, nsec).UTC(), LinkType: ifc.linkType, Length: int(fr.ngUint32(b[24:]))}
	fr.br.Discard(int(length))
	fr.packets++
	return p, true
}
