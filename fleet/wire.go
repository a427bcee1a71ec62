package fleet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
)

// The batch encoding, version 1. One NATS message carries one batch: the
// sensor's name once, then the contacts, each a few varints and raw
// addresses. A hand-made binary format rather than JSON or protobuf: JSON
// spends ~150 bytes a contact and a parse per field, protobuf would bring
// a code generator and a runtime for eleven fields; this one is ~15 bytes a
// contact without fingerprint (~30 with), decodes without reflection, and
// its decoder bounds every length before it allocates.
//
//	batch   = magic "sw" | version 1 | nameLen u8 | name | count uvarint | baseTime varint | record*count
//	record  = head u8 | dt varint | wait varint | [scanner 4|16] | target 4|16 | port uvarint
//	          | technique u8 | outcome u8 | [probes uvarint] | [print]
//	print   = flags u8 | ttl u8 | bits u8 | window u16 | mss u16 | ipid u16 | sport u16 | seq u32
//
// dt is the difference to the previous record's time (the first record's to
// baseTime); wait is Time - First, how long the outcome took. The head's bits say which parts are present. Fingerprint
// fields are fixed-width big-endian: they are close to random (IP ID, seq).
const (
	wireVersion = 1

	// MaxBatchBytes bounds one encoded batch (NATS's default max payload is 1 MiB).
	MaxBatchBytes = 512 << 10
	// MaxBatchContacts bounds the contacts of one batch.
	MaxBatchContacts = 8192
	// MaxSensorName bounds a sensor's name.
	MaxSensorName = 64

	minRecordLen = 10 // head, dt, wait, IPv4 target, port, technique, outcome
	printLen     = 15 // flags, ttl, bits, window, mss, ipid, sport, seq
)

const (
	headScannerV6 = 1 << iota
	headTargetV6
	headSameScanner
	headPrint
	headProbes // probes != 1 follow
)

const (
	bitDF = 1 << (iota + 2) // bits 0-1: option class
	bitAckNoFlag
	bitIDMatch
	bitFrag
)

var magic = [2]byte{'s', 'w'}

// Errors of DecodeBatch; all wrap ErrBadBatch.
var ErrBadBatch = errors.New("fleet: bad contact batch")

func badBatch(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadBatch}, a...)...)
}

// ValidSensorName reports whether name can name a sensor: 1 to 64 of
// [A-Za-z0-9_-], so that it is one NATS subject token (credentials then
// allow each sensor only its own subjects).
func ValidSensorName(name string) bool {
	if len(name) == 0 || len(name) > MaxSensorName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// AppendBatch appends the encoding of one batch to dst. Contacts with an
// invalid scanner or target address are an error (the caller filters them).
func AppendBatch(dst []byte, sensor string, cs []Contact) ([]byte, error) {
	if !ValidSensorName(sensor) {
		return dst, fmt.Errorf("fleet: invalid sensor name %q", sensor)
	}
	if len(cs) > MaxBatchContacts {
		return dst, fmt.Errorf("fleet: %d contacts in one batch (max %d)", len(cs), MaxBatchContacts)
	}
	dst = append(dst, magic[0], magic[1], wireVersion, byte(len(sensor)))
	dst = append(dst, sensor...)
	dst = binary.AppendUvarint(dst, uint64(len(cs)))
	var prev int64
	if len(cs) > 0 {
		prev = cs[0].Time
	}
	dst = binary.AppendVarint(dst, prev)
	var last netip.Addr
	for i := range cs {
		c := &cs[i]
		if !c.Scanner.IsValid() || !c.Target.IsValid() {
			return dst, fmt.Errorf("fleet: contact %d has no scanner or target address", i)
		}
		var head byte
		scanner, target := c.Scanner.WithZone(""), c.Target.WithZone("")
		if scanner.Is6() {
			head |= headScannerV6
		}
		if target.Is6() {
			head |= headTargetV6
		}
		if i > 0 && scanner == last {
			head |= headSameScanner
		}
		if c.HasPrint {
			head |= headPrint
		}
		if c.Probes != 1 {
			head |= headProbes
		}
		dst = append(dst, head)
		dst = binary.AppendVarint(dst, c.Time-prev) // wraps on overflow; the decoder wraps back
		dst = binary.AppendVarint(dst, c.Time-c.First)
		prev = c.Time
		if head&headSameScanner == 0 {
			dst = appendAddr(dst, scanner)
		}
		last = scanner
		dst = appendAddr(dst, target)
		dst = binary.AppendUvarint(dst, uint64(c.Port))
		dst = append(dst, byte(c.Technique), byte(c.Outcome))
		if head&headProbes != 0 {
			dst = binary.AppendUvarint(dst, uint64(c.Probes))
		}
		if c.HasPrint {
			dst = appendPrint(dst, &c.Print)
		}
	}
	return dst, nil
}

func appendAddr(dst []byte, a netip.Addr) []byte {
	if a.Is4() {
		b := a.As4()
		return append(dst, b[:]...)
	}
	b := a.As16()
	return append(dst, b[:]...)
}

func appendPrint(dst []byte, p *Fingerprint) []byte {
	bits := byte(p.Options & 3)
	if p.DF {
		bits |= bitDF
	}
	if p.AckNoFlag {
		bits |= bitAckNoFlag
	}
	if p.IDMatch {
		bits |= bitIDMatch
	}
	if p.Frag {
		bits |= bitFrag
	}
	dst = append(dst, p.Flags, p.TTL, bits)
	dst = binary.BigEndian.AppendUint16(dst, p.Window)
	dst = binary.BigEndian.AppendUint16(dst, p.MSS)
	dst = binary.BigEndian.AppendUint16(dst, p.IPID)
	dst = binary.BigEndian.AppendUint16(dst, p.SrcPort)
	return binary.BigEndian.AppendUint32(dst, p.Seq)
}

// reader walks a batch; every read checks the bounds and latches the
// first error, so a hostile message ends in an error, never a panic.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(format string, a ...any) {
	if r.err == nil {
		r.err = badBatch("at byte %d: "+format, append([]any{r.off}, a...)...)
	}
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b)-r.off < n {
		r.fail("truncated")
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) byte() byte {
	if s := r.bytes(1); s != nil {
		return s[0]
	}
	return 0
}

