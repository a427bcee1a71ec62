// Contacts: the record that crosses from the packet handlers to the
// episodes. One Contact is one first contact of a would-be scanner and how
// it ended; it is a plain value (no pointer into the flow table), so the
// same record can leave the sensor and feed the episodes of a correlator.

package detector

import (
	"net/netip"

	"github.com/scanwatch/scanwatch/technique"
)

// Contact is one first contact (a probe of a port, a protocol or a host)
// and its outcome, as the packet handlers resolved it. Times are packet
// times in Unix nanoseconds.
type Contact struct {
	Time    int64 // when the outcome was known: the episodes' clock moves to it
	First   int64 // when the first probe was sent
	Scanner netip.Addr
	Target  netip.Addr
	Print   Print // the first probe's fingerprint (zero for ARP and neighbour discovery)
	// Port is the destination port; for ipproto the IP protocol number, for
	// osprobe the probe kind; 0 for ping and arp.
	Port      uint16
	Probes    uint16 // probe packets, retransmissions included
	Technique technique.Technique
	Outcome   Outcome
}

// Outcome is how the target answered one first contact.
type Outcome uint8

const (
	OutNone     Outcome = iota // no answer within the reply timeout
	OutClosed                  // RST from the target, ICMP port/protocol unreachable, SCTP ABORT
	OutFiltered                // ICMP unreachable (admin prohibited, host unreachable, ...)
	OutHalfOpen                // SYN-ACK, then the scanner reset instead of completing the handshake
	OutConnect                 // handshake completed, then torn down at once without data
	OutOpen                    // SYN-ACK, INIT-ACK or UDP reply, and nothing more seen
	OutAlive                   // the host answered (echo reply, ARP reply): ping and arp only
	OutSent                    // a probe whose answer is not needed (ping, arp)
	OutBenign                  // an exchange that carried data: evidence of a benign client
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"none", "closed", "filtered", "half-open", "connect", "open", "alive", "sent", "benign"}

func (o Outcome) String() string {
	if o < numOutcomes {
		return outcomeNames[o]
	}
	return "outcome(" + itoa(int(o)) + ")"
}

func (o Outcome) open() bool { return o == OutHalfOpen || o == OutConnect || o == OutOpen }

// synLike techniques probe with SYN and follow the handshake.
func synLike(t technique.Technique) bool { return t == technique.Syn || t == technique.Connect }

// tcpProbe reports the techniques whose probes are single TCP segments
// classified by their flags: their prints vote for a tool.
func tcpProbe(f technique.Technique) bool {
	switch f {
	case technique.Syn, technique.Connect, technique.Fin, technique.Null, technique.Xmas, technique.Maimon, technique.Ack, technique.Custom:
		return true
	}
	return false
}
