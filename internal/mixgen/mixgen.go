// Package mixgen writes a deterministic benchmark capture: benign traffic
// (TCP handshakes, bulk transfers, HTTP-like exchanges, FIN and RST closes,
// DNS, ICMP echo, a few connections refused by closed ports) with exactly one
// nmap-like SYN scan in the middle of it. internal/cmd/mixgen is its command
// (make bench runs it).
//
// Addresses are from the documentation ranges (10/8, 192.0.2/24,
// 198.51.100/24, 203.0.113/24, 2001:db8::/32). Payloads are stored up to
// Snaplen bytes per frame; the lengths on the wire and all checksums are
// those of the full packets.
//
// The traffic is a discrete-event simulation: each conversation is a
// coroutine (proc) that writes packets at the simulated time and sleeps,
// and the scheduler always runs the earliest, so packets come out in time
// order.
package mixgen

import (
	"encoding/binary"
	"errors"
	"io"
	"iter"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Options say what to generate. The same options give the same bytes.
type Options struct {
	Packets int    // packets in the capture
	Seed    uint64 // random seed
	Snaplen int    // bytes stored per packet (64 to 65535); the wire length is kept
}

// Summary describes what was generated.
type Summary struct {
	Packets      int
	Duration     time.Duration
	Scanner      netip.Addr
	ScanTarget   netip.Addr
	ScanPorts    int
	OpenPorts    []uint16
	ScanStart    time.Duration // from the first packet
	ScanDuration time.Duration
}

// The capture starts at a fixed time, so that runs are identical.
var epoch = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

const (
	us = int64(time.Microsecond)
	ms = int64(time.Millisecond)
	s  = int64(time.Second)
)

// TCP flags (tcp[13]).
const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fPSH = 0x08
	fACK = 0x10
)

// host is one machine as the sensor sees it.
type host struct {
	ip      netip.Addr
	mac     [6]byte // the sender MAC on the sensor's link (the router's for remote hosts)
	ttl     uint8   // TTL or hop limit of its packets as they reach the sensor
	windows bool    // Windows TCP options (no timestamps) rather than Linux
	ipid    uint16
	tsOff   uint32 // TCP timestamp clock offset
	nextEph uint16 // next ephemeral port
}

func (h *host) ephemeral(rng *rand.Rand) uint16 {
	if h.nextEph == 0 {
		h.nextEph = uint16(32768 + rng.IntN(28000))
	}
	h.nextEph += uint16(1 + rng.IntN(7))
	if h.nextEph < 32768 || h.nextEph > 60999 {
		h.nextEph = 32768 + uint16(rng.IntN(100))
	}
	return h.nextEph
}

// server is a host and the TCP ports it has open.
type server struct {
	*host
	ports  []uint16
	remote bool // across the internet: a long round trip
}

// proc is one simulated conversation, run as a coroutine: it writes packets
// at the simulation time and sleeps in between. The scheduler always runs
// the proc with the earliest wake time, so packets come out in time order.
type proc struct {
	g     *gen
	t     int64
	id    uint64
	next  func() (int64, bool)
	stop  func()
	yield func(int64) bool
}

var errStop = errors.New("stopped")

func (p *proc) sleep(d int64) {
	if d < 0 {
		d = 0
	}
	if !p.yield(p.g.now + d) {
		panic(errStop)
	}
}

type gen struct {
	o   Options
	rng *rand.Rand
	w   *pcapgo.Writer
	err error

	now    int64 // simulation time, ns since epoch
	lastTS int64 // last timestamp written, µs precision
	count  int
	frame  []byte

	heap   []*proc
	nextID uint64

	clients, clients6 []*host
	web, web6, remote []*server
	ssh               *server
	dns, dns6         *host
	target            *server
	pingPairs         [][2]*host

	sum         Summary
	scanStarted bool
}

// Generate writes a pcap capture (Ethernet, microsecond timestamps) of
// o.Packets packets to w and says what is in it.
func Generate(w io.Writer, o Options) (Summary, error) {
	g := &gen{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x5ca9)), frame: make([]byte, 2048+o.Snaplen)}
	g.w = pcapgo.NewWriter(w)
	if err := g.w.WriteFileHeader(uint32(o.Snaplen), layers.LinkTypeEthernet); err != nil {
		return g.sum, err
	}
	g.hosts()
	g.spawn(0, g.launcher)
	for _, pair := range g.pingPairs {
		g.spawn(g.between(0, 50*ms), func(p *proc) { g.pinger(p, pair[0], pair[1]) })
	}
	for g.count < o.Packets && len(g.heap) > 0 && g.err == nil {
		p := g.pop()
		g.now = p.t
		t, ok := p.next()
		if ok {
			p.t = t
			g.push(p)
		}
	}
	for _, p := range g.heap {
		p.stop()
	}
	g.heap = nil
	g.sum.Packets = g.count
	g.sum.Duration = time.Duration(g.lastTS * us)
	return g.sum, g.err
}

