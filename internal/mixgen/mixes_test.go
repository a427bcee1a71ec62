package mixgen

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// mixProfile is what a mix must look like, counted over its packets.
type mixProfile struct {
	syn, ipv6, vlan, udp53 float64 // least share of packets
	sources                int     // least distinct IPv4 source addresses
}

func TestMixes(t *testing.T) {
	const n = 40000
	for _, c := range []struct {
		mix  Mix
		want mixProfile
	}{
		{MixDefault, mixProfile{udp53: 0.005}},
		{MixShort, mixProfile{syn: 0.05, udp53: 0.15, sources: 2000}},
		{MixSYN, mixProfile{syn: 0.2, sources: 5000}},
		{MixV6VLAN, mixProfile{ipv6: 0.6, vlan: 1}},
		{MixSpoof, mixProfile{syn: 1, sources: n * 99 / 100}},
	} {
		t.Run(string(c.mix), func(t *testing.T) {
			var pcap, ng bytes.Buffer
			o := Options{Packets: n, Seed: 1, Snaplen: 128, Mix: c.mix}
			if _, err := Generate(&pcap, o); err != nil {
				t.Fatal(err)
			}
			o.Format = FormatPcapng
			if _, err := Generate(&ng, o); err != nil {
				t.Fatal(err)
			}
			pr, err := pcapgo.NewReader(&pcap)
			if err != nil {
				t.Fatal(err)
			}
			nr, err := pcapgo.NewNgReader(&ng, pcapgo.DefaultNgReaderOptions)
			if err != nil {
				t.Fatal(err)
			}
			var got mixProfile
			srcs := map[[4]byte]bool{}
			count := 0
			for ; ; count++ {
				data, ci, err := pr.ReadPacketData()
				if err != nil {
					break
				}
				ndata, nci, err := nr.ReadPacketData()
				if err != nil || !bytes.Equal(data, ndata) || !ci.Timestamp.Equal(nci.Timestamp) || ci.Length != nci.Length {
					t.Fatalf("packet %d: the pcapng file differs from the pcap file (%v)", count, err)
				}
				p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.NoCopy)
				if p.Layer(layers.LayerTypeDot1Q) != nil {
					got.vlan++
				}
				if p.Layer(layers.LayerTypeIPv6) != nil {
					got.ipv6++
				}
				if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
					srcs[[4]byte(ip.SrcIP.To4())] = true
				}
				if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && tcp.SYN && !tcp.ACK {
					got.syn++
				}
				if udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && (udp.DstPort == 53 || udp.SrcPort == 53) {
					got.udp53++
				}
			}
			if count != n {
				t.Fatalf("%d packets, want %d", count, n)
			}
			got.syn, got.ipv6, got.vlan, got.udp53 = got.syn/n, got.ipv6/n, got.vlan/n, got.udp53/n
			got.sources = len(srcs)
			if got.syn < c.want.syn || got.ipv6 < c.want.ipv6 || got.vlan < c.want.vlan || got.udp53 < c.want.udp53 || got.sources < c.want.sources {
				t.Errorf("profile %+v, want at least %+v", got, c.want)
			}
		})
	}
}
