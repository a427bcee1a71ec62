package selftest

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/scanwatch/scanwatch/internal/netns"
)

// The overlay check: a VXLAN (VNI 42, UDP 4789) over the pair's link, the
// attacker at 10.74.0.21 in it and the target at 10.74.0.10. The sensor
// captures the underlay, so it sees the scan only inside the tunnel's
// datagrams.
const (
	overlaySubnet = "10.74.0.0/24"
	overlayDev    = "swvx"
	overlayVNI    = 42
	overlaySource = 21
)

// overlayPlan is the overlay check's plan; veth and targetVeth are the
// attacker's and the target's ends of the link the tunnel goes over.
func overlayPlan(veth, targetVeth string) plan {
	sub := netip.MustParsePrefix(overlaySubnet)
	src, dst := netns.HostAddr(sub, overlaySource), netns.HostAddr(sub, targetHost)
	under := netip.MustParsePrefix(subnet)
	attacker, target := netns.HostAddr(under, attackerHost), netns.HostAddr(under, targetHost)
	vxlan := func(local, remote, addr netip.Addr, veth string) []string {
		return []string{
			fmt.Sprintf("link add %s type vxlan id %d dstport 4789 local %s remote %s dev %s", overlayDev, overlayVNI, local, remote, veth),
			fmt.Sprintf("addr add %s dev %s", netip.PrefixFrom(addr, sub.Bits()), overlayDev),
			fmt.Sprintf("link set %s up", overlayDev),
		}
	}
	return plan{
		sources: []netip.Addr{src}, targets: []netip.Addr{dst}, spec: dst.String(),
		route:         []string{"replace", netip.PrefixFrom(dst, 32).String(), "dev", overlayDev, "src", src.String()},
		attackerLinks: vxlan(attacker, target, src, veth),
		links:         vxlan(target, attacker, dst, targetVeth),
	}
}

// verifyOverlay: the scan was seen inside the tunnel, with the overlay's
// addresses.
func verifyOverlay(cr *checkRun, a *attribution) (string, []string) {
	s := a.closingOr(0).Scan()
	var problems []string
	if s.Scanner != cr.plan.sources[0].String() {
		problems = append(problems, fmt.Sprintf("scanner %s, want the overlay address %s", s.Scanner, cr.plan.sources[0]))
	}
	if len(s.Targets) != 1 || s.Targets[0] != cr.plan.targets[0].String() {
		problems = append(problems, fmt.Sprintf("targets %v, want the overlay address %s", s.Targets, cr.plan.targets[0]))
	}
	return fmt.Sprintf("in VXLAN %d, %s → %s", overlayVNI, s.Scanner, strings.Join(s.Targets, ",")), problems
}