func (g *gen) spawn(at int64, body func(p *proc)) {
	p := &proc{g: g, t: at, id: g.nextID}
	g.nextID++
	p.next, p.stop = iter.Pull(func(yield func(int64) bool) {
		defer func() {
			if r := recover(); r != nil && r != errStop {
				panic(r)
			}
		}()
		p.yield = yield
		body(p)
	})
	g.push(p)
}

func (g *gen) less(i, j int) bool {
	a, b := g.heap[i], g.heap[j]
	return a.t < b.t || (a.t == b.t && a.id < b.id)
}

func (g *gen) push(p *proc) {
	g.heap = append(g.heap, p)
	i := len(g.heap) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !g.less(i, parent) {
			break
		}
		g.heap[i], g.heap[parent] = g.heap[parent], g.heap[i]
		i = parent
	}
}

func (g *gen) pop() *proc {
	h := g.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = nil
	g.heap = h[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && g.less(l, m) {
			m = l
		}
		if r < last && g.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		g.heap[i], g.heap[m] = g.heap[m], g.heap[i]
		i = m
	}
	return top
}

// ---------------------------------------------------------------- hosts

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

// ---------------------------------------------------------------- traffic mix

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

// ---------------------------------------------------------------- TCP

type conn struct {
	g          *gen
	c, s       *host
	cp, sp     uint16
	cseq, sseq uint32 // the next sequence number each side sends
	ts         bool   // TCP timestamps negotiated
	ctsv, stsv uint32 // the last TS value each side sent
}

func (g *gen) newConn(cl *host, sv *server, port uint16) *conn {
	return &conn{g: g, c: cl, s: sv.host, cp: cl.ephemeral(g.rng), sp: port,
		cseq: g.rng.Uint32(), sseq: g.rng.Uint32(), ts: !cl.windows}
}

func (c *conn) mss() int {
	if c.c.ip.Is6() {
		return 1440
	}
	return 1460
}

// smssData is the payload of a full segment (either way).
func (c *conn) smssData() int {
	if c.ts {
		return c.mss() - 12
	}
	return c.mss()
}

func (c *conn) handshake(p *proc, rtt int64) {
	c.send(true, fSYN, 0, nil)
	p.sleep(rtt)
	c.send(false, fSYN|fACK, 0, nil)
	p.sleep(c.g.between(15*us, 80*us))
	c.send(true, fACK, 0, nil)
}

// data sends size bytes from one side in full segments, the first starting
// with head, with an ACK from the other side after every second segment and
// after the last.
func (c *conn) data(p *proc, fromClient bool, size int, head []byte, gap int64) {
	mss := c.smssData()
	for i := 0; size > 0; i++ {
		n := min(size, mss)
		size -= n
		flags := uint8(fACK)
		if size == 0 {
			flags |= fPSH
		}
		var text []byte
		if i == 0 {
			text = head
			n = max(n, len(head))
		}
		c.send(fromClient, flags, n, text)
		if i%2 == 1 || size == 0 {
			ackAfter := min(gap/2, 40*us)
			p.sleep(ackAfter)
			c.send(!fromClient, fACK, 0, nil)
			p.sleep(gap - ackAfter)
		} else {
			p.sleep(gap)
		}
	}
}

// rstAck is a closed port's answer to the SYN just sent.
func (c *conn) rstAck() {
	c.sseq = 0
	c.send(false, fRST|fACK, 0, nil)
}

func (c *conn) nmapSYN() {
	var opt [4]byte
	opt[0], opt[1] = 2, 4
	binary.BigEndian.PutUint16(opt[2:], 1460)
	c.g.tcp(c.c, c.s, c.cp, c.sp, c.cseq, 0, fSYN, 1024, opt[:], 0, nil, false)
	c.cseq++ // for the answer's ack; the next probe's conn starts again from the shared seq
}

