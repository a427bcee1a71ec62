package fleet

import (
	"net/netip"
	"testing"
)

func TestPartitionOfGroupsPrefixes(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"10.77.0.2", "10.77.0.254", true},
		{"10.77.0.2", "::ffff:10.77.0.9", true},
		{"2001:db8:1::1", "2001:db8:1:ffff::2", true},
		{"fe80::1%eth0", "fe80::2", true},
	}
	for _, tt := range tests {
		pa := PartitionOf(netip.MustParseAddr(tt.a), DefaultPartitions)
		pb := PartitionOf(netip.MustParseAddr(tt.b), DefaultPartitions)
		if (pa == pb) != tt.same {
			t.Errorf("%s -> %d, %s -> %d", tt.a, pa, tt.b, pb)
		}
	}
}

// TestPartitionOfSpreads checks that the /24s of one /16 spread over the
// partitions rather than piling into a few.
func TestPartitionOfSpreads(t *testing.T) {
	counts := make([]int, DefaultPartitions)
	for i := 0; i < 256; i++ {
		p := PartitionOf(netip.AddrFrom4([4]byte{10, 1, byte(i), 1}), DefaultPartitions)
		if p < 0 || p >= DefaultPartitions {
			t.Fatalf("partition %d out of range", p)
		}
		counts[p]++
	}
	for p, n := range counts {
		if n == 0 || n > 12 {
			t.Errorf("partition %d holds %d of 256 /24s (expect about 4)", p, n)
		}
	}
}

func TestSubjects(t *testing.T) {
	if s := Subject(7, "web-01"); s != "scanwatch.contacts.7.web-01" {
		t.Errorf("Subject = %q", s)
	}
	if s := PartitionFilter(7); s != "scanwatch.contacts.7.*" {
		t.Errorf("PartitionFilter = %q", s)
	}
	tests := []struct {
		subj   string
		p      int
		sensor string
		ok     bool
	}{
		{"scanwatch.contacts.7.web-01", 7, "web-01", true},
		{"scanwatch.contacts.x.web-01", 0, "", false},
		{"scanwatch.contacts.7", 0, "", false},
		{"scanwatch.contacts.7.a.b", 0, "", false},
		{"scanwatch.contacts.-1.a", 0, "", false},
		{"scanwatch.other.7.a", 0, "", false},
	}
	for _, tt := range tests {
		p, s, ok := parseSubject(tt.subj)
		if p != tt.p || s != tt.sensor || ok != tt.ok {
			t.Errorf("parseSubject(%q) = %d, %q, %v", tt.subj, p, s, ok)
		}
	}
}
