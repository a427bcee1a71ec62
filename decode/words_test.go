package decode

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// TestAddrWords: AddrWords is binary.LittleEndian.Uint64 of As16's halves
// for IPv4, IPv6, IPv4-mapped IPv6, zoned and zero addresses.
func TestAddrWords(t *testing.T) {
	addrs := []netip.Addr{
		{},
		netip.MustParseAddr("0.0.0.0"),
		netip.MustParseAddr("10.1.2.3"),
		netip.MustParseAddr("255.255.255.255"),
		netip.MustParseAddr("::"),
		netip.MustParseAddr("::1"),
		netip.MustParseAddr("::ffff:10.1.2.3"),
		netip.MustParseAddr("2001:db8::dead:beef"),
		netip.MustParseAddr("fe80::1%eth0"),
		netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
		netip.AddrFrom16([16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}),
	}
	for _, a := range addrs {
		b := a.As16()
		wantHi, wantLo := binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])
		if hi, lo := AddrWords(a); hi != wantHi || lo != wantLo {
			t.Errorf("AddrWords(%v) = %#x %#x, want %#x %#x", a, hi, lo, wantHi, wantLo)
		}
	}
}

var wordsSink uint64

func BenchmarkAddrWords(b *testing.B) {
	a := netip.MustParseAddr("2001:db8::dead:beef")
	for b.Loop() {
		hi, lo := AddrWords(a)
		wordsSink += hi ^ lo
	}
}

func BenchmarkAddrWordsAs16(b *testing.B) {
	a := netip.MustParseAddr("2001:db8::dead:beef")
	for b.Loop() {
		x := a.As16()
		wordsSink += binary.LittleEndian.Uint64(x[:8]) ^ binary.LittleEndian.Uint64(x[8:])
	}
}
