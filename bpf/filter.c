//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//
// scanwatch socket filter: runs on an AF_PACKET socket (SO_ATTACH_BPF), sees
// every frame of both directions, and passes to user space only what can be a
// scan probe or the reply to one. Everything else (bulk traffic) is dropped in
// the kernel. The return value is the number of bytes to keep (0 drops), so
// what passes is truncated to its headers.
//
// Where the data starts: for a SOCK_RAW packet socket the kernel pushes the
// skb back to the link header before running the filter, so offset 0 is the
// Ethernet header (cfg_cooked == 0). For a SOCK_DGRAM ("cooked") socket, which
// we use for the "any" pseudo-interface, offset 0 is the network header and
// the ethertype comes from skb->protocol (cfg_cooked == 1).
//
// Pass rules (see pass_reason):
//   - TCP with SYN, FIN or RST set (handshakes, probes and replies);
//   - TCP whose flags byte is set in the flag table (filled from the rules'
//     patterns: NULL, Xmas, Maimon, custom...);
//   - the first packet of a flow not in the LRU flow maps (one for IPv4,
//     one for IPv6; TCP, UDP, SCTP and other IP protocols), and for TCP the
//     first segment carrying payload in each direction, with DATA_KEEP
//     bytes of it (a request line or a greeting: the detector reads service
//     probes there); for UDP, SCTP and
//     other protocols the first packet in each direction (so a UDP reply is
//     seen);
//   - every TCP segment with payload to or from port 21: FTP commands and
//     replies, where an FTP bounce scan shows;
//   - ICMP/ICMPv6 echo, timestamp, address mask, neighbour discovery
//     solicitations/advertisements and every error type;
//   - SCTP whose first chunk is INIT, INIT-ACK, ABORT or COOKIE-ECHO;
//   - ARP; IP fragments (the flags of a fragmented probe may sit in a later
//     fragment); anything the program could not parse (fail open, counted).
// Everything else is dropped.
//
// Tunnels: a VXLAN or Geneve datagram (UDP to 4789, 8472 or 6081 with a
// well-formed header) and a GRE packet carrying IP, Ethernet or ERSPAN are
// judged by the packet they carry, once unwrapped (one level, as the
// decoder unwraps them): a scan inside an overlay passes, and its bulk is
// dropped, as on a plain link.
//
// The cost that matters is that of a dropped bulk segment: see fast_path
// (one packet read) and tcp_verdict (the checks in order, one flow lookup).
//
// No kernel headers are included on purpose: the few definitions needed are
// below, so generation does not depend on the build host's multiarch include
// layout.

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u64 __be64;
typedef __u32 __wsum;

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

enum {
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PROG_ARRAY = 3,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
};

#define BPF_NOEXIST 1

// The head of struct __sk_buff (uapi/linux/bpf.h), up to cb, the scratch
// space a socket filter may write: only these fields are used.
struct __sk_buff {
	__u32 len;
	__u32 pkt_type;
	__u32 mark;
	__u32 queue_mapping;
	__u32 protocol;
	__u32 vlan_present;
	__u32 vlan_tci;
	__u32 vlan_proto;
	__u32 priority;
	__u32 ingress_ifindex;
	__u32 ifindex;
	__u32 tc_index;
	__u32 cb[5];
};

#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define ETH_P_QINQ1 0x9100
#define ETH_P_IPV6 0x86DD

#define IPPROTO_HOPOPTS 0
#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_ROUTING 43
#define IPPROTO_FRAGMENT 44
#define IPPROTO_AH 51
#define IPPROTO_ICMPV6 58
#define IPPROTO_DSTOPTS 60
#define IPPROTO_SCTP 132
#define IPPROTO_GRE 47

#define ETH_P_TEB 0x6558     // transparent Ethernet bridging: an Ethernet frame
#define ETH_P_ERSPAN2 0x88BE // ERSPAN type I/II over GRE
#define ETH_P_ERSPAN3 0x22EB // ERSPAN type III over GRE

#define UDP_VXLAN 4789
#define UDP_VXLAN_LINUX 8472 // the Linux kernel's port before IANA's
#define UDP_GENEVE 6081

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04

