// Package tcpflags names the bits of byte 13 of the TCP header, spells them
// one way, reads every spelling users write (rules files, nmap's
// --scanflags), and matches them against mask/value patterns. The decoder,
// the detector, the rules, the scanner and the kernel filter's loader use
// it, and a test holds the C filter's defines to it, so a flag has one value
// and one name everywhere.
package tcpflags

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Flags is byte 13 of a TCP header: CWR ECE URG ACK PSH RST SYN FIN, the
// highest bit first.
type Flags uint8

// The flag bits. bpf/filter.c repeats the ones it needs as TCP_* defines; a
// test in package bpf keeps the two in step.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

// names are the flags by bit, lowest first.
var names = [8]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}

// None is how String spells a byte without flags.
const None = "NONE"

// String names the set bits, highest first, joined by "|" ("SYN|FIN",
// "CWR|ECE|SYN"), or "NONE". Parse reads it back.
func (f Flags) String() string {
	if f == 0 {
		return None
	}
	var b strings.Builder
	for i := len(names) - 1; i >= 0; i-- {
		if f&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(names[i])
		}
	}
	return b.String()
}

// Parse reads a flags byte in any spelling scanwatch accepts:
//   - a number 0..255: decimal, 0x hex, 0o or leading-0 octal, 0b binary;
//   - flag names (FIN SYN RST PSH ACK URG ECE CWR, any case) joined by "|"
//     or "," with optional spaces ("SYN|ACK", "FIN, PSH, URG"), or run
//     together as nmap's --scanflags takes them ("SYNFIN", "urgpshfin");
//   - NONE for no flags.
func Parse(s string) (Flags, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("empty flags")
	}
	if c := t[0]; c >= '0' && c <= '9' || c == '-' || c == '+' {
		v, err := strconv.ParseInt(t, 0, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number 0..255", s)
		}
		if v < 0 || v > 255 {
			return 0, fmt.Errorf("%s out of range 0..255", s)
		}
		return Flags(v), nil
	}
	var f Flags
	for part := range strings.SplitSeq(strings.ReplaceAll(t, ",", "|"), "|") {
		name := strings.TrimSpace(part)
		v, ok := parseNames(name)
		if !ok {
			return 0, fmt.Errorf("unknown flag %q in %q (known: %s)", name, s, strings.Join(names[:], " "))
		}
		f |= v
	}
	return f, nil
}

// parseNames reads one name, NONE, or names run together ("SYNFIN").
func parseNames(s string) (Flags, bool) {
	if strings.EqualFold(s, None) {
		return 0, true
	}
	if s == "" || len(s)%3 != 0 {
		return 0, false
	}
	var f Flags
	for i := 0; i < len(s); i += 3 {
		bit := -1
		for j, n := range names {
			if strings.EqualFold(s[i:i+3], n) {
				bit = j
				break
			}
		}
		if bit < 0 {
			return 0, false
		}
		f |= 1 << bit
	}
	return f, true
}

// Pattern matches a flags byte when flags&Mask == Value: the rules' probe
// patterns and the kernel filter's both have this shape.
type Pattern struct {
	Mask, Value Flags
}

// Match reports whether f matches the pattern.
func (p Pattern) Match(f Flags) bool { return f&p.Mask == p.Value }

// Validate rejects a pattern that can never match: one whose Value has bits
// outside its Mask.
func (p Pattern) Validate() error {
	if p.Value&^p.Mask != 0 {
		return fmt.Errorf("value 0x%02x has bits outside mask 0x%02x, so it never matches", uint8(p.Value), uint8(p.Mask))
	}
	return nil
}
