package tcpflags

import (
	"strings"
	"testing"
)

func TestBits(t *testing.T) {
	// RFC 9293 section 3.1 (CWR and ECE: RFC 3168): byte 13, FIN the lowest bit.
	for f, want := range map[Flags]uint8{FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80} {
		if uint8(f) != want {
			t.Errorf("%s = %#02x, want %#02x", f, uint8(f), want)
		}
	}
}

func TestString(t *testing.T) {
	for f, want := range map[Flags]string{
		0: "NONE", SYN: "SYN", SYN | FIN: "SYN|FIN", FIN | PSH | URG: "URG|PSH|FIN",
		SYN | ECE | CWR: "CWR|ECE|SYN", 0xff: "CWR|ECE|URG|ACK|PSH|RST|SYN|FIN",
	} {
		if got := f.String(); got != want {
			t.Errorf("Flags(%#02x).String() = %q, want %q", uint8(f), got, want)
		}
	}
	for f := range 256 {
		s := Flags(f).String()
		if v, err := Parse(s); err != nil || v != Flags(f) {
			t.Errorf("Parse(%q) = %#02x, %v; want %#02x", s, uint8(v), err, f)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Flags
	}{
		// rules files
		{"SYN", SYN}, {"syn|ack", SYN | ACK}, {"FIN | PSH | URG", FIN | PSH | URG}, {"ECE|CWR", ECE | CWR},
		// numbers, as rules and --scanflags take them
		{"0", 0}, {"0x3f", 0x3f}, {"255", 255}, {"0b11", 3}, {"0o17", 017}, {"9", PSH | FIN}, {"0x29", URG | PSH | FIN}, {" 18 ", 0x12},
		// nmap's --scanflags
		{"SYNFIN", SYN | FIN}, {"finsyn", SYN | FIN}, {"URGACKPSHRSTSYNFIN", 0x3f}, {"ECECWR", ECE | CWR}, {"SYNACK", SYN | ACK},
		// commas, and what String writes
		{"FIN,PSH,URG", FIN | PSH | URG}, {"fin, psh", FIN | PSH}, {"NONE", 0}, {"none", 0}, {"SYN|FIN", SYN | FIN},
	} {
		if got, err := Parse(tt.in); err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %#02x, %v; want %#02x", tt.in, uint8(got), err, uint8(tt.want))
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "empty flags"},
		{"  ", "empty flags"},
		{"256", "256 out of range 0..255"},
		{"-1", "-1 out of range 0..255"},
		{"0x100", "0x100 out of range 0..255"},
		{"12abc", `"12abc" is not a number 0..255`},
		{"SYN|FINN", `unknown flag "FINN" in "SYN|FINN" (known: FIN SYN RST PSH ACK URG ECE CWR)`},
		{"SYN|", `unknown flag "" in "SYN|"`},
		{"SYN||ACK", `unknown flag "" in "SYN||ACK"`},
		{"SYNX", `unknown flag "SYNX" in "SYNX"`},
		{"FOO", `unknown flag "FOO"`},
		{"SYN FIN", `unknown flag "SYN FIN"`},
		{"SYNNONE", `unknown flag "SYNNONE"`},
	} {
		_, err := Parse(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want one containing %q", tt.in, err, tt.want)
		}
	}
}

func TestPattern(t *testing.T) {
	syn := Pattern{Mask: 0x3f, Value: SYN} // ECN bits ignored
	for f, want := range map[Flags]bool{SYN: true, SYN | ECE | CWR: true, SYN | ACK: false, 0: false, SYN | FIN: false} {
		if syn.Match(f) != want {
			t.Errorf("%+v.Match(%s) = %v", syn, f, !want)
		}
	}
	if err := syn.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v", syn, err)
	}
	if err := (Pattern{Mask: 0xff}).Validate(); err != nil {
		t.Errorf("null pattern: %v", err)
	}
	bad := Pattern{Mask: 0x0f, Value: SYN | ACK}
	if err := bad.Validate(); err == nil || err.Error() != "value 0x12 has bits outside mask 0x0f, so it never matches" {
		t.Errorf("Validate(%+v) = %v", bad, err)
	}
	// Validate rejects exactly the patterns that match no byte.
	for m := range 256 {
		for v := range 256 {
			p := Pattern{Mask: Flags(m), Value: Flags(v)}
			matches := false
			for f := range 256 {
				if p.Match(Flags(f)) {
					matches = true
					break
				}
			}
			if (p.Validate() == nil) != matches {
				t.Fatalf("%+v: Validate %v, matches some byte %v", p, p.Validate(), matches)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"SYN|ACK", "SYNFIN", "0x3f", "FIN,PSH,URG", "NONE", "-1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			return
		}
		if w, err := Parse(v.String()); err != nil || w != v {
			t.Fatalf("Parse(%q) = %s, which reads back as %s, %v", s, v, w, err)
		}
	})
}