// Bytes kept after the end of the transport header.
#define SLACK 32
// Bytes kept after the TCP header of a passed segment with payload.
#define DATA_KEEP 96
#define FTP_PORT 21
// How much of an ICMP error to keep: its header, the quoted IP header (with
// options or IPv6 extension headers) and the quoted transport ports.
#define ICMP_ERROR_KEEP 96
#define MAX_VLAN 2
#define MAX_IPV6_EXT 6

// Set from Go before loading (CollectionSpec.Variables).
volatile const __u32 cfg_snaplen = 256;
volatile const __u32 cfg_cooked = 0;

// Counters, one set per CPU; user space sums them. Never reset by the kernel.
struct counters {
	__u64 seen;    // frames the program looked at
	__u64 passed;  // frames passed to the socket
	__u64 dropped; // frames dropped (bulk)
	__u64 errors;  // frames that could not be parsed (passed: fail open)
	// Why frames passed (each passed frame counts in exactly one).
	__u64 tcp_control; // SYN, FIN or RST set
	__u64 tcp_pattern; // flags byte in the flag table
	__u64 tcp_first;   // first TCP packet of a flow
	__u64 tcp_data;    // first TCP payload segment in a direction
	__u64 udp_first;   // first UDP packet in a direction
	__u64 icmp;
	__u64 sctp;       // INIT, INIT-ACK, ABORT, COOKIE-ECHO, or first in a direction
	__u64 arp;
	__u64 other_first; // other IP protocols: first in a direction
	__u64 fragment;    // IPv4/IPv6 fragments
	__u64 flow_insert_failed;
};

// tcp[13] values that pass: bit f of the 256-bit table is set when flags f
// matches one of the rules' {mask, value} patterns. Filled from Go, so a new
// pattern in the rules needs no recompiling.
struct flag_table {
	__u64 bits[4];
};

// A flow, normalised so both directions share one key: the (address, port)
// pair that compares lower comes first. IPv4 and IPv6 flows live in
// separate maps so that the IPv4 key, the one bulk traffic looks up most,
// is 16 bytes (hashed and compared in a quarter of the 40-byte IPv6 key's
// work). Which side is "lo" only has to be the same for both directions.
struct flow4_key {
	__u32 lo_addr; // as on the wire, compared as a number
	__u32 hi_addr;
	__u16 lo_port;
	__u16 hi_port;
	__u8 proto;
	__u8 pad[3];
};

struct flow_key {
	__u32 lo_addr[4];
	__u32 hi_addr[4];
	__u16 lo_port;
	__u16 hi_port;
	__u8 proto;
	__u8 family; // always 6: IPv4 flows are in flow4_map
	__u8 pad[2];
};

// Flow state bits; which direction is "lo" or "hi" follows from the key.
#define SEEN_LO 0x1 // a packet from the lo side passed
#define SEEN_HI 0x2
#define DATA_LO 0x4 // a TCP segment with payload from the lo side passed
#define DATA_HI 0x8

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counters);
} counter_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flag_table);
} flag_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); // resized from Go
	__type(key, struct flow4_key);
	__type(value, __u32);
} flow4_map SEC(".maps");

// IPv6 flows (the key has room for either family; only IPv6 uses it).
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); // resized from Go
	__type(key, struct flow_key);
	__type(value, __u32);
} flow_map SEC(".maps");

// inner_prog holds scanwatch_inner, which the filter tail-calls with a
// tunnel's inner packet (filled from Go). A program of its own, it is
// verified on its own: parsing the inner packet in line would make the
// verifier walk it once for every way the outer packet can reach it.
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} inner_prog SEC(".maps");

struct ipv4hdr {
	__u8 ver_ihl;
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__be16 check;
	__be32 saddr;
	__be32 daddr;
};

struct ipv6hdr {
	__be32 ver_tc_flow;
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u32 saddr[4];
	__u32 daddr[4];
};

struct tcphdr {
	__be16 source;
	__be16 dest;
	__be32 seq;
	__be32 ack_seq;
	__u8 doff_res;
	__u8 flags;
	__be16 window;
	__be16 check;
	__be16 urg_ptr;
};

