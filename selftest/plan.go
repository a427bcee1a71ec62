package selftest

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/scanwatch/scanwatch/internal/netns"
)

// plan is where a check scans from and what it scans.
type plan struct {
	sources []netip.Addr // the attacker holds them; one per scan
	spec    string       // the scans' target argument
	targets []netip.Addr // the addresses the spec names
	decoys  []netip.Addr // -D
	// hold are the addresses the target namespace must hold, besides its
	// first; attackerHold the attacker's, besides its first (sources, live
	// decoys).
	hold, attackerHold []netip.Addr
	// route is the attacker's route to the targets, whose preferred source
	// is the check's first source: raw and connect scans both take their
	// source from the routing table (ip route arguments after "route").
	route []string
	// links, attackerLinks are the `ip -batch` lines that make the
	// devices the check needs in the target's and the attacker's
	// namespaces, before any address (overlay.go).
	links, attackerLinks []string
}

// Addresses. The attacker is 10.75.0.2 and fd75::2, the target 10.75.0.10
// and fd75::10 (see the package comment); the rest is given out here:
//
//	10.75.0.21-...    fd75::15-...    sources, one per scan
//	10.75.0.100+i     fd75::64+i      check i's own target (ownHost)
//	10.75.0.160/27    fd75::1:0/123   the ARP and ND sweeps (onLink: nobody holds them)
//	10.75.0.200-...                   decoys nobody holds
//	10.75.0.210-...                   decoys the attacker holds
//	10.76.i.0/24                      check i's sweep via the target (offLink)
const (
	srcBase      = 21
	ownBase      = 100
	onLinkBase   = 160
	absentBase   = 200
	presentBase  = 210
	onLinkBits4  = 27
	onLinkBits6  = 123
	offLinkFirst = "10.76.0.0" // 10.76.i.0/24 for check i
)

// makePlans gives every check its addresses; veth and targetVeth are the
// attacker's and the target's ends of the link.
func makePlans(cs []check, veth, targetVeth string) []plan {
	v4, v6 := netip.MustParsePrefix(subnet), netip.MustParsePrefix(subnet6)
	host := func(c *check, n int) netip.Addr {
		if c.v6 {
			return netns.HostAddr(v6, n)
		}
		return netns.HostAddr(v4, n)
	}
	bits := func(c *check) int {
		if c.v6 {
			return 128
		}
		return 32
	}
	nextSrc, nextAbsent, nextPresent := srcBase, absentBase, presentBase
	plans := make([]plan, len(cs))
	for i := range cs {
		c, p := &cs[i], &plans[i]
		if c.on == overlay {
			*p = overlayPlan(veth, targetVeth)
			continue
		}
		for range max(1, len(c.split)) {
			p.sources = append(p.sources, host(c, nextSrc))
			nextSrc++
		}
		p.attackerHold = append(p.attackerHold, p.sources...)
		src := p.sources[0].String()
		switch c.on {
		case ownHost, primaryHost:
			t := host(c, targetHost)
			if c.on == ownHost {
				t = host(c, ownBase+i)
				p.hold = append(p.hold, t)
			}
			p.targets, p.spec = []netip.Addr{t}, t.String()
			p.route = []string{"replace", netip.PrefixFrom(t, bits(c)).String(), "dev", veth, "src", src}
		case onLink:
			block := netip.PrefixFrom(host(c, onLinkBase), onLinkBits4)
			if c.v6 {
				block = netip.PrefixFrom(netns.HostAddr(v6, 1<<16), onLinkBits6)
			}
			for a := block.Addr(); block.Contains(a) && len(p.targets) < c.hosts; a = a.Next() {
				p.targets = append(p.targets, a)
			}
			p.spec = block.String()
			p.route = []string{"replace", block.String(), "dev", veth, "src", src}
		case offLink:
			base := netip.MustParseAddr(offLinkFirst).As4()
			base[2] = byte(i)
			block := netip.PrefixFrom(netip.AddrFrom4(base), 24)
			for n := 1; n <= c.hosts; n++ {
				t := netns.HostAddr(block, n)
				p.targets = append(p.targets, t)
				if n <= c.held {
					p.hold = append(p.hold, t)
				}
			}
			p.spec = p.targets[0].String() + "-" + strconv.Itoa(c.hosts)
			p.route = []string{"replace", block.String(), "via", targetAddr, "dev", veth, "src", src}
		}
		for k := 0; c.decoys != noDecoys && k < numDecoys; k++ {
			switch c.decoys {
			case decoysAbsent:
				p.decoys = append(p.decoys, host(c, nextAbsent))
				nextAbsent++
			case decoysPresent:
				d := host(c, nextPresent)
				p.decoys = append(p.decoys, d)
				p.attackerHold = append(p.attackerHold, d)
				nextPresent++
			}
		}
	}
	return plans
}

// addrCommands are the `ip -batch` lines that give a namespace's veth the
// addresses: in the link's subnet on the attacker (so the scanner finds
// the link of a source, and ARPs on it), host addresses on the target.
func addrCommands(addrs []netip.Addr, veth string, subnetBits bool) []string {
	var lines []string
	for _, a := range addrs {
		bits := a.BitLen()
		if subnetBits {
			bits = netip.MustParsePrefix(subnet).Bits()
			if a.Is6() {
				bits = netip.MustParsePrefix(subnet6).Bits()
			}
		}
		line := fmt.Sprintf("addr add %s dev %s", netip.PrefixFrom(a, bits), veth)
		if a.Is6() {
			line += " nodad"
		}
		lines = append(lines, line)
	}
	return lines
}

// netns6Target is the target's first IPv6 address.
func netns6Target() string {
	return netns.HostAddr(netip.MustParsePrefix(subnet6), targetHost).String()
}
