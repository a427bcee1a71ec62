package bpf

import (
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/scanwatch/scanwatch/tcpflags"
)

// TestCFlagDefines holds the C program's TCP_* flag defines to tcpflags, the
// Go definition: the kernel filter and user space must agree on tcp[13].
func TestCFlagDefines(t *testing.T) {
	src, err := os.ReadFile("filter.c")
	if err != nil {
		t.Fatal(err)
	}
	defs := regexp.MustCompile(`(?m)^#define TCP_([A-Z]+)\s+(\S+)`).FindAllSubmatch(src, -1)
	seen := map[string]bool{}
	for _, d := range defs {
		name, text := string(d[1]), string(d[2])
		want, err := tcpflags.Parse(name)
		if err != nil || want.String() != name {
			t.Errorf("filter.c: TCP_%s is not a TCP flag name", name)
			continue
		}
		v, err := strconv.ParseUint(text, 0, 8)
		if err != nil || tcpflags.Flags(v) != want {
			t.Errorf("filter.c: #define TCP_%s %s, tcpflags.%s = %#02x", name, text, name, uint8(want))
		}
		seen[name] = true
	}
	// The program tests these three; finding none means the pattern above
	// no longer reads the file, not that all is well.
	for _, name := range []string{"FIN", "SYN", "RST"} {
		if !seen[name] {
			t.Errorf("filter.c: no #define TCP_%s found", name)
		}
	}
}