// What the parser found out about one frame.
struct pkt {
	__u32 l4;     // offset of the transport header
	__u32 ip_end; // offset of the end of the IP datagram
	__u8 proto;
	__u8 family;
	__u16 sport, dport;
	__u32 saddr4, daddr4;         // IPv4 addresses as on the wire
	const __u32 *saddr6, *daddr6; // IPv6: where the addresses lie on the stack
};

// tunnel is where a tunnel's inner packet starts, for the parse that
// judges it. Only the outer packet is unwrapped: the parse takes a
// constant outer, so that the inner copy has no tunnel code at all.
struct tunnel {
	__u32 off;   // offset of the inner packet: an Ethernet frame (ETH_P_TEB) or IP
	__u16 proto; // ETH_P_TEB, ETH_P_IP or ETH_P_IPV6
};

// TUNNEL is what the outer parse returns for a tunnel: the inner packet,
// at tunnel.off, decides.
#define TUNNEL 0xfffffffe

// Result of classify: a length to keep, or 0 to drop.
#define PASS(c, field, len) ({ (c)->field++; (len); })
#define ERROR(c) ({ (c)->errors++; cfg_snaplen; })

// flow_state looks key up in map and says whether to pass: when the flow
// is new, or when the bit want (this direction's) is not set yet. The
// packet's bits (want and also) are set either way. Returns 0 (drop), 1
// (new flow), 2 (known flow, first for this bit).
static __always_inline int flow_state(struct counters *c, void *map, const void *key, __u32 want, __u32 also)
{
	__u32 *v = bpf_map_lookup_elem(map, key);
	if (!v) {
		__u32 nv = want | also;
		if (bpf_map_update_elem(map, key, &nv, BPF_NOEXIST) != 0)
			c->flow_insert_failed++; // raced with another CPU, or no memory: pass anyway
		return 1;
	}
	if (want && !(*v & want)) {
		// Not atomic: two CPUs racing here may both pass, which is harmless.
		*v |= want | also;
		return 2;
	}
	return 0;
}

static __always_inline int key6_side_lo(struct pkt *p)
{
	// Returns 1 when the source (addr, port) is the lower side.
#pragma unroll
	for (int i = 0; i < 4; i++) {
		__u32 s = bpf_ntohl(p->saddr6[i]);
		__u32 d = bpf_ntohl(p->daddr6[i]);
		if (s < d)
			return 1;
		if (s > d)
			return 0;
	}
	return p->sport <= p->dport;
}

// flow_pass looks the frame's flow up (flow4_map or flow_map by family)
// and says whether to pass it: when the flow is new, or when the bit for
// this direction (want_lo or want_hi) is not set yet; see flow_state.
static __always_inline int flow_pass(struct counters *c, struct pkt *p, __u32 want_lo, __u32 want_hi, __u32 also_lo,
				     __u32 also_hi)
{
	if (p->family == 4) {
		// Any order both directions agree on will do: the addresses as
		// they are on the wire, then the ports.
		int src_lo = p->saddr4 < p->daddr4 || (p->saddr4 == p->daddr4 && p->sport <= p->dport);
		struct flow4_key k = {};
		if (src_lo) {
			k.lo_addr = p->saddr4;
			k.hi_addr = p->daddr4;
			k.lo_port = p->sport;
			k.hi_port = p->dport;
		} else {
			k.lo_addr = p->daddr4;
			k.hi_addr = p->saddr4;
			k.lo_port = p->dport;
			k.hi_port = p->sport;
		}
		k.proto = p->proto;
		return flow_state(c, &flow4_map, &k, src_lo ? want_lo : want_hi, src_lo ? also_lo : also_hi);
	}

	struct flow_key k;
	__builtin_memset(&k, 0, sizeof(k));
	int src_lo = key6_side_lo(p);
	if (src_lo) {
		__builtin_memcpy(k.lo_addr, p->saddr6, 16);
		__builtin_memcpy(k.hi_addr, p->daddr6, 16);
		k.lo_port = p->sport;
		k.hi_port = p->dport;
	} else {
		__builtin_memcpy(k.lo_addr, p->daddr6, 16);
		__builtin_memcpy(k.hi_addr, p->saddr6, 16);
		k.lo_port = p->dport;
		k.hi_port = p->sport;
	}
	k.proto = p->proto;
	k.family = 6;
	return flow_state(c, &flow_map, &k, src_lo ? want_lo : want_hi, src_lo ? also_lo : also_hi);
}

