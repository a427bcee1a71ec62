package capture

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// frameRead is one step of a read: a frame, or an error.
type frameRead struct {
	data []byte
	t    time.Time
	link layers.LinkType
	err  string
}

// readFrames reads src to its end as the sensor's replay does when frames
// is set (NextFrame first, ReadPacket for what it leaves), else with
// ReadPacket alone.
func readFrames(t *testing.T, src Source, frames bool) (out []frameRead, st Stats) {
	t.Helper()
	fs, _ := src.(Frames)
	for len(out) < 1e6 {
		if frames {
			if d, ts, lt, ok := fs.NextFrame(); ok {
				out = append(out, frameRead{data: bytes.Clone(d), t: ts, link: layers.LinkType(lt)})
				continue
			}
		}
		p, err := src.ReadPacket()
		if errors.Is(err, io.EOF) {
			return out, src.Stats()
		}
		if err != nil {
			out = append(out, frameRead{err: err.Error()})
			continue
		}
		out = append(out, frameRead{data: bytes.Clone(p.Data), t: p.Time, link: layers.LinkType(p.LinkType)})
	}
	t.Fatal("no end")
	return nil, Stats{}
}

// TestNextFrameAgrees reads files, good and damaged, with clock jumps of
// every kind, with NextFrame and ReadPacket as a replay does and with
// ReadPacket alone: the frames (bytes, times, link types), the errors and
// warnings in their order, and the counters must be the same.
func TestNextFrameAgrees(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	files := map[string][]byte{}

	pkts := genPackets(40, 31, true)
	// Clock jumps: ahead (a pause), an outlier, and back for good.
	jumpy := slices.Clone(pkts)
	for i := 10; i < 40; i++ {
		jumpy[i].ts = jumpy[i].ts.Add(time.Hour)
	}
	jumpy[20].ts = jumpy[20].ts.Add(1000 * time.Hour)
	for i := 30; i < 40; i++ {
		jumpy[i].ts = jumpy[i].ts.Add(-3 * time.Hour)
	}
	jumpy[0].ts = jumpy[0].ts.Add(time.Hour) // the first an outlier
	files["le-micro.pcap"], _ = pcapBytes(le, false, 65535, layers.LinkTypeEthernet, pkts)
	files["be-nano.pcap"], _ = pcapBytes(be, true, 65535, layers.LinkTypeRaw, genPackets(30, 32, false))
	files["jumps.pcap"], _ = pcapBytes(le, true, 65535, layers.LinkTypeEthernet, jumpy)
	snapped, offs := pcapBytes(le, false, 100, layers.LinkTypeEthernet, pkts) // records longer than the snap length
	files["snapped.pcap"] = snapped
	files["cut.pcap"] = snapped[:offs[25]+20]
	over := bytes.Clone(snapped) // a capture length past the end of the file
	le.PutUint32(over[offs[39]+8:], uint32(len(over)-offs[39]-15))
	files["bad-over.pcap"] = over
	badLen := bytes.Clone(snapped)
	le.PutUint32(badLen[offs[12]+8:], 1<<30)
	files["bad-length.pcap"] = badLen

	ng, _ := ngSample(le, be, 30)
	files["le-be.pcapng"] = ng.b
	jumpNg := ngHead(be)
	for _, p := range jumpy {
		jumpNg.epb(p)
	}
	files["jumps.pcapng"] = jumpNg.b
	last := len(ng.pkts) - 1
	files["cut.pcapng"] = ng.b[:ng.pkts[last]+30]
	badTrail := bytes.Clone(ng.b)
	le.PutUint32(badTrail[ng.ends[3]-4:], 12)
	files["bad-trailer.pcapng"] = badTrail
	badCaplen := bytes.Clone(ng.b) // a capture length past the block's end
	le.PutUint32(badCaplen[ng.pkts[5]+20:], uint32(ng.ends[5]-ng.pkts[5]-31))
	files["bad-caplen.pcapng"] = badCaplen
	badIface := bytes.Clone(ng.b)
	le.PutUint32(badIface[ng.pkts[4]+8:], 7)
	files["bad-interface.pcapng"] = badIface
	late := bytes.Clone(ng.b)
	be.PutUint32(late[ng.pkts[15]+12:], 0xffffffff)
	files["after-2262.pcapng"] = late
	// Simple packet blocks (at the time of the packet before), and an
	// interface counting milliseconds (not on the fast path).
	mixed := ngHead(le)
	mixed.idb(layers.LinkTypeRaw, 3)
	for i, p := range genPackets(30, 33, true) {
		switch i % 5 {
		case 1:
			p.orig = len(p.data)
			mixed.spb(p)
		case 3:
			p.iface = 1
			mixed.epb(p)
		default:
			mixed.epb(p)
		}
	}
	files["mixed.pcapng"] = mixed.b
	// An option that overruns its block (not the first packet's, which
	// the clock check leaves to ReadPacket).
	badOpt := bytes.Clone(ng.b)
	for i := 1; i < len(ng.pkts); i++ {
		if end := ng.ends[i]; binary.LittleEndian.Uint32(badOpt[end-4:]) != uint32(end-ng.pkts[i]) {
			break // the big-endian section
		}
		if code := le.Uint16(badOpt[ng.ends[i]-16:]); code == 2 {
			le.PutUint16(badOpt[ng.ends[i]-14:], 200) // epb_flags' length
			break
		}
	}
	files["bad-option.pcapng"] = badOpt

	var paths []string
	for name, b := range files {
		paths = append(paths, writeTemp(t, name, b))
	}
	committed, _ := filepath.Glob("../testdata/*.pcap*")
	issue9, _ := filepath.Glob("../testdata/issue9/*.pcap*")
	committed = append(committed, issue9...)
	paths = append(paths, committed...)
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			reads, opened := framesAgree(t, path)
			if !opened {
				t.Skip("Open fails") // the same both ways: Open reads no frame
			}
			if len(reads) == 0 {
				t.Fatal("read nothing")
			}
			if _, made := files[filepath.Base(path)]; made && strings.Contains("bad cut after", strings.Split(filepath.Base(path), "-")[0]) &&
				!slices.ContainsFunc(reads, func(r frameRead) bool { return r.err != "" }) {
				t.Fatal("damage not found") // the test's, not the reader's
			}
		})
	}
}

