package rules

import (
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
)

// Table names a consumer of the memory budget. Each takes a fixed share
// of Rules.Memory; the package that owns the table divides its share by
// its measured bytes per entry to get its cap (and never exceeds the
// count caps of State, which stay as upper bounds).
type Table int

const (
	// FlowTable: the detector's flows (connections and pending probes),
	// with their slots in the hash table and the pending-probe queue.
	FlowTable Table = iota
	// TrackerTable: the detector's trackers (probation and protected),
	// their episodes, targets and port sets, and the correlation maps.
	TrackerTable
	// EvidenceTable: the detector's filters of sources seen with one or
	// two failed first contacts but no tracker, and the sequential-test
	// state of evicted suspects: what keeps a slow scan visible through a
	// flood of spoofed sources.
	EvidenceTable
	// FragmentTable: the decoder's IP reassembly table.
	FragmentTable
	numTables
)

// shares of Rules.Memory per table. They add up to 70%: of the rest, the
// part above the runtime's soft limit (see ApplyMemoryLimit) is left to
// memory outside the Go heap, and the part below it is the garbage
// collector's headroom, with capture and output buffers.
var shares = [numTables]float64{
	FlowTable:     0.29,
	TrackerTable:  0.20,
	EvidenceTable: 0.20,
	FragmentTable: 0.01,
}

// MemoryFor returns the bytes of r.Memory that table t may use.
func (r *Rules) MemoryFor(t Table) int64 {
	if t < 0 || t >= numTables {
		return 0
	}
	return int64(float64(r.Memory) * shares[t])
}

// Limits of the memory budget.
const (
	DefaultMemory = 256 << 20
	MinMemory     = 16 << 20
	MaxMemory     = 1 << 40
)

// RuntimeLimit is the Go runtime's soft memory limit for r: the budget
// less what is resident outside the Go heap (an eighth of the budget, at
// most 32 MiB): the program's text, the capture ring or the mapped pages
// of a capture file being read.
func RuntimeLimit(r *Rules) int64 {
	return r.Memory - min(r.Memory/8, 32<<20)
}

// ApplyMemoryLimit sets the Go runtime's soft memory limit from r's budget
// (RuntimeLimit, runtime/debug.SetMemoryLimit): the garbage collector then
// works harder as the heap nears it instead of letting the heap grow to
// twice the live data. Call it once the rules are loaded and again after a
// reload; it returns the previous limit.
func ApplyMemoryLimit(r *Rules) int64 {
	return debug.SetMemoryLimit(RuntimeLimit(r))
}

// ParseBytes reads a byte size: a plain integer (bytes) or a number with a
// unit: B, KiB, MiB, GiB, TiB (powers of 1024) or kB, MB, GB, TB (powers
// of 1000), e.g. "256MiB", "1.5 GiB".
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	mult, ok := byteUnits[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("bad size %q (want bytes, or a number with B, KiB, MiB, GiB, TiB, kB, MB, GB, TB)", excerpt(s))
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v*float64(mult) >= 1<<62 {
		return 0, fmt.Errorf("bad size %q", excerpt(s))
	}
	return int64(v * float64(mult)), nil
}

var byteUnits = map[string]int64{
	"": 1, "B": 1,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
	"kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
}

// FormatBytes writes n with the largest binary unit that divides it.
func FormatBytes(n int64) string {
	for _, u := range []struct {
		name string
		v    int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.v && n%u.v == 0 {
			return strconv.FormatInt(n/u.v, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
