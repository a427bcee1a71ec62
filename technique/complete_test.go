package technique_test

import (
	"slices"
	"testing"

	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/technique"
)

// TestEveryTechniqueIsWired fails until a new technique has what it needs
// to ever be reported: a threshold in the default rules (its own detect
// entry in default.yaml, or a documented share of another's), a default
// tcp_flags pattern if flags tell its probes apart, and an EVE signature.
func TestEveryTechniqueIsWired(t *testing.T) {
	// Techniques without a detect entry of their own, and whose they use.
	shares := map[technique.Technique]technique.Technique{technique.Connect: technique.Syn}
	// Techniques told apart by flags that need no default pattern: custom
	// is whatever no pattern and no connection claims.
	noPattern := []technique.Technique{technique.Custom}

	d := rules.Default()
	for tc := range technique.Count {
		th := d.Threshold(tc)
		if th.Window <= 0 || th.Ports <= 0 && th.Hosts <= 0 {
			t.Errorf("%s: default threshold %+v never fires", tc, th)
		}
		_, own := d.Detect[tc]
		listed := slices.Contains(rules.Techniques, tc)
		if other, ok := shares[tc]; ok {
			if own || listed || th != d.Threshold(other) {
				t.Errorf("%s: shares %s's threshold, yet detect.%s is a key (%v, %v)", tc, other, tc, own, listed)
			}
		} else if !own || !listed {
			t.Errorf("%s: no detect.%s entry in rules/default.yaml", tc, tc)
		}

		if tc.ByFlags() != slices.Contains(rules.ProbeTypes, tc) {
			t.Errorf("%s: ByFlags %v, but rules.ProbeTypes says otherwise", tc, tc.ByFlags())
		}
		if tc.ByFlags() && !slices.Contains(noPattern, tc) &&
			!slices.ContainsFunc(d.TCPFlags, func(p rules.FlagPattern) bool { return p.Type == tc }) {
			t.Errorf("%s: no tcp_flags pattern of type %s in rules/default.yaml", tc, tc)
		}

		if s := eve.SignatureOf(tc); s.ID == 0 || s.Text == "" || s.Severity == 0 {
			t.Errorf("%s: no EVE signature in eve/signature.go (%+v)", tc, s)
		}
	}
}