// framesAgree reads the file at path with NextFrame and ReadPacket as a
// replay does, and with ReadPacket alone, and fails unless the frames, the
// errors, the warnings and the counters are the same. It returns the reads,
// and false if the file does not open.
func framesAgree(t *testing.T, path string) (_ []frameRead, opened bool) {
	t.Helper()
	var warns [2][]string
	var reads [2][]frameRead
	var stats [2]Stats
	for i, frames := range []bool{false, true} {
		o := Opener{MaxJump: time.Minute, Warn: func(err error) { warns[i] = append(warns[i], err.Error()) }}
		src, err := o.Open(context.Background(), path)
		if err != nil {
			return nil, false
		}
		reads[i], stats[i] = readFrames(t, src, frames)
		src.Close()
	}
	for j := range max(len(reads[0]), len(reads[1])) {
		if j >= len(reads[0]) || j >= len(reads[1]) {
			t.Fatalf("%d reads with ReadPacket, %d with NextFrame", len(reads[0]), len(reads[1]))
		}
		a, b := reads[0][j], reads[1][j]
		if !bytes.Equal(a.data, b.data) || !a.t.Equal(b.t) || a.t.Location() != b.t.Location() || a.link != b.link || a.err != b.err {
			t.Fatalf("read %d: ReadPacket %s, NextFrame %s", j, show(a), show(b))
		}
	}
	if !slices.Equal(warns[0], warns[1]) {
		t.Errorf("warnings: ReadPacket %q, NextFrame %q", warns[0], warns[1])
	}
	if stats[0] != stats[1] {
		t.Errorf("stats: ReadPacket %+v, NextFrame %+v", stats[0], stats[1])
	}
	return reads[0], true
}

func show(r frameRead) string {
	if r.err != "" {
		return "error " + r.err
	}
	return fmt.Sprintf("%d bytes at %v link %v", len(r.data), r.t, r.link)
}