// send writes one segment from the client (or the server) and advances its
// sequence number. plen is the payload length on the wire (at least
// len(text)).
func (c *conn) send(fromClient bool, flags uint8, plen int, text []byte) {
	g := c.g
	src, dst := c.s, c.c
	sport, dport := c.sp, c.cp
	seq, ack := &c.sseq, c.cseq
	tsv, tsecr := &c.stsv, c.ctsv
	if fromClient {
		src, dst, sport, dport = c.c, c.s, c.cp, c.sp
		seq, ack = &c.cseq, c.sseq
		tsv, tsecr = &c.ctsv, c.stsv
	}
	plen = max(plen, len(text))
	if flags&fACK == 0 {
		ack = 0
	}
	var optBuf [20]byte
	opts := optBuf[:0]
	win := uint16(502)
	if src.windows {
		win = 1026
	}
	tsval := src.tsOff + uint32(g.now/ms)
	*tsv = tsval
	mss := uint16(c.mss())
	switch {
	case flags&fSYN != 0 && src.windows:
		win = 64240
		opts = append(opts, 2, 4, byte(mss>>8), byte(mss), 1, 3, 3, 8, 1, 1, 4, 2)
	case flags&fSYN != 0 && flags&fACK != 0 && !c.ts && c.c.windows:
		win = 64240
		opts = append(opts, 2, 4, byte(mss>>8), byte(mss), 1, 1, 4, 2, 1, 3, 3, 7)
	case flags&fSYN != 0 && c.ts:
		win = 64240
		if flags&fACK != 0 {
			win = 65160
		} else {
			tsecr = 0
		}
		opts = append(opts, 2, 4, byte(mss>>8), byte(mss), 4, 2, 8, 10)
		opts = binary.BigEndian.AppendUint32(opts, tsval)
		opts = binary.BigEndian.AppendUint32(opts, tsecr)
		opts = append(opts, 1, 3, 3, 7)
	case flags&fSYN != 0:
		// A SYN-ACK to a SYN that offered only MSS (the scanner's).
		win = 64240
		opts = append(opts, 2, 4, byte(mss>>8), byte(mss))
	case flags&fRST != 0:
		win = 0
	case c.ts:
		opts = append(opts, 1, 1, 8, 10)
		opts = binary.BigEndian.AppendUint32(opts, tsval)
		opts = binary.BigEndian.AppendUint32(opts, tsecr)
	}
	// The stacks set DF (IPv4) on all their TCP segments.
	g.tcp(src, dst, sport, dport, *seq, ack, flags, win, opts, plen, text, true)
	*seq += uint32(plen)
	if flags&(fSYN|fFIN) != 0 {
		*seq++
	}
}

// ---------------------------------------------------------------- packets

// fill is the payload after any text; fillSum[n] is the checksum sum of
// fill[:n], so long payloads cost nothing to checksum.
var (
	fill    [2048]byte
	fillSum [len(fill) + 1]uint64
)

func init() {
	x := uint32(0x12345678)
	for i := range fill {
		x = x*1664525 + 1013904223
		fill[i] = byte(x >> 24)
	}
	for n := 1; n <= len(fill); n++ {
		if n%2 == 0 {
			fillSum[n] = fillSum[n-2] + (uint64(fill[n-2])<<8 | uint64(fill[n-1]))
		} else {
			fillSum[n] = fillSum[n-1] + uint64(fill[n-1])<<8
		}
	}
}

