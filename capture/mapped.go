package capture

import (
	"bufio"
	"math"
	"os"

	"golang.org/x/sys/unix"
)

// A plain (uncompressed) capture file is memory-mapped, pcap and pcapng
// alike, so that its records are read where they lie: no copy of a frame,
// no system call per read buffer. A packet's Data points into the mapping,
// so it stays valid until the source is closed, not only until the next
// read. Anything else (gzip, a FIFO, standard input), or a failed mmap,
// keeps the buffered path.

// mapFile maps a plain file whose header the buffered reader has read, and
// reads on in place from where it stopped.
func (fr *fileReader) mapFile(f *os.File, size int64) {
	if fr.compressed || fr.isPcap && fr.rec.maybeSwapped || size < pcapFileHeaderLen || size > math.MaxInt32*16 {
		return
	}
	pos := fr.offset()
	mm, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return
	}
	unix.Madvise(mm, unix.MADV_SEQUENTIAL)
	fr.mm, fr.pos = mm, int(pos)
	// Records are read in place from now on: the read buffer (up to 1
	// MiB, and a merge holds every file open) is not needed.
	fr.br = bufio.NewReaderSize(nil, 16)
}

// releaseEvery is how much of a mapped file is read before the pages
// behind the reader are handed back: a replay of a 10 GB file should not
// hold 10 GB of resident pages.
const releaseEvery = 64 << 20

// release drops the mapped pages before offset upTo (rounded down to a
// page). A packet that points into them stays valid: the pages are read
// from the file again if it is read.
func (fr *fileReader) release(upTo int) {
	end := upTo &^ (os.Getpagesize() - 1)
	if end > fr.released {
		unix.Madvise(fr.mm[fr.released:end], unix.MADV_DONTNEED)
		fr.released = end
	}
}
