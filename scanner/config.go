package scanner

import (
	"fmt"
	"net/netip"
	"slices"
)

// phase is one technique's pass over the targets: what the engine runs.
type phase struct {
	Technique   Technique
	Flags       uint8 // TCP flags sent
	CustomFlags bool
	Ports       []uint16
	Targets     []netip.Addr
	Timing      Timing
	Evasion     Evasion
	Sequential  bool
	Interface   string
	SourcePort  uint16
	Concurrency int
	rtts        map[netip.Addr]rtt // from host discovery
}

// normalize checks a Config and fills its defaults.
func (c *Config) normalize() error {
	if len(c.Techniques) == 0 {
		c.Techniques = []Technique{SYN}
	}
	tcp := 0
	for i, t := range c.Techniques {
		if t < SYN || t > lastTechnique {
			return fmt.Errorf("unknown technique %d", t)
		}
		if slices.Contains(c.Techniques[:i], t) {
			return fmt.Errorf("%s given twice", t.Option())
		}
		if t.Proto() == "tcp" {
			tcp++
		}
	}
	if tcp > 1 {
		return fmt.Errorf("more than one TCP scan technique: choose one of -sS -sT -sA -sW -sM -sF -sN -sX")
	}
	if slices.Contains(c.Techniques, SCTPInit) && slices.Contains(c.Techniques, SCTPCookie) {
		return fmt.Errorf("one SCTP scan technique at a time: -sY or -sZ")
	}
	if c.Discovery.Only {
		c.Techniques = nil
	}
	if c.ScanFlags != 0 {
		c.CustomFlags = true
	}
	if c.CustomFlags && (tcp == 0 || slices.Contains(c.Techniques, Connect)) && !c.Discovery.Only {
		return fmt.Errorf("--scanflags needs a raw TCP technique")
	}
	if len(c.Targets) == 0 {
		return fmt.Errorf("no targets")
	}
	if len(c.Targets) > MaxHosts {
		return fmt.Errorf("%d targets: more than %d", len(c.Targets), MaxHosts)
	}
	for _, t := range c.Techniques {
		if len(c.Ports.For(t.Proto())) == 0 {
			return fmt.Errorf("no %s ports for %s", t.Proto(), t.Option())
		}
	}
	for i, a := range c.Targets {
		if !a.IsValid() {
			return fmt.Errorf("target %d is not a valid address", i)
		}
		c.Targets[i] = a.Unmap()
	}
	if err := c.Timing.normalize(); err != nil {
		return err
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 512
	}
	return nil
}

// phases splits a normalized Config into one pass per technique.
func (c *Config) phases() []phase {
	var out []phase
	for _, t := range c.Techniques {
		p := phase{
			Technique: t, Flags: t.probeFlags(), Ports: c.Ports.For(t.Proto()), Targets: c.Targets,
			Timing: c.Timing, Evasion: c.Evasion, Sequential: c.Sequential, Interface: c.Interface,
			SourcePort: c.SourcePort, Concurrency: c.Concurrency,
		}
		if c.CustomFlags && t.Proto() == "tcp" {
			p.Flags, p.CustomFlags = c.ScanFlags, true
		}
		out = append(out, p)
	}
	return out
}

// rate is the phase's probe-rate ceiling (--max-rate), 0 for none.
func (p *phase) rate() int {
	if p.Timing.MaxRate > 0 {
		return max(1, int(p.Timing.MaxRate))
	}
	return 0
}
