package scanner

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Service returns nmap's service name for a port ("ssh" for 22/tcp), or
// "unknown" as nmap says for ports its nmap-services file does not name.
// proto is "tcp", "udp" or "sctp".
func Service(proto string, port uint16) string {
	serviceOnce.Do(loadServiceNames)
	if s, ok := serviceNames[proto][port]; ok {
		return s
	}
	return "unknown"
}

var (
	serviceOnce  sync.Once
	serviceNames map[string]map[uint16]string
)

func loadServiceNames() {
	serviceNames = map[string]map[uint16]string{}
	for proto, text := range map[string]string{"tcp": tcpNames, "udp": udpNames, "sctp": sctpNames} {
		m := make(map[uint16]string, strings.Count(text, "\n"))
		for line := range strings.Lines(text) {
			num, name, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
			if p, err := strconv.ParseUint(num, 10, 16); err == nil {
				m[uint16(p)] = name
			}
		}
		serviceNames[proto] = m
	}
}

// DefaultPorts is how many of the most common ports a scan without -p,
// --top-ports or -F covers, per protocol, as nmap does.
const DefaultPorts = 1000

// FastPorts is -F's count.
const FastPorts = 100

// TopPorts returns the n ports of proto ("tcp", "udp" or "sctp") most often
// found open by nmap's survey (its nmap-services frequencies), in ascending
// order. n larger than the list returns all of it.
func TopPorts(proto string, n int) ([]uint16, error) {
	var all []uint16
	switch proto {
	case "tcp":
		all = tcpByFrequency[:]
	case "udp":
		all = udpByFrequency[:]
	case "sctp":
		all = sctpByFrequency[:]
	default:
		return nil, fmt.Errorf("no port list for protocol %q", proto)
	}
	if n < 0 {
		return nil, fmt.Errorf("--top-ports %d: must not be negative", n)
	}
	out := slices.Clone(all[:min(n, len(all))])
	slices.Sort(out)
	return out, nil
}

// serviceFor names a scanned port, or for the protocol scan ("ip") the
// protocol.
func serviceFor(proto string, port uint16) string {
	if proto == "ip" {
		return ProtocolName(uint8(port))
	}
	return Service(proto, port)
}

// ProtocolName is nmap's name of an IP protocol number ("tcp" for 6), or
// "unknown".
func ProtocolName(p uint8) string {
	if n := protocolNames[p]; n != "" {
		return n
	}
	return "unknown"
}
