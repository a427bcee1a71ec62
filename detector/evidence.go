// Evidence: what one first contact says about its scanner, in the terms of
// the sequential test (Jung, Paxson, Berger, Balakrishnan, IEEE S&P 2004):
// a failed first contact is evidence of a scanner, a successful one of a
// benign client. A client's requests are answered; a scanner's probes
// mostly are not, or are refused.

package detector

import "github.com/scanwatch/scanwatch/technique"

type evidence uint8

const (
	evNone    evidence = iota // no say either way, but counted towards the thresholds
	evFailure                 // refused, unreachable, unanswered, or a handshake the scanner itself refused
	evSuccess                 // the peer answered and the exchange was a client's
	evTraffic                 // a protocol hosts speak to each other (a tunnel): listed, never counted
)

// judge weighs one contact.
//   - An exchange that carried data is a client's (TCP, SCTP's completed
//     association); so is a UDP datagram or an IP protocol packet the peer
//     answered in kind: an NTP client, a resolver, an SNMP poller, a QUIC
//     client. A few unanswered among many answered are a flaky network.
//   - Datagrams to services that never answer (syslog, SNMP traps, flow
//     export, metrics) fail only when refused: silence is their success.
//   - A TCP handshake completed and closed at once without data says
//     nothing: a connect() scan does it on open ports, and so does a load
//     balancer's health check on every backend.
//   - Pings, resolution requests and OS probes are counted when sent; their
//     answers are not awaited.
//   - IP protocols that carry traffic between hosts (tunnels, routing,
//     IPsec) are not probes of a protocol number, answered or not: one-sided
//     ESP to six peers is not a protocol scan.
//   - Everything else failed: RST, ABORT, ICMP unreachable, no answer, or a
//     SYN-ACK the scanner reset (or left unanswered).
func judge(c Contact) evidence {
	switch c.Technique {
	case technique.Ping, technique.ARP, technique.OSProbe:
		return evNone
	case technique.IPProto:
		if trafficProto(c.Port) {
			return evTraffic
		}
	}
	switch c.Outcome {
	case OutBenign:
		return evSuccess
	case OutOpen:
		if c.Technique == technique.UDP || c.Technique == technique.IPProto {
			return evSuccess
		}
	case OutConnect, OutSent, OutAlive:
		return evNone
	case OutNone:
		if c.Technique == technique.UDP && oneWayPort(c.Port) {
			return evNone
		}
	}
	return evFailure
}

// oneWayPort reports UDP services that are sent to and never answer:
// SNMP traps, syslog, NetFlow, IPFIX, sFlow, statsd, GELF, collectd.
func oneWayPort(p uint16) bool {
	switch p {
	case 162, 514, 2055, 4739, 6343, 8125, 9995, 9996, 12201, 25826:
		return true
	}
	return false
}

// replyTechnique reports the techniques whose contacts fail or succeed:
// their scans are decided on evidence, not on counts alone.
func replyTechnique(t technique.Technique) bool {
	return t != technique.Ping && t != technique.ARP && t != technique.OSProbe
}

// trafficProto reports IP protocols that carry traffic between hosts that
// a one-sided capture shows unanswered: IGMP, IP-in-IP, IPv6-in-IPv4, GRE,
// ESP, AH, EIGRP, OSPF, EtherIP, PIM, VRRP, L2TP, MPLS-in-IP.
func trafficProto(p uint16) bool {
	switch p {
	case 2, 4, 41, 47, 50, 51, 88, 89, 97, 103, 112, 115, 137:
		return true
	}
	return false
}
