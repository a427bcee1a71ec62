package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

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
// packets, the warnings and the error must be the same, as all three check
// records with checkRecord.
func TestPcapPathsAgree(t *testing.T) {
	pkts := genPackets(8, 12, true)
	le := binary.LittleEndian
	good, offs := pcapBytes(le, false, 65535, layers.LinkTypeEthernet, pkts)
	// A record longer than MaxRecord in a file without a snapshot length:
	// cut to MaxRecord, the rest skipped, a warning.
	bigPkts := append(genPackets(2, 13, true), testPkt{data: make([]byte, 3<<20), ts: t0.Add(time.Second), orig: 3 << 20, lt: layers.LinkTypeEthernet})
	bigPkts[2].data[MaxRecord-1], bigPkts[2].data[MaxRecord] = 1, 2
	bigPkts = append(bigPkts, genPackets(1, 14, true)[0])
	bigPkts[3].ts = t0.Add(2 * time.Second)
	big, bigOffs := pcapBytes(binary.BigEndian, true, 0, layers.LinkTypeEthernet, bigPkts)
	bigWant := slices.Clone(bigPkts)
	bigWant[2].data = bigWant[2].data[:MaxRecord]
	// Records longer than the snapshot length the header gives (some
	// writers do not cut to it): cut to it, as libpcap does, silently.
	over, _ := pcapBytes(le, false, 100, layers.LinkTypeEthernet, pkts)
	overWant := slices.Clone(pkts)
	for i := range overWant {
		overWant[i].data = overWant[i].data[:min(100, len(overWant[i].data))]
	}
	pastEnd := bytes.Clone(good)
	le.PutUint32(pastEnd[offs[7]+8:], uint32(len(pkts[7].data)+1))
	noSnap, _ := pcapBytes(le, false, 0, layers.LinkTypeEthernet, pkts)
	huge := bytes.Clone(noSnap)
	le.PutUint32(huge[offs[5]+8:], MaxRecord+1)

	readEveryPath(t, ".pcap", []pathCase{
		{"good", good, pkts, "", ""},
		{"big-record", big, bigWant, fmt.Sprintf("packet record at byte offset %d (packet 3): longer than the maximum of 262144 bytes: capture length 3145728, the first 262144 bytes read, the rest skipped", bigOffs[2]), ""},
		{"over-snaplen", over, overWant, "", ""},
		{"cut-in-header", good[:offs[6]+5], pkts[:6], "", fmt.Sprintf("truncated packet record at byte offset %d (packet 7): unexpected EOF", offs[6])},
		{"cut-in-data", good[:offs[6]+17], pkts[:6], "", fmt.Sprintf("truncated packet record at byte offset %d (packet 7): unexpected EOF", offs[6])},
		{"past-the-end", pastEnd, pkts[:7], "", fmt.Sprintf("truncated packet record at byte offset %d (packet 8): unexpected EOF", offs[7])},
		{"huge-caplen", huge, pkts[:5], "", fmt.Sprintf("truncated packet record at byte offset %d (packet 6): unexpected EOF", offs[5])},
	}, func(t *testing.T, src Source, warns []string) {
		if n := src.Stats().RecordsCut; n != uint64(len(warns)) {
			t.Errorf("RecordsCut = %d", n)
		}
	})
}
