package scanner

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// connectPing is nmap's host discovery without raw sockets: a connect to
// ports 80 and 443; an accepted or refused connection means the host is up.
func connectPing(ctx context.Context, t Timing, targets []netip.Addr, byAddr map[netip.Addr]*HostResult) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, a := range targets {
		for _, port := range []uint16{80, 443} {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				d := net.Dialer{Timeout: t.InitialRTTTimeout, KeepAlive: -1}
				c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(a, port).String())
				reason := ""
				switch {
				case err == nil:
					c.Close()
					reason = "syn-ack"
				case errors.Is(err, syscall.ECONNREFUSED):
					reason = "conn-refused"
				default:
					return
				}
				mu.Lock()
				if hr := byAddr[a]; hr != nil && !hr.Up {
					hr.Up, hr.Reason = true, reason
				}
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
}