static __always_inline __u32 keep(__u32 end)
{
	return end + SLACK;
}

static __always_inline __u32 keep_data(__u32 end)
{
	return end + DATA_KEEP;
}

// tcp_verdict decides on a TCP segment from its data offset byte, its
// flags byte and its ports (in p). The checks run cheapest first: a bulk
// segment (ACK, maybe PSH, of a known flow) costs the flags tests, one
// array read and one flow map lookup.
static __always_inline __u32 tcp_verdict(struct counters *c, struct pkt *p, __u8 doff_res, __u8 flags)
{
	__u32 doff = (doff_res >> 4) * 4;
	if (doff < sizeof(struct tcphdr))
		return ERROR(c);
	__u32 end = p->l4 + doff;

	if (flags & (TCP_SYN | TCP_FIN | TCP_RST))
		return PASS(c, tcp_control, keep(end));

	__u32 zero = 0;
	struct flag_table *t = bpf_map_lookup_elem(&flag_map, &zero);
	if (t && (t->bits[(flags >> 6) & 3] >> (flags & 63)) & 1)
		return PASS(c, tcp_pattern, keep(end));

	int payload = p->ip_end > end;
	// An FTP control channel is read command by command (nmap -b).
	if (payload && (p->sport == bpf_htons(FTP_PORT) || p->dport == bpf_htons(FTP_PORT)))
		return PASS(c, tcp_data, keep_data(end));
	// Only TCP segments with payload ask for a per-direction bit, so that the
	// first data segment of each direction passes once.
	__u32 want_lo = payload ? DATA_LO : 0, want_hi = payload ? DATA_HI : 0;
	switch (flow_pass(c, p, want_lo, want_hi, SEEN_LO, SEEN_HI)) {
	case 1:
		return PASS(c, tcp_first, payload ? keep_data(end) : keep(end));
	case 2:
		return PASS(c, tcp_data, keep_data(end));
	}
	return 0;
}

static __always_inline __u32 do_tcp(struct __sk_buff *skb, struct counters *c, struct pkt *p)
{
	struct tcphdr th;
	if (bpf_skb_load_bytes(skb, p->l4, &th, sizeof(th)) < 0)
		return ERROR(c);
	p->sport = th.source;
	p->dport = th.dest;
	return tcp_verdict(c, p, th.doff_res, th.flags);
}

static __always_inline __u32 udp_verdict(struct counters *c, struct pkt *p)
{
	if (flow_pass(c, p, SEEN_LO, SEEN_HI, 0, 0))
		return PASS(c, udp_first, keep(p->l4 + 8));
	return 0;
}

static __always_inline int tunnel_port(__be16 dport)
{
	return dport == bpf_htons(UDP_VXLAN) || dport == bpf_htons(UDP_VXLAN_LINUX) || dport == bpf_htons(UDP_GENEVE);
}

// udp_tunnel finds the inner packet of a VXLAN (RFC 7348) or Geneve (RFC
// 8926) datagram: 1 when its header is well formed, else 0 (a plain
// datagram to the port, as the decoder takes it).
static __always_inline int udp_tunnel(struct __sk_buff *skb, struct pkt *p, struct tunnel *tun)
{
	__u8 h[4];
	__u32 off = p->l4 + 8;
	if (bpf_skb_load_bytes(skb, off, h, sizeof(h)) < 0)
		return 0;
	if (p->dport != bpf_htons(UDP_GENEVE)) {
		// VXLAN: flags (only I set), reserved, VNI, reserved.
		if (h[0] != 0x08)
			return 0;
		tun->off = off + 8;
		tun->proto = ETH_P_TEB;
		return 1;
	}
	// Geneve: version and option length, flags, protocol type, VNI, options.
	__u16 pt = ((__u16)h[2] << 8) | h[3];
	if ((h[0] >> 6) != 0 || (pt != ETH_P_TEB && pt != ETH_P_IP && pt != ETH_P_IPV6))
		return 0;
	tun->off = off + 8 + (__u32)(h[0] & 0x3f) * 4;
	tun->proto = pt;
	return 1;
}

