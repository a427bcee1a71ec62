package capture

import (
	"errors"
	"io"
	"os"
	"sync/atomic"
)

// OpenFiles returns a Source that reads the given capture files in order, as
// one stream. Each may be pcap (either byte order, micro- or nanosecond
// timestamps) or pcapng (several sections, a link type per interface), and
// each may be gzip-compressed (recognised by its magic bytes, not its name).
//
// The first file is opened and its header read here, and every path is
// checked to exist, so that the common mistakes fail at once; a later file
// that turns out to be damaged fails in ReadPacket, after all packets before
// the damage were delivered. Errors about file contents are *FileError.
func OpenFiles(paths ...string) (Source, error) {
	if len(paths) == 0 {
		return nil, errors.New("no capture files given")
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return nil, err
		}
	}
	s := &fileSource{paths: paths}
	if err := s.openNext(); err != nil {
		return nil, err
	}
	return s, nil
}

// OpenReader returns a Source that reads one capture (pcap or pcapng,
// optionally gzip'd) from r, such as standard input. name is used in errors.
// Closing the Source closes r if it is an io.Closer.
func OpenReader(name string, r io.Reader) (Source, error) {
	fr, err := newFileReader(name, r, -1)
	if err != nil {
		return nil, err
	}
	if c, ok := r.(io.Closer); ok {
		fr.closer = c
	}
	return &fileSource{cur: fr, name: name}, nil
}

// fileSource reads a list of files one after the other.
type fileSource struct {
	paths    []string
	next     int // index in paths of the next file to open
	cur      *fileReader
	name     string // the file the last packet came from
	received atomic.Uint64
	err      error // sticky: io.EOF at the end, or the first error
}

func (s *fileSource) openNext() error {
	path := s.paths[s.next]
	s.next++
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	fr, err := newFileReader(path, f, size)
	if err != nil {
		f.Close()
		return err
	}
	fr.closer = f
	fr.mapPcap(f, size)
	s.cur, s.name = fr, path
	return nil
}

// File names the capture file the last packet came from (the last file
// opened, once the source is exhausted): what EVE records call
// pcap_filename.
func (s *fileSource) File() string { return s.name }

// ReadPacket returns the next packet. Its Data is valid until the next call.
func (s *fileSource) ReadPacket() (Packet, error) {
	if fr := s.cur; fr != nil && fr.mm != nil {
		// The hot path of a replay: the next record of a mapped pcap file.
		if p, ok := fr.readMapped(); ok {
			s.received.Add(1)
			return p, nil
		}
	}
	for s.err == nil {
		if s.cur == nil {
			if s.next >= len(s.paths) {
				s.err = io.EOF
				break
			}
			if err := s.openNext(); err != nil {
				s.err = err
				break
			}
		}
		p, err := s.cur.read()
		if err == nil {
			s.received.Add(1)
			return p, nil
		}
		if err != io.EOF {
			s.err = err
			break
		}
		s.cur.close()
		s.cur = nil
	}
	return Packet{}, s.err
}

func (s *fileSource) Stats() Stats {
	return Stats{Received: s.received.Load()}
}

// Close closes the file being read. Later reads return an error.
func (s *fileSource) Close() error {
	var err error
	if s.cur != nil {
		err = s.cur.close()
		s.cur = nil
	}
	if s.err == nil || s.err == io.EOF {
		s.err = errors.New("capture source closed")
	}
	return err
}
