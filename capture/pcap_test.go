package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"testing"
	"testing/iotest"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

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

// TestPcapPathsAgree reads the same pcap files, good and damaged, through
// the memory-mapped path (a file), the buffered path (a stream) and the
// buffered path fed one byte per read (so records arrive in pieces): the
// packets and the error must be the same, as all three check records with
// checkRecord.
func TestPcapPathsAgree(t *testing.T) {
	pkts := genPackets(8, 12, true)
	le := binary.LittleEndian
	good, offs := pcapBytes(le, false, 65535, layers.LinkTypeEthernet, pkts)
	bigPkts := append(genPackets(2, 13, true), testPkt{data: make([]byte, 3<<20), ts: t0, orig: 3 << 20, lt: layers.LinkTypeEthernet})
	big, _ := pcapBytes(binary.BigEndian, true, 0, layers.LinkTypeEthernet, bigPkts)
	overSnap := bytes.Clone(good)
	le.PutUint32(overSnap[offs[3]+8:], 65536)
	pastEnd := bytes.Clone(good)
	le.PutUint32(pastEnd[offs[7]+8:], uint32(len(pkts[7].data)+1))
	noSnap, _ := pcapBytes(le, false, 0, layers.LinkTypeEthernet, pkts)
	huge := bytes.Clone(noSnap)
	le.PutUint32(huge[offs[5]+8:], maxRecord+1)

	for _, tc := range []struct {
		name  string
		b     []byte
		pkts  int    // packets read before the error or the end
		error string // "" for io.EOF
	}{
		{"good", good, 8, ""},
		{"big-record", big, 3, ""},
		{"cut-in-header", good[:offs[6]+5], 6, fmt.Sprintf("truncated packet record at byte offset %d (packet 7): unexpected EOF", offs[6])},
		{"cut-in-data", good[:offs[6]+17], 6, fmt.Sprintf("truncated packet record at byte offset %d (packet 7): unexpected EOF", offs[6])},
		{"over-snaplen", overSnap, 3, fmt.Sprintf("corrupt packet record at byte offset %d (packet 4): capture length exceeds snap length: 65536 > 65535", offs[3])},
		{"past-the-end", pastEnd, 7, fmt.Sprintf("truncated packet record at byte offset %d (packet 8): unexpected EOF", offs[7])},
		{"huge-caplen", huge, 5, fmt.Sprintf("truncated packet record at byte offset %d (packet 6): unexpected EOF", offs[5])},
	} {
		path := writeTemp(t, tc.name+".pcap", tc.b)
		open := map[string]func() (Source, error){
			"mapped":   func() (Source, error) { return OpenFiles(path) },
			"buffered": func() (Source, error) { return OpenReader(path, bytes.NewReader(tc.b)) },
			"one-byte": func() (Source, error) { return OpenReader(path, iotest.OneByteReader(bytes.NewReader(tc.b))) },
		}
		for how, open := range open {
			t.Run(tc.name+"/"+how, func(t *testing.T) {
				src, err := open()
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				if how == "mapped" && src.(*fileSource).cur.mm == nil {
					t.Fatal("the file is not memory-mapped")
				}
				got, err := readAll(src)
				if len(got) != tc.pkts {
					t.Errorf("%d packets, want %d", len(got), tc.pkts)
				}
				if tc.name == "big-record" {
					checkPackets(t, got, bigPkts)
				} else {
					checkPackets(t, got, pkts[:len(got)])
				}
				switch {
				case tc.error == "" && err != io.EOF:
					t.Errorf("err = %v, want io.EOF", err)
				case tc.error != "" && (err == nil || err.Error() != path+": "+tc.error):
					t.Errorf("err = %v\nwant %s: %s", err, path, tc.error)
				}
			})
		}
	}
}