static __always_inline __u32 do_udp(struct __sk_buff *skb, struct counters *c, struct pkt *p, struct tunnel *tun, const int outer)
{
	__be16 ports[2];
	if (bpf_skb_load_bytes(skb, p->l4, ports, sizeof(ports)) < 0)
		return ERROR(c);
	p->sport = ports[0];
	p->dport = ports[1];
	if (outer && tunnel_port(p->dport) && udp_tunnel(skb, p, tun))
		return TUNNEL;
	return udp_verdict(c, p);
}

// gre_tunnel finds the inner packet of a GRE packet (RFC 2784/2890) that
// carries IP, an Ethernet frame or ERSPAN: 1, else 0 (version 1, source
// routing, other payloads: an IP-protocol-47 packet, as the decoder takes
// it).
static __always_inline int gre_tunnel(struct __sk_buff *skb, struct pkt *p, struct tunnel *tun)
{
	__u8 h[4];
	if (bpf_skb_load_bytes(skb, p->l4, h, sizeof(h)) < 0)
		return 0;
	__u16 flags = ((__u16)h[0] << 8) | h[1], pt = ((__u16)h[2] << 8) | h[3];
	if (flags & 0x4007) // source routing, or a version other than 0
		return 0;
	__u32 off = p->l4 + 4;
	if (flags & 0x8000) // checksum and reserved
		off += 4;
	if (flags & 0x2000) // key
		off += 4;
	if (flags & 0x1000) // sequence number
		off += 4;
	switch (pt) {
	case ETH_P_IP:
	case ETH_P_IPV6:
	case ETH_P_TEB:
		break;
	case ETH_P_ERSPAN2:
		if (flags & 0x1000) // type II: an 8-byte header; type I has none
			off += 8;
		pt = ETH_P_TEB;
		break;
	case ETH_P_ERSPAN3: {
		__u8 o;
		if (bpf_skb_load_bytes(skb, off + 11, &o, 1) < 0)
			return 0;
		off += o & 1 ? 20 : 12; // a platform-specific subheader follows when O is set
		pt = ETH_P_TEB;
		break;
	}
	default:
		return 0;
	}
	tun->off = off;
	tun->proto = pt;
	return 1;
}

static __always_inline __u32 do_icmp(struct __sk_buff *skb, struct counters *c, struct pkt *p)
{
	__u8 tc[2];
	if (bpf_skb_load_bytes(skb, p->l4, tc, sizeof(tc)) < 0)
		return ERROR(c);
	__u8 type = tc[0];
	__u32 end = p->l4 + 8;
	if (p->family == 4) {
		switch (type) {
		case 3:  // destination unreachable
		case 4:  // source quench
		case 5:  // redirect
		case 11: // time exceeded
		case 12: // parameter problem
			return PASS(c, icmp, p->l4 + ICMP_ERROR_KEEP);
		case 0:  // echo reply
		case 8:  // echo request
		case 13: // timestamp
		case 14: // timestamp reply
		case 15: // information request
		case 16: // information reply
		case 17: // address mask request
		case 18: // address mask reply
			return PASS(c, icmp, keep(end));
		}
		return 0;
	}
	if (type < 128) // ICMPv6 errors: 1 unreachable, 2 too big, 3 time exceeded, 4 parameter problem
		return PASS(c, icmp, p->l4 + ICMP_ERROR_KEEP);
	switch (type) {
	case 128: // echo request
	case 129: // echo reply
	case 135: // neighbour solicitation
	case 136: // neighbour advertisement
		return PASS(c, icmp, keep(end));
	}
	return 0;
}

static __always_inline __u32 do_sctp(struct __sk_buff *skb, struct counters *c, struct pkt *p)
{
	// Common header (ports, verification tag, checksum) then the first chunk.
	__u8 h[13];
	if (bpf_skb_load_bytes(skb, p->l4, h, sizeof(h)) < 0)
		return ERROR(c);
	__u32 end = p->l4 + 12 + 20; // common header + chunk header + INIT fixed part
	switch (h[12]) {
	case 1:  // INIT
	case 2:  // INIT-ACK
	case 6:  // ABORT
	case 10: // COOKIE-ECHO (nmap -sZ)
		return PASS(c, sctp, keep(end));
	}
	__builtin_memcpy(&p->sport, &h[0], 2);
	__builtin_memcpy(&p->dport, &h[2], 2);
	if (flow_pass(c, p, SEEN_LO, SEEN_HI, 0, 0))
		return PASS(c, sctp, keep(end));
	return 0;
}

