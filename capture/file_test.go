package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
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
		if !bytes.Equal(g.Data, w.data) || !g.Time.Equal(w.ts) || g.Length != w.orig || g.LinkType != w.lt {
			t.Fatalf("packet %d: got len %d time %v length %d link %v; want len %d time %v length %d link %v",
				i, len(g.Data), g.Time, g.Length, g.LinkType, len(w.data), w.ts, w.orig, w.lt)
		}
	}
}

func TestReadPcapVariants(t *testing.T) {
	for _, order := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, nano := range []bool{false, true} {
			for _, gz := range []bool{false, true} {
				name := fmt.Sprintf("%v/nano=%v/gzip=%v", order, nano, gz)
				t.Run(name, func(t *testing.T) {
					pkts := genPackets(50, 1, !nano)
					b, _ := pcapBytes(order, nano, 65535, layers.LinkTypeEthernet, pkts)
					if gz {
						b = gzipBytes(b)
					}
					src, err := OpenFiles(writeTemp(t, "x.cap", b))
					if err != nil {
						t.Fatal(err)
					}
					defer src.Close()
					got, err := readAll(src)
					if err != io.EOF {
						t.Fatalf("err = %v, want io.EOF", err)
					}
					checkPackets(t, got, pkts)
					if s := src.Stats(); s.Received != 50 {
						t.Errorf("Received = %d", s.Received)
					}
					if _, err := src.ReadPacket(); err != io.EOF {
						t.Errorf("read after end: %v", err)
					}
				})
			}
		}
	}
}

// TestReadPcapgoWriter reads files made by pcapgo's own writers.
func TestReadPcapgoWriter(t *testing.T) {
	pkts := genPackets(20, 2, false)
	var pb bytes.Buffer
	pw := pcapgo.NewWriterNanos(&pb)
	pw.WriteFileHeader(262144, layers.LinkTypeEthernet)
	var nb bytes.Buffer
	nw, err := pcapgo.NewNgWriter(&nb, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	rawID, err := nw.AddInterface(pcapgo.NgInterface{LinkType: layers.LinkTypeRaw, TimestampResolution: 9})
	if err != nil {
		t.Fatal(err)
	}
	var ngWant []testPkt
	for i, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: p.ts, CaptureLength: len(p.data), Length: p.orig}
		if err := pw.WritePacket(ci, p.data); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			ci.InterfaceIndex = rawID
			p.lt = layers.LinkTypeRaw
		}
		if err := nw.WritePacket(ci, p.data); err != nil {
			t.Fatal(err)
		}
		ngWant = append(ngWant, p)
	}
	nw.Flush()
	for _, tc := range []struct {
		name string
		b    []byte
		want []testPkt
	}{
		{"pcap", pb.Bytes(), pkts},
		{"pcapng", nb.Bytes(), ngWant},
		{"pcap.gz", gzipBytes(pb.Bytes()), pkts},
		{"pcapng.gz", gzipBytes(nb.Bytes()), ngWant},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := OpenFiles(writeTemp(t, "f", tc.b))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			got, err := readAll(src)
			if err != io.EOF {
				t.Fatal(err)
			}
			checkPackets(t, got, tc.want)
		})
	}
}

func TestReadPcapng(t *testing.T) {
	for _, orders := range [][2]binary.AppendByteOrder{
		{binary.LittleEndian, binary.BigEndian},
		{binary.BigEndian, binary.LittleEndian},
	} {
		for _, gz := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v-%v/gzip=%v", orders[0], orders[1], gz), func(t *testing.T) {
				w, pkts := ngSample(orders[0], orders[1], 40)
				b := w.b
				if gz {
					b = gzipBytes(b)
				}
				src, err := OpenFiles(writeTemp(t, "x.pcapng", b))
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				got, err := readAll(src)
				if err != io.EOF {
					t.Fatalf("err = %v", err)
				}
				checkPackets(t, got, pkts)
			})
		}
	}
}

func TestSequence(t *testing.T) {
	p1 := genPackets(10, 3, true)
	b1, _ := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, p1)
	w2, p2 := ngSample(binary.LittleEndian, binary.BigEndian, 12)
	p3 := genPackets(7, 4, false)
	for i := range p3 {
		p3[i].lt = layers.LinkTypeRaw
	}
	b3, _ := pcapBytes(binary.BigEndian, true, 65535, layers.LinkTypeRaw, p3)
	empty, _ := pcapBytes(binary.LittleEndian, true, 65535, layers.LinkTypeEthernet, nil)
	paths := []string{
		writeTemp(t, "a.pcap", b1),
		writeTemp(t, "b", gzipBytes(w2.b)),
		writeTemp(t, "empty.pcap", empty),
		writeTemp(t, "c.pcap.gz", gzipBytes(b3)),
	}
	src, err := OpenFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got, err := readAll(src)
	if err != io.EOF {
		t.Fatal(err)
	}
	want := append(append(append([]testPkt(nil), p1...), p2...), p3...)
	checkPackets(t, got, want)
	if s := src.Stats(); s.Received != uint64(len(want)) {
		t.Errorf("Received = %d, want %d", s.Received, len(want))
	}
}

