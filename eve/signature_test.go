package eve

import (
	"strings"
	"testing"

	"github.com/scanwatch/scanwatch/technique"
)

func TestSignatures(t *testing.T) {
	ids := map[int]technique.Technique{}
	for tc := range technique.Count {
		s := SignatureOf(tc)
		if first, dup := ids[s.ID]; dup {
			t.Errorf("%s and %s share signature id %d", first, tc, s.ID)
		}
		ids[s.ID] = tc
		// The ids run 9000001.. in technique order (issue 8 keeps them; a
		// later issue moves them to the local range).
		if s.ID != 9000001+int(tc) || !strings.HasPrefix(s.Text, "scanwatch: ") || s.Severity < 1 || s.Severity > 3 {
			t.Errorf("%s: %+v", tc, s)
		}
		if got := signatureFor(tc.String()); got != s {
			t.Errorf("signatureFor(%q) = %+v, want %+v", tc, got, s)
		}
	}
	for _, s := range []Signature{signatureFor("version"), signatureFor(""), SignatureOf(technique.Count)} {
		if s != (Signature{9000099, "scanwatch: network scan", 2}) {
			t.Errorf("unknown type: %+v", s)
		}
	}
}
