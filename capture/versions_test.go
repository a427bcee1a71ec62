package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/gopacket/gopacket/layers"
)

// TestPcapVersions: the file versions libpcap reads are read (2.0 to 2.4,
// DG/UX's 543.0), with the capture and wire lengths swapped before 2.3 and,
// in 2.3, where the capture length is the larger; other versions are
// refused with the version named.
func TestPcapVersions(t *testing.T) {
	pkts := genPackets(12, 21, true)
	for i := range pkts {
		if i%3 == 0 {
			pkts[i].orig = len(pkts[i].data) // some not cut: equal lengths
		}
	}
	for _, tc := range []struct {
		major, minor uint16
		swap         func(i int) bool // which records have the lengths swapped
		err          string
	}{
		{2, 4, func(int) bool { return false }, ""},
		{2, 0, func(int) bool { return true }, ""},
		{2, 1, func(int) bool { return true }, ""},
		{2, 2, func(int) bool { return true }, ""},
		{2, 3, func(i int) bool { return i%2 == 0 }, ""}, // some writers swapped, some did not
		{543, 0, func(int) bool { return true }, ""},
		{2, 5, nil, "unsupported pcap version 2.5"},
		{1, 0, nil, "unsupported pcap version 1.0"},
		{543, 1, nil, "unsupported pcap version 543.1"},
	} {
		for _, order := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
			b, offs := pcapBytes(order, false, 65535, layers.LinkTypeEthernet, pkts)
			bo := order.(binary.ByteOrder)
			bo.PutUint16(b[4:], tc.major)
			bo.PutUint16(b[6:], tc.minor)
			for i, off := range offs {
				if tc.swap != nil && tc.swap(i) {
					caplen, wire := bo.Uint32(b[off+8:]), bo.Uint32(b[off+12:])
					bo.PutUint32(b[off+8:], wire)
					bo.PutUint32(b[off+12:], caplen)
				}
			}
			path := writeTemp(t, "v.pcap", b)
			for how, open := range map[string]func() (Source, error){
				"file":     func() (Source, error) { return OpenFiles(path) },
				"one-byte": func() (Source, error) { return OpenReader(path, iotest.OneByteReader(bytes.NewReader(b))) },
			} {
				t.Run(fmt.Sprintf("%d.%d/%v/%s", tc.major, tc.minor, order, how), func(t *testing.T) {
					src, err := open()
					if tc.err != "" {
						if err == nil || !strings.HasSuffix(err.Error(), "corrupt pcap file header at byte offset 0: "+tc.err) {
							t.Fatalf("err = %v, want %q", err, tc.err)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					defer src.Close()
					got, err := readAll(src)
					if err != io.EOF {
						t.Fatal(err)
					}
					checkPackets(t, got, pkts)
				})
			}
		}
	}
}

// TestPcapLinkTypeFCS: the upper bits of the header's link type carry the
// FCS length (libpcap's LT_FCS_LENGTH); the link type is the lower 16.
func TestPcapLinkTypeFCS(t *testing.T) {
	pkts := genPackets(3, 22, true)
	b, _ := pcapBytes(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, pkts)
	binary.LittleEndian.PutUint32(b[20:], 1|0x04000000|4<<28)
	src, err := OpenFiles(writeTemp(t, "fcs.pcap", b))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got, _ := readAll(src)
	checkPackets(t, got, pkts)
}
