package capture

import (
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

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
