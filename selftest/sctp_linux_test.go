//go:build linux

package selftest

import (
	"encoding/binary"
	"hash/crc32"
	"net/netip"
	"testing"
)

// sctpProbe is an IPv4 packet from 10.75.0.30:40000 to 10.75.0.111:dport
// with one chunk: INIT (initiate tag 0xdeadbeef) or COOKIE ECHO.
func sctpProbe(dport uint16, vtag uint32, chunkType byte) []byte {
	ip := []byte{0x45, 0, 0, 0, 0, 0, 0, 0, 64, protoSCTP, 0, 0, 10, 75, 0, 30, 10, 75, 0, 111}
	sc := binary.BigEndian.AppendUint16(nil, 40000)
	sc = binary.BigEndian.AppendUint16(sc, dport)
	sc = binary.BigEndian.AppendUint32(sc, vtag)
	sc = append(sc, 0, 0, 0, 0)
	switch chunkType {
	case chunkInit:
		sc = append(sc, chunkInit, 0, 0, 20)
		sc = binary.BigEndian.AppendUint32(sc, 0xdeadbeef) // initiate tag
		sc = binary.BigEndian.AppendUint32(sc, 65535)      // a_rwnd
		sc = append(sc, 0, 10, 0, 10)                      // streams
		sc = binary.BigEndian.AppendUint32(sc, 1)          // TSN
	case chunkCookieEcho:
		sc = append(sc, chunkCookieEcho, 0, 0, 8, 1, 2, 3, 4)
	}
	return append(ip, sc...)
}

func TestSCTPAnswer(t *testing.T) {
	for _, c := range []struct {
		name       string
		pkt        []byte
		none       bool
		chunk      byte
		flags      byte
		vtag       uint32
		withCookie bool
	}{
		{name: "INIT to a closed port: ABORT with the INIT's tag", pkt: sctpProbe(7, 0, chunkInit), chunk: chunkAbort, vtag: 0xdeadbeef},
		{name: "INIT to the open port: INIT-ACK with a cookie", pkt: sctpProbe(sctpOpen, 0, chunkInit), chunk: chunkInitAck, vtag: 0xdeadbeef, withCookie: true},
		{name: "COOKIE ECHO to a closed port: ABORT, T bit, own tag", pkt: sctpProbe(7, 0x1234, chunkCookieEcho), chunk: chunkAbort, flags: 1, vtag: 0x1234},
		{name: "COOKIE ECHO to the open port: dropped", pkt: sctpProbe(sctpOpen, 0x1234, chunkCookieEcho), none: true},
		{name: "INIT with a tag: dropped", pkt: sctpProbe(7, 5, chunkInit), none: true},
		{name: "truncated", pkt: sctpProbe(7, 0, chunkInit)[:30], none: true},
	} {
		reply, dst, ok := sctpAnswer(c.pkt, sctpOpen)
		if ok == c.none {
			t.Errorf("%s: answered %v", c.name, ok)
			continue
		}
		if c.none {
			continue
		}
		if dst != netip.MustParseAddr("10.75.0.30") || netip.AddrFrom4([4]byte(reply[12:16])) != netip.MustParseAddr("10.75.0.111") || reply[9] != protoSCTP {
			t.Errorf("%s: to %s from %v proto %d", c.name, dst, reply[12:16], reply[9])
		}
		sc := reply[20:]
		if binary.BigEndian.Uint16(sc[0:2]) != binary.BigEndian.Uint16(c.pkt[22:24]) || binary.BigEndian.Uint16(sc[2:4]) != 40000 {
			t.Errorf("%s: ports %d -> %d", c.name, binary.BigEndian.Uint16(sc[0:2]), binary.BigEndian.Uint16(sc[2:4]))
		}
		if got := binary.BigEndian.Uint32(sc[4:8]); got != c.vtag {
			t.Errorf("%s: verification tag %#x, want %#x", c.name, got, c.vtag)
		}
		sum := binary.LittleEndian.Uint32(sc[8:12])
		check := append([]byte(nil), sc...)
		copy(check[8:12], []byte{0, 0, 0, 0})
		if want := crc32.Checksum(check, crc32.MakeTable(crc32.Castagnoli)); sum != want {
			t.Errorf("%s: checksum %#x, want %#x", c.name, sum, want)
		}
		if sc[12] != c.chunk || sc[13] != c.flags || int(binary.BigEndian.Uint16(sc[14:16])) != len(sc)-12 {
			t.Errorf("%s: chunk %d flags %d length %d (of %d)", c.name, sc[12], sc[13], binary.BigEndian.Uint16(sc[14:16]), len(sc)-12)
		}
		if c.withCookie {
			if len(sc) < 12+20+4 || binary.BigEndian.Uint32(sc[16:20]) == 0 || binary.BigEndian.Uint16(sc[32:34]) != paramStateCookie {
				t.Errorf("%s: INIT-ACK % x", c.name, sc[12:])
			}
		}
	}
}
