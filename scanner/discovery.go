package scanner

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
)

// PingKind is a host-discovery probe, named after nmap's -P options.
type PingKind uint8

const (
	PingEcho      PingKind = iota + 1 // -PE: ICMP echo (ICMPv6 echo for IPv6)
	PingTimestamp                     // -PP: ICMP timestamp (IPv4 only)
	PingMask                          // -PM: ICMP address mask (IPv4 only)
	PingSYN                           // -PS: TCP SYN
	PingACK                           // -PA: TCP ACK
	PingUDP                           // -PU: UDP
	PingSCTP                          // -PY: SCTP INIT
	PingProto                         // -PO: IP protocol
)

// Ping is one kind of discovery probe and the ports (or protocols) it goes to.
type Ping struct {
	Kind  PingKind `json:"kind"`
	Ports []uint16 `json:"ports,omitempty"`
}

// Discovery says how hosts are found before their ports are scanned.
type Discovery struct {
	Skip    bool   `json:"skip,omitempty"`     // -Pn: every target is treated as up
	Only    bool   `json:"only,omitempty"`     // -sn: find hosts, scan no ports
	Probes  []Ping `json:"probes,omitempty"`   // -PE -PS... ; empty: nmap's default set
	NoARP   bool   `json:"no_arp,omitempty"`   // --disable-arp-ping: IP probes on local links too
	OnlyARP bool   `json:"only_arp,omitempty"` // -PR given alone: neighbour discovery only
}

// Default ports of the ping probes, as nmap's.
var defaultPingPorts = map[PingKind][]uint16{
	PingSYN: {80}, PingACK: {80}, PingUDP: {40125}, PingSCTP: {80}, PingProto: {1, 2, 4},
}

// defaultPings is nmap's default discovery for privileged users off the
// local link: ICMP echo, TCP SYN to 443, TCP ACK to 80, ICMP timestamp.
var defaultPings = []Ping{{Kind: PingEcho}, {Kind: PingSYN, Ports: []uint16{443}}, {Kind: PingACK, Ports: []uint16{80}}, {Kind: PingTimestamp}}

// pingSpecs turns the discovery probes into the engine's specs for one
// address family (timestamp and mask requests exist only for IPv4).
func pingSpecs(pings []Ping, v4 bool) []spec {
	if len(pings) == 0 {
		pings = defaultPings
	}
	var out []spec
	for _, p := range pings {
		ports := p.Ports
		if len(ports) == 0 {
			ports = defaultPingPorts[p.Kind]
		}
		switch p.Kind {
		case PingEcho:
			out = append(out, spec{kind: kindEcho})
		case PingTimestamp, PingMask:
			if v4 {
				out = append(out, spec{kind: map[PingKind]probeKind{PingTimestamp: kindTimestamp, PingMask: kindMask}[p.Kind]})
			}
		case PingSYN, PingACK:
			flags := FlagSYN
			if p.Kind == PingACK {
				flags = FlagACK
			}
			for _, port := range ports {
				out = append(out, spec{kind: kindTCP, port: port, flags: flags})
			}
		case PingUDP:
			for _, port := range ports {
				out = append(out, spec{kind: kindUDP, port: port})
			}
		case PingSCTP:
			for _, port := range ports {
				out = append(out, spec{kind: kindSCTPInit, port: port})
			}
		case PingProto:
			for _, port := range ports {
				out = append(out, spec{kind: kindIPProto, port: port})
			}
		}
	}
	return out
}

// ParsePing reads one -P option's letter and attached list ("S", "22,80").
func ParsePing(letter byte, list string) (Ping, error) {
	kinds := map[byte]PingKind{'E': PingEcho, 'P': PingTimestamp, 'M': PingMask, 'S': PingSYN, 'A': PingACK,
		'U': PingUDP, 'Y': PingSCTP, 'O': PingProto}
	k, ok := kinds[letter]
	if !ok {
		return Ping{}, fmt.Errorf("-P%c: unknown discovery probe", letter)
	}
	p := Ping{Kind: k}
	if list == "" {
		return p, nil
	}
	if k == PingEcho || k == PingTimestamp || k == PingMask {
		return Ping{}, fmt.Errorf("-P%c takes no ports", letter)
	}
	ports, err := parsePorts(list, "")
	if k == PingProto {
		ports, err = parseProtocols(list)
	}
	if err != nil {
		return Ping{}, fmt.Errorf("-P%c: %w", letter, err)
	}
	p.Ports = ports
	return p, nil
}

// parseProtocols parses -sO's and -PO's protocol list: numbers 0-255.
func parseProtocols(list string) ([]uint16, error) {
	var out []uint16
	seen := map[uint16]bool{}
	for _, item := range splitList(list) {
		lo, hi := 0, 255
		var err error
		a, b, isRange := cutRange(item)
		if !isRange {
			if lo, err = atoiRange(a, 0, 255); err != nil {
				return nil, err
			}
			hi = lo
		} else {
			if a != "" {
				if lo, err = atoiRange(a, 0, 255); err != nil {
					return nil, err
				}
			}
			if b != "" {
				if hi, err = atoiRange(b, 0, 255); err != nil {
					return nil, err
				}
			}
		}
		if lo > hi {
			return nil, fmt.Errorf("protocol range %q is backwards", item)
		}
		for p := lo; p <= hi; p++ {
			if !seen[uint16(p)] {
				seen[uint16(p)] = true
				out = append(out, uint16(p))
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no protocols in %q", list)
	}
	return out, nil
}

// randomDecoy is an IPv4 address for -D RND: unicast, not private,
// loopback, multicast or reserved (nmap's rule too).
func randomDecoy() netip.Addr {
	for {
		a := netip.AddrFrom4([4]byte{byte(1 + rand.IntN(223)), byte(rand.IntN(256)), byte(rand.IntN(256)), byte(1 + rand.IntN(254))})
		if !a.IsPrivate() && !a.IsLoopback() && !a.IsMulticast() && !a.IsLinkLocalUnicast() && a.As4()[0] != 0 && a.As4()[0] != 100 {
			return a
		}
	}
}