func TestLaterFileDamaged(t *testing.T) {
	p1 := genPackets(5, 3, true)
	b1, _ := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, p1)
	src, err := OpenFiles(writeTemp(t, "a.pcap", b1), writeTemp(t, "notes.txt", []byte("hello world\n")))
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(src)
	if len(got) != 5 {
		t.Errorf("got %d packets before the error, want 5", len(got))
	}
	if !errors.Is(err, ErrNotCapture) || !strings.HasSuffix(err.Error(), "notes.txt: not a pcap or pcapng file (magic 0x68656c6c)") {
		t.Errorf("err = %v", err)
	}
	if _, err2 := src.ReadPacket(); err2 != err {
		t.Errorf("error is not sticky: %v", err2)
	}
	if src.Stats().Received != 5 {
		t.Errorf("Received = %d", src.Stats().Received)
	}
	src.Close()
}

func TestOpenErrors(t *testing.T) {
	if _, err := OpenFiles(); err == nil {
		t.Error("no files: no error")
	}
	if _, err := OpenFiles(filepath.Join(t.TempDir(), "missing.pcap")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"x.txt", []byte("hello"), "x.txt: not a pcap or pcapng file (magic 0x68656c6c)"},
		{"e.pcap", nil, "e.pcap: not a pcap or pcapng file (empty file)"},
		{"k.pcap", []byte{0x34, 0xcd, 0xb2, 0xa1, 0, 0}, "k.pcap: not a pcap or pcapng file (magic 0x34cdb2a1 is the modified pcap format, which is not supported)"},
		{"s.pcap", []byte{0xd4, 0xc3}, "s.pcap: truncated file header at byte offset 0: unexpected EOF"},
		{"h.pcap", []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4}, "h.pcap: truncated pcap file header at byte offset 0: unexpected EOF"},
		{"v.pcap", []byte{0xd4, 0xc3, 0xb2, 0xa1, 9, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, "v.pcap: corrupt pcap file header at byte offset 0: Unknown major version 9"},
		{"g.gz", []byte{0x1f, 0x8b, 8}, "g.gz: truncated gzip header at byte offset 0: unexpected EOF"},
		{"t.gz", gzipBytes([]byte("hello world")), "t.gz: not a pcap or pcapng file (magic 0x68656c6c)"},
		{"n.pcapng", []byte{0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 1, 2, 3, 4}, "n.pcapng: corrupt section header block at byte offset 0 (packet 1): bad byte-order magic 0x01020304"},
	} {
		p := filepath.Join(dir, tc.name)
		os.WriteFile(p, tc.b, 0o644)
		_, err := OpenFiles(p)
		var fe *FileError
		if !errors.As(err, &fe) {
			t.Errorf("%s: err = %v (%T), want *FileError", tc.name, err, err)
			continue
		}
		if got := strings.TrimPrefix(err.Error(), dir+"/"); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	pkts := genPackets(30, 5, true)
	b, offs := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, pkts)
	cut := b[:offs[20]+10]
	for _, tc := range []struct {
		name, want string
		b          []byte
	}{
		{"capture.pcap", fmt.Sprintf("capture.pcap: truncated packet record at byte offset %d (packet 21): unexpected EOF", offs[20]), cut},
		{"capture.pcap.gz", fmt.Sprintf("capture.pcap.gz: truncated packet record at byte offset %d of the uncompressed stream (packet 21): unexpected EOF", offs[20]), gzipBytes(cut)},
		// A gzip stream cut short: the packet being read is named.
		{"short.gz", fmt.Sprintf("short.gz: truncated packet record at byte offset %d of the uncompressed stream (packet 31): unexpected EOF", len(b)), gzipBytes(b)[:len(gzipBytes(b))-4]},
	} {
		dir := t.TempDir()
		p := filepath.Join(dir, tc.name)
		os.WriteFile(p, tc.b, 0o644)
		src, err := OpenFiles(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAll(src)
		src.Close()
		var fe *FileError
		if !errors.As(err, &fe) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%s: err = %v", tc.name, err)
		}
		if msg := strings.TrimPrefix(err.Error(), dir+"/"); msg != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, msg, tc.want)
		}
		if int(fe.Packet) != len(got)+1 {
			t.Errorf("%s: Packet = %d after %d packets", tc.name, fe.Packet, len(got))
		}
	}
}

