// Package scanner is scanwatch's active port scanner. It implements nmap's
// TCP techniques (-sS -sT -sF -sN -sX -sA -sW -sM, --scanflags) and the UDP
// scan (-sU) with nmap's port-state semantics from its reference guide.
//
// Raw probes are crafted with gopacket and sent on raw IP sockets
// (IPPROTO_RAW, so the kernel routes them and resolves neighbours); replies
// are read from an AF_PACKET socket with a classic BPF filter that passes only
// TCP/UDP to our source port and ICMP unreachables. The connect scan (-sT)
// uses the operating system's connect(). Raw techniques need CAP_NET_RAW.
//
// Probes look like nmap's, so a sensor can attribute them: TCP window 1024,
// an MSS 1460 option on SYN probes only, a random TTL/hop limit in 37-59, no
// DF, one random source port for the whole scan, and a per-scan random
// sequence number (all first tries share it; retransmissions add the try
// number, so a reply tells which try it answers).
package scanner

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/scanwatch/scanwatch/tcpflags"
)

// Technique is a scan type, named after nmap's option.
type Technique uint8

const (
	SYN     Technique = iota + 1 // -sS
	Connect                      // -sT
	FIN                          // -sF
	Null                         // -sN
	Xmas                         // -sX
	ACK                          // -sA
	Window                       // -sW
	Maimon                       // -sM
	UDP                          // -sU
)

var techniqueNames = [...]struct{ opt, name string }{
	SYN:     {"-sS", "syn"},
	Connect: {"-sT", "connect"},
	FIN:     {"-sF", "fin"},
	Null:    {"-sN", "null"},
	Xmas:    {"-sX", "xmas"},
	ACK:     {"-sA", "ack"},
	Window:  {"-sW", "window"},
	Maimon:  {"-sM", "maimon"},
	UDP:     {"-sU", "udp"},
}

// String returns the technique's name as used in scan.type ("syn", "udp", ...).
func (t Technique) String() string {
	if t >= SYN && t <= UDP {
		return techniqueNames[t].name
	}
	return fmt.Sprintf("technique(%d)", uint8(t))
}

// Option returns nmap's option for the technique ("-sS").
func (t Technique) Option() string {
	if t >= SYN && t <= UDP {
		return techniqueNames[t].opt
	}
	return ""
}

// TechniqueFromOption maps nmap's option ("-sS" or "sS") to a Technique.
func TechniqueFromOption(opt string) (Technique, bool) {
	opt = "-" + strings.TrimLeft(opt, "-")
	for t := SYN; t <= UDP; t++ {
		if techniqueNames[t].opt == opt {
			return t, true
		}
	}
	return 0, false
}

// MarshalText implements encoding.TextMarshaler.
func (t Technique) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText accepts a name ("syn") or an option ("-sS").
func (t *Technique) UnmarshalText(b []byte) error {
	s := string(b)
	for v := SYN; v <= UDP; v++ {
		if techniqueNames[v].name == s || techniqueNames[v].opt == s {
			*t = v
			return nil
		}
	}
	return fmt.Errorf("unknown technique %q", s)
}

// Proto is "tcp" or "udp".
func (t Technique) Proto() string {
	if t == UDP {
		return "udp"
	}
	return "tcp"
}

// TCP flag bits as they sit in byte 13 of the TCP header (tcpflags' values).
const (
	FlagFIN = uint8(tcpflags.FIN)
	FlagSYN = uint8(tcpflags.SYN)
	FlagRST = uint8(tcpflags.RST)
	FlagPSH = uint8(tcpflags.PSH)
	FlagACK = uint8(tcpflags.ACK)
	FlagURG = uint8(tcpflags.URG)
	FlagECE = uint8(tcpflags.ECE)
	FlagCWR = uint8(tcpflags.CWR)
)

// probeFlags returns the TCP flags a technique sends.
func (t Technique) probeFlags() uint8 {
	switch t {
	case SYN, Connect:
		return FlagSYN
	case FIN:
		return FlagFIN
	case Null:
		return 0
	case Xmas:
		return FlagFIN | FlagPSH | FlagURG
	case ACK, Window:
		return FlagACK
	case Maimon:
		return FlagFIN | FlagACK
	}
	return 0
}

// PortState is a port's state with nmap's names.
type PortState uint8

const (
	StateUnknown PortState = iota
	Open
	Closed
	Filtered
	Unfiltered
	OpenFiltered   // open|filtered
	ClosedFiltered // closed|filtered (nmap's idle scan only; kept for parsing)
)

var stateNames = [...]string{
	StateUnknown:   "unknown",
	Open:           "open",
	Closed:         "closed",
	Filtered:       "filtered",
	Unfiltered:     "unfiltered",
	OpenFiltered:   "open|filtered",
	ClosedFiltered: "closed|filtered",
}

