// Package scanner is scanwatch's active scanner: nmap's port-scan
// techniques (-sS -sT -sF -sN -sX -sA -sW -sM -sU -sY -sZ -sO,
// --scanflags) with nmap's port states, its host discovery (ARP/ND on a
// local link, else ICMP echo, SYN 443, ACK 80, timestamp), its default
// ports (the most common 1000 per protocol, from nmap-services), timing
// templates and evasions, and its output formats. ParseArgs reads an nmap
// command line; Options.Run scans and reports; Run is the library entry.
//
// Raw probes are built by hand (craft.go) and sent on raw IP sockets
// (IPPROTO_RAW, so the kernel routes them and resolves neighbours), many
// per sendmmsg call; ARP requests go out on a packet socket. Replies are
// read from an AF_PACKET socket with a classic BPF filter that passes only
// what can answer (filter_linux.go). The engine (engine.go) paces probes
// as nmap's does: congestion windows, RTT-based timeouts, retransmissions
// and scan delays that back off from a rate-limiting target. The connect
// scan (-sT) uses the operating system's connect(). Raw techniques need
// CAP_NET_RAW.
//
// Probes look like nmap's, so a sensor can attribute them: TCP window 1024,
// an MSS 1460 option on SYN probes only, a random TTL/hop limit in 37-59, no
// DF, one random source port per scan phase (UDP try n from port+n, as the
// try is then known from the answer), and a per-phase random sequence
// number (all first tries share it; retransmissions add the try number).
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
	SYN        Technique = iota + 1 // -sS
	Connect                         // -sT
	FIN                             // -sF
	Null                            // -sN
	Xmas                            // -sX
	ACK                             // -sA
	Window                          // -sW
	Maimon                          // -sM
	UDP                             // -sU
	SCTPInit                        // -sY
	SCTPCookie                      // -sZ
	IPProto                         // -sO
)

// lastTechnique bounds the loops over techniques.
const lastTechnique = IPProto

var techniqueNames = [...]struct{ opt, name string }{
	SYN:        {"-sS", "syn"},
	Connect:    {"-sT", "connect"},
	FIN:        {"-sF", "fin"},
	Null:       {"-sN", "null"},
	Xmas:       {"-sX", "xmas"},
	ACK:        {"-sA", "ack"},
	Window:     {"-sW", "window"},
	Maimon:     {"-sM", "maimon"},
	UDP:        {"-sU", "udp"},
	SCTPInit:   {"-sY", "sctp-init"},
	SCTPCookie: {"-sZ", "sctp-cookie"},
	IPProto:    {"-sO", "ipproto"},
}

// String returns the technique's name as used in scan.type ("syn", "udp", ...).
func (t Technique) String() string {
	if t >= SYN && t <= lastTechnique {
		return techniqueNames[t].name
	}
	return fmt.Sprintf("technique(%d)", uint8(t))
}

// Option returns nmap's option for the technique ("-sS").
func (t Technique) Option() string {
	if t >= SYN && t <= lastTechnique {
		return techniqueNames[t].opt
	}
	return ""
}

