package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
)

func TestReadPcapng(t *testing.T) {
	for _, orders := range [][2]binary.AppendByteOrder{
		{binary.LittleEndian, binary.BigEndian},
		{binary.BigEndian, binary.LittleEndian},
	} {
		for _, gz := range []bool{false, true} {
			// A file, and a stream that arrives one byte per read.
			for _, oneByte := range []bool{false, true} {
				t.Run(fmt.Sprintf("%v-%v/gzip=%v/one-byte=%v", orders[0], orders[1], gz, oneByte), func(t *testing.T) {
					w, pkts := ngSample(orders[0], orders[1], 40)
					b := w.b
					if gz {
						b = gzipBytes(b)
					}
					var src Source
					var err error
					if oneByte {
						src, err = OpenReader("x.pcapng", iotest.OneByteReader(bytes.NewReader(b)))
					} else {
						src, err = OpenFiles(writeTemp(t, "x.pcapng", b))
					}
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
}
