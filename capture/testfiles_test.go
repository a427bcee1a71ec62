package capture

// Capture files written by hand for the tests of this package: pcap and
// pcapng in either byte order, gzip, and the packets they must read back as.

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/scanwatch/scanwatch/linktype"
)

// testPkt is a packet as written to a test file, and as it must read back.
type testPkt struct {
	data  []byte
	ts    time.Time
	orig  int
	lt    layers.LinkType
	iface int // pcapng interface index
}

var t0 = time.Date(2026, 11, 21, 0, 14, 3, 123456789, time.UTC)

// genPackets makes n packets with varied lengths (one of them empty) and
// increasing timestamps; micro rounds timestamps to microseconds.
func genPackets(n int, seed uint64, micro bool) []testPkt {
	rng := rand.New(rand.NewPCG(seed, 1))
	pkts := make([]testPkt, n)
	ts := t0
	for i := range pkts {
		size := 1 + rng.IntN(200)
		if i == 2 {
			size = 0
		}
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		ts = ts.Add(time.Duration(1 + rng.IntN(3_000_000)))
		t := ts
		if micro {
			t = t.Truncate(time.Microsecond)
		}
		pkts[i] = testPkt{data: data, ts: t, orig: size + rng.IntN(3)*100, lt: layers.LinkTypeEthernet}
	}
	return pkts
}

// pcapBytes writes a pcap file by hand, in either byte order and
// resolution. It returns the file and the offset of each record.
func pcapBytes(order binary.AppendByteOrder, nano bool, snaplen uint32, lt layers.LinkType, pkts []testPkt) ([]byte, []int) {
	var b []byte
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	b = order.AppendUint32(b, magic)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 4)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, snaplen)
	b = order.AppendUint32(b, uint32(lt))
	offs := make([]int, len(pkts))
	for i, p := range pkts {
		offs[i] = len(b)
		frac := p.ts.Nanosecond() / 1000
		if nano {
			frac = p.ts.Nanosecond()
		}
		b = order.AppendUint32(b, uint32(p.ts.Unix()))
		b = order.AppendUint32(b, uint32(frac))
		b = order.AppendUint32(b, uint32(len(p.data)))
		b = order.AppendUint32(b, uint32(p.orig))
		b = append(b, p.data...)
	}
	return b, offs
}