static __always_inline __u32 do_transport(struct __sk_buff *skb, struct counters *c, struct pkt *p, struct tunnel *tun, const int outer)
{
	switch (p->proto) {
	case IPPROTO_TCP:
		return do_tcp(skb, c, p);
	case IPPROTO_UDP:
		return do_udp(skb, c, p, tun, outer);
	case IPPROTO_GRE:
		if (outer && gre_tunnel(skb, p, tun))
			return TUNNEL;
		break;
	case IPPROTO_ICMP:
		if (p->family == 4)
			return do_icmp(skb, c, p);
		break;
	case IPPROTO_ICMPV6:
		if (p->family == 6)
			return do_icmp(skb, c, p);
		break;
	case IPPROTO_SCTP:
		return do_sctp(skb, c, p);
	}
	// Other IP protocols (nmap -sO cycles through them): first in a direction.
	p->sport = 0;
	p->dport = 0;
	if (flow_pass(c, p, SEEN_LO, SEEN_HI, 0, 0))
		return PASS(c, other_first, keep(p->l4 + 8));
	return 0;
}

static __always_inline __u32 do_ipv4(struct __sk_buff *skb, struct counters *c, __u32 l3, struct tunnel *tun, const int outer)
{
	struct ipv4hdr ip;
	if (bpf_skb_load_bytes(skb, l3, &ip, sizeof(ip)) < 0)
		return ERROR(c);
	__u32 ihl = (ip.ver_ihl & 0xf) * 4;
	if ((ip.ver_ihl >> 4) != 4 || ihl < sizeof(ip))
		return ERROR(c);
	// MF set or a non-zero offset: a fragment. nmap -f puts the TCP flags
	// in a later fragment, and fragments are rare in bulk traffic.
	if (ip.frag_off & bpf_htons(0x3fff))
		return PASS(c, fragment, cfg_snaplen);

	struct pkt p = {};
	p.family = 4;
	p.proto = ip.protocol;
	p.l4 = l3 + ihl;
	p.ip_end = l3 + bpf_ntohs(ip.tot_len);
	p.saddr4 = ip.saddr;
	p.daddr4 = ip.daddr;
	return do_transport(skb, c, &p, tun, outer);
}

static __always_inline __u32 do_ipv6(struct __sk_buff *skb, struct counters *c, __u32 l3, struct tunnel *tun, const int outer)
{
	struct ipv6hdr ip;
	if (bpf_skb_load_bytes(skb, l3, &ip, sizeof(ip)) < 0)
		return ERROR(c);
	if ((bpf_ntohl(ip.ver_tc_flow) >> 28) != 6)
		return ERROR(c);

	struct pkt p = {};
	p.family = 6;
	p.l4 = l3 + sizeof(ip);
	p.ip_end = p.l4 + bpf_ntohs(ip.payload_len);
	p.saddr6 = ip.saddr;
	p.daddr6 = ip.daddr;

	__u8 nh = ip.nexthdr;
#pragma unroll
	for (int i = 0; i < MAX_IPV6_EXT; i++) {
		__u8 ext[2];
		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
			if (bpf_skb_load_bytes(skb, p.l4, ext, sizeof(ext)) < 0)
				return ERROR(c);
			p.l4 += nh == IPPROTO_AH ? ((__u32)ext[1] + 2) * 4 : ((__u32)ext[1] + 1) * 8;
			nh = ext[0];
			continue;
		case IPPROTO_FRAGMENT:
			return PASS(c, fragment, cfg_snaplen);
		}
		break;
	}
	switch (nh) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case IPPROTO_FRAGMENT:
		return ERROR(c); // more extension headers than we walk
	}
	p.proto = nh;
	return do_transport(skb, c, &p, tun, outer);
}

