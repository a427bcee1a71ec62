// Package flood generates the hostile traffic the sensor must survive: a
// stream of spoofed sources (SYN, ACK or UDP, one packet each or a short
// burst each), with a real nmap-like scan, fast or slow, hidden in it. The
// frames are Ethernet/IPv4 with correct checksums, in packet-time order, so
// they can be fed to the decoder in a test or written as a pcap for a
// replay of the built binary. The same Config gives the same bytes.
package flood

import (
	"cmp"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
)

// Kind is the spoofed packet type.
type Kind int

const (
	SYN Kind = iota // TCP SYN, window 512, no options (hping3 --flood --rand-source)
	ACK             // TCP ACK with random numbers
	UDP             // UDP, 32 bytes of payload
)

func (k Kind) String() string {
	switch k {
	case SYN:
		return "syn"
	case ACK:
		return "ack"
	case UDP:
		return "udp"
	}
	return "kind?"
}

// ParseKind is the inverse of String.
func ParseKind(s string) (Kind, error) {
	for k := SYN; k <= UDP; k++ {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, errors.New("flood kind must be syn, ack or udp")
}

// Config describes one capture.
type Config struct {
	Kind      Kind
	Sources   int     // spoofed sources
	PerSource int     // packets per source (default 1); more than one go to ports 1..PerSource of one target
	Rate      float64 // spoofed packets per second of packet time (default 100,000)
	// Targets are the flooded hosts (default 10.77.1.0/24); single
	// packets go to port 80 (TCP) or 53 (UDP).
	Targets netip.Prefix
	// TTL of the spoofed packets; 0 draws one per source from 32..255.
	TTL   uint8
	Scan  Scan
	Seed  uint64
	Start time.Time // packet time of the first packet (default 2026-11-21 00:00 UTC)
}

// Scan is the real scan inside the flood: nmap -sS probes (window 1024,
// MSS-only option, no DF, TTL 37..59, one source port and one sequence
// number), one every Gap, each answered by the target 200 µs later: a
// RST-ACK from a closed port, a SYN-ACK from an open one (then the
// scanner's RST). Ports 0 means no scan.
type Scan struct {
	Scanner, Target netip.Addr    // defaults 10.77.0.2 and 10.77.0.10
	Ports           int           // ports probed: 1, 2, 3, ... Ports
	Gap             time.Duration // between probes
	At              time.Duration // first probe, after Start
	Open            []uint16      // ports that answer SYN-ACK
}

// Summary says what was generated.
type Summary struct {
	Packets    int
	Spoofed    int
	ScanProbes int
	Duration   time.Duration
}

// Frame is one generated frame; Data is reused by the next call.
type Frame struct {
	Time time.Time
	Data []byte
}

func (c *Config) defaults() {
	if c.PerSource <= 0 {
		c.PerSource = 1
	}
	if c.Rate <= 0 {
		c.Rate = 100_000
	}
	if !c.Targets.IsValid() {
		c.Targets = netip.MustParsePrefix("10.77.1.0/24")
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	}
	if !c.Scan.Scanner.IsValid() {
		c.Scan.Scanner = netip.MustParseAddr("10.77.0.2")
	}
	if !c.Scan.Target.IsValid() {
		c.Scan.Target = netip.MustParseAddr("10.77.0.10")
	}
}

// Generate calls emit for every frame, in packet-time order, and stops at
// the first error emit returns.
func Generate(c Config, emit func(Frame) error) (Summary, error) {
	c.defaults()
	g := &gen{c: c, rnd: rand.New(rand.NewPCG(c.Seed, 0x5eed)), emit: emit}
	return g.run()
}

type gen struct {
	c    Config
	rnd  *rand.Rand
	emit func(Frame) error
	buf  [128]byte
	sum  Summary
	last time.Time

	// the source being sent now and its remaining packets
	src       [4]byte
	srcTarget [4]byte
	srcTTL    uint8
	srcLeft   int
	srcPort   uint16
}

// scanEvent is one frame of the scan, due at t.
type scanEvent struct {
	t    time.Duration
	port uint16
	step int // 0 probe, 1 target's answer, 2 scanner's RST after a SYN-ACK
}

func (g *gen) run() (Summary, error) {
	c := &g.c
	total := c.Sources * c.PerSource
	interval := time.Duration(float64(time.Second) / c.Rate)
	var scan []scanEvent
	for i := range c.Scan.Ports {
		t := c.Scan.At + time.Duration(i)*c.Scan.Gap
		port := uint16(i + 1)
		scan = append(scan, scanEvent{t, port, 0}, scanEvent{t + 200*time.Microsecond, port, 1})
		if g.open(port) {
			scan = append(scan, scanEvent{t + 400*time.Microsecond, port, 2})
		}
	}
	slices.SortStableFunc(scan, func(a, b scanEvent) int { return cmp.Compare(a.t, b.t) })
	si := 0
	for i := range total {
		at := time.Duration(i) * interval
		for ; si < len(scan) && scan[si].t <= at; si++ {
			if err := g.scanFrame(scan[si]); err != nil {
				return g.sum, err
			}
		}
		if err := g.spoofed(at); err != nil {
			return g.sum, err
		}
	}
	for ; si < len(scan); si++ {
		if err := g.scanFrame(scan[si]); err != nil {
			return g.sum, err
		}
	}
	g.sum.Duration = g.last.Sub(c.Start)
	return g.sum, nil
}

func (g *gen) open(port uint16) bool {
	for _, p := range g.c.Scan.Open {
		if p == port {
			return true
		}
	}
	return false
}

func (g *gen) send(at time.Duration, n int) error {
	g.last = g.c.Start.Add(at)
	g.sum.Packets++
	return g.emit(Frame{Time: g.last, Data: g.buf[:n]})
}

// spoofed sends the next packet of the current spoofed source, drawing a
// new source when the last one is done.
func (g *gen) spoofed(at time.Duration) error {
	c := &g.c
	if g.srcLeft == 0 {
		g.src = g.randomSource()
		g.srcTarget = g.randomTarget()
		g.srcTTL = c.TTL
		if g.srcTTL == 0 {
			g.srcTTL = uint8(32 + g.rnd.IntN(224))
		}
		g.srcPort = uint16(1024 + g.rnd.IntN(30000))
		g.srcLeft = c.PerSource
	}
	k := c.PerSource - g.srcLeft // index within the source's burst
	g.srcLeft--
	g.sum.Spoofed++
	dport := uint16(80)
	if c.Kind == UDP {
		dport = 53
	}
	if c.PerSource > 1 {
		dport = uint16(k + 1)
	}
	id := uint16(g.rnd.Uint32())
	var n int
	switch c.Kind {
	case UDP:
		n = g.udp(g.src, g.srcTarget, g.srcTTL, id, g.srcPort, dport, 32)
	case ACK:
		n = g.tcp(tcpSeg{src: g.src, dst: g.srcTarget, ttl: g.srcTTL, id: id, sport: g.srcPort, dport: dport,
			seq: g.rnd.Uint32(), ack: g.rnd.Uint32(), flags: flagACK, window: 512})
	default:
		n = g.tcp(tcpSeg{src: g.src, dst: g.srcTarget, ttl: g.srcTTL, id: id, sport: g.srcPort, dport: dport,
			seq: g.rnd.Uint32(), flags: flagSYN, window: 512})
	}
	return g.send(at, n)
}

// randomSource draws a public-looking unicast IPv4 address: not 0/8,
// 10/8, 127/8, multicast or reserved.
func (g *gen) randomSource() [4]byte {
	for {
		v := g.rnd.Uint32()
		a := [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
		if a[0] != 0 && a[0] != 10 && a[0] != 127 && a[0] < 224 {
			return a
		}
	}
}

func (g *gen) randomTarget() [4]byte {
	p := g.c.Targets.Masked()
	base := p.Addr().As4()
	host := 32 - p.Bits()
	v := binary.BigEndian.Uint32(base[:])
	if host > 0 {
		v |= g.rnd.Uint32() & (1<<host - 1)
	}
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], v)
	return a
}

