package scanner

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Run finds which of cfg.Targets are up (host discovery, unless
// cfg.Discovery.Skip), scans those with each of cfg.Techniques in turn, and
// returns every port's state. Raw techniques need CAP_NET_RAW. When the
// scan stops early (context, a failing phase) Run returns what was found so
// far together with the error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.Targets = slices.Clone(cfg.Targets)
	cfg.Techniques = slices.Clone(cfg.Techniques)
	if err := cfg.normalize(); err != nil {
		return nil, fmt.Errorf("scan config: %w", err)
	}
	res := &Result{Techniques: cfg.Techniques, Ports: cfg.Ports, Start: time.Now()}
	if cfg.CustomFlags {
		res.ScanFlags = FlagString(cfg.ScanFlags)
	}
	for _, t := range cfg.Targets {
		res.Hosts = append(res.Hosts, HostResult{Addr: t})
	}
	var err error
	if cfg.Discovery.Skip {
		for i := range res.Hosts {
			res.Hosts[i].Up, res.Hosts[i].Reason = true, "user-set"
		}
	} else {
		err = discover(ctx, &cfg, res)
	}
	var up []netip.Addr
	for _, h := range res.Hosts {
		if h.Up && h.Error == "" {
			up = append(up, h.Addr)
		}
	}
	for _, ph := range cfg.phases() {
		if err != nil || len(up) == 0 {
			break
		}
		ph.Targets, ph.rtts = up, res.rtts
		pr := &Result{}
		if ph.Technique == Connect {
			err = runConnect(ctx, ph, pr)
		} else {
			err = runRaw(ctx, ph, pr)
		}
		res.merge(pr)
		if err != nil {
			break
		}
	}
	res.Duration = time.Since(res.Start)
	res.Interrupted = ctx.Err() != nil
	return res, err
}

// merge adds one phase's result: its hosts' ports join those of earlier
// phases.
func (r *Result) merge(p *Result) {
	if r.Source == "" {
		r.Source = p.Source
	}
	r.ProbesSent += p.ProbesSent
	r.Retransmits += p.Retransmits
	r.Replies += p.Replies
	r.SendErrors += p.SendErrors
	idx := make(map[netip.Addr]int, len(r.Hosts))
	for i, h := range r.Hosts {
		idx[h.Addr] = i
	}
	for _, h := range p.Hosts {
		i, ok := idx[h.Addr]
		if !ok {
			r.Hosts = append(r.Hosts, h)
			continue
		}
		r.Hosts[i].Up = r.Hosts[i].Up || h.Up
		if r.Hosts[i].Error == "" {
			r.Hosts[i].Error = h.Error
		}
		r.Hosts[i].Ports = append(r.Hosts[i].Ports, h.Ports...)
	}
}
