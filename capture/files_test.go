package capture

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// TestMergeByTime: files given in any order read as one stream in packet
// time (mergecap's k-way merge), whatever their format; equal times keep
// the order the files were given in.
func TestMergeByTime(t *testing.T) {
	p1 := genPackets(10, 3, true)
	b1, _ := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, p1)
	w2, p2 := ngSample(binary.LittleEndian, binary.BigEndian, 12)
	p3 := genPackets(7, 4, false)
	for i := range p3 {
		p3[i].lt = layers.LinkTypeRaw
	}
	p3[0].ts = p1[4].ts // a tie: the file given first comes first
	slices.SortStableFunc(p3, func(a, b testPkt) int { return a.ts.Compare(b.ts) })
	b3, _ := pcapBytes(binary.BigEndian, true, 65535, layers.LinkTypeRaw, p3)
	// An older capture, given last: it is read first.
	p4 := genPackets(5, 5, true)
	for i := range p4 {
		p4[i].ts = p4[i].ts.Add(-time.Hour)
	}
	b4, _ := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, p4)
	empty, _ := pcapBytes(binary.LittleEndian, true, 65535, layers.LinkTypeEthernet, nil)
	paths := []string{
		writeTemp(t, "a.pcap", b1),
		writeTemp(t, "b", gzipBytes(w2.b)),
		writeTemp(t, "empty.pcap", empty),
		writeTemp(t, "c.pcap.gz", gzipBytes(b3)),
		writeTemp(t, "d.pcap", b4),
	}
	type tagged struct {
		testPkt
		file int
	}
	var all []tagged
	for i, ps := range [][]testPkt{p1, p2, nil, p3, p4} {
		for _, p := range ps {
			all = append(all, tagged{p, i})
		}
	}
	slices.SortStableFunc(all, func(a, b tagged) int {
		return cmp.Or(a.ts.Compare(b.ts), cmp.Compare(a.file, b.file))
	})
	src, err := OpenFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var got []Packet
	var files []int
	for {
		p, err := src.ReadPacket()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p.Data = slices.Clone(p.Data)
		got = append(got, p)
		files = append(files, src.(Files).Current())
	}
	want := make([]testPkt, len(all))
	for i, a := range all {
		want[i] = a.testPkt
		if files[i] != a.file {
			t.Fatalf("packet %d from file %d, want %d", i, files[i], a.file)
		}
	}
	checkPackets(t, got, want)
	if s := src.Stats(); s.Received != uint64(len(want)) {
		t.Errorf("Received = %d, want %d", s.Received, len(want))
	}
	if names := src.(Files).Names(); !slices.Equal(names, paths) {
		t.Errorf("Names = %v", names)
	}
}

// TestBadFilesAmongOthers: a missing, unreadable or damaged file among
// several is an error from ReadPacket, and the other files read on to
// their end; io.EOF comes last.
func TestBadFilesAmongOthers(t *testing.T) {
	p1 := genPackets(5, 3, true)
	b1, _ := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, p1)
	p2 := genPackets(6, 4, true)
	for i := range p2 {
		p2[i].ts = p2[i].ts.Add(time.Minute)
	}
	b2, offs2 := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, p2)
	dir := t.TempDir()
	paths := []string{
		writeTemp(t, "a.pcap", b1),
		writeTemp(t, "notes.txt", []byte("hello world\n")),
		filepath.Join(dir, "missing.pcap"),
		writeTemp(t, "cut.pcap", b2[:offs2[3]+20]),
	}
	src, err := OpenFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var errs []string
	var got []Packet
	for {
		p, err := src.ReadPacket()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, err.Error())
			if len(errs) > 10 {
				t.Fatal("errors do not end")
			}
			continue
		}
		p.Data = slices.Clone(p.Data)
		got = append(got, p)
	}
	checkPackets(t, got, append(slices.Clone(p1), p2[:3]...))
	if len(errs) != 3 ||
		!strings.HasSuffix(errs[0], "notes.txt: not a pcap or pcapng file (magic 0x68656c6c)") ||
		!strings.Contains(errs[1], "missing.pcap: no such file or directory") ||
		!strings.HasSuffix(errs[2], fmt.Sprintf("cut.pcap: truncated packet record at byte offset %d (packet 4): unexpected EOF", offs2[3])) {
		t.Errorf("errors:\n%s", strings.Join(errs, "\n"))
	}
	if _, err := src.ReadPacket(); err != io.EOF {
		t.Errorf("after the end: %v", err)
	}
}

// TestOneFileErrors: a single file that cannot be opened is Open's error
// (before any output); one that fails later ends the source with its error,
// then io.EOF.
func TestOneFileErrors(t *testing.T) {
	if _, err := OpenFiles(filepath.Join(t.TempDir(), "missing.pcap")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	p1 := genPackets(5, 3, true)
	b1, offs := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, p1)
	src, err := Opener{MaxJump: time.Minute}.Open(context.Background(), writeTemp(t, "cut.pcap", b1[:offs[4]+3]))
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(src)
	checkPackets(t, got, p1[:4])
	var fe *FileError
	if !errors.As(err, &fe) || fe.Packet != 5 {
		t.Errorf("err = %v", err)
	}
	if _, err := src.ReadPacket(); err != io.EOF {
		t.Errorf("after the error: %v", err)
	}
	src.Close()
	if _, err := src.ReadPacket(); err == nil || err == io.EOF {
		t.Errorf("after Close: %v", err)
	}
}