// link_proto reads the ethertype of the Ethernet frame at off, past at most
// MAX_VLAN 802.1Q/802.1ad tags, and where its network header starts (l3).
static __always_inline int link_proto(struct __sk_buff *skb, __u32 off, __u32 *l3, __u16 *proto)
{
	__be16 et;
	off += 12;
	if (bpf_skb_load_bytes(skb, off, &et, sizeof(et)) < 0)
		return -1;
	__u16 pt = bpf_ntohs(et);
	// In-band 802.1Q/802.1ad tags. The kernel usually strips the outer
	// tag into skb metadata before packet sockets see a frame, so the
	// frame then looks untagged, which is parsed the same way.
#pragma unroll
	for (int i = 0; i < MAX_VLAN; i++) {
		if (pt != ETH_P_8021Q && pt != ETH_P_8021AD && pt != ETH_P_QINQ1)
			break;
		off += 4;
		if (bpf_skb_load_bytes(skb, off, &et, sizeof(et)) < 0)
			return -1;
		pt = bpf_ntohs(et);
	}
	*l3 = off + 2;
	*proto = pt;
	return 0;
}

// network judges the packet whose network header (ethertype proto) is at l3.
static __always_inline __u32 network(struct __sk_buff *skb, struct counters *c, __u32 l3, __u16 proto, struct tunnel *tun,
					    const int outer)
{
	switch (proto) {
	case ETH_P_IP:
		return do_ipv4(skb, c, l3, tun, outer);
	case ETH_P_IPV6:
		return do_ipv6(skb, c, l3, tun, outer);
	case ETH_P_ARP:
		return PASS(c, arp, l3 + 28);
	}
	return 0; // other ethertypes (LLDP, STP, ...) and deeper VLAN stacks
}

static __always_inline __u32 classify(struct __sk_buff *skb, struct counters *c, struct tunnel *tun)
{
	__u32 l3 = 0;
	__u16 proto;

	if (cfg_cooked)
		proto = bpf_ntohs((__u16)skb->protocol);
	else if (link_proto(skb, 0, &l3, &proto) < 0)
		return ERROR(c);
	return network(skb, c, l3, proto, tun, 1);
}

// classify_inner judges a tunnel's inner packet, which classify found; it
// unwraps no further.
static __always_inline __u32 classify_inner(struct __sk_buff *skb, struct counters *c, struct tunnel *tun)
{
	__u32 l3 = tun->off;
	__u16 proto = tun->proto;
	if (proto == ETH_P_TEB && link_proto(skb, tun->off, &l3, &proto) < 0)
		return ERROR(c);
	return network(skb, c, l3, proto, tun, 0);
}

// The fast path: the frames that dominate busy links are TCP (and UDP)
// over IPv4 without options or IPv6 without extension headers, untagged.
// For them one helper call reads the ethertype, the IP header and a TCP
// header without options onto the stack, and the checks read them there.
// Anything else, or a frame too short for the whole read, goes to classify,
// the general parser, which decides alone: the fast path makes no change
// (map or counter) before it knows it can decide, and decides the same.
//
// Socket filters may not read the packet directly (no skb->data), and
// LD_ABS/LD_IND cost a helper call per field, so one bpf_skb_load_bytes is
// the cheapest read there is. The buffer is laid out so that the IP header
// starts at a 4-byte boundary (the verifier wants aligned stack reads).
#define FAST_IP 4                      // offset of the IP header in the buffer
#define FAST_LEN (FAST_IP + 40 + 20)   // up to the end of an IPv6 + TCP header
#define FAST_MISS 0xffffffff           // not decided here: run classify

