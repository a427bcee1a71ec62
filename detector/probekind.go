// Probe kinds: what a probe carried, for the techniques whose probes come
// in several kinds (an SCTP INIT or COOKIE ECHO; which service probe or
// script request a version or script scan sent). A Contact carries its
// kind, an episode counts them, and its evidence and tool are said from
// the counts.

package detector

import (
	"strconv"
	"strings"
)

// ProbeKind names what one probe carried; KindNone for techniques whose
// probes are all alike.
type ProbeKind uint8

const (
	KindNone ProbeKind = iota
	KindSCTPInit
	KindSCTPCookieEcho

	numProbeKinds
)

// probeKindNames are the kinds as the evidence says them.
var probeKindNames = [numProbeKinds]string{
	KindNone:           "",
	KindSCTPInit:       "SCTP INIT",
	KindSCTPCookieEcho: "SCTP COOKIE ECHO (no association)",
}

func (k ProbeKind) String() string {
	if k < numProbeKinds {
		return probeKindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// kindCounts counts an episode's probes by kind. Episodes of techniques
// whose probes are all alike never allocate one.
type kindCounts [numProbeKinds]uint32

// countKind adds one probe of kind k to e.
func (e *episode) countKind(k ProbeKind) {
	if k == KindNone || k >= numProbeKinds {
		return
	}
	if e.kinds == nil {
		e.kinds = new(kindCounts)
	}
	e.kinds[k]++
}

// probeLabel is what e's probes were, for its evidence: def (the
// technique's probe) when no kind was counted, else the kinds seen, most
// frequent first ("SCTP COOKIE ECHO", "SCTP INIT and COOKIE ECHO").
func (e *episode) probeLabel(def string) string {
	if e.kinds == nil {
		return def
	}
	var names []string
	for k, n := range e.kinds {
		if n > 0 {
			names = append(names, probeKindNames[k])
		}
	}
	if len(names) == 0 {
		return def
	}
	return strings.Join(names, " and ")
}

// sctpProbeKind is the probe an SCTP packet's first chunk makes when no
// association is known: INIT opens one (nmap -sY); a COOKIE ECHO with no
// association (nmap -sZ) is answered by ABORT on a closed port and dropped
// on an open one (RFC 9260 8.4).
func sctpProbeKind(chunk uint8) ProbeKind {
	switch chunk {
	case 1:
		return KindSCTPInit
	case 10:
		return KindSCTPCookieEcho
	}
	return KindNone
}
