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
	"errors"
	"io"
	"iter"
	"math/rand/v2"
	"net/netip"
	"time"
)

// Options say what to generate. The same options give the same bytes.
type Options struct {
	Packets int    // packets in the capture
	Seed    uint64 // random seed
	Snaplen int    // bytes stored per packet (64 to 65535); the wire length is kept
	Mix     Mix    // which traffic (mixes.go); empty is MixDefault
	Format  Format // pcap (the default) or pcapng
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
	o       Options
	rng     *rand.Rand
	w       packetWriter
	err     error
	vlan    bool // every frame carries an 802.1Q tag (MixV6VLAN)
	outside int  // distinct outside clients (MixSYN)

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

// Generate writes a pcap or pcapng capture (Ethernet, microsecond
// timestamps) of o.Packets packets of the mix o.Mix to w and says what is in
// it.
func Generate(w io.Writer, o Options) (Summary, error) {
	g := &gen{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x5ca9)), frame: make([]byte, 2048+o.Snaplen)}
	launcher, err := g.setup(o.Mix)
	if err != nil {
		return g.sum, err
	}
	fw, err := newPacketWriter(w, o)
	if err != nil {
		return g.sum, err
	}
	g.w = fw
	g.spawn(0, launcher)
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
	if err := fw.Flush(); err != nil && g.err == nil {
		g.err = err
	}
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
