package scanner

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// xmlScanTypes are nmap's scaninfo type names.
var xmlScanTypes = map[Technique]string{
	SYN: "syn", Connect: "connect", ACK: "ack", Window: "window", Maimon: "maimon", Null: "null", FIN: "fin",
	Xmas: "xmas", UDP: "udp", SCTPInit: "sctpinit", SCTPCookie: "sctpcookieecho", IPProto: "ipproto",
}

// WriteXML writes the result in nmap's XML output format (-oX), element
// for element as nmap 7.93 writes it (nmaprun, scaninfo, host, status,
// address, ports, extraports, port, state, service, runstats), so that
// tools that import nmap's XML read it. The root says scanner="nmap"
// because nmap's DTD allows no other value; the comment and args say
// scanwatch wrote it.
func (r *Result) WriteXML(w io.Writer, d Display, args []string) error {
	var b strings.Builder
	start := r.Start.Unix()
	startStr := r.Start.Format(time.ANSIC)
	cmd := "scanwatch scan " + strings.Join(args, " ")
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n")
	fmt.Fprintf(&b, "<!-- scanwatch scan initiated %s as: %s -->\n", startStr, strings.ReplaceAll(cmd, "--", "-&#45;"))
	fmt.Fprintf(&b, "<nmaprun scanner=\"nmap\" args=\"%s\" start=\"%d\" startstr=\"%s\" version=\"7.93\" xmloutputversion=\"1.05\">\n",
		attr(cmd), start, attr(startStr))
	for _, t := range r.Techniques {
		ports := r.Ports.For(t.Proto())
		typ := xmlScanTypes[t]
		if r.ScanFlags != "" && t.Proto() == "tcp" && t != Connect {
			typ = t.String()
		}
		fmt.Fprintf(&b, "<scaninfo type=\"%s\" protocol=\"%s\" numservices=\"%d\" services=\"%s\"/>\n", typ, t.Proto(), len(ports), rangeList(ports))
	}
	fmt.Fprintf(&b, "<verbose level=\"%d\"/>\n<debugging level=\"0\"/>\n", d.Verbose)
	up := 0
	for i := range r.Hosts {
		h := &r.Hosts[i]
		if h.Up {
			up++
		}
		if !hostShown(h, d) || h.Error != "" {
			continue
		}
		state, reason := "up", h.Reason
		if !h.Up {
			state = "down"
		}
		if reason == "" {
			reason = "unknown-response"
		}
		fmt.Fprintf(&b, "<host><status state=\"%s\" reason=\"%s\" reason_ttl=\"0\"/>\n", state, attr(reason))
		family := "ipv4"
		if h.Addr.Is6() {
			family = "ipv6"
		}
		fmt.Fprintf(&b, "<address addr=\"%s\" addrtype=\"%s\"/>\n<hostnames>\n</hostnames>\n", h.Addr, family)
		if h.Scanned() {
			writeXMLPorts(&b, h, hiddenStates(h, d))
		}
		b.WriteString("</host>\n")
	}
	end := r.Start.Add(r.Duration)
	summary := fmt.Sprintf("scanwatch done at %s; %s scanned in %.2f seconds", end.Format(time.ANSIC), hostCount(len(r.Hosts), up), r.Duration.Seconds())
	exit := "success"
	if r.Interrupted {
		exit = "error"
	}
	fmt.Fprintf(&b, "<runstats><finished time=\"%d\" timestr=\"%s\" summary=\"%s\" elapsed=\"%.2f\" exit=\"%s\"/>",
		end.Unix(), attr(end.Format(time.ANSIC)), attr(summary), r.Duration.Seconds(), exit)
	fmt.Fprintf(&b, "<hosts up=\"%d\" down=\"%d\" total=\"%d\"/>\n</runstats>\n</nmaprun>\n", up, len(r.Hosts)-up, len(r.Hosts))
	_, err := io.WriteString(w, b.String())
	return err
}

// writeXMLPorts writes a host's ports element: the summarised states as
// extraports with their ports listed per reason, then each listed port.
func writeXMLPorts(b *strings.Builder, h *HostResult, hidden map[PortState]bool) {
	b.WriteString("<ports>")
	var states []PortState
	byState := map[PortState][]PortResult{}
	for _, p := range h.Ports {
		if hidden[p.State] {
			if byState[p.State] == nil {
				states = append(states, p.State)
			}
			byState[p.State] = append(byState[p.State], p)
		}
	}
	for _, s := range states {
		ps := byState[s]
		fmt.Fprintf(b, "<extraports state=\"%s\" count=\"%d\">\n", s, len(ps))
		type key struct{ reason, proto string }
		groups := map[key][]uint16{}
		var keys []key
		for _, p := range ps {
			k := key{p.Reason, p.Proto}
			if groups[k] == nil {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], p.Port)
		}
		for _, k := range keys {
			ports := slices.Clone(groups[k])
			slices.Sort(ports)
			fmt.Fprintf(b, "<extrareasons reason=\"%s\" count=\"%d\" proto=\"%s\" ports=\"%s\"/>\n", attr(k.reason), len(ports), k.proto, rangeList(ports))
		}
		b.WriteString("</extraports>\n")
	}
	for _, p := range sortedPorts(h.Ports) {
		if hidden[p.State] {
			continue
		}
		fmt.Fprintf(b, "<port protocol=\"%s\" portid=\"%d\"><state state=\"%s\" reason=\"%s\" reason_ttl=\"%d\"/>",
			p.Proto, p.Port, p.State, attr(p.Reason), p.TTL)
		if p.Service != "" && p.Service != "unknown" {
			fmt.Fprintf(b, "<service name=\"%s\" method=\"table\" conf=\"3\"/>", attr(p.Service))
		}
		b.WriteString("</port>\n")
	}
	b.WriteString("</ports>\n")
}

// sortedPorts orders ports as nmap lists them: by protocol, then number.
func sortedPorts(ports []PortResult) []PortResult {
	out := slices.Clone(ports)
	slices.SortStableFunc(out, func(a, b PortResult) int {
		if a.Proto != b.Proto {
			return strings.Compare(protoOrder(a.Proto), protoOrder(b.Proto))
		}
		return int(a.Port) - int(b.Port)
	})
	return out
}

func attr(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), "\"", "&quot;")
}

// rangeList writes sorted ports as nmap does: "1,3-4,6".
func rangeList(ports []uint16) string {
	var b strings.Builder
	for i := 0; i < len(ports); {
		j := i
		for j+1 < len(ports) && ports[j+1] == ports[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", ports[i], ports[j])
		} else {
			fmt.Fprintf(&b, "%d", ports[i])
		}
		i = j + 1
	}
	return b.String()
}

// hostCount is "16 IP addresses (2 hosts up)".
func hostCount(total, up int) string {
	addrs, hosts := "IP addresses", "hosts"
	if total == 1 {
		addrs = "IP address"
	}
	if up == 1 {
		hosts = "host"
	}
	return fmt.Sprintf("%d %s (%d %s up)", total, addrs, up, hosts)
}