// scanSeq and scanSport are the nmap scan's one sequence number and source port.
const (
	scanSeq   = 0x6b8b4567
	scanSport = 41337
)

func (g *gen) scanFrame(e scanEvent) error {
	s := &g.c.Scan
	scanner, target := s.Scanner.As4(), s.Target.As4()
	var n int
	switch e.step {
	case 0:
		g.sum.ScanProbes++
		n = g.tcp(tcpSeg{src: scanner, dst: target, ttl: uint8(37 + g.rnd.IntN(23)), id: uint16(g.rnd.Uint32()),
			sport: scanSport, dport: e.port, seq: scanSeq, flags: flagSYN, window: 1024, mss: 1460})
	case 1:
		if g.open(e.port) {
			n = g.tcp(tcpSeg{src: target, dst: scanner, ttl: 64, df: true, sport: e.port, dport: scanSport,
				seq: g.rnd.Uint32(), ack: scanSeq + 1, flags: flagSYN | flagACK, window: 64240, mss: 1460})
		} else {
			n = g.tcp(tcpSeg{src: target, dst: scanner, ttl: 64, df: true, sport: e.port, dport: scanSport,
				ack: scanSeq + 1, flags: flagRST | flagACK})
		}
	default:
		n = g.tcp(tcpSeg{src: scanner, dst: target, ttl: 59, id: uint16(g.rnd.Uint32()), sport: scanSport,
			dport: e.port, seq: scanSeq + 1, flags: flagRST})
	}
	return g.send(e.t, n)
}