func (r *reader) uvarint(max uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.off += n
	if v > max {
		r.fail("value %d over %d", v, max)
		return 0
	}
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.off += n
	return v
}

func (r *reader) addr(v6 bool) netip.Addr {
	if v6 {
		if s := r.bytes(16); s != nil {
			return netip.AddrFrom16([16]byte(s))
		}
		return netip.Addr{}
	}
	if s := r.bytes(4); s != nil {
		return netip.AddrFrom4([4]byte(s))
	}
	return netip.Addr{}
}

// DecodeBatch decodes one batch into dst[:0] (reused when large enough).
// It accepts bytes from the network: lengths and counts are checked against
// the message before anything is allocated, and any malformed input is an
// error wrapping ErrBadBatch.
func DecodeBatch(data []byte, dst []Contact) (sensor string, cs []Contact, err error) {
	if len(data) > MaxBatchBytes {
		return "", dst[:0], badBatch("%d bytes (max %d)", len(data), MaxBatchBytes)
	}
	r := reader{b: data}
	if m := r.bytes(3); m == nil || m[0] != magic[0] || m[1] != magic[1] {
		return "", dst[:0], badBatch("not a contact batch")
	} else if m[2] != wireVersion {
		return "", dst[:0], badBatch("version %d (want %d)", m[2], wireVersion)
	}
	name := r.bytes(int(r.byte()))
	if r.err == nil && !ValidSensorName(string(name)) {
		r.fail("invalid sensor name %q", name)
	}
	n := r.uvarint(MaxBatchContacts)
	if r.err == nil && n > uint64(len(data)-r.off)/minRecordLen {
		r.fail("%d contacts cannot fit in %d bytes", n, len(data)-r.off)
	}
	t := r.varint()
	if r.err != nil {
		return "", dst[:0], r.err
	}
	sensor = string(name)
	cs = dst[:0]
	if cap(cs) < int(n) {
		cs = make([]Contact, 0, n)
	}
	var last netip.Addr
	for i := uint64(0); i < n && r.err == nil; i++ {
		var c Contact
		head := r.byte()
		if head >= headProbes<<1 {
			r.fail("unknown head bits %#x", head)
			break
		}
		t += r.varint() // two's-complement wrap mirrors the encoder
		c.Time = t
		c.First = t - r.varint()
		if head&headSameScanner != 0 {
			if i == 0 {
				r.fail("first record refers to a previous scanner")
				break
			}
			if last.Is6() != (head&headScannerV6 != 0) {
				r.fail("repeated scanner changes family")
				break
			}
			c.Scanner = last
		} else {
			c.Scanner = r.addr(head&headScannerV6 != 0)
		}
		last = c.Scanner
		c.Target = r.addr(head&headTargetV6 != 0)
		c.Port = uint16(r.uvarint(math.MaxUint16))
		c.Technique = Technique(r.byte())
		c.Outcome = Outcome(r.byte())
		c.Probes = 1
		if head&headProbes != 0 {
			c.Probes = uint32(r.uvarint(math.MaxUint32))
		}
		if head&headPrint != 0 {
			c.HasPrint = true
			c.Print = r.print()
		}
		c.Sensor = sensor
		cs = append(cs, c)
	}
	if r.err == nil && r.off != len(data) {
		r.fail("%d trailing bytes", len(data)-r.off)
	}
	if r.err != nil {
		return "", cs[:0], r.err
	}
	return sensor, cs, nil
}

func (r *reader) print() Fingerprint {
	var p Fingerprint
	s := r.bytes(printLen)
	if s == nil {
		return p
	}
	p.Flags, p.TTL = s[0], s[1]
	bits := s[2]
	if bits >= bitFrag<<1 {
		r.fail("unknown fingerprint bits %#x", bits)
	}
	p.Options = OptionClass(bits & 3)
	p.DF = bits&bitDF != 0
	p.AckNoFlag = bits&bitAckNoFlag != 0
	p.IDMatch = bits&bitIDMatch != 0
	p.Frag = bits&bitFrag != 0
	p.Window = binary.BigEndian.Uint16(s[3:])
	p.MSS = binary.BigEndian.Uint16(s[5:])
	p.IPID = binary.BigEndian.Uint16(s[7:])
	p.SrcPort = binary.BigEndian.Uint16(s[9:])
	p.Seq = binary.BigEndian.Uint32(s[11:])
	return p
}
