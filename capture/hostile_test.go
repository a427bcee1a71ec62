package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Hostile capture files, made on the fly and small on disk, that once made
// the reader hold gigabytes: each must be read within a few MB.

// allocated runs f and returns the bytes it allocated (TotalAlloc delta)
// and how much the heap in use grew by the end.
func allocated(f func()) (total uint64, heapGrowth int64) {
	runtime.GC()
	return allocatedNoGC(f)
}

// allocatedNoGC is allocated without the collection first (the fuzzer's
// pace): the heap growth then means little.
func allocatedNoGC(f func()) (total uint64, heapGrowth int64) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, int64(after.HeapInuse) - int64(before.HeapInuse)
}

// memoryBound is what reading one file may allocate: the read buffers
// (1 MiB + 64 KiB), gzip's state, one record of MaxRecord and its copy,
// the interfaces of a section, with room to spare.
const memoryBound = 5 << 20

// gzipStream writes a gzip stream of head, then n zero bytes, then tail,
// without holding the zeros.
func gzipStream(head []byte, n int64, tail []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Write(head)
	zeros := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, int64(len(zeros)))
		zw.Write(zeros[:k])
		n -= k
	}
	zw.Write(tail)
	zw.Close()
	return buf.Bytes()
}

// readHostile reads a file to its end, under a memory bound, and returns
// the packets, the warnings and the last error.
func readHostile(t *testing.T, name string, b []byte) (pkts []Packet, warns []error, err error) {
	t.Helper()
	path := writeTemp(t, name, b)
	total, growth := allocated(func() {
		o := Opener{MaxJump: time.Minute, Warn: func(e error) { warns = append(warns, e) }}
		var src Source
		src, err = o.Open(t.Context(), path)
		if err != nil {
			return
		}
		defer src.Close()
		for {
			var p Packet
			p, err = src.ReadPacket()
			if err != nil {
				break
			}
			pkts = append(pkts, Packet{Time: p.Time, Length: p.Length, Data: p.Data[:0:0], LinkType: p.LinkType})
			if len(pkts) > 1000 {
				t.Fatal("too many packets")
			}
		}
	})
	t.Logf("%s (%d bytes on disk): allocated %d bytes, heap in use %+d", name, len(b), total, growth)
	if total > memoryBound || growth > memoryBound {
		t.Errorf("%s: allocated %d bytes, heap grew %d: over the bound of %d", name, total, growth, memoryBound)
	}
	return pkts, warns, err
}

// ngHead is a pcapng section header and one Ethernet interface.
func ngHead(order binary.AppendByteOrder) *ngBuilder {
	w := &ngBuilder{order: order}
	w.shb()
	w.idb(layers.LinkTypeEthernet, 6)
	return w
}

// epbHeader is the start of an enhanced packet block of the given total
// length and capture length, for interface 0 at t0.
func epbHeader(order binary.AppendByteOrder, length, caplen uint32) []byte {
	us := uint64(t0.UnixMicro())
	var b []byte
	b = order.AppendUint32(b, ngEnhancedPacket)
	b = order.AppendUint32(b, length)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, uint32(us>>32))
	b = order.AppendUint32(b, uint32(us))
	b = order.AppendUint32(b, caplen)
	return order.AppendUint32(b, caplen)
}

