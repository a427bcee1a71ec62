// Package linktype names the link-layer header types of capture files and
// sockets (pcap's and pcapng's LINKTYPE_ values) that scanwatch reads.
//
// It is its own small package rather than gopacket's layers.LinkType so
// that the binary does not link gopacket/layers, whose init fills two
// 65536-entry tables (5 MB of globals holding pointers): about 2 ms and 190
// page faults at the start of every command, and 5 MB more for every
// garbage collection to scan.
package linktype

// LinkType is a link-layer header type: LINKTYPE_* of the tcpdump.org list,
// the same numbers as gopacket's layers.LinkType.
type LinkType uint16

// The link types decode reads (TestSameAsGopacket checks them against
// gopacket's).
const (
	Null      LinkType = 0   // BSD loopback, address family in host byte order
	Ethernet  LinkType = 1   // IEEE 802.3 Ethernet
	Raw       LinkType = 101 // raw IPv4 or IPv6, the version nibble says
	Loop      LinkType = 108 // OpenBSD loopback, address family in network byte order
	LinuxSLL  LinkType = 113 // Linux cooked capture v1
	IPv4      LinkType = 228 // raw IPv4
	IPv6      LinkType = 229 // raw IPv6
	LinuxSLL2 LinkType = 276 // Linux cooked capture v2
)
