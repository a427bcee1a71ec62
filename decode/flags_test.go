package decode

import (
	"testing"

	"github.com/scanwatch/scanwatch/tcpflags"
)

// TestFlagBits holds decode's untyped flag constants to tcpflags, the one
// definition.
func TestFlagBits(t *testing.T) {
	for _, c := range []struct {
		name  string
		got   uint8
		flags tcpflags.Flags
	}{
		{"FIN", FIN, tcpflags.FIN}, {"SYN", SYN, tcpflags.SYN}, {"RST", RST, tcpflags.RST}, {"PSH", PSH, tcpflags.PSH},
		{"ACK", ACK, tcpflags.ACK}, {"URG", URG, tcpflags.URG}, {"ECE", ECE, tcpflags.ECE}, {"CWR", CWR, tcpflags.CWR},
	} {
		if c.got != uint8(c.flags) || c.name != c.flags.String() {
			t.Errorf("decode.%s = %#02x, tcpflags %s = %#02x", c.name, c.got, c.flags, uint8(c.flags))
		}
	}
}
