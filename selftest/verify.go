package selftest

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// The checks' own assertions: each returns the text of the CHECK column
// and its problems. They run only when the sensor alerted with the wanted
// type (a.alerts is not empty).

// closingOr is alert k's closing record, or the alert itself when the
// sensor wrote none.
func (a *attribution) closingOr(k int) *sensorRecord {
	if a.closing[k] != nil {
		return a.closing[k]
	}
	return a.alerts[k]
}

// verifyDecoys: one alert names the decoy set; the real scanner is found
// when the target's answers single it out (decoys nobody holds get none),
// "undetermined" when every member was answered alike (decoys the attacker
// holds: its kernel resets the SYN-ACKs to each, as it does to the real
// scanner's).
func verifyDecoys(cr *checkRun, a *attribution) (string, []string) {
	s, real := a.alerts[0].Scan(), cr.plan.sources[0]
	var problems []string
	got := parseAddrs(s.Decoys)
	want := slices.Clone(cr.plan.decoys)
	wantSrc := real.String()
	if cr.check.decoys == decoysPresent {
		want, wantSrc = append(want, real), "undetermined"
	}
	slices.SortFunc(want, netip.Addr.Compare)
	if !slices.Equal(got, want) {
		problems = append(problems, fmt.Sprintf("scan.decoys %s, want %s", joinAddrs(got, ","), joinAddrs(want, ",")))
	}
	if a.alerts[0].SrcIP != wantSrc {
		problems = append(problems, fmt.Sprintf("src_ip %s, want %s", a.alerts[0].SrcIP, wantSrc))
	}
	text := "decoys " + addrRange(cr.plan.decoys) + " named, "
	if wantSrc == "undetermined" {
		text += "scanner undetermined (all answered)"
	} else {
		text += "real " + wantSrc + " found"
	}
	return text, problems
}

// verifyFragments: the probes reached the target in fragments (it
// reassembled one datagram per probe at least), yet the sensor saw SYNs.
func verifyFragments(cr *checkRun, _ *attribution) (string, []string) {
	sent := cr.scans[0].probes
	if cr.reassembled < 0 {
		return "", []string{"could not read the target's reassembly counter"}
	}
	text := fmt.Sprintf("target reassembled %d of %d probes", cr.reassembled, sent)
	if cr.reassembled < int64(sent) || sent == 0 {
		return text, []string{fmt.Sprintf("the target reassembled %d datagrams, the scan sent %d probes: not fragmented", cr.reassembled, sent)}
	}
	return text, nil
}

// verifySweep: the sweep's record names every host swept; over ICMP, the
// scanner found the hosts the target holds.
func verifySweep(cr *checkRun, a *attribution) (string, []string) {
	s := a.closingOr(0).Scan()
	var problems []string
	if s.TargetCount != len(cr.plan.targets) {
		problems = append(problems, fmt.Sprintf("sensor counted %d hosts, %d were swept", s.TargetCount, len(cr.plan.targets)))
	}
	text := fmt.Sprintf("%d hosts swept, sensor %d", len(cr.plan.targets), s.TargetCount)
	if cr.check.on == offLink {
		up := 0
		for _, h := range cr.scans[0].hosts {
			if h.up {
				up++
			}
		}
		text += fmt.Sprintf(", %d up", up)
		if up != cr.check.held {
			problems = append(problems, fmt.Sprintf("scanner found %d hosts up, the target holds %d", up, cr.check.held))
		}
	}
	return text, problems
}

// verifyShape: the closing record has the scan's shape and size.
func verifyShape(shape string) func(*checkRun, *attribution) (string, []string) {
	return func(cr *checkRun, a *attribution) (string, []string) {
		s := a.closingOr(0).Scan()
		var problems []string
		if s.Shape != shape {
			problems = append(problems, fmt.Sprintf("shape %s, want %s", s.Shape, shape))
		}
		if s.TargetCount != len(cr.plan.targets) {
			problems = append(problems, fmt.Sprintf("%d targets, want %d", s.TargetCount, len(cr.plan.targets)))
		}
		return fmt.Sprintf("%s, %s × %s", s.Shape, plural(s.TargetCount, "host"), plural(s.PortCount, "port")), problems
	}
}

// verifyGroup: the three sources' scans share one distributed group, each
// with the ports it was given.
func verifyGroup(cr *checkRun, a *attribution) (string, []string) {
	var problems []string
	groups := map[string]bool{}
	for k, al := range a.alerts {
		s := a.closingOr(k).Scan()
		groups[s.Group] = true
		src, _ := netip.ParseAddr(al.SrcIP)
		if i := slices.Index(cr.plan.sources, src); i >= 0 && s.Ports != cr.check.split[i] {
			problems = append(problems, fmt.Sprintf("%s: ports %s, sent %s", al.SrcIP, s.Ports, cr.check.split[i]))
		}
	}
	var names []string
	for g := range groups {
		names = append(names, g)
	}
	slices.Sort(names)
	if len(names) != 1 || names[0] == "" {
		problems = append(problems, fmt.Sprintf("groups %q, want one", names))
	}
	return fmt.Sprintf("group %s over %d sources", strings.Join(names, ","), len(a.alerts)), problems
}

// verifySlow: the sequential test decided it, and called it slow.
func verifySlow(cr *checkRun, a *attribution) (string, []string) {
	s := a.alerts[0].Scan()
	gap := time.Duration(0)
	if first, last := a.alerts[0].first, a.alerts[0].time; s.Probes > 1 {
		gap = last.Sub(first) / time.Duration(s.Probes-1)
	}
	text := fmt.Sprintf("slow, %.1f s/probe", gap.Seconds())
	if !s.Slow {
		return "not slow", []string{fmt.Sprintf("scan.slow false at %.1f s/probe", gap.Seconds())}
	}
	return text, nil
}

// verifyChunk: -sY and -sZ are both sctp scans; the evidence names the
// chunk that probed (INIT or COOKIE ECHO) and the target's answer.
func verifyChunk(chunk string) func(*checkRun, *attribution) (string, []string) {
	return func(_ *checkRun, a *attribution) (string, []string) {
		ev := a.alerts[0].Scan().Evidence
		if !strings.Contains(ev, chunk) {
			return "", []string{fmt.Sprintf("evidence %q does not name %s", ev, chunk)}
		}
		return "evidence: " + ev, nil
	}
}

// verifyVersion: real nmap named the service it probed (the sensor's
// version alert is the row's type).
func verifyVersion(cr *checkRun, _ *attribution) (string, []string) {
	var named []string
	for _, h := range cr.scans[0].hosts {
		named = append(named, h.services...)
	}
	if len(named) == 0 {
		return "", []string{"nmap -sV named no service"}
	}
	return "real nmap -sV named " + strings.Join(named, ", "), nil
}

func parseAddrs(ss []string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// addrRange prints consecutive IPv4 addresses as 10.75.0.200-202.
func addrRange(addrs []netip.Addr) string {
	if len(addrs) < 2 || !addrs[0].Is4() {
		return joinAddrs(addrs, ",")
	}
	for i := 1; i < len(addrs); i++ {
		if addrs[i] != addrs[i-1].Next() {
			return joinAddrs(addrs, ",")
		}
	}
	last := addrs[len(addrs)-1].As4()
	return fmt.Sprintf("%s-%d", addrs[0], last[3])
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
