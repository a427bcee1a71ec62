// Package technique names the kinds of scan scanwatch tells apart: the
// alert's scan.type, the keys of the rules' detect section and tcp_flags
// types, and the index of per-technique tables (thresholds, EVE
// signatures). Adding a technique here fails tests until the default rules
// and the EVE signatures have it too.
package technique

import (
	"fmt"
	"strings"
)

// Technique is one kind of scan. Its zero value is Syn; Count is the number
// of techniques, so [Count]T is a table with one entry each and
// `for t := range Count` visits them all.
type Technique uint8

// The techniques, in the order the detector reports episodes that end
// together. What each looks like on the wire: design.md section 2.
const (
	Syn     Technique = iota // crafted SYNs, never a completed handshake (nmap -sS, masscan, zmap)
	Connect                  // SYNs with an OS stack's options, handshakes closed at once (nmap -sT)
	Fin                      // FIN alone (-sF)
	Null                     // no flags (-sN)
	Xmas                     // FIN+PSH+URG (-sX)
	Maimon                   // FIN+ACK (-sM)
	Ack                      // ACK with no connection (-sA, -sW)
	Custom                   // any other flag mix with no connection (--scanflags)
	UDP                      // UDP to many ports (-sU)
	IPProto                  // IP protocol numbers (-sO)
	SCTP                     // SCTP INIT or COOKIE ECHO (-sY, -sZ)
	Ping                     // host discovery: echo, timestamp, SYN 443, ACK 80 (-sn)
	ARP                      // ARP requests or IPv6 neighbour solicitations for many hosts
	OSProbe                  // nmap's OS-detection probes (-O)

	Count // the number of techniques; not one itself
)

var names = [Count]string{"syn", "connect", "fin", "null", "xmas", "maimon", "ack", "custom", "udp", "ipproto", "sctp", "ping", "arp", "osprobe"}

// Valid reports whether t is one of the techniques (below Count).
func (t Technique) Valid() bool { return t < Count }

// String is the technique's name as alerts and rules files write it
// ("syn", "osprobe"); "technique(N)" for a value out of range.
func (t Technique) String() string {
	if !t.Valid() {
		return fmt.Sprintf("technique(%d)", uint8(t))
	}
	return names[t]
}

// Parse reads a technique's name (exact, lower case).
func Parse(s string) (Technique, error) {
	for t, n := range names {
		if n == s {
			return Technique(t), nil
		}
	}
	return 0, fmt.Errorf("unknown technique %q (known: %s)", s, strings.Join(names[:], ", "))
}

// MarshalText writes the name, so JSON and YAML carry "syn", not 0.
func (t Technique) MarshalText() ([]byte, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("technique(%d) is not a technique", uint8(t))
	}
	return []byte(names[t]), nil
}

// UnmarshalText reads a name (see Parse). In YAML, the technique null must
// be quoted ("null", as MarshalText's output is): a plain null is YAML's
// empty value, never passed here, and leaves the field as it was.
func (t *Technique) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// ByFlags reports whether t's probes are told apart by their TCP flags
// alone, so that a rules tcp_flags pattern may name it: syn, fin, null,
// xmas, maimon, ack and custom. (Connect probes are SYNs too, told from
// Syn's by their options, and no pattern names them.)
func (t Technique) ByFlags() bool { return t <= Custom && t != Connect }
