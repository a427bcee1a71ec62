package scanner

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Run scans cfg.Targets on cfg.Ports with cfg.Technique and returns every
// port's state. Raw techniques need CAP_NET_RAW. Like nmap -Pn, every target
// is scanned; HostResult.Up says whether anything answered. On a scan
// timeout Run returns the partial result together with the error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.Targets = slices.Clone(cfg.Targets)
	cfg.Ports = slices.Clone(cfg.Ports)
	if err := cfg.normalize(); err != nil {
		return nil, fmt.Errorf("scan config: %w", err)
	}
	res := &Result{Technique: cfg.Technique, Proto: cfg.Technique.Proto(), Start: time.Now()}
	if cfg.CustomFlags {
		res.ScanFlags = FlagString(cfg.ScanFlags)
	}
	var err error
	if cfg.Technique == Connect {
		err = runConnect(ctx, cfg, res)
	} else {
		err = runRaw(ctx, cfg, res)
	}
	res.Duration = time.Since(res.Start)
	if err != nil && len(res.Hosts) == 0 {
		return nil, err
	}
	return res, err
}
