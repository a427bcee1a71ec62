package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// spb appends a simple packet block of p (interface 0, no time: it reads
// at the time of the packet before it).
func (w *ngBuilder) spb(p testPkt) {
	body := w.order.AppendUint32(nil, uint32(p.orig))
	w.block(ngSimplePacket, append(body, p.data...))
	w.pkts = append(w.pkts, w.starts[len(w.starts)-1])
	w.ends = append(w.ends, len(w.b))
}

// TestNgPathsAgree reads the same pcapng files, good and damaged, through
// the memory-mapped path (a file), the buffered path (a stream) and the
// buffered path fed one byte per read (blocks arrive in pieces): the
// packets, the warnings and the error must be the same, as all three check
// blocks with checkBlock, ngWhole, ngPacket and ngBig.
func TestNgPathsAgree(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	// Two sections in opposite byte orders, with different interfaces
	// and resolutions, and blocks that are not packets in between.
	leBe, leBePkts := ngSample(le, be, 30)
	beLe, beLePkts := ngSample(be, le, 30)

	// Simple packet blocks among enhanced ones, in a big-endian file
	// whose interface keeps 100 bytes of a packet.
	spb := &ngBuilder{order: be}
	spb.shb()
	var idb []byte
	idb = be.AppendUint16(idb, uint16(layers.LinkTypeEthernet))
	idb = be.AppendUint16(idb, 0)
	idb = be.AppendUint32(idb, 100) // snaplen
	spb.block(ngInterface, idb)
	spb.ifaces = append(spb.ifaces, 6)
	var spbWant []testPkt
	for i, p := range genPackets(12, 21, true) {
		if i%3 == 1 {
			// No capture length: the data up to the block's end
			// (padding too) unless the wire length is less.
			p.orig = len(p.data)
			spb.spb(p)
			p.ts = spbWant[len(spbWant)-1].ts
		} else {
			spb.epb(p)
		}
		p.data = p.data[:min(100, len(p.data))]
		spbWant = append(spbWant, p)
	}

	// A packet block of 3 MiB, longer than any block read whole: its
	// first MaxRecord bytes, a warning, then the packet after it.
	huge := ngHead(le)
	hugePkts := genPackets(3, 22, true)
	hugePkts[1] = testPkt{data: make([]byte, 3<<20), ts: hugePkts[0].ts.Add(time.Millisecond), orig: 3 << 20, lt: layers.LinkTypeEthernet}
	hugePkts[1].data[MaxRecord-1], hugePkts[1].data[MaxRecord] = 1, 2
	hugePkts[2].ts = hugePkts[1].ts.Add(time.Millisecond)
	for _, p := range hugePkts {
		huge.epb(p)
	}
	hugeWant := slices.Clone(hugePkts)
	hugeWant[1].data = hugeWant[1].data[:MaxRecord]
	// The same file (longer than the read buffer) with an interface
	// block after the big one that claims 2 MiB: damage.
	bigIDB := bytes.Clone(huge.b[:huge.ends[1]])
	bigIDB = le.AppendUint32(bigIDB, ngInterface)
	bigIDB = le.AppendUint32(bigIDB, 2<<20)
	bigIDB = append(bigIDB, make([]byte, 2<<20)...)
	// An enhanced packet block claiming 4 GiB at the end of the file.
	claims := append(bytes.Clone(leBe.b[:leBe.ends[5]]), epbHeader(le, 0xfffffffc, 0xfffffffc-32)...)
	// The length of the last block cut short: the file ends inside it.
	last := len(leBe.pkts) - 1
	cutData := leBe.b[:leBe.pkts[last]+30]
	cutHead := leBe.b[:leBe.pkts[last]+6]
	// An enhanced packet block whose trailing length disagrees.
	badTrail := bytes.Clone(leBe.b)
	le.PutUint32(badTrail[leBe.ends[3]-4:], 12)
	// A packet of an interface the section does not have.
	badIface := bytes.Clone(leBe.b)
	le.PutUint32(badIface[leBe.pkts[4]+8:], 7)
	// The first packet of the big-endian section after 2262.
	late := bytes.Clone(leBe.b)
	be.PutUint32(late[leBe.pkts[15]+12:], 0xffffffff)

	readEveryPath(t, ".pcapng", []pathCase{
		{"le-then-be", leBe.b, leBePkts, "", ""},
		{"be-then-le", beLe.b, beLePkts, "", ""},
		{"simple-packet-blocks", spb.b, spbWant, "", ""},
		{"huge-block", huge.b, hugeWant, fmt.Sprintf("enhanced packet block at byte offset %d (packet 2): longer than the maximum of 262144 bytes: capture length 3145728, the first 262144 bytes read, the rest skipped", huge.pkts[1]), ""},
		{"huge-interface-block", bigIDB, hugeWant[:2], fmt.Sprintf("enhanced packet block at byte offset %d (packet 2): longer than the maximum of 262144 bytes: capture length 3145728, the first 262144 bytes read, the rest skipped", huge.pkts[1]),
			fmt.Sprintf("corrupt interface description block at byte offset %d (packet 3): block length 2097152 exceeds the limit of 1048576", huge.ends[1])},
		{"claims-4GiB", claims, leBePkts[:6], "", fmt.Sprintf("truncated enhanced packet block at byte offset %d (packet 7): unexpected EOF", leBe.ends[5])},
		{"cut-in-data", cutData, leBePkts[:last], "", fmt.Sprintf("truncated enhanced packet block at byte offset %d (packet %d): unexpected EOF", leBe.pkts[last], last+1)},
		{"cut-in-head", cutHead, leBePkts[:last], "", fmt.Sprintf("truncated enhanced packet block at byte offset %d (packet %d): unexpected EOF", leBe.pkts[last], last+1)},
		{"cut-in-type", leBe.b[:leBe.pkts[last]+3], leBePkts[:last], "", fmt.Sprintf("truncated block at byte offset %d (packet %d): unexpected EOF", leBe.pkts[last], last+1)},
		{"bad-trailer", badTrail, leBePkts[:3], "", fmt.Sprintf("corrupt enhanced packet block at byte offset %d (packet 4): trailing block length 12 does not match block length %d", leBe.pkts[3], leBe.ends[3]-leBe.pkts[3])},
		{"bad-interface", badIface, leBePkts[:4], "", fmt.Sprintf("corrupt enhanced packet block at byte offset %d (packet 5): interface 7 is not in the section (it has 3)", leBe.pkts[4])},
		{"after-2262", late, leBePkts[:15], "", fmt.Sprintf("corrupt enhanced packet block at byte offset %d (packet 16): timestamp out of range: 18446744070038922467 units of 1/1000000000 s, offset 0 s", leBe.pkts[15])},
	}, nil)
}

// TestNgMappedDataStays: the packets of a mapped pcapng file point into the
// mapping, so they stay as read until the file ends (the read that returns
// io.EOF unmaps it) or the source is closed, not only until the next read:
// what a reader on another goroutine may rely on.
func TestNgMappedDataStays(t *testing.T) {
	w, want := ngSample(binary.LittleEndian, binary.BigEndian, 40)
	src, err := OpenFiles(writeTemp(t, "stays.pcapng", w.b))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var got []Packet
	for range want {
		p, err := src.ReadPacket()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p) // not copied
	}
	checkPackets(t, got, want)
	if _, err := src.ReadPacket(); err != io.EOF {
		t.Fatalf("err = %v, want io.EOF", err)
	}
}