func (s PortState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParsePortState parses nmap's state names.
func ParsePortState(s string) (PortState, error) {
	for i, n := range stateNames {
		if n == s && i != 0 {
			return PortState(i), nil
		}
	}
	return StateUnknown, fmt.Errorf("unknown port state %q", s)
}

// MarshalText implements encoding.TextMarshaler.
func (s PortState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *PortState) UnmarshalText(b []byte) error {
	v, err := ParsePortState(string(b))
	*s = v
	return err
}

// Config is one scan.
type Config struct {
	Technique Technique // how replies are read; with ScanFlags the base type (default SYN)
	// ScanFlags, if non-zero or CustomFlags is set, replaces the technique's
	// TCP flags (nmap --scanflags). Responses are interpreted as Technique says.
	ScanFlags   uint8
	CustomFlags bool // ScanFlags is in force even if zero
	Ports       []uint16
	Targets     []netip.Addr
	Rate        int           // probes per second; 0 means DefaultRate
	MaxRetries  int           // retransmissions per probe; negative means DefaultMaxRetries
	Timeout     time.Duration // upper bound of the adaptive per-probe reply timeout; 0 means DefaultTimeout
	ScanTimeout time.Duration // the whole scan; 0 means none (the context still applies)
	Interface   string        // optional: only read replies arriving on this interface
	SourcePort  uint16        // optional: fixed source port (nmap -g); 0 picks a random one
	// Concurrency caps the connect scan's outstanding connects; 0 means a default.
	Concurrency int
}

// Defaults.
const (
	DefaultRate       = 1000
	DefaultMaxRetries = 2
	DefaultTimeout    = time.Second
	MinTimeout        = 100 * time.Millisecond // nmap's default --min-rtt-timeout
	MaxHosts          = 65536
)

// Result is a finished scan.
type Result struct {
	Technique   Technique     `json:"technique"`
	ScanFlags   string        `json:"scan_flags,omitempty"`
	Proto       string        `json:"proto"`
	Source      string        `json:"source,omitempty"`
	SourcePort  uint16        `json:"source_port,omitempty"`
	Start       time.Time     `json:"start"`
	Duration    time.Duration `json:"-"`
	ProbesSent  int           `json:"probes_sent"`
	Retransmits int           `json:"retransmits"`
	Replies     int           `json:"replies"`
	SendErrors  int           `json:"send_errors,omitempty"` // probes the local stack refused to send
	Hosts       []HostResult  `json:"hosts"`
}

// MarshalJSON adds the duration in seconds.
func (r *Result) MarshalJSON() ([]byte, error) {
	type plain Result
	return json.Marshal(struct {
		*plain
		Seconds float64 `json:"seconds"`
	}{(*plain)(r), r.Duration.Seconds()})
}

// HostResult holds one target's ports in the order they were given.
type HostResult struct {
	Addr  netip.Addr   `json:"addr"`
	Up    bool         `json:"up"` // something answered
	Ports []PortResult `json:"ports"`
}

// PortResult is one port's state and why.
type PortResult struct {
	Port    uint16    `json:"port"`
	Proto   string    `json:"proto"`
	State   PortState `json:"state"`
	Reason  string    `json:"reason"` // nmap's reason: syn-ack, reset, no-response, port-unreach, ...
	Service string    `json:"service,omitempty"`
}

// Host returns the result for addr, or nil.
func (r *Result) Host(addr netip.Addr) *HostResult {
	for i := range r.Hosts {
		if r.Hosts[i].Addr == addr {
			return &r.Hosts[i]
		}
	}
	return nil
}

// States maps port to state for one host.
func (h *HostResult) States() map[uint16]PortState {
	m := make(map[uint16]PortState, len(h.Ports))
	for _, p := range h.Ports {
		m[p.Port] = p.State
	}
	return m
}

func (c *Config) normalize() error {
	if c.Technique == 0 {
		c.Technique = SYN
	}
	if c.Technique < SYN || c.Technique > UDP {
		return fmt.Errorf("unknown technique %d", c.Technique)
	}
	if (c.ScanFlags != 0 || c.CustomFlags) && (c.Technique == UDP || c.Technique == Connect) {
		return fmt.Errorf("--scanflags needs a raw TCP technique, not %s", c.Technique.Option())
	}
	if c.ScanFlags != 0 {
		c.CustomFlags = true
	}
	if len(c.Targets) == 0 {
		return fmt.Errorf("no targets")
	}
	if len(c.Targets) > MaxHosts {
		return fmt.Errorf("%d targets: more than %d", len(c.Targets), MaxHosts)
	}
	if len(c.Ports) == 0 {
		return fmt.Errorf("no ports")
	}
	for i, a := range c.Targets {
		if !a.IsValid() {
			return fmt.Errorf("target %d is not a valid address", i)
		}
		c.Targets[i] = a.Unmap()
	}
	if c.Rate <= 0 {
		c.Rate = DefaultRate
	}
	if c.MaxRetries < 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.MaxRetries > 50 {
		c.MaxRetries = 50
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 512
	}
	return nil
}

// flags returns the TCP flags the scan sends.
func (c *Config) flags() uint8 {
	if c.CustomFlags {
		return c.ScanFlags
	}
	return c.Technique.probeFlags()
}

// noReplyState is the state of a port that never answered.
func (t Technique) noReplyState() PortState {
	switch t {
	case FIN, Null, Xmas, Maimon, UDP:
		return OpenFiltered
	}
	return Filtered
}
