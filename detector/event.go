package detector

import (
	"net/netip"
	"time"
)

// Event is what the detector reports: an "alert" when an episode is first
// recognised as a scan, and a "scan" record with final totals when it ends.
type Event struct {
	Kind string    // "alert" or "scan"
	Time time.Time // packet time of the decision
	Scan Scan
}

// Scan describes one scan episode. Lists are sorted so output is deterministic.
type Scan struct {
	ID           uint64 // the episode, the same in its alert and its end record (EVE flow_id)
	Type         string // syn, connect, fin, null, xmas, maimon, ack, custom, udp, ipproto, sctp, ping, arp, osprobe
	Name         string // for custom probes: the flag mix, e.g. "SYN|FIN"
	Proto        string // EVE proto: TCP, UDP, SCTP, ICMP, IPV6-ICMP, IP, ARP
	Shape        string // vertical, horizontal, block
	Scanner      netip.Addr
	SrcPort      uint16       // the scanner's source port when all its probes used one, else 0
	Targets      []netip.Addr // at most MaxListedTargets; TargetCount is exact
	TargetCount  int
	PortCount    int    // distinct ports (protocol numbers for ipproto)
	Ports        string // compressed ranges "1-87,443"
	Probes       int    // probe packets, retransmissions included
	OpenPorts    []uint16
	FirstSeen    time.Time
	LastSeen     time.Time
	Tool         string
	ToolEvidence string
	Evidence     string
	Slow         bool // recognised by the sequential test rather than a rate window
	Decoys       []netip.Addr
	Group        string
	Zombie       netip.Addr // idle scans: the host whose IP ID the hidden scanner reads
	Relay        netip.Addr // FTP bounce scans: the FTP server that made the connections
	Sensors      []string   // fleet records: the sensors whose contacts made the episode
	// Sources is, for a flood (Shape "flood"), how many sources it sums up;
	// its Scanner is then the unspecified address.
	Sources int
}

// MaxListedTargets caps the targets listed in one record; TargetCount stays exact.
const MaxListedTargets = 64

// maxPortRanges caps the ranges written in Scan.Ports.
const maxPortRanges = 256

// ScannerText is the scanner as records print it: its address, or
// "undetermined" for a decoy set whose replies single out no member (then
// Scanner is the zero Addr and every member is in Decoys).
func (s Scan) ScannerText() string {
	if !s.Scanner.IsValid() {
		return "undetermined"
	}
	return s.Scanner.String()
}
