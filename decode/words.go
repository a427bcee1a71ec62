package decode

import (
	"math/bits"
	"net/netip"
	"unsafe"
)

// AddrWords is a's 16-byte form (As16: IPv4 mapped into IPv6) as two
// words, each of 8 bytes read little-endian: what
// binary.LittleEndian.Uint64 of As16's two halves gives, in about a fifth
// of the time. (As16's array goes through the stack: its two 8-byte
// stores, read back at once as 16 bytes, stall the load on store
// forwarding, about 11 ns a call against 2.) It reads the two words a
// netip.Addr starts with (the address, big-endian): TestAddrWords checks
// it against As16, so that a Go release that moves them fails the tests.
func AddrWords(a netip.Addr) (hi, lo uint64) {
	w := (*[2]uint64)(unsafe.Pointer(&a))
	return bits.ReverseBytes64(w[0]), bits.ReverseBytes64(w[1])
}
