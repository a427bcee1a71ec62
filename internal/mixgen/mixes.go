package mixgen

import (
	"fmt"
	"io"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Mix names a kind of traffic. Each benign mix has the one nmap-like scan
// in it (at 45% of the packets), so a replay of any of them has the same
// alert to find; MixSpoof is a flood and nothing else.
type Mix string

const (
	// MixDefault: the original mix (DNS, browsing, bulk transfers,
	// uploads, refused connections, pings), mostly IPv4.
	MixDefault Mix = "default"
	// MixShort: dominated by short flows: DNS lookups, one-request HTTP
	// connections and refused SYNs from 4000 clients; no bulk transfers.
	MixShort Mix = "short"
	// MixSYN: SYN-heavy, from many distinct sources: short inbound
	// connections, refused and unanswered SYNs, each conversation from one
	// of 100000 outside addresses (198.18.0.0/15).
	MixSYN Mix = "syn"
	// MixV6VLAN: four conversations in five over IPv6, every frame with
	// an 802.1Q tag.
	MixV6VLAN Mix = "v6vlan"
	// MixSpoof: a SYN flood of Packets SYNs to one web server, each from a
	// random (spoofed) IPv4 source.
	MixSpoof Mix = "spoof"
)

// Mixes are the mixes in the order make bench shows them.
var Mixes = []Mix{MixDefault, MixShort, MixSYN, MixV6VLAN, MixSpoof}

// Format is the file format written.
type Format string

const (
	FormatPcap   Format = "pcap"
	FormatPcapng Format = "pcapng"
)

// setup builds the hosts of a mix and returns the proc that starts its
// conversations.
func (g *gen) setup(m Mix) (func(*proc), error) {
	g.hosts()
	switch m {
	case MixDefault, "":
		return g.launcher, nil
	case MixShort:
		g.moreClients(4000)
		return g.shortLauncher, nil
	case MixSYN:
		g.outside = 100_000
		return g.synLauncher, nil
	case MixV6VLAN:
		g.vlan = true
		for i := 0; i < 200; i++ {
			g.clients6 = append(g.clients6, g.newHost(v6(3, uint16(0x100+i)), true, 64))
		}
		return g.v6Launcher, nil
	case MixSpoof:
		g.pingPairs = nil
		return g.spoofLauncher, nil
	}
	return nil, fmt.Errorf("mixgen: unknown mix %q", m)
}

// moreClients adds IPv4 clients on the local link, up to n in all.
func (g *gen) moreClients(n int) {
	for i := len(g.clients); i < n; i++ {
		h := g.newHost(v4(10, byte(16+i/60000), byte(i/250%240), byte(1+i%250)), true, 64)
		h.windows = i%10 < 3
		if h.windows {
			h.ttl = 128
		}
		g.clients = append(g.clients, h)
	}
}

// startScan starts the one scan at 45% of the packets.
func (g *gen) startScan() {
	if !g.scanStarted && g.count >= g.o.Packets*45/100 {
		g.scanStarted = true
		dur := min(2*s, g.now*4/9)
		g.spawn(g.now, func(p *proc) { g.scan(p, dur) })
	}
}

// shortLauncher: short flows and DNS.
func (g *gen) shortLauncher(p *proc) {
	for {
		g.startScan()
		v6 := g.rng.IntN(10) == 0
		switch r := g.rng.IntN(100); {
		case r < 55:
			g.spawn(g.now, func(p *proc) { g.dnsLookup(p, v6) })
		case r < 90:
			g.spawn(g.now, func(p *proc) { g.shortHTTP(p, v6) })
		default:
			g.spawn(g.now, func(p *proc) { g.refused(p) })
		}
		p.sleep(int64(g.rng.ExpFloat64() * float64(150*us)))
	}
}

// shortHTTP is one small request and response, then a close.
func (g *gen) shortHTTP(p *proc, v6 bool) {
	sv, port := g.pickServer(v6)
	c := g.newConn(g.client(v6), sv, port)
	rtt := g.rtt(sv)
	c.handshake(p, rtt)
	p.sleep(g.between(30*us, 300*us))
	req := g.httpRequest(port)
	c.send(true, fPSH|fACK, 0, req)
	p.sleep(rtt + g.between(50*us, 1*ms))
	c.data(p, false, 200+g.rng.IntN(2*c.smssData()), g.response(port), g.between(15*us, 80*us))
	g.closeConn(p, c, rtt, g.rng.IntN(10) == 0)
}

// v6Launcher: the default conversations, four in five over IPv6.
func (g *gen) v6Launcher(p *proc) {
	for {
		g.startScan()
		v6 := g.rng.IntN(5) != 0
		switch r := g.rng.IntN(100); {
		case r < 45:
			g.spawn(g.now, func(p *proc) { g.dnsLookup(p, v6) })
		case r < 80:
			g.spawn(g.now, func(p *proc) { g.browse(p, v6) })
		case r < 96:
			g.spawn(g.now, func(p *proc) { g.bulk(p, v6) })
		default:
			g.spawn(g.now, func(p *proc) { g.refused(p) })
		}
		p.sleep(int64(g.rng.ExpFloat64() * float64(2*ms)))
	}
}

// vlanOf is the 802.1Q tag (priority 0) of a frame between a and b, the
// same both ways.
func vlanOf(a, b *host) uint16 {
	return 100 + uint16((a.mac[5]^b.mac[5])%4)
}

// packetWriter is a pcap or pcapng writer.
type packetWriter interface {
	WritePacket(gopacket.CaptureInfo, []byte) error
	Flush() error
}

type pcapWriter struct{ *pcapgo.Writer }

func (pcapWriter) Flush() error { return nil }

func newPacketWriter(w io.Writer, o Options) (packetWriter, error) {
	switch o.Format {
	case FormatPcap, "":
		pw := pcapgo.NewWriter(w)
		if err := pw.WriteFileHeader(uint32(o.Snaplen), layers.LinkTypeEthernet); err != nil {
			return nil, err
		}
		return pcapWriter{pw}, nil
	case FormatPcapng:
		intf := pcapgo.DefaultNgInterface
		intf.LinkType, intf.SnapLength = layers.LinkTypeEthernet, uint32(o.Snaplen)
		return pcapgo.NewNgWriterInterface(w, intf, pcapgo.DefaultNgWriterOptions)
	}
	return nil, fmt.Errorf("mixgen: unknown format %q", o.Format)
}
