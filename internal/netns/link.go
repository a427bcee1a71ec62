package netns

import "time"

// Link flaps, for tests of what survives one: an interface set down and up,
// or deleted and created again (a new interface with the old name).

// SetLinkUp sets ns's end of the veth up or down.
func (p *Pair) SetLinkUp(ns string, up bool) error {
	end, err := p.endOf(ns)
	if err != nil {
		return p.fail(err)
	}
	state := "down"
	if up {
		state = "up"
	}
	return p.fail(ip("-n", ns, "link", "set", end.Veth, state))
}

// DeleteVeth deletes the veth pair (deleting one end deletes both).
func (p *Pair) DeleteVeth() error {
	return p.fail(ip("-n", p.A.NS, "link", "del", p.A.Veth))
}

// CreateVeth creates the veth pair again as Create did (names, addresses,
// those added by AddAddr too, and offload settings) and waits until both
// ends are up. The interfaces are new ones: they have new indexes.
func (p *Pair) CreateVeth() error {
	steps := p.vethSteps()
	p.mu.Lock()
	for _, a := range p.added {
		end, _ := p.endOf(a.ns)
		steps = append(steps, p.addrArgs(a.ns, end.Veth, a.addr))
	}
	p.mu.Unlock()
	for _, s := range steps {
		if err := ip(s...); err != nil {
			return p.fail(err)
		}
	}
	return p.fail(p.waitUp(5 * time.Second))
}
