package capture

import (
	"errors"
	"fmt"
	"io"
)

// ErrNotCapture is wrapped by the error for a file that is neither pcap nor
// pcapng (after gzip decompression, if the file is gzip'd).
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// ErrRecordTooLong is wrapped by the warning for a record longer than
// MaxRecord: its first MaxRecord bytes were read and the rest skipped.
var ErrRecordTooLong = fmt.Errorf("longer than the maximum of %d bytes", MaxRecord)

// ErrTimeRange is wrapped by the error for a timestamp that a time value
// cannot hold (before 1970 or after 2262): the detector's clock would wrap.
var ErrTimeRange = errors.New("timestamp out of range")

// errReaderPanic marks a panic inside a format reader, turned into an error:
// a damaged file must never take the sensor down.
var errReaderPanic = errors.New("capture file reader panicked")

// FileError is the error for a damaged, truncated or unrecognised capture
// file. Offset says where the damage is, so the file can be inspected or cut.
type FileError struct {
	Path string
	// Offset is where the record (pcap packet record, pcapng block, file
	// header) that could not be read starts. For a gzip'd file it counts
	// bytes of the uncompressed stream.
	Offset int64
	// Packet is the 1-based number, within this file, of the packet being
	// read; 0 for an error in the file header.
	Packet uint64
	// Record names what was being read: "pcap file header", "packet record",
	// "enhanced packet block", "gzip stream", ...
	Record string
	// Compressed is true for a gzip'd file.
	Compressed bool
	Err        error

	readErr bool // the file itself could not be read (an I/O error)
}

func (e *FileError) Error() string {
	if errors.Is(e.Err, ErrNotCapture) {
		return e.Path + ": " + e.Err.Error()
	}
	where := fmt.Sprintf("at byte offset %d", e.Offset)
	if e.Compressed {
		where += " of the uncompressed stream"
	}
	if e.Packet > 0 {
		where += fmt.Sprintf(" (packet %d)", e.Packet)
	}
	switch {
	case e.readErr:
		return fmt.Sprintf("%s: read error %s: %v", e.Path, where, e.Err)
	case errors.Is(e.Err, ErrRecordTooLong):
		return fmt.Sprintf("%s: %s %s: %v", e.Path, e.Record, where, e.Err)
	case errors.Is(e.Err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("%s: truncated %s %s: %v", e.Path, e.Record, where, e.Err)
	default:
		return fmt.Sprintf("%s: corrupt %s %s: %v", e.Path, e.Record, where, e.Err)
	}
}

func (e *FileError) Unwrap() error { return e.Err }

// errorAt builds the error for a failure reading the record that starts at
// off. If the stream under the format reader failed, and the reader has used
// up every byte before the failure or found the record cut short, the
// stream's error is the cause (a damaged gzip stream, a read error, a FIFO
// read that the context ended).
func (fr *fileReader) errorAt(off int64, record string, err error) error {
	if fr.cr.err != nil && (fr.br.Buffered() == 0 || err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF)) {
		return fr.streamError(off, record, fr.cr.err)
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &FileError{Path: fr.path, Offset: off, Packet: fr.packets + 1, Record: record, Compressed: fr.compressed, Err: err}
}

// headerError is errorAt for the file header, which is no packet's.
func (fr *fileReader) headerError(record string, err error) error {
	var e *FileError
	if errors.As(fr.errorAt(0, record, err), &e) {
		e.Packet = 0
	}
	return e
}

// streamError reports a failure of the stream under the format reader. A
// truncated gzip stream reads like a truncated file: the record being read
// is named. Other errors are named after the stream.
func (fr *fileReader) streamError(off int64, record string, err error) *FileError {
	e := &FileError{Path: fr.path, Offset: off, Packet: fr.packets + 1, Record: record, Compressed: fr.compressed, Err: err}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		e.Offset = fr.offset()
		if fr.compressed {
			e.Record = "gzip stream"
		} else {
			e.readErr = true
		}
	}
	return e
}
