package mixgen

import (
	"encoding/binary"
	"math"
)

// The traffic mix: a launcher starts benign conversations (bulk
// transfers, browsing, uploads, refused connections, DNS lookups) at random
// times, pingers run beside them, and the scan starts at 45% of the packets.

func (g *gen) launcher(p *proc) {
	for {
		if !g.scanStarted && g.count >= g.o.Packets*45/100 {
			g.scanStarted = true
			// The scan takes 2 s, or a fifth of a short capture.
			dur := min(2*s, g.now*4/9)
			g.spawn(g.now, func(p *proc) { g.scan(p, dur) })
		}
		v6 := g.rng.IntN(10) == 0
		switch r := g.rng.IntN(100); {
		case r < 44:
			g.spawn(g.now, func(p *proc) { g.dnsLookup(p, v6) })
		case r < 75:
			g.spawn(g.now, func(p *proc) { g.browse(p, v6) })
		case r < 93:
			g.spawn(g.now, func(p *proc) { g.bulk(p, v6) })
		case r < 97:
			g.spawn(g.now, func(p *proc) { g.upload(p) })
		default:
			g.spawn(g.now, func(p *proc) { g.refused(p) })
		}
		p.sleep(int64(g.rng.ExpFloat64() * float64(2*ms)))
	}
}

func (g *gen) pickServer(v6 bool) (*server, uint16) {
	var sv *server
	switch {
	case v6:
		sv = g.web6[g.rng.IntN(len(g.web6))]
	case g.rng.IntN(10) < 3:
		sv = g.remote[g.rng.IntN(len(g.remote))]
	default:
		sv = g.web[g.rng.IntN(len(g.web))]
	}
	port := uint16(443)
	if g.rng.IntN(3) == 0 {
		port = 80
	}
	return sv, port
}

func (g *gen) rtt(sv *server) int64 {
	if sv.remote {
		return g.between(8*ms, 70*ms)
	}
	return g.between(150*us, 900*us)
}

var paths = []string{"/", "/index.html", "/api/v1/items?page=2", "/static/app.js", "/static/style.css",
	"/images/logo.png", "/login", "/api/v1/session", "/downloads/release-2.4.1.tar.gz", "/favicon.ico"}
var hostnames = []string{"www.example.com", "api.example.net", "cdn.example.org", "intranet.example.com",
	"updates.example.net", "mail.example.com", "static.example.org", "files.example.com"}

// even pads text to an even length: the checksum code adds filler bytes
// after it as 16-bit words.
func even(b []byte) []byte {
	if len(b)%2 == 1 {
		b = append(b, ' ')
	}
	return b
}

func (g *gen) httpRequest(port uint16) []byte {
	if port == 443 {
		return tlsClientHello
	}
	path := paths[g.rng.IntN(len(paths))]
	hn := hostnames[g.rng.IntN(len(hostnames))]
	return even([]byte("GET " + path + " HTTP/1.1\r\nHost: " + hn +
		"\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0)\r\nAccept: */*\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n"))
}

