package detector

import (
	"math/bits"
	"strconv"
	"strings"
)

// portSet is an exact set of 16-bit values (ports, or IP protocol numbers).
// Small sets are a slice; past smallMax it switches to a 8 KiB bitmap, so
// a full 65535-port scan costs 8 KiB per target, and a horizontal scan of
// one port over many hosts a few bytes per host.
//
// The first four values live in the set itself (inline), where the slice
// points until it grows: the set of a target probed on a port or two is
// read without another cache line. The slice has the capacity a first
// append would have given (4), so it grows, and budget.go accounts it,
// exactly as a slice made on the heap. A portSet must not be copied once
// it holds a value (the copy's slice would still point into the original):
// noCopy makes go vet report a copy.
type portSet struct {
	_     noCopy
	small []uint16
	bits  *[1024]uint64
	n     int32 // at most 65536
	// frozen: its episode reached its byte cap, so a full small set does
	// not become a bitmap; a port it lacks counts as new, unstored.
	frozen bool
	inline [4]uint16
}

// noCopy has the methods go vet's copylocks check looks for: a struct
// that holds one is reported wherever it is copied.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

const smallMax = 32

// add inserts p and reports whether it was new.
func (s *portSet) add(p uint16) bool {
	if s.bits != nil {
		w, b := p>>6, uint64(1)<<(p&63)
		if s.bits[w]&b != 0 {
			return false
		}
		s.bits[w] |= b
		s.n++
		return true
	}
	for _, q := range s.small {
		if q == p {
			return false
		}
	}
	if len(s.small) < smallMax {
		if s.small == nil {
			s.small = s.inline[:0:len(s.inline)]
		}
		s.small = append(s.small, p)
		s.n++
		return true
	}
	if s.frozen {
		s.n++
		return true
	}
	s.bits = new([1024]uint64)
	for _, q := range s.small {
		s.bits[q>>6] |= 1 << (q & 63)
	}
	s.small = nil
	s.bits[p>>6] |= 1 << (p & 63)
	s.n++
	return true
}

func (s *portSet) has(p uint16) bool {
	if s.bits != nil {
		return s.bits[p>>6]&(1<<(p&63)) != 0
	}
	for _, q := range s.small {
		if q == p {
			return true
		}
	}
	return false
}

func (s *portSet) len() int { return int(s.n) }

// each calls f for every member in ascending order.
func (s *portSet) each(f func(uint16)) {
	if s.bits != nil {
		for w, word := range s.bits {
			for word != 0 {
				b := bits.TrailingZeros64(word)
				f(uint16(w<<6 | b))
				word &= word - 1
			}
		}
		return
	}
	sorted := append([]uint16(nil), s.small...)
	sortU16(sorted)
	for _, p := range sorted {
		f(p)
	}
}

func (s *portSet) slice() []uint16 {
	out := make([]uint16, 0, s.n)
	s.each(func(p uint16) { out = append(out, p) })
	return out
}

// ranges renders the set as "1-87,443", at most max ranges, then "...(+N)".
func (s *portSet) ranges(max int) string {
	var b strings.Builder
	n, first, last, started := 0, 0, 0, false
	flush := func() {
		if n > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(first))
		if last != first {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(last))
		}
		n++
	}
	more := 0
	s.each(func(p uint16) {
		v := int(p)
		switch {
		case !started:
			first, last, started = v, v, true
		case v == last+1:
			last = v
		default:
			if n < max {
				flush()
			} else {
				more++
			}
			first, last = v, v
		}
	})
	if started {
		if n < max {
			flush()
		} else {
			more++
		}
	}
	if more > 0 {
		b.WriteString(",...(+" + strconv.Itoa(more) + " ranges)")
	}
	return b.String()
}

func sortU16(a []uint16) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}
