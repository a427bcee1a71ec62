package linktype

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// TestSameAsGopacket: each link type has gopacket's number, which the
// tests (gopacket's pcapgo reads and writes their files) and capture files
// written by other tools use.
func TestSameAsGopacket(t *testing.T) {
	for _, tc := range []struct {
		ours   LinkType
		theirs layers.LinkType
	}{
		{Null, layers.LinkTypeNull},
		{Ethernet, layers.LinkTypeEthernet},
		{Raw, layers.LinkTypeRaw},
		{Loop, layers.LinkTypeLoop},
		{LinuxSLL, layers.LinkTypeLinuxSLL},
		{IPv4, layers.LinkTypeIPv4},
		{IPv6, layers.LinkTypeIPv6},
		{LinuxSLL2, layers.LinkTypeLinuxSLL2},
	} {
		if uint16(tc.ours) != uint16(tc.theirs) {
			t.Errorf("%d, gopacket's %v is %d", tc.ours, tc.theirs, uint16(tc.theirs))
		}
	}
}
