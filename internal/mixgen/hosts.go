package mixgen

import (
	"encoding/binary"
	"net/netip"
)

// The simulated network: 240 IPv4 and 30 IPv6 clients, web, SSH and DNS
// servers on the local link, and remote web servers behind the router.

var routerMAC = [6]byte{0x02, 0x00, 0x5e, 0x00, 0x00, 0x01}

func (g *gen) newHost(ip netip.Addr, local bool, ttl uint8) *host {
	h := &host{ip: ip, ttl: ttl, ipid: uint16(g.rng.Uint32()), tsOff: g.rng.Uint32()}
	if local {
		b := ip.As16()
		h.mac = [6]byte{0x02, 0x42, b[12], b[13], b[14], b[15]}
	} else {
		h.mac = routerMAC
	}
	return h
}

func v4(a, b, c, d byte) netip.Addr { return netip.AddrFrom4([4]byte{a, b, c, d}) }

func v6(prefix uint16, low uint16) netip.Addr {
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	binary.BigEndian.PutUint16(b[4:], prefix)
	binary.BigEndian.PutUint16(b[14:], low)
	return netip.AddrFrom16(b)
}

func (g *gen) hosts() {
	for i := 0; i < 240; i++ {
		h := g.newHost(v4(10, 1, byte(i/60), byte(10+i%60)), true, 64)
		if i%10 < 3 {
			h.windows, h.ttl = true, 128
		}
		g.clients = append(g.clients, h)
	}
	for i := 0; i < 30; i++ {
		g.clients6 = append(g.clients6, g.newHost(v6(1, uint16(0x100+i)), true, 64))
	}
	web := []uint16{80, 443}
	g.target = &server{host: g.newHost(v4(10, 2, 0, 10), true, 64), ports: []uint16{22, 80, 443}}
	g.web = append(g.web, g.target)
	for i := 11; i <= 20; i++ {
		g.web = append(g.web, &server{host: g.newHost(v4(10, 2, 0, byte(i)), true, 64), ports: web})
	}
	g.ssh = &server{host: g.newHost(v4(10, 2, 0, 22), true, 64), ports: []uint16{22}}
	g.dns = g.newHost(v4(10, 2, 0, 53), true, 64)
	g.web6 = []*server{{host: g.newHost(v6(2, 0x10), true, 64), ports: web}, {host: g.newHost(v6(2, 0x11), true, 64), ports: web}}
	g.dns6 = g.newHost(v6(2, 0x53), true, 64)
	for i := 0; i < 30; i++ {
		ip := v4(198, 51, 100, byte(10+i))
		if i%3 == 0 {
			ip = v4(192, 0, 2, byte(10+i))
		}
		ttl := uint8(64 - 8 - g.rng.IntN(10))
		if i%5 == 0 {
			ttl = uint8(128 - 9 - g.rng.IntN(8))
		}
		g.remote = append(g.remote, &server{host: g.newHost(ip, false, ttl), ports: web, remote: true})
	}
	g.pingPairs = [][2]*host{
		{g.clients[0], g.target.host},
		{g.clients[1], g.web[3].host},
		{g.clients[2], g.dns},
		{g.clients6[0], g.web6[0].host},
	}
}

func (g *gen) client(v6 bool) *host {
	if v6 {
		return g.clients6[g.rng.IntN(len(g.clients6))]
	}
	// A few clients are much busier than the rest.
	if g.rng.IntN(4) == 0 {
		return g.clients[g.rng.IntN(8)]
	}
	return g.clients[g.rng.IntN(len(g.clients))]
}

func (g *gen) between(lo, hi int64) int64 { return lo + g.rng.Int64N(hi-lo+1) }
