package selftest

import (
	"fmt"
	"time"

	"github.com/scanwatch/scanwatch/rules"
)

// synWindow is detect.syn.window in the self-test's rules (default 60 s).
const synWindow = 10 * time.Second

// rulesYAML is the one change the self-test makes to the default rules:
// the SYN window, 60 s by default, is synWindow. A scan is slow when its
// first contacts come further apart than its window over its count (15
// ports): 4 s by default, what nmap -T1 (15 s) and -T0 (5 min) are; two
// thirds of a second here, so that the slow check's one probe a second is
// slow to the sensor and the run stays short. The sequential test that
// decides slow scans is the same code, at the same evidence (four failed
// first contacts). Fast scans alert before any window matters; the window
// also bounds how far apart a distributed scan's sources may start, which
// the distributed check's three, started together, never approach.
var rulesYAML = fmt.Sprintf(`# scanwatch selftest: the defaults, but a SYN window short enough that a
# scan at one probe a second is slow.
detect:
  syn: {window: %s}
`, synWindow)

// selftestRules are the sensor's rules: the defaults with rulesYAML.
func selftestRules() (*rules.Rules, error) {
	return rules.Parse("selftest-rules.yaml", []byte(rulesYAML))
}