// TestHostileBigBlock: an enhanced packet block claiming 4 GiB (the file
// ends long before), and one that really holds 64 MiB followed by a normal
// packet: the first MaxRecord bytes are read, the rest skipped with a
// warning naming the offset, and memory stays bounded.
func TestHostileBigBlock(t *testing.T) {
	le := binary.LittleEndian
	w := ngHead(le)
	claimed := append(bytes.Clone(w.b), epbHeader(le, 0xfffffffc, 0xfffffffc-32)...)
	_, _, err := readHostile(t, "claims-4GiB.pcapng.gz", gzipStream(claimed, 8<<20, nil))
	var fe *FileError
	if !errors.As(err, &fe) || !errors.Is(err, io.ErrUnexpectedEOF) || fe.Offset != int64(len(w.b)) {
		t.Errorf("err = %v, want a truncated enhanced packet block at %d", err, len(w.b))
	}

	const size = 64 << 20
	head := append(bytes.Clone(w.b), epbHeader(le, size+32, size)...)
	after := ngHead(le)
	after.b = nil
	after.epb(testPkt{data: []byte("after the big one"), ts: t0.Add(time.Millisecond), orig: 17})
	tail := append(le.AppendUint32(nil, size+32), after.b...)
	for _, gz := range []bool{true, false} {
		var b []byte
		if gz {
			b = gzipStream(head, size, tail)
		} else {
			b = append(append(bytes.Clone(head), make([]byte, size)...), tail...)
		}
		pkts, warns, err := readHostile(t, fmt.Sprintf("64MiB-gz=%v", gz), b)
		if err != io.EOF || len(pkts) != 2 {
			t.Fatalf("%d packets, err %v", len(pkts), err)
		}
		if pkts[0].Length != size || len(warns) != 1 || !errors.Is(warns[0], ErrRecordTooLong) ||
			!strings.Contains(warns[0].Error(), fmt.Sprintf("enhanced packet block at byte offset %d", len(w.b))) {
			t.Errorf("first packet length %d, warnings %v", pkts[0].Length, warns)
		}
		if pkts[1].Length != 17 {
			t.Errorf("second packet: %+v", pkts[1])
		}
	}
}

// TestHostileInterfaces: a 48 KB gzip'd file of a million interface blocks
// stops at the bound on interfaces, with the offset of the one too many.
func TestHostileInterfaces(t *testing.T) {
	le := binary.LittleEndian
	w := ngHead(le)
	w.b = w.b[:w.starts[1]] // the section header alone
	idb := &ngBuilder{order: le}
	idb.block(ngInterface, le.AppendUint32(le.AppendUint16(nil, uint16(layers.LinkTypeEthernet)), 0)[:8])
	many := bytes.Repeat(idb.b, 1_000_000)
	b := gzipStream(append(w.b, many...), 0, nil)
	_, _, err := readHostile(t, "million-interfaces.pcapng.gz", b)
	var fe *FileError
	if !errors.As(err, &fe) || fe.Offset != int64(len(w.b)+maxInterfaces*len(idb.b)) ||
		!strings.Contains(err.Error(), "more than 65536 interfaces") {
		t.Errorf("err = %v", err)
	}
}

// TestHostileTimestamps: a timestamp that a time value cannot hold (after
// 2262, or before 1970 through if_tsoffset) is an error naming the block,
// never a packet dated 1970.
func TestHostileTimestamps(t *testing.T) {
	le := binary.LittleEndian
	for _, tc := range []struct {
		name   string
		ts     uint64 // microseconds
		offset int64
	}{
		{"year-584556", 1<<64 - 1, 0},
		{"just-past-2262", (maxUnixSeconds + 1) * 1e6, 0},
		{"offset-past-2262", 0, 1 << 62},
		{"offset-before-1970", 0, -1 << 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &ngBuilder{order: le}
			w.shb()
			var body []byte
			body = le.AppendUint16(body, uint16(layers.LinkTypeEthernet))
			body = le.AppendUint16(body, 0)
			body = le.AppendUint32(body, 0)
			body = w.option(body, ngOptionTSOffset, le.AppendUint64(nil, uint64(tc.offset)))
			body = w.option(body, 0, nil)
			w.block(ngInterface, body)
			w.ifaces = append(w.ifaces, 6)
			w.epb(testPkt{data: []byte{1, 2, 3}, ts: t0, orig: 3})
			at := w.pkts[0]
			if tc.ts != 0 {
				le.PutUint32(w.b[at+12:], uint32(tc.ts>>32))
				le.PutUint32(w.b[at+16:], uint32(tc.ts))
			}
			pkts, _, err := readHostile(t, "ts.pcapng", w.b)
			if len(pkts) != 0 || !errors.Is(err, ErrTimeRange) || !strings.Contains(err.Error(), fmt.Sprintf("enhanced packet block at byte offset %d", at)) {
				t.Errorf("%d packets, err = %v", len(pkts), err)
			}
		})
	}
}