// TechniqueFromOption maps nmap's option ("-sS" or "sS") to a Technique.
func TechniqueFromOption(opt string) (Technique, bool) {
	opt = "-" + strings.TrimLeft(opt, "-")
	for t := SYN; t <= lastTechnique; t++ {
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
	for v := SYN; v <= lastTechnique; v++ {
		if techniqueNames[v].name == s || techniqueNames[v].opt == s {
			*t = v
			return nil
		}
	}
	return fmt.Errorf("unknown technique %q", s)
}

// Proto is the protocol whose ports the technique scans: "tcp", "udp",
// "sctp", or "ip" for the protocol scan (its "ports" are protocol numbers).
func (t Technique) Proto() string {
	switch t {
	case UDP:
		return "udp"
	case SCTPInit, SCTPCookie:
		return "sctp"
	case IPProto:
		return "ip"
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

// Config is one scan run: the techniques run one after another over the
// same targets, as nmap runs a SYN and a UDP scan in one invocation.
type Config struct {
	Techniques []Technique // port scans in order; empty means SYN. At most one TCP technique.
	// ScanFlags, if non-zero or CustomFlags is set, replaces the TCP
	// technique's flags (nmap --scanflags). Responses are interpreted as
	// the technique says.
	ScanFlags   uint8
	CustomFlags bool // ScanFlags is in force even if zero
	Ports       PortLists
	Targets     []netip.Addr
	Timing      Timing
	Discovery   Discovery
	Evasion     Evasion
	Sequential  bool   // -r: ports in order, not shuffled
	Interface   string // optional: only read replies arriving on this interface (-e)
	SourcePort  uint16 // optional: fixed source port (nmap -g); 0 picks a random one
	// Concurrency caps the connect scan's outstanding connects; 0 means a default.
	Concurrency int
}

// PortLists holds the ports each protocol's scan covers.
type PortLists struct {
	TCP       []uint16 `json:"tcp,omitempty"`
	UDP       []uint16 `json:"udp,omitempty"`
	SCTP      []uint16 `json:"sctp,omitempty"`
	Protocols []uint16 `json:"protocols,omitempty"` // -sO: IP protocol numbers 0-255
}

// For returns the list for a protocol ("tcp", "udp", "sctp" or "ip").
func (p *PortLists) For(proto string) []uint16 {
	switch proto {
	case "udp":
		return p.UDP
	case "sctp":
		return p.SCTP
	case "ip":
		return p.Protocols
	}
	return p.TCP
}

// Evasion holds nmap's firewall/IDS evasion and spoofing options.
type Evasion struct {
	Decoys     []netip.Addr `json:"decoys,omitempty"` // -D: sources sent alongside ours
	MePos      int          `json:"me_pos,omitempty"` // where our address goes among them (ME)
	Spoof      netip.Addr   `json:"spoof,omitzero"`   // -S: source address to send from
	TTL        uint8        `json:"ttl,omitempty"`    // --ttl; 0: random 37-59 like nmap
	DataLength int          `json:"data_length,omitempty"`
	Data       []byte       `json:"data,omitempty"` // --data, --data-string
	BadSum     bool         `json:"badsum,omitempty"`
	MTU        int          `json:"mtu,omitempty"` // -f (8), -ff (16), --mtu: fragment size
}

// MaxHosts bounds the targets of one scan.
const MaxHosts = 65536

// Result is a finished scan.
type Result struct {
	Techniques  []Technique   `json:"techniques"`
	Ports       PortLists     `json:"-"` // what each protocol's scan covered
	ScanFlags   string        `json:"scan_flags,omitempty"`
	Source      string        `json:"source,omitempty"`
	Start       time.Time     `json:"start"`
	Duration    time.Duration `json:"-"`
	ProbesSent  int           `json:"probes_sent"`
	Retransmits int           `json:"retransmits"`
	Replies     int           `json:"replies"`
	SendErrors  int           `json:"send_errors,omitempty"` // probes the local stack refused to send
	Hosts       []HostResult  `json:"hosts"`
	// Interrupted: the context ended the scan; ports without an answer
	// yet are left out of Hosts.
	Interrupted bool `json:"interrupted,omitempty"`
	// rtts are the round trips host discovery measured, to time the
	// port scans from their first probe.
	rtts map[netip.Addr]rtt
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
	Addr   netip.Addr   `json:"addr"`
	Up     bool         `json:"up"`               // something answered
	Reason string       `json:"reason,omitempty"` // why it is up: arp-response, echo-reply, user-set, ...
	Error  string       `json:"error,omitempty"`  // why it was not scanned (no route, ...)
	Ports  []PortResult `json:"ports"`
}

// Scanned reports whether the host's ports were scanned.
func (h *HostResult) Scanned() bool { return len(h.Ports) > 0 }

// PortResult is one port's state and why.
type PortResult struct {
	Port    uint16    `json:"port"`
	Proto   string    `json:"proto"`
	State   PortState `json:"state"`
	Reason  string    `json:"reason"`        // nmap's reason: syn-ack, reset, no-response, port-unreach, ...
	TTL     uint8     `json:"ttl,omitempty"` // of the reply that settled the state
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

// States maps port to state for one host and protocol ("tcp", "udp").
func (h *HostResult) States(proto string) map[uint16]PortState {
	m := make(map[uint16]PortState, len(h.Ports))
	for _, p := range h.Ports {
		if p.Proto == proto {
			m[p.Port] = p.State
		}
	}
	return m
}

// noReplyState is the state of a port that never answered.
func (t Technique) noReplyState() PortState {
	switch t {
	case FIN, Null, Xmas, Maimon, UDP, SCTPCookie, IPProto:
		return OpenFiltered
	}
	return Filtered
}
