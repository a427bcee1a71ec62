package capture

import (
	"io"
	"os"
)

// Progress says how far a source of capture files has read: the bytes of
// the files consumed so far and their total size on disk, for a progress
// line and its time left. A gzip'd file counts its compressed bytes (read
// ahead by at most a buffer). total is -1 for a stream (OpenReader).
//
// It is not safe for concurrent use: call it on the goroutine that reads
// packets (the sensor publishes it with its counters), so that the packet
// loop pays nothing for it.
func (s *fileSource) Progress() (read, total int64) {
	for _, in := range s.inputs {
		if in.index < 0 || in.index >= len(s.names) {
			continue
		}
		fi, err := os.Stat(s.names[in.index])
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		total += fi.Size()
		if in.fr == nil { // read to its end
			read += fi.Size()
		} else {
			read += in.fr.fileOffset()
		}
	}
	if total == 0 {
		return read, -1
	}
	return read, total
}

// fileOffset is how far into its file the reader is.
func (fr *fileReader) fileOffset() int64 {
	switch {
	case fr.mm != nil:
		return int64(fr.pos)
	case !fr.compressed:
		return fr.offset()
	}
	if sk, ok := fr.closer.(io.Seeker); ok {
		if off, err := sk.Seek(0, io.SeekCurrent); err == nil {
			return off
		}
	}
	return 0
}
