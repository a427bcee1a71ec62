package mixgen

import "net/netip"

// The SYN-heavy mix and the spoofed-source flood.

// synLauncher: every conversation comes from one of g.outside addresses
// in 198.18.0.0/15 to a local web server: half of them short connections,
// the rest SYNs to closed ports (refused) or to a port that never answers
// (retried once).
func (g *gen) synLauncher(p *proc) {
	for {
		g.startScan()
		cl := g.outsider()
		sv := g.web[1+g.rng.IntN(len(g.web)-1)]
		switch r := g.rng.IntN(100); {
		case r < 50:
			g.spawn(g.now, func(p *proc) { g.inbound(p, cl, sv) })
		case r < 80:
			g.spawn(g.now, func(p *proc) {
				c := g.newConn(cl, sv, []uint16{8080, 8443, 3389, 5432}[g.rng.IntN(4)])
				c.send(true, fSYN, 0, nil)
				p.sleep(g.between(8*ms, 70*ms))
				c.rstAck()
			})
		default:
			g.spawn(g.now, func(p *proc) {
				c := g.newConn(cl, sv, 25)
				c.send(true, fSYN, 0, nil)
				p.sleep(g.between(950*ms, 1050*ms))
				c.cseq--
				c.send(true, fSYN, 0, nil)
			})
		}
		p.sleep(int64(g.rng.ExpFloat64() * float64(100*us)))
	}
}

// outsider is a remote client: one of g.outside addresses, its state
// fresh for each conversation.
func (g *gen) outsider() *host {
	i := uint32(g.rng.IntN(g.outside))
	a := netip.AddrFrom4([4]byte{198, 18 + byte(i>>16&1), byte(i >> 8), byte(i)})
	h := g.newHost(a, false, uint8(40+g.rng.IntN(20)))
	h.windows = i%4 == 0
	return h
}

// inbound is a short connection from an outside client: handshake, one
// request, a small answer, a close.
func (g *gen) inbound(p *proc, cl *host, sv *server) {
	port := uint16(443)
	if g.rng.IntN(3) == 0 {
		port = 80
	}
	c := g.newConn(cl, sv, port)
	rtt := g.between(8*ms, 70*ms)
	c.handshake(p, rtt)
	p.sleep(g.between(30*us, 300*us))
	c.send(true, fPSH|fACK, 0, g.httpRequest(port))
	p.sleep(g.between(100*us, 1*ms))
	c.data(p, false, 200+g.rng.IntN(2*c.smssData()), g.response(port), g.between(15*us, 80*us))
	g.closeConn(p, c, rtt, g.rng.IntN(10) == 0)
}

// spoofLauncher is the flood: SYNs 10 µs apart to port 80 of the scan
// target, each from a random IPv4 source (hping3 --rand-source style:
// window 512, no options, random source port and sequence number).
func (g *gen) spoofLauncher(p *proc) {
	src := g.newHost(netip.IPv4Unspecified(), false, 64)
	for {
		var a [4]byte
		v := g.rng.Uint32()
		a[0], a[1], a[2], a[3] = byte(1+v>>24%223), byte(v>>16), byte(v>>8), byte(v)
		src.ip = netip.AddrFrom4(a)
		src.ttl = uint8(40 + v%24)
		sport := uint16(1024 + g.rng.IntN(64000))
		g.tcp(src, g.target.host, sport, 80, g.rng.Uint32(), 0, fSYN, 512, nil, 0, nil, false)
		p.sleep(10 * us)
	}
}
