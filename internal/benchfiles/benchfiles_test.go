package benchfiles

import (
	"slices"
	"testing"
)

// TestEach: each file is its own sub-benchmark, in the order named; with
// no files the benchmark is skipped and runs nothing.
func TestEach(t *testing.T) {
	var got []string
	testing.Benchmark(func(b *testing.B) {
		b.Setenv(Env, "/a/x.pcap  /b/y.pcapng")
		Each(b, func(b *testing.B, file string) {
			if !slices.Contains(got, file) {
				got = append(got, file)
			}
		})
	})
	want := []string{"/a/x.pcap", "/b/y.pcapng"}
	if !slices.Equal(got, want) {
		t.Errorf("sub-benchmarks %q, want %q", got, want)
	}

	ran := false
	testing.Benchmark(func(b *testing.B) {
		b.Setenv(Env, " ")
		Each(b, func(*testing.B, string) { ran = true })
	})
	if ran {
		t.Error("ran with no files named")
	}
}