// ngBuilder writes pcapng blocks by hand, in either byte order, and
// remembers where each block starts.
type ngBuilder struct {
	order  binary.AppendByteOrder
	b      []byte
	starts []int // every block
	pkts   []int // packet blocks
	ends   []int // where each packet block ends
	ifaces []int // tsresol exponent (decimal) of each interface of the current section
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func (w *ngBuilder) option(b []byte, code uint16, val []byte) []byte {
	b = w.order.AppendUint16(b, code)
	b = w.order.AppendUint16(b, uint16(len(val)))
	return pad4(append(b, val...))
}

func (w *ngBuilder) block(typ uint32, body []byte) {
	body = pad4(body)
	w.starts = append(w.starts, len(w.b))
	n := uint32(12 + len(body))
	w.b = w.order.AppendUint32(w.b, typ)
	w.b = w.order.AppendUint32(w.b, n)
	w.b = append(w.b, body...)
	w.b = w.order.AppendUint32(w.b, n)
}

func (w *ngBuilder) shb() {
	var body []byte
	body = w.order.AppendUint32(body, 0x1a2b3c4d)
	body = w.order.AppendUint16(body, 1)
	body = w.order.AppendUint16(body, 0)
	body = w.order.AppendUint64(body, ^uint64(0))
	body = w.option(body, 4, []byte("scanwatch test")) // shb_userappl
	body = w.option(body, 0, nil)
	w.block(ngSectionHeader, body)
	w.ifaces = w.ifaces[:0]
}

func (w *ngBuilder) idb(lt layers.LinkType, tsresol int) {
	var body []byte
	body = w.order.AppendUint16(body, uint16(lt))
	body = w.order.AppendUint16(body, 0)
	body = w.order.AppendUint32(body, 0)
	body = w.option(body, 2, []byte("eth0")) // if_name
	if tsresol != 6 {
		body = w.option(body, 9, []byte{byte(tsresol)}) // if_tsresol
	}
	body = w.option(body, 0, nil)
	w.block(ngInterface, body)
	w.ifaces = append(w.ifaces, tsresol)
}

func (w *ngBuilder) epb(p testPkt) {
	units := p.ts.UnixNano()
	for range 9 - w.ifaces[p.iface] {
		units /= 10
	}
	var body []byte
	body = w.order.AppendUint32(body, uint32(p.iface))
	body = w.order.AppendUint32(body, uint32(uint64(units)>>32))
	body = w.order.AppendUint32(body, uint32(units))
	body = w.order.AppendUint32(body, uint32(len(p.data)))
	body = w.order.AppendUint32(body, uint32(p.orig))
	body = pad4(append(body, p.data...))
	if len(p.data)%2 == 0 {
		body = w.option(body, 2, w.order.AppendUint32(nil, 1)) // epb_flags: inbound
		body = w.option(body, 0, nil)
	}
	w.block(ngEnhancedPacket, body)
	w.pkts = append(w.pkts, w.starts[len(w.starts)-1])
	w.ends = append(w.ends, len(w.b))
}

func (w *ngBuilder) isb(iface int) {
	var body []byte
	body = w.order.AppendUint32(body, uint32(iface))
	body = w.order.AppendUint64(body, 0)
	body = w.option(body, 4, w.order.AppendUint64(nil, 42)) // isb_ifrecv
	body = w.option(body, 0, nil)
	w.block(ngInterfaceStats, body)
}

// ngSample builds a pcapng file of two sections in the given byte orders,
// with three interfaces of different link types and resolutions, an
// interface statistics block, a name resolution block and an unknown block
// between packets. It returns the packets in file order.
func ngSample(first, second binary.AppendByteOrder, n int) (*ngBuilder, []testPkt) {
	pkts := genPackets(n, 7, false)
	lts := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeLinuxSLL2}
	resol := []int{9, 6, 9}
	w := &ngBuilder{order: first}
	w.shb()
	for i := range lts {
		w.idb(lts[i], resol[i])
	}
	for i := range pkts {
		if i == n/2 {
			w.order = second
			w.shb()
			w.idb(layers.LinkTypeRaw, 6)
			w.idb(layers.LinkTypeEthernet, 9)
			lts = []layers.LinkType{layers.LinkTypeRaw, layers.LinkTypeEthernet}
			resol = []int{6, 9}
		}
		if i == 3 {
			w.isb(0)
			var nrb []byte
			nrb = w.option(nrb, 1, append([]byte{192, 0, 2, 1}, "host\x00"...)) // nrb_record_ipv4
			nrb = w.option(nrb, 0, nil)
			w.block(ngNameResolution, nrb)
			w.block(0x00000bad, []byte("custom"))
		}
		p := &pkts[i]
		p.iface = i % len(lts)
		p.lt = lts[p.iface]
		if resol[p.iface] == 6 {
			p.ts = p.ts.Truncate(time.Microsecond)
		}
		w.epb(*p)
	}
	w.isb(1)
	return w, pkts
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll reads a source to its end, copying the packets.
func readAll(src Source) ([]Packet, error) {
	var out []Packet
	for {
		p, err := src.ReadPacket()
		if err != nil {
			return out, err
		}
		p.Data = append([]byte(nil), p.Data...)
		out = append(out, p)
	}
}

func checkPackets(t *testing.T, got []Packet, want []testPkt) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d packets, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !bytes.Equal(g.Data, w.data) || !g.Time.Equal(w.ts) || g.Length != w.orig || g.LinkType != linktype.LinkType(w.lt) {
			t.Fatalf("packet %d: got len %d time %v length %d link %v; want len %d time %v length %d link %v",
				i, len(g.Data), g.Time, g.Length, g.LinkType, len(w.data), w.ts, w.orig, w.lt)
		}
	}
}

// bigPcap writes n packets of realistic sizes (60 to 1514 bytes) in memory.
func bigPcap(n int, ng bool) []byte {
	rng := rand.New(rand.NewPCG(11, 12))
	var buf bytes.Buffer
	data := make([]byte, 1514)
	var pw *pcapgo.Writer
	var nw *pcapgo.NgWriter
	if ng {
		nw, _ = pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
	} else {
		pw = pcapgo.NewWriterNanos(&buf)
		pw.WriteFileHeader(262144, layers.LinkTypeEthernet)
	}
	ts := t0
	for i := 0; i < n; i++ {
		size := 60
		if rng.IntN(2) == 0 {
			size = 1514
		} else if rng.IntN(4) == 0 {
			size = 60 + rng.IntN(1454)
		}
		ts = ts.Add(time.Microsecond)
		ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: size, Length: size}
		if ng {
			nw.WritePacket(ci, data[:size])
		} else {
			pw.WritePacket(ci, data[:size])
		}
	}
	if ng {
		nw.Flush()
	}
	return buf.Bytes()
}