func sum16(b []byte, acc uint64) uint64 {
	for len(b) >= 2 {
		acc += uint64(b[0])<<8 | uint64(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

func fold(acc uint64) uint16 {
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return ^uint16(acc)
}

// payloadSum is the checksum sum of a payload of plen bytes that starts
// with text (of even length) followed by filler.
func payloadSum(text []byte, plen int) uint64 {
	return sum16(text, 0) + fillSum[plen] - fillSum[len(text)]
}

// ip writes the Ethernet and IP headers for a transport segment of tlen
// bytes and returns the offset of the transport header and the
// pseudo-header sum.
func (g *gen) ip(src, dst *host, proto uint8, tlen int, df bool) (int, uint64) {
	f := g.frame
	copy(f[0:6], dst.mac[:])
	copy(f[6:12], src.mac[:])
	if src.ip.Is4() {
		binary.BigEndian.PutUint16(f[12:], 0x0800)
		h := f[14:34]
		h[0], h[1] = 0x45, 0
		binary.BigEndian.PutUint16(h[2:], uint16(20+tlen))
		src.ipid++
		binary.BigEndian.PutUint16(h[4:], src.ipid)
		var frag uint16
		if df {
			frag = 0x4000
		}
		binary.BigEndian.PutUint16(h[6:], frag)
		h[8], h[9] = src.ttl, proto
		h[10], h[11] = 0, 0
		s4, d4 := src.ip.As4(), dst.ip.As4()
		copy(h[12:16], s4[:])
		copy(h[16:20], d4[:])
		binary.BigEndian.PutUint16(h[10:], fold(sum16(h, 0)))
		pseudo := sum16(h[12:20], 0) + uint64(proto) + uint64(tlen)
		return 34, pseudo
	}
	binary.BigEndian.PutUint16(f[12:], 0x86dd)
	h := f[14:54]
	h[0], h[1], h[2], h[3] = 0x60, 0, 0, 0
	binary.BigEndian.PutUint16(h[4:], uint16(tlen))
	h[6], h[7] = proto, src.ttl
	s16, d16 := src.ip.As16(), dst.ip.As16()
	copy(h[8:24], s16[:])
	copy(h[24:40], d16[:])
	pseudo := sum16(h[8:40], 0) + uint64(proto) + uint64(tlen)
	return 54, pseudo
}

func (g *gen) tcp(src, dst *host, sport, dport uint16, seq, ack uint32, flags uint8, win uint16, opts []byte, plen int, text []byte, df bool) {
	hlen := 20 + len(opts)
	off, pseudo := g.ip(src, dst, 6, hlen+plen, df)
	f := g.frame
	h := f[off : off+hlen]
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint32(h[4:], seq)
	binary.BigEndian.PutUint32(h[8:], ack)
	h[12], h[13] = byte(hlen/4)<<4, flags
	binary.BigEndian.PutUint16(h[14:], win)
	h[16], h[17], h[18], h[19] = 0, 0, 0, 0
	copy(h[20:], opts)
	binary.BigEndian.PutUint16(h[16:], fold(sum16(h, pseudo)+payloadSum(text, plen)))
	g.write(off+hlen, plen, text)
}

func (g *gen) udp(src, dst *host, sport, dport uint16, payload []byte) {
	tlen := 8 + len(payload)
	off, pseudo := g.ip(src, dst, 17, tlen, false)
	h := g.frame[off : off+8]
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint16(h[4:], uint16(tlen))
	h[6], h[7] = 0, 0
	c := fold(sum16(payload, sum16(h, pseudo)))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(h[6:], c)
	g.writeBytes(off+8, payload)
}

func (g *gen) echo(src, dst *host, reply bool, id, seq uint16) {
	var payload [56]byte
	binary.BigEndian.PutUint64(payload[:], uint64(g.now/s))
	for i := 8; i < len(payload); i++ {
		payload[i] = byte(i + 8)
	}
	v6 := src.ip.Is6()
	proto := uint8(1)
	typ := uint8(8)
	if v6 {
		proto, typ = 58, 128
	}
	if reply {
		typ--
		if v6 {
			typ = 129
		}
	}
	off, pseudo := g.ip(src, dst, proto, 8+len(payload), true)
	h := g.frame[off : off+8]
	h[0], h[1], h[2], h[3] = typ, 0, 0, 0
	binary.BigEndian.PutUint16(h[4:], id)
	binary.BigEndian.PutUint16(h[6:], seq)
	acc := sum16(payload[:], sum16(h, 0))
	if v6 {
		acc += pseudo
	}
	binary.BigEndian.PutUint16(h[2:], fold(acc))
	g.writeBytes(off+8, payload[:])
}

// write finishes a frame whose headers end at hdr, with a payload of plen
// bytes (text, then filler), storing at most snaplen bytes.
func (g *gen) write(hdr, plen int, text []byte) {
	wire := hdr + plen
	caplen := min(wire, g.o.Snaplen)
	if caplen > hdr {
		b := g.frame[hdr:caplen]
		n := copy(b, text)
		copy(b[n:], fill[n:])
	}
	g.out(caplen, wire)
}

func (g *gen) writeBytes(hdr int, payload []byte) {
	wire := hdr + len(payload)
	caplen := min(wire, g.o.Snaplen)
	if caplen > hdr {
		copy(g.frame[hdr:caplen], payload)
	}
	g.out(caplen, wire)
}

func (g *gen) out(caplen, wire int) {
	if g.count >= g.o.Packets || g.err != nil {
		return
	}
	// Microsecond timestamps, strictly increasing.
	ts := g.now / us
	if ts <= g.lastTS && g.count > 0 {
		ts = g.lastTS + 1
	}
	g.lastTS = ts
	ci := gopacket.CaptureInfo{Timestamp: epoch.Add(time.Duration(ts * us)), CaptureLength: caplen, Length: wire}
	if err := g.w.WritePacket(ci, g.frame[:caplen]); err != nil {
		g.err = err
	}
	g.count++
}