const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagACK = 0x10
)

type tcpSeg struct {
	src, dst     [4]byte
	ttl          uint8
	df           bool
	id           uint16
	sport, dport uint16
	seq, ack     uint32
	flags        uint8
	window       uint16
	mss          uint16 // 0: no options
}

var (
	srcMAC = [6]byte{0x02, 0, 0, 0, 0, 1}
	dstMAC = [6]byte{0x02, 0, 0, 0, 0, 2}
)

// ip writes Ethernet and IPv4 headers for a payload of plen bytes and
// returns the offset of the transport header.
func (g *gen) ip(src, dst [4]byte, ttl uint8, df bool, id uint16, proto uint8, plen int) int {
	b := g.buf[:]
	copy(b[0:6], dstMAC[:])
	copy(b[6:12], srcMAC[:])
	b[12], b[13] = 0x08, 0x00
	h := b[14:34]
	h[0], h[1] = 0x45, 0
	binary.BigEndian.PutUint16(h[2:], uint16(20+plen))
	binary.BigEndian.PutUint16(h[4:], id)
	h[6], h[7] = 0, 0
	if df {
		h[6] = 0x40
	}
	h[8], h[9] = ttl, proto
	h[10], h[11] = 0, 0
	copy(h[12:16], src[:])
	copy(h[16:20], dst[:])
	binary.BigEndian.PutUint16(h[10:], checksum(h, 0))
	return 34
}

func (g *gen) tcp(s tcpSeg) int {
	hl := 20
	if s.mss != 0 {
		hl = 24
	}
	off := g.ip(s.src, s.dst, s.ttl, s.df, s.id, 6, hl)
	t := g.buf[off : off+hl]
	binary.BigEndian.PutUint16(t[0:], s.sport)
	binary.BigEndian.PutUint16(t[2:], s.dport)
	binary.BigEndian.PutUint32(t[4:], s.seq)
	binary.BigEndian.PutUint32(t[8:], s.ack)
	t[12], t[13] = byte(hl/4)<<4, s.flags
	binary.BigEndian.PutUint16(t[14:], s.window)
	t[16], t[17], t[18], t[19] = 0, 0, 0, 0
	if s.mss != 0 {
		t[20], t[21] = 2, 4
		binary.BigEndian.PutUint16(t[22:], s.mss)
	}
	binary.BigEndian.PutUint16(t[16:], checksum(t, pseudo(s.src, s.dst, 6, hl)))
	return off + hl
}

func (g *gen) udp(src, dst [4]byte, ttl uint8, id, sport, dport uint16, payload int) int {
	l := 8 + payload
	off := g.ip(src, dst, ttl, false, id, 17, l)
	u := g.buf[off : off+l]
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(l))
	u[6], u[7] = 0, 0
	for i := 8; i < l; i++ {
		u[i] = byte(i)
	}
	if cs := checksum(u, pseudo(src, dst, 17, l)); cs != 0 {
		binary.BigEndian.PutUint16(u[6:], cs)
	} else {
		u[6], u[7] = 0xff, 0xff
	}
	return off + l
}

// pseudo is the sum of the IPv4 pseudo-header.
func pseudo(src, dst [4]byte, proto uint8, l int) uint32 {
	s := uint32(binary.BigEndian.Uint16(src[0:])) + uint32(binary.BigEndian.Uint16(src[2:])) +
		uint32(binary.BigEndian.Uint16(dst[0:])) + uint32(binary.BigEndian.Uint16(dst[2:]))
	return s + uint32(proto) + uint32(l)
}

// checksum is the Internet checksum of b, starting from sum.
func checksum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// WritePcap writes the capture as a classic pcap (microsecond
// timestamps, Ethernet) to w.
func WritePcap(w io.Writer, c Config) (Summary, error) {
	var hdr [24]byte
	le := binary.LittleEndian
	le.PutUint32(hdr[0:], 0xa1b2c3d4)
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 65535)
	le.PutUint32(hdr[20:], 1)
	if _, err := w.Write(hdr[:]); err != nil {
		return Summary{}, err
	}
	var rec [16]byte
	return Generate(c, func(f Frame) error {
		le.PutUint32(rec[0:], uint32(f.Time.Unix()))
		le.PutUint32(rec[4:], uint32(f.Time.Nanosecond()/1000))
		le.PutUint32(rec[8:], uint32(len(f.Data)))
		le.PutUint32(rec[12:], uint32(len(f.Data)))
		if _, err := w.Write(rec[:]); err != nil {
			return err
		}
		_, err := w.Write(f.Data)
		return err
	})
}