var (
	tlsClientHello = even(append([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03},
		[]byte("........random-bytes-of-a-client-hello........ with sni www.example.com and alpn h2 http/1.1")...))
	tlsServerHello = even(append([]byte{0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76, 0x03, 0x03},
		[]byte("server-hello-random.............................")...))
	httpResponse = even([]byte("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/octet-stream\r\nConnection: keep-alive\r\n\r\n"))
	sshBanner    = even([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
)

func (g *gen) response(port uint16) []byte {
	if port == 443 {
		return tlsServerHello
	}
	return httpResponse
}

// bulk is a download: a request, then many full segments from the server
// with an ACK back for every second one, then a FIN or RST close.
func (g *gen) bulk(p *proc, v6 bool) {
	sv, port := g.pickServer(v6)
	c := g.newConn(g.client(v6), sv, port)
	rtt := g.rtt(sv)
	c.handshake(p, rtt)
	p.sleep(g.between(20*us, 200*us))
	c.send(true, fPSH|fACK, 0, g.httpRequest(port))
	p.sleep(rtt)
	// Heavy tailed sizes: most transfers are short, a few are long.
	segs := int(math.Min(20+math.Exp(g.rng.NormFloat64()*1.3+5), 4000))
	gap := g.between(12*us, 120*us)
	abort := g.rng.IntN(12) == 0
	if abort {
		segs = 1 + g.rng.IntN(segs)
	}
	c.data(p, false, segs*c.smssData(), g.response(port), gap)
	g.closeConn(p, c, rtt, abort)
}

// browse is a keep-alive connection with a few small request/response pairs.
func (g *gen) browse(p *proc, v6 bool) {
	sv, port := g.pickServer(v6)
	c := g.newConn(g.client(v6), sv, port)
	rtt := g.rtt(sv)
	c.handshake(p, rtt)
	n := 1 + g.rng.IntN(6)
	for i := 0; i < n; i++ {
		p.sleep(g.between(30*us, 300*us))
		req := g.httpRequest(port)
		c.send(true, fPSH|fACK, len(req)+g.rng.IntN(200)*2, req)
		p.sleep(rtt + g.between(50*us, 2*ms))
		size := 200 + g.rng.IntN(6*c.smssData())
		c.data(p, false, size, g.response(port), g.between(15*us, 80*us))
		if i+1 < n {
			p.sleep(g.between(5*ms, 150*ms))
		}
	}
	g.closeConn(p, c, rtt, g.rng.IntN(10) == 0)
}

// upload: an SSH banner exchange, then the client sends a file.
func (g *gen) upload(p *proc) {
	c := g.newConn(g.client(false), g.ssh, 22)
	rtt := g.rtt(g.ssh)
	c.handshake(p, rtt)
	p.sleep(g.between(1*ms, 3*ms))
	c.send(false, fPSH|fACK, 0, sshBanner)
	p.sleep(g.between(50*us, 200*us))
	c.send(true, fPSH|fACK, 0, sshBanner)
	p.sleep(rtt)
	segs := int(math.Min(50+math.Exp(g.rng.NormFloat64()+5.5), 3000))
	c.data(p, true, segs*c.smssData(), nil, g.between(15*us, 100*us))
	g.closeConn(p, c, rtt, false)
}

// refused: an application retries a closed port a few times; each attempt
// is a SYN answered by RST-ACK.
func (g *gen) refused(p *proc) {
	sv := g.web[1+g.rng.IntN(len(g.web)-1)]
	ports := []uint16{8080, 8443, 3389, 5432, 9200}
	port := ports[g.rng.IntN(len(ports))]
	cl := g.client(false)
	tries := 2 + g.rng.IntN(3)
	for i := 0; i < tries; i++ {
		c := g.newConn(cl, sv, port)
		c.send(true, fSYN, 0, nil)
		p.sleep(g.rtt(sv))
		c.rstAck()
		p.sleep(g.between(900*ms, 1100*ms))
	}
}

// closeConn ends a connection: mostly a FIN exchange started by either
// side, sometimes an abort by RST from the client.
func (g *gen) closeConn(p *proc, c *conn, rtt int64, abort bool) {
	p.sleep(g.between(20*us, 2*ms))
	if abort {
		c.send(true, fRST|fACK, 0, nil)
		return
	}
	first := g.rng.IntN(3) != 0 // client closes first
	c.send(first, fFIN|fACK, 0, nil)
	p.sleep(rtt)
	c.send(!first, fFIN|fACK, 0, nil)
	p.sleep(g.between(10*us, 60*us))
	c.send(first, fACK, 0, nil)
}

func (g *gen) dnsLookup(p *proc, v6 bool) {
	cl, srv := g.client(v6), g.dns
	if v6 {
		srv = g.dns6
	}
	sport := cl.ephemeral(g.rng)
	id := uint16(g.rng.Uint32())
	name := hostnames[g.rng.IntN(len(hostnames))]
	qtypes := []uint16{1}
	if g.rng.IntN(3) == 0 {
		qtypes = append(qtypes, 28)
	}
	for _, qt := range qtypes {
		q := dnsQuery(id, name, qt)
		g.udp(cl, srv, sport, 53, q)
		p.sleep(g.between(200*us, 3*ms))
		g.udp(srv, cl, 53, sport, dnsAnswer(q, qt, g.rng.IntN(20) == 0))
		id++
		p.sleep(g.between(20*us, 200*us))
	}
}

func dnsQuery(id uint16, name string, qtype uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0)
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			b = append(b, byte(i-start))
			b = append(b, name[start:i]...)
			start = i + 1
		}
	}
	b = append(b, 0)
	b = binary.BigEndian.AppendUint16(b, qtype)
	return binary.BigEndian.AppendUint16(b, 1)
}

func dnsAnswer(q []byte, qtype uint16, nx bool) []byte {
	b := append([]byte(nil), q...)
	if nx {
		b[2], b[3] = 0x81, 0x83
		return b
	}
	b[2], b[3] = 0x81, 0x80
	b[7] = 1 // ancount
	b = append(b, 0xc0, 0x0c)
	b = binary.BigEndian.AppendUint16(b, qtype)
	b = append(b, 0, 1, 0, 0, 0x01, 0x2c)
	if qtype == 28 {
		a := v6(2, 0x10).As16()
		b = append(b, 0, 16)
		b = append(b, a[:]...)
	} else {
		b = append(b, 0, 4, 10, 2, 0, byte(11+len(q)%10))
	}
	return b
}

func (g *gen) pinger(p *proc, a, b *host) {
	id := uint16(g.rng.Uint32())
	for seq := uint16(1); ; seq++ {
		g.echo(a, b, false, id, seq)
		p.sleep(g.between(150*us, 600*us))
		g.echo(b, a, true, id, seq)
		p.sleep(s + g.between(-2*ms, 2*ms))
	}
}
