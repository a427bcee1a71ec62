//go:build linux

package scanner

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// nmapHost is one host of an nmap run: up or not, and every port's state
// by protocol ("tcp", "udp", "sctp", "ip").
type nmapHost struct {
	up     bool
	reason string
	ports  map[string]map[uint16]PortState
}

// nmapRun runs real nmap in the attacker namespace with -oX - and reads
// every host's status and ports (listed ones and those nmap summarises,
// whose ports it lists in extrareasons).
func (tn *testNet) nmapRun(tb testing.TB, args ...string) (map[netip.Addr]*nmapHost, time.Duration) {
	tb.Helper()
	full := append([]string{"nmap", "-n", "-oX", "-"}, args...)
	var stderr bytes.Buffer
	cmd := tn.Exec(tn.A.NS, full...)
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	took := time.Since(start)
	if err != nil {
		tb.Fatalf("%v: %v\n%s", full, err, stderr.String())
	}
	var x struct {
		Hosts []struct {
			Status struct {
				State  string `xml:"state,attr"`
				Reason string `xml:"reason,attr"`
			} `xml:"status"`
			Address []struct {
				Addr string `xml:"addr,attr"`
				Type string `xml:"addrtype,attr"`
			} `xml:"address"`
			Extra []struct {
				State   string `xml:"state,attr"`
				Reasons []struct {
					Proto string `xml:"proto,attr"`
					Ports string `xml:"ports,attr"`
				} `xml:"extrareasons"`
			} `xml:"ports>extraports"`
			Port []struct {
				Proto string `xml:"protocol,attr"`
				ID    uint16 `xml:"portid,attr"`
				State struct {
					State string `xml:"state,attr"`
				} `xml:"state"`
			} `xml:"ports>port"`
		} `xml:"host"`
	}
	if err := xml.Unmarshal(out, &x); err != nil {
		tb.Fatalf("parse nmap XML: %v", err)
	}
	hosts := map[netip.Addr]*nmapHost{}
	for _, h := range x.Hosts {
		var addr netip.Addr
		for _, a := range h.Address {
			if a.Type == "ipv4" || a.Type == "ipv6" {
				addr = netip.MustParseAddr(a.Addr)
			}
		}
		nh := &nmapHost{up: h.Status.State == "up", reason: h.Status.Reason, ports: map[string]map[uint16]PortState{}}
		set := func(proto string, port uint16, state string) {
			s, err := ParsePortState(state)
			if err != nil {
				tb.Fatal(err)
			}
			if nh.ports[proto] == nil {
				nh.ports[proto] = map[uint16]PortState{}
			}
			nh.ports[proto][port] = s
		}
		for _, p := range h.Port {
			set(p.Proto, p.ID, p.State.State)
		}
		for _, e := range h.Extra {
			for _, r := range e.Reasons {
				ports, err := parsePortsOrProtocols(r.Ports, r.Proto)
				if err != nil {
					tb.Fatalf("nmap extrareasons ports %q: %v", r.Ports, err)
				}
				for _, p := range ports {
					set(r.Proto, p, e.State)
				}
			}
		}
		hosts[addr] = nh
	}
	return hosts, took
}

func parsePortsOrProtocols(spec, proto string) ([]uint16, error) {
	if proto == "ip" {
		return parseProtocols(spec)
	}
	return ParsePorts(spec)
}

// compareStates reports the ports where two scans disagree, for one protocol.
func compareStates(tb testing.TB, what string, ours, theirs map[uint16]PortState) {
	tb.Helper()
	var bad []string
	for p, s := range theirs {
		if o, ok := ours[p]; !ok || o != s {
			bad = append(bad, fmt.Sprintf("%d: scanwatch %v, nmap %v", p, o, s))
		}
	}
	for p, s := range ours {
		if _, ok := theirs[p]; !ok {
			bad = append(bad, fmt.Sprintf("%d: scanwatch %v, nmap did not scan it", p, s))
		}
	}
	if len(bad) > 0 {
		if len(bad) > 20 {
			bad = append(bad[:20], fmt.Sprintf("... and %d more", len(bad)-20))
		}
		tb.Errorf("%s: %d ports differ:\n  %s", what, len(bad), strings.Join(bad, "\n  "))
	}
}