static __always_inline __u32 fast_path(struct __sk_buff *skb, struct counters *c)
{
	__u8 buf[FAST_LEN] __attribute__((aligned(8)));
	__u32 len = skb->len;
	__u32 have, l3;
	__u16 proto;

	if (cfg_cooked) {
		// From the IP header on, into buf[FAST_IP].
		if (len < 20 + 20)
			return FAST_MISS;
		__u32 n = len < FAST_LEN - FAST_IP ? len : FAST_LEN - FAST_IP;
		if (bpf_skb_load_bytes(skb, 0, buf + FAST_IP, n) < 0)
			return FAST_MISS;
		have = FAST_IP + n;
		l3 = 0;
		proto = bpf_ntohs((__u16)skb->protocol);
	} else {
		// From the ethertype (offset 12) on, into buf[FAST_IP - 2].
		if (len < 14 + 20 + 20)
			return FAST_MISS;
		if (len > 12 + FAST_LEN - (FAST_IP - 2))
			len = 12 + FAST_LEN - (FAST_IP - 2); // clamp before subtracting: the verifier follows that
		__u32 n = len - 12;
		if (bpf_skb_load_bytes(skb, 12, buf + FAST_IP - 2, n) < 0)
			return FAST_MISS;
		have = FAST_IP - 2 + n;
		l3 = 14;
		proto = bpf_ntohs(*(__be16 *)(buf + FAST_IP - 2));
	}

	// The transport header's fields are read in each branch, at offsets
	// the compiler knows: old verifiers refuse stack reads at a variable
	// offset.
	struct pkt p = {};
	__u8 doff_res, flags;
	if (proto == ETH_P_IP) {
		const struct ipv4hdr *ip = (const void *)(buf + FAST_IP);
		if (have < FAST_IP + 20 + 20 || ip->ver_ihl != 0x45 || (ip->frag_off & bpf_htons(0x3fff)))
			return FAST_MISS; // short, options, or a fragment
		p.family = 4;
		p.proto = ip->protocol;
		p.l4 = l3 + 20;
		p.ip_end = l3 + bpf_ntohs(ip->tot_len);
		p.saddr4 = ip->saddr;
		p.daddr4 = ip->daddr;
		const struct tcphdr *th = (const void *)(buf + FAST_IP + 20);
		p.sport = th->source; // where UDP has its ports too
		p.dport = th->dest;
		doff_res = th->doff_res;
		flags = th->flags;
	} else if (proto == ETH_P_IPV6) {
		const struct ipv6hdr *ip = (const void *)(buf + FAST_IP);
		if (have < FAST_IP + 40 + 20 || (buf[FAST_IP] >> 4) != 6)
			return FAST_MISS;
		p.family = 6;
		p.proto = ip->nexthdr;
		p.l4 = l3 + 40;
		p.ip_end = p.l4 + bpf_ntohs(ip->payload_len);
		p.saddr6 = ip->saddr;
		p.daddr6 = ip->daddr;
		const struct tcphdr *th = (const void *)(buf + FAST_IP + 40);
		p.sport = th->source;
		p.dport = th->dest;
		doff_res = th->doff_res;
		flags = th->flags;
	} else {
		return FAST_MISS; // VLAN tags, ARP, others
	}

	if (p.proto == IPPROTO_TCP)
		return tcp_verdict(c, &p, doff_res, flags);
	if (p.proto == IPPROTO_UDP && !tunnel_port(p.dport))
		return udp_verdict(c, &p);
	return FAST_MISS; // a tunnel, maybe: classify unwraps it
}

// verdict counts the frame passed (n bytes kept, at most the snaplen) or
// dropped (n == 0) and returns what the socket keeps.
static __always_inline __u32 verdict(struct counters *c, __u32 n)
{
	if (n == 0) {
		c->dropped++;
		return 0;
	}
	c->passed++;
	if (n > cfg_snaplen)
		n = cfg_snaplen;
	return n;
}

SEC("socket")
int scanwatch_filter(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct counters *c = bpf_map_lookup_elem(&counter_map, &zero);
	if (!c)
		return cfg_snaplen; // cannot happen for an array map; fail open

	c->seen++;
	__u32 n = fast_path(skb, c);
	if (n == FAST_MISS) {
		struct tunnel tun = {};
		n = classify(skb, c, &tun);
		if (n == TUNNEL) {
			skb->cb[0] = tun.off;
			skb->cb[1] = tun.proto;
			bpf_tail_call(skb, &inner_prog, 0);
			n = ERROR(c); // no inner program: fail open
		}
	}
	return verdict(c, n);
}

// scanwatch_inner judges a tunnel's inner packet, where the filter left its
// offset and type (cb[0], cb[1]); it has counted the frame as seen.
SEC("socket")
int scanwatch_inner(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct counters *c = bpf_map_lookup_elem(&counter_map, &zero);
	if (!c)
		return cfg_snaplen;
	struct tunnel tun = {.off = skb->cb[0], .proto = (__u16)skb->cb[1]};
	return verdict(c, classify_inner(skb, c, &tun));
}

char _license[] SEC("license") = "Dual BSD/GPL";
