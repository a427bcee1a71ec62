// Package fleet carries contact records from sensors to a correlator over
// NATS JetStream: the wire record and its batched encoding, the subject
// layout that partitions work by scanner prefix, the publisher sensors use,
// the correlator that owns partitions and feeds the episode logic, and an
// embedded NATS server for the one-machine set-up.
package fleet

import "net/netip"

// Technique is the kind of probe a contact was, as numbered on the wire.
// The numbers are part of the wire format: append, never renumber.
type Technique uint8

const (
	TechUnknown Technique = iota
	TechSyn
	TechConnect
	TechFin
	TechNull
	TechXmas
	TechMaimon
	TechAck
	TechCustom
	TechUDP
	TechIPProto
	TechSCTP
	TechPing
	TechARP
	TechOSProbe
	TechVersion
	TechScript
	TechIdle
	TechFTPBounce
	numTechniques
)

var techNames = [numTechniques]string{"unknown", "syn", "connect", "fin", "null", "xmas", "maimon", "ack", "custom", "udp", "ipproto", "sctp", "ping", "arp", "osprobe", "version", "script", "idle", "ftpbounce"}

func (t Technique) String() string {
	if t < numTechniques {
		return techNames[t]
	}
	return "unknown"
}

// TechniqueOf returns the wire number of a scan type name ("syn", "udp"...).
func TechniqueOf(name string) (Technique, bool) {
	for i, n := range techNames {
		if n == name && i > 0 {
			return Technique(i), true
		}
	}
	return TechUnknown, false
}

// Outcome is how the target answered a first contact, as numbered on the
// wire (append, never renumber).
type Outcome uint8

const (
	OutNone     Outcome = iota // no answer within the reply timeout
	OutClosed                  // RST, ICMP port/protocol unreachable, SCTP ABORT
	OutFiltered                // other ICMP unreachables
	OutHalfOpen                // SYN-ACK, then the scanner reset
	OutConnect                 // handshake completed and torn down without data
	OutOpen                    // SYN-ACK, INIT-ACK or UDP reply, nothing more seen
	OutAlive                   // the host answered (echo reply, ARP reply)
	OutSent                    // a probe whose answer is not needed (ping, arp)
	OutBenign                  // an exchange that carried data
	numOutcomes
)

var outNames = [numOutcomes]string{"none", "closed", "filtered", "half-open", "connect", "open", "alive", "sent", "benign"}

func (o Outcome) String() string {
	if o < numOutcomes {
		return outNames[o]
	}
	return "unknown"
}

// OptionClass sums up a TCP probe's options (the detector's tool tell).
type OptionClass uint8

const (
	OptNone    OptionClass = iota // no options
	OptMSSOnly                    // a lone MSS option (nmap's SYN)
	OptFull                       // SACK, timestamps or window scale: an OS stack
	OptOther                      // anything else
)

// Fingerprint holds the probe features that tell scanning tools apart,
// so the correlator can name the tool as a sensor does.
type Fingerprint struct {
	Flags     uint8 // tcp[13]
	TTL       uint8
	Options   OptionClass
	DF        bool
	AckNoFlag bool // non-zero ack number without the ACK flag (hping3)
	IDMatch   bool // masscan's IP ID cookie matched
	Frag      bool // the TCP header came in IP fragments (nmap -f)
	Window    uint16
	MSS       uint16
	IPID      uint16
	SrcPort   uint16
	Seq       uint32
}

// Contact is one first contact of a would-be scanner and its outcome, as a
// sensor saw it. Sensor is filled from the batch (and its subject) on
// decoding; it is not repeated per record on the wire.
type Contact struct {
	Time      int64 // packet time its outcome was known, Unix ns: the episodes' clock
	First     int64 // packet time of the first probe, Unix ns
	Scanner   netip.Addr
	Target    netip.Addr
	Port      uint16 // port, or protocol number for ipproto, 0 for ping/arp
	Technique Technique
	Outcome   Outcome
	Probes    uint32 // probe packets, retransmissions included
	HasPrint  bool
	Print     Fingerprint
	Sensor    string
}
