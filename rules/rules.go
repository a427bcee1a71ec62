// Package rules holds the detector's configuration: home networks, allow
// lists, the tcp[13] flag patterns that define probe types, thresholds and
// windows per technique, and state caps. A Rules value is immutable once
// loaded; reload builds a new one and swaps it.
package rules

import (
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/scanwatch/scanwatch/tcpflags"
	"github.com/scanwatch/scanwatch/technique"
)

// Rules is the validated, immutable configuration.
type Rules struct {
	HomeNetworks []netip.Prefix // empty: every address is home
	Allow        Allow
	State        State
	Timeouts     Timeouts
	// TCPFlags are the probe patterns, tried in order; the first whose
	// tcp[13] & Mask == Value names the probe type. A segment that matches
	// none and belongs to no known connection is a "custom" probe.
	TCPFlags []FlagPattern
	// Detect holds one threshold per technique but connect, which uses
	// syn's (see Threshold).
	Detect map[technique.Technique]Threshold
	Slow   Slow
	// Memory is the byte budget of every table and queue the sensor keeps
	// (see MemoryFor) and the Go runtime's soft memory limit
	// (ApplyMemoryLimit). The caps of State stay upper bounds.
	Memory int64
	// Alerts limits how many alerts the detector writes.
	Alerts AlertLimit

	idx *index // lookup structures of the lists; nil for hand-built rules
}

// AlertLimit is a global alert budget in packet time: a token bucket that
// holds Burst alerts and refills at Rate alerts a second. Alerts past it
// are suppressed, counted, and summed up in one flood record per
// technique. A zero AlertLimit (rules built by hand) limits nothing.
type AlertLimit struct {
	Rate  float64 // alerts a second of packet time
	Burst int     // alerts allowed at once
}

// Allow lists traffic that is never counted.
type Allow struct {
	Scanners []netip.Prefix // sources never reported (the company's own vulnerability scanner)
	Targets  []netip.Prefix // destinations never counted
	Ports    []PortRange    // destination ports never counted
}

// PortRange is an inclusive range of ports; a single port has Lo == Hi.
type PortRange struct{ Lo, Hi uint16 }

// State caps the number of entries of the detector's tables; Rules.Memory
// caps their bytes, and the smaller cap wins. Every table evicts beyond its
// cap, sparing trackers in an active episode, and counts what it evicted.
type State struct {
	MaxTrackers  int // scanners followed at once
	MaxFlows     int // connections and pending probes followed at once
	MaxFragments int // IPv4/IPv6 datagrams held for reassembly at once
}

// Timeouts are measured in packet time.
type Timeouts struct {
	Reply time.Duration // how long a probe waits for the target's answer before it counts as unanswered
	Idle  time.Duration // an episode ends after this long without a probe
}

// FlagPattern is one tcp[13] pattern: a probe of type Type when
// flags&Mask == Value (the embedded Pattern's Match).
type FlagPattern struct {
	Type technique.Technique // one of ProbeTypes: syn, fin, null, xmas, maimon, ack, or custom
	Name string              // label for custom patterns (e.g. "syn-fin"); defaults to Type
	tcpflags.Pattern
}

// Threshold says when an episode becomes a scan: at least Ports distinct
// ports on one target (vertical), or Hosts distinct targets (horizontal),
// within Window. A zero field is never reached on its own.
type Threshold struct {
	Ports  int
	Hosts  int
	Window time.Duration
}

// Slow configures the sequential hypothesis test on first contacts
// (Jung, Paxson, Berger, Balakrishnan 2004) that decides scans at any
// speed, too slow for any window or faster than a window's count: each
// failed first contact multiplies the likelihood ratio by (1-θ1)/(1-θ0),
// each successful one by θ1/θ0, where θ0 = Theta0 and θ1 = Theta1; the
// host is declared a scanner when the ratio reaches Alarm.
type Slow struct {
	Enabled  bool
	Theta0   float64       // P(success) for a benign host
	Theta1   float64       // P(success) for a scanner
	Alarm    float64       // likelihood ratio at which a scanner is declared (eta1)
	Memory   time.Duration // how long a tracker's evidence is kept without new contacts
	MinPorts int           // distinct failed first contacts of one scan before it is reported
}

// Clone returns a deep copy of r.
func (r *Rules) Clone() *Rules {
	c := *r
	c.HomeNetworks = slices.Clone(r.HomeNetworks)
	c.Allow.Scanners = slices.Clone(r.Allow.Scanners)
	c.Allow.Targets = slices.Clone(r.Allow.Targets)
	c.Allow.Ports = slices.Clone(r.Allow.Ports)
	c.TCPFlags = slices.Clone(r.TCPFlags)
	c.Detect = maps.Clone(r.Detect)
	if r.idx != nil {
		c.buildIndex()
	}
	return &c
}

// IsHome reports whether a is in the home networks (always true when there
// are none). IPv4-mapped IPv6 addresses match as IPv4.
func (r *Rules) IsHome(a netip.Addr) bool {
	if len(r.HomeNetworks) == 0 {
		return true
	}
	if x := r.index(); x != nil {
		return x.home.contains(a.Unmap())
	}
	return containsAddr(r.HomeNetworks, a)
}

// AllowedScanner reports whether a is an allowed scanner, never reported.
func (r *Rules) AllowedScanner(a netip.Addr) bool {
	if x := r.index(); x != nil {
		return x.scanners.contains(a.Unmap())
	}
	return containsAddr(r.Allow.Scanners, a)
}

// AllowedTarget reports whether a is an allowed target, never counted.
func (r *Rules) AllowedTarget(a netip.Addr) bool {
	if x := r.index(); x != nil {
		return x.targets.contains(a.Unmap())
	}
	return containsAddr(r.Allow.Targets, a)
}

// containsAddr is the linear scan for rules whose lists changed by hand.
func containsAddr(ps []netip.Prefix, a netip.Addr) bool {
	if len(ps) == 0 {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// AllowedPort reports whether destination port p is never counted.
func (r *Rules) AllowedPort(p uint16) bool {
	if x := r.index(); x != nil {
		return x.ports.has(p)
	}
	for _, pr := range r.Allow.Ports {
		if p >= pr.Lo && p <= pr.Hi {
			return true
		}
	}
	return false
}

// ProbeType returns the first tcp_flags pattern that the tcp[13] byte
// matches; false when none does (a "custom" probe if no connection owns it).
func (r *Rules) ProbeType(flags tcpflags.Flags) (FlagPattern, bool) {
	for _, p := range r.TCPFlags {
		if p.Match(flags) {
			return p, true
		}
	}
	return FlagPattern{}, false
}

// Threshold returns the threshold for a technique (see Rules.Detect).
// Connect uses syn's unless Detect has its own. A technique Detect lacks
// gets the zero Threshold, which never fires.
func (r *Rules) Threshold(t technique.Technique) Threshold {
	if th, ok := r.Detect[t]; ok {
		return th
	}
	if t == technique.Connect {
		return r.Detect[technique.Syn]
	}
	return Threshold{}
}