// TestTruncatedEverywhere cuts small files at every byte offset: every
// prefix yields exactly the packets it holds whole, then io.EOF if it ends
// between records, or a *FileError naming the record it cuts.
func TestTruncatedEverywhere(t *testing.T) {
	pkts := genPackets(12, 6, true)
	pb, poffs := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, pkts)
	pcapStarts := append([]int{0}, poffs...) // record 0 is the file header
	ngw, ngPkts := ngSample(binary.BigEndian, binary.LittleEndian, 10)

	type file struct {
		name   string
		b      []byte
		pkts   []testPkt
		starts []int // where each record or block starts
		ends   []int // where each packet ends
	}
	pcapEnds := make([]int, len(poffs))
	for i := range poffs {
		pcapEnds[i] = poffs[i] + 16 + len(pkts[i].data)
	}
	for _, f := range []file{
		{"pcap", pb, pkts, pcapStarts, pcapEnds},
		{"pcapng", ngw.b, ngPkts, ngw.starts, ngw.ends},
	} {
		t.Run(f.name, func(t *testing.T) {
			boundary := map[int]bool{len(f.b): true}
			for _, s := range f.starts[1:] {
				boundary[s] = true
			}
			if f.name == "pcap" {
				boundary[24] = true
			}
			for n := 0; n <= len(f.b); n++ {
				whole := 0
				for whole < len(f.ends) && f.ends[whole] <= n {
					whole++
				}
				var got []Packet
				src, err := OpenReader("cut", bytes.NewReader(f.b[:n]))
				if err == nil {
					got, err = readAll(src)
				}
				checkPackets(t, got, f.pkts[:whole])
				if boundary[n] {
					if err != io.EOF {
						t.Fatalf("prefix %d (a record boundary): err = %v, want io.EOF", n, err)
					}
					continue
				}
				var fe *FileError
				if !errors.As(err, &fe) {
					t.Fatalf("prefix %d: err = %v, want *FileError", n, err)
				}
				start := 0
				for _, s := range f.starts {
					if s < n {
						start = s
					}
				}
				if fe.Offset != int64(start) {
					t.Fatalf("prefix %d: error %v names offset %d, want %d", n, err, fe.Offset, start)
				}
				if n > 0 && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("prefix %d: error %v is not about truncation", n, err)
				}
			}
		})
		t.Run(f.name+".gz", func(t *testing.T) {
			z := gzipBytes(f.b)
			for n := 0; n <= len(z); n++ {
				src, err := OpenReader("cut.gz", bytes.NewReader(z[:n]))
				var got []Packet
				if err == nil {
					got, err = readAll(src)
				}
				if len(got) > len(f.pkts) {
					t.Fatalf("prefix %d: %d packets", n, len(got))
				}
				checkPackets(t, got, f.pkts[:len(got)])
				if n == len(z) {
					if err != io.EOF || len(got) != len(f.pkts) {
						t.Fatalf("whole file: %d packets, %v", len(got), err)
					}
					continue
				}
				var fe *FileError
				if !errors.As(err, &fe) {
					t.Fatalf("prefix %d: err = %v, want *FileError", n, err)
				}
				if fe.Offset > int64(len(f.b)) {
					t.Fatalf("prefix %d: offset %d beyond the file", n, fe.Offset)
				}
			}
		})
	}
}

func TestCorruptLengths(t *testing.T) {
	pkts := genPackets(10, 8, true)
	b, offs := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, pkts)
	hugeCap := bytes.Clone(b)
	binary.LittleEndian.PutUint32(hugeCap[offs[4]+8:], 0xFFFFFFF0)

	// A header that allows anything: pcapgo takes the length, and must not
	// allocate it before the bytes arrive.
	huge2 := bytes.Clone(b)
	binary.LittleEndian.PutUint32(huge2[16:], 0xFFFFFFFF)
	binary.LittleEndian.PutUint32(huge2[offs[4]+8:], 0xFFFFFFF0)
	binary.LittleEndian.PutUint32(huge2[offs[4]+12:], 0xFFFFFFF0)

	ngw, ngPkts := ngSample(binary.LittleEndian, binary.LittleEndian, 10)
	ngCap := bytes.Clone(ngw.b)
	binary.LittleEndian.PutUint32(ngCap[ngw.pkts[4]+20:], 0xFFFFFFF0)
	ngLen := bytes.Clone(ngw.b)
	binary.LittleEndian.PutUint32(ngLen[ngw.pkts[4]+4:], 8)
	ngOpt := bytes.Clone(ngw.b)
	// Find a packet block with an option, and make the option overrun it.
	k := -1
	for i := 3; i < len(ngPkts); i++ {
		if len(ngPkts[i].data)%2 == 0 {
			k = i
			break
		}
	}
	if k < 0 {
		t.Fatal("no packet with options")
	}
	optAt := ngw.pkts[k] + 28 + (len(ngPkts[k].data)+3)&^3
	binary.LittleEndian.PutUint16(ngOpt[optAt+2:], 0x4000)

	for _, tc := range []struct {
		name  string
		b     []byte
		pkts  int
		off   int
		msg   string
		trunc bool
	}{
		{"caplen", hugeCap, 4, offs[4], "corrupt packet record at byte offset %d (packet 5): capture length exceeds snap length: 4294967280 > 65535", false},
		{"caplen-snaplen", huge2, 4, offs[4], "truncated packet record at byte offset %d (packet 5): unexpected EOF", true},
		{"epb-caplen", ngCap, 4, ngw.pkts[4], "corrupt enhanced packet block at byte offset %d (packet 5): capture length 4294967280 exceeds block length", false},
		{"epb-length", ngLen, 4, ngw.pkts[4], "corrupt enhanced packet block at byte offset %d (packet 5): block length 8 is invalid", false},
		{"epb-option", ngOpt, k, ngw.pkts[k], fmt.Sprintf("corrupt enhanced packet block at byte offset %%d (packet %d): option 2 of length 16384 overruns the block", k+1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			src, err := OpenFiles(writeTemp(t, "c", tc.b))
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAll(src)
			src.Close()
			runtime.ReadMemStats(&after)
			if len(got) != tc.pkts {
				t.Errorf("%d packets before the error, want %d", len(got), tc.pkts)
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.Offset != int64(tc.off) {
				t.Fatalf("err = %v, want a *FileError at %d", err, tc.off)
			}
			if want := fmt.Sprintf(tc.msg, tc.off); !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v\nwant it to contain %s", err, want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("allocated %d bytes reading a %d byte file", alloc, len(tc.b))
			}
		})
	}
}

