package mixgen

import (
	"time"
)

// scan is the one scanner: nmap -sS of 1000 ports of the target, same
// source port and sequence number for every probe, window 1024, only an
// MSS option, no DF, a random TTL from 37 to 59. Closed ports answer
// RST-ACK; the open ones SYN-ACK, and the scanner's kernel resets them.
func (g *gen) scan(p *proc, dur int64) {
	scanner := g.newHost(v4(203, 0, 113, 66), false, 0)
	tg := g.target
	ports := make([]uint16, 0, 1000)
	seen := map[uint16]bool{}
	for _, port := range tg.ports {
		ports = append(ports, port)
		seen[port] = true
	}
	for len(ports) < 1000 {
		port := uint16(1 + g.rng.IntN(10000))
		if !seen[port] {
			seen[port] = true
			ports = append(ports, port)
		}
	}
	g.rng.Shuffle(len(ports), func(i, j int) { ports[i], ports[j] = ports[j], ports[i] })
	g.sum.Scanner, g.sum.ScanTarget, g.sum.ScanPorts = scanner.ip, tg.ip, len(ports)
	g.sum.OpenPorts = tg.ports
	g.sum.ScanStart = time.Duration(g.now)
	start := g.now
	gap := dur / int64(len(ports))
	sport := uint16(40000 + g.rng.IntN(20000))
	seq := g.rng.Uint32()
	for _, port := range ports {
		c := &conn{g: g, c: scanner, s: tg.host, cp: sport, sp: port, cseq: seq}
		scanner.ttl = uint8(37 + g.rng.IntN(23))
		scanner.ipid = uint16(g.rng.Uint32())
		c.nmapSYN()
		lat := min(g.between(120*us, 400*us), gap/3)
		p.sleep(lat)
		if isOpen(tg.ports, port) {
			c.sseq = g.rng.Uint32()
			c.send(false, fSYN|fACK, 0, nil)
			p.sleep(min(g.between(30*us, 90*us), gap/3))
			scanner.ttl = 64
			c.send(true, fRST, 0, nil)
		} else {
			c.rstAck()
		}
		p.sleep(gap - lat + g.between(-gap/4, gap/4))
	}
	g.sum.ScanDuration = time.Duration(g.now - start)
}

func isOpen(ports []uint16, p uint16) bool {
	for _, q := range ports {
		if q == p {
			return true
		}
	}
	return false
}
