package fleet

import (
	"hash/fnv"
	"net/netip"
	"strconv"
	"strings"
)

// Subject layout:
//
//	scanwatch.contacts.<partition>.<sensor>
//
// <partition> is the scanner's prefix (/24 for IPv4, /48 for IPv6) hashed
// into Partitions buckets, so a scanner and its neighbours always meet in
// one partition, whichever sensor saw them; a correlator consumes
// "scanwatch.contacts.<partition>.*". <sensor> is the publishing sensor's
// name: NATS permissions can then allow each sensor's credentials only
// "scanwatch.contacts.*.<its name>", and the correlator takes the name from
// the subject, so no sensor can speak for another.
//
// A view by target can come later without changing this one: sensors would
// publish the same batches, keyed by the target's prefix, to
// "scanwatch.targets.<partition>.<sensor>" (a second stream, or a second
// subject of this one), and a correlator for that view would consume those
// partitions with the same code (PartitionOf with the target's address).
const (
	// SubjectRoot is the first two tokens of every contact subject.
	SubjectRoot = "scanwatch.contacts"
	// StreamName is the JetStream stream that holds contacts.
	StreamName = "SCANWATCH_CONTACTS"
	// DefaultPartitions is the partition count of the layout. Sensors and
	// correlators of one fleet must agree on it (the correlator counts
	// contacts that arrive in the wrong partition).
	DefaultPartitions = 64
	// MaxPartitions bounds the partition count.
	MaxPartitions = 4096
)

// ScannerPrefix is the prefix whose addresses share a partition: the /24 of
// an IPv4 address, the /48 of an IPv6 one (IPv4-mapped addresses count as
// IPv4).
func ScannerPrefix(a netip.Addr) netip.Prefix {
	a = a.Unmap().WithZone("")
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p
}

// PartitionOf returns the partition of a scanner address, in [0, n).
func PartitionOf(a netip.Addr, n int) int {
	if n <= 1 {
		return 0
	}
	p := ScannerPrefix(a)
	h := fnv.New32a()
	b, _ := p.Addr().MarshalBinary()
	h.Write(b)
	return int(h.Sum32() % uint32(n))
}

// Subject is the subject a sensor publishes a partition's batches to.
func Subject(partition int, sensor string) string {
	return SubjectRoot + "." + strconv.Itoa(partition) + "." + sensor
}

// PartitionFilter is the subject filter of one partition (every sensor).
func PartitionFilter(partition int) string {
	return SubjectRoot + "." + strconv.Itoa(partition) + ".*"
}

// SensorPermission is the subject a sensor's credentials should be allowed
// to publish to.
func SensorPermission(sensor string) string {
	return SubjectRoot + ".*." + sensor
}

// parseSubject splits a contact subject into its partition and sensor.
func parseSubject(subj string) (partition int, sensor string, ok bool) {
	rest, found := strings.CutPrefix(subj, SubjectRoot+".")
	if !found {
		return 0, "", false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] == '.' {
			p, err := strconv.Atoi(rest[:i])
			if err != nil || p < 0 || p >= MaxPartitions || !ValidSensorName(rest[i+1:]) {
				return 0, "", false
			}
			return p, rest[i+1:], true
		}
	}
	return 0, "", false
}
