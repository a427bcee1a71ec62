//go:build linux

package scanner

import (
	"context"
	"errors"
	"net/netip"

	"golang.org/x/sys/unix"
)

// discover finds which targets are up, as nmap's host discovery does:
// targets on a local Ethernet link by ARP (IPv6: neighbour solicitation),
// the others by the ping probes (by default ICMP echo, TCP SYN to 443, TCP
// ACK to 80, ICMP timestamp). It sets Up and Reason in res.Hosts; targets
// without a route get their Error there.
func discover(ctx context.Context, cfg *Config, res *Result) error {
	byAddr := make(map[netip.Addr]*HostResult, len(res.Hosts))
	for i := range res.Hosts {
		byAddr[res.Hosts[i].Addr] = &res.Hosts[i]
	}
	links := map[netip.Addr]link{}
	var arp4, arp6, ping4, ping6 []netip.Addr
	for _, t := range cfg.Targets {
		src, err := sourceFor(t)
		if err != nil {
			byAddr[t].Error = err.Error()
			continue
		}
		if src == t || t.IsLoopback() {
			byAddr[t].Up, byAddr[t].Reason = true, "localhost-response"
			continue
		}
		ifindex, mac, prefix, ether := linkOf(src)
		local := ether && prefix.Contains(t) && !cfg.Discovery.NoARP && !cfg.Evasion.Spoof.IsValid()
		switch {
		case local && t.Is4():
			arp4 = append(arp4, t)
			links[src] = link{ifindex: ifindex, mac: mac}
		case local:
			arp6 = append(arp6, t)
			links[src] = link{ifindex: ifindex, mac: mac}
		case cfg.Discovery.OnlyARP:
			// -PR alone: no IP probes; such hosts stay down.
		case t.Is4():
			ping4 = append(ping4, t)
		default:
			ping6 = append(ping6, t)
		}
	}
	neighbor := []spec{{kind: kindNeighbor}}
	for _, run := range []struct {
		targets []netip.Addr
		specs   []spec
	}{
		{arp4, neighbor}, {arp6, neighbor},
		{ping4, pingSpecs(cfg.Discovery.Probes, true)}, {ping6, pingSpecs(cfg.Discovery.Probes, false)},
	} {
		if len(run.targets) == 0 || len(run.specs) == 0 {
			continue
		}
		if res.rtts == nil {
			res.rtts = map[netip.Addr]rtt{}
		}
		if err := discoverWith(ctx, cfg, run.targets, run.specs, links, byAddr, res.rtts); err != nil {
			return err
		}
	}
	return nil
}

// discoverWith runs one set of discovery probes over targets.
func discoverWith(ctx context.Context, cfg *Config, targets []netip.Addr, specs []spec, links map[netip.Addr]link,
	byAddr map[netip.Addr]*HostResult, rtts map[netip.Addr]rtt) error {
	// The probes go in the order given, as nmap sends them.
	ph := phase{Targets: targets, Timing: cfg.Timing, Evasion: cfg.Evasion, Interface: cfg.Interface, SourcePort: cfg.SourcePort,
		Sequential: true}
	ph.Evasion.MTU = 0 // nmap fragments port probes, not pings
	var kinds []probeKind
	arp := false
	for _, s := range specs {
		kinds = append(kinds, s.kind)
		arp = arp || s.kind == kindNeighbor
	}
	var scratch Result
	s, routable, err := openSession(&ph, kinds, arp, &scratch)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		// Unprivileged: nmap's TCP connect ping to 80 and 443.
		connectPing(ctx, cfg.Timing, targets, byAddr)
		return nil
	}
	if err != nil || s == nil {
		return err
	}
	defer s.Close()
	for a, l := range links {
		s.craft.links[a] = l
	}
	pr := newProber(0, true, specs, s.craft, s.tries)
	return s.runEngines(ctx, &ph, pr, routable, Filtered, func(e *engine) {
		for _, h := range e.hosts {
			if hr := byAddr[h.addr]; hr != nil && h.up {
				hr.Up, hr.Reason = true, h.upReason
				if h.rtt.have {
					rtts[h.addr] = h.rtt
				}
			}
		}
	})
}
