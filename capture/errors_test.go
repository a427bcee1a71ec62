package capture

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

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
		{"v.pcap", []byte{0xd4, 0xc3, 0xb2, 0xa1, 9, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, "v.pcap: corrupt pcap file header at byte offset 0: unsupported pcap version 9.4"},
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

	// A header that allows anything: the length must not be allocated
	// before the bytes arrive.
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
		// Longer than the snapshot length: libpcap cuts such a record
		// to it, but this one runs past the end of the file.
		{"caplen", hugeCap, 4, offs[4], "truncated packet record at byte offset %d (packet 5): unexpected EOF", true},
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

// FuzzOpenFiles reads arbitrary bytes as a capture file (gzip'd too): no
// panic, only *FileError errors, and a bound on what it allocates, so that
// a small file claiming a huge record or a million interfaces fails the
// fuzzer as it once failed the reader; and NextFrame, where a replay
// reads with it, reads the same as ReadPacket (framesAgree).
func FuzzOpenFiles(f *testing.F) {
	pkts := genPackets(4, 10, true)
	pb, _ := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, pkts)
	pbe, _ := pcapBytes(binary.BigEndian, true, 128, layers.LinkTypeRaw, pkts)
	ngw, _ := ngSample(binary.LittleEndian, binary.BigEndian, 6)
	idbs := ngHead(binary.LittleEndian)
	for range 50 {
		idbs.idb(layers.LinkTypeEthernet, 6)
	}
	big := append(bytes.Clone(ngHead(binary.LittleEndian).b), epbHeader(binary.LittleEndian, 0xfffffffc, 0xfffffffc-32)...)
	for _, seed := range [][]byte{pb, pbe, ngw.b, gzipBytes(pb), gzipBytes(ngw.b), gzipBytes(idbs.b), gzipBytes(big), []byte("hello"), nil} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "fuzz")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		var errs []error
		total, _ := allocatedNoGC(func() {
			o := Opener{MaxJump: time.Minute, Warn: func(err error) {
				var j *ClockJump
				if !errors.As(err, &j) && !errors.Is(err, ErrRecordTooLong) {
					t.Errorf("warning %v (%T)", err, err)
				}
				_ = err.Error()
			}}
			src, err := o.Open(context.Background(), p)
			if err != nil {
				errs = append(errs, err)
				return
			}
			defer src.Close()
			for range 1 << 20 {
				pkt, err := src.ReadPacket()
				if err == io.EOF {
					return
				}
				if err != nil {
					errs = append(errs, err)
					continue
				}
				if pkt.Length < 0 || len(pkt.Data) > MaxRecord {
					t.Fatalf("length %d, %d bytes", pkt.Length, len(pkt.Data))
				}
			}
			t.Fatal("no end")
		})
		// The read buffers, gzip's state, a record and its copy, a
		// section's interfaces: a few MB whatever the file claims.
		if limit := uint64(memoryBound + 4*len(b)); total > limit {
			t.Fatalf("allocated %d bytes reading a %d byte file (limit %d)", total, len(b), limit)
		}
		for _, err := range errs {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v (%T), want *FileError", err, err)
			}
			if errors.Is(err, errReaderPanic) {
				t.Fatal(err)
			}
			_ = fe.Error()
		}
		// A replay reads with NextFrame where it can: the same.
		framesAgree(t, p)
	})
}