func TestCorruptGzip(t *testing.T) {
	pkts := genPackets(40, 9, true)
	b, _ := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, pkts)
	z := gzipBytes(b)
	z[len(z)-6] ^= 0xff // the CRC
	src, err := OpenFiles(writeTemp(t, "crc.gz", z))
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(src)
	checkPackets(t, got, pkts) // all data arrives before the checksum is checked
	if !errors.Is(err, gzip.ErrChecksum) || !strings.Contains(err.Error(), fmt.Sprintf("corrupt gzip stream at byte offset %d of the uncompressed stream (packet 41)", len(b))) {
		t.Errorf("err = %v", err)
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

func TestZeroAllocs(t *testing.T) {
	for _, ng := range []bool{false, true} {
		t.Run(fmt.Sprintf("pcapng=%v", ng), func(t *testing.T) {
			src, err := OpenFiles(writeTemp(t, "big", bigPcap(100_000, ng)))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			for range 1000 {
				if _, err := src.ReadPacket(); err != nil {
					t.Fatal(err)
				}
			}
			var rerr error
			allocs := testing.AllocsPerRun(50_000, func() {
				if _, err := src.ReadPacket(); err != nil {
					rerr = err
				}
			})
			if rerr != nil {
				t.Fatal(rerr)
			}
			if allocs != 0 {
				t.Errorf("%v allocations per packet, want 0", allocs)
			}
		})
	}
}

func benchRead(b *testing.B, file []byte) {
	p := writeTemp(b, "bench", file)
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	var n uint64
	for b.Loop() {
		src, err := OpenFiles(p)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := src.ReadPacket(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
		n += src.Stats().Received
		src.Close()
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "packets/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/packet")
}

func BenchmarkReadPcap(b *testing.B)     { benchRead(b, bigPcap(200_000, false)) }
func BenchmarkReadPcapng(b *testing.B)   { benchRead(b, bigPcap(200_000, true)) }
func BenchmarkReadPcapGzip(b *testing.B) { benchRead(b, gzipBytes(bigPcap(200_000, false))) }

func FuzzOpenFiles(f *testing.F) {
	pkts := genPackets(4, 10, true)
	pb, _ := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, pkts)
	pbe, _ := pcapBytes(binary.BigEndian, true, 128, layers.LinkTypeRaw, pkts)
	ngw, _ := ngSample(binary.LittleEndian, binary.BigEndian, 6)
	for _, seed := range [][]byte{pb, pbe, ngw.b, gzipBytes(pb), gzipBytes(ngw.b), []byte("hello"), nil} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "fuzz")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := OpenFiles(p)
		if err == nil {
			for {
				var pkt Packet
				pkt, err = src.ReadPacket()
				if err != nil {
					break
				}
				if pkt.Length < 0 {
					t.Fatalf("negative length %d", pkt.Length)
				}
			}
			src.Close()
		}
		if err == io.EOF {
			return
		}
		var fe *FileError
		if !errors.As(err, &fe) {
			t.Fatalf("err = %v (%T), want *FileError", err, err)
		}
		if errors.Is(err, errReaderPanic) {
			t.Fatal(err)
		}
		_ = fe.Error()
	})
}
