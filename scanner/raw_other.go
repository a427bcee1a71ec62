//go:build !linux

package scanner

import (
	"context"
	"errors"
	"net/netip"
)

func runRaw(ctx context.Context, cfg phase, res *Result) error {
	return errors.New("raw scan techniques need Linux (AF_PACKET); use -sT")
}

// discover without raw sockets: nmap's connect ping.
func discover(ctx context.Context, cfg *Config, res *Result) error {
	byAddr := make(map[netip.Addr]*HostResult, len(res.Hosts))
	for i := range res.Hosts {
		byAddr[res.Hosts[i].Addr] = &res.Hosts[i]
	}
	connectPing(ctx, cfg.Timing, cfg.Targets, byAddr)
	return nil
}
