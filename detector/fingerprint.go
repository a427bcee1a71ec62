package detector

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/scanwatch/scanwatch/decode"
)

// optClass sums up a probe's TCP options, the strongest single tell between
// a crafted probe and one from an operating system's stack.
type optClass uint8

const (
	optNone    optClass = iota // no options: masscan (before 1.3.3), hping3, nmap's FIN/NULL/Xmas/ACK
	optMSSOnly                 // a lone MSS option: nmap's SYN probe
	optFull                    // SACK-permitted, timestamps or window scale: an OS stack
	optOther                   // anything else
)

// synPrint holds the features of a probe that tell tools apart. It is kept
// on the flow and counted into the episode when the probe is resolved.
type synPrint struct {
	flags     uint8 // tcp[13]
	v6        bool
	ttl       uint8
	df        bool
	opts      optClass
	mss       uint16
	window    uint16
	ipid      uint16
	ackNoFlag bool // non-zero acknowledgment number without the ACK flag (hping3)
	idMatch   bool // IP ID == dst_ip ^ dst_port ^ seq (low 16 bits): masscan's stateless cookie
	sport     uint16
	seq       uint32
}

func printOf(p *decode.Packet) synPrint {
	fp := synPrint{flags: p.Flags, v6: p.IPv6, ttl: p.TTL, df: p.DF, window: p.Window, ipid: uint16(p.IPID), sport: p.SrcPort, seq: p.Seq}
	fp.opts, fp.mss = classifyOptions(p.Options)
	fp.ackNoFlag = p.Ack != 0 && p.Flags&decode.ACK == 0
	if !p.IPv6 {
		d := p.Dst.As4()
		dst := binary.BigEndian.Uint32(d[:])
		fp.idMatch = uint16(dst^uint32(p.DstPort)^p.Seq) == uint16(p.IPID)
	}
	return fp
}

func classifyOptions(opts []byte) (optClass, uint16) {
	if len(opts) == 0 {
		return optNone, 0
	}
	var mss uint16
	sawMSS, sawOS, sawOther := false, false, false
	for i := 0; i < len(opts); {
		kind := opts[i]
		if kind == 0 {
			break
		}
		if kind == 1 {
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 || i+int(opts[i+1]) > len(opts) {
			sawOther = true
			break
		}
		l := int(opts[i+1])
		switch kind {
		case 2:
			sawMSS = true
			if l == 4 {
				mss = binary.BigEndian.Uint16(opts[i+2:])
			}
		case 3, 4, 8:
			sawOS = true
		default:
			sawOther = true
		}
		i += l
	}
	switch {
	case sawOS:
		return optFull, mss
	case sawOther:
		return optOther, mss
	case sawMSS:
		return optMSSOnly, mss
	}
	return optNone, 0
}

// tool is a scanner program recognised from its probes.
type tool uint8

const (
	toolUnknown tool = iota
	toolNmap
	toolMasscan
	toolZmap
	toolHping3
	toolOS // a probe from an operating system's own stack (connect(), a client program)
	numTools
)

var toolNames = [numTools]string{"unknown", "nmap", "masscan", "zmap", "hping3", "os-stack"}

// toolOf names the tool whose fingerprint one TCP probe matches. TTLs are
// compared as upper bounds, since routers only lower them; IPv6 has no DF
// bit and nmap leaves its hop limit alone.
func toolOf(fp synPrint) tool {
	syn := fp.flags&decode.SYN != 0
	nmapIP := fp.v6 || !fp.df && fp.ttl <= 59
	switch {
	case fp.ipid == 54321 && fp.window == 65535 && fp.ttl > 128:
		return toolZmap
	case fp.window == 1024 && fp.ttl > 128 && fp.idMatch:
		return toolMasscan
	case fp.window == 512 && fp.opts == optNone && (fp.ackNoFlag || !syn):
		return toolHping3
	case isNmapWindow(fp.window) && nmapIP && (syn && fp.opts == optMSSOnly && fp.mss == 1460 || !syn && fp.opts == optNone):
		return toolNmap
	case syn && fp.opts == optFull:
		return toolOS
	}
	return toolUnknown
}

// toolEvidence says which features of fp matched tool t.
func toolEvidence(t tool, fp synPrint) string {
	switch t {
	case toolZmap:
		return "IP ID 54321, window 65535, TTL>128"
	case toolMasscan:
		return "window 1024, TTL>128, IP ID = dst^port^seq"
	case toolHping3:
		return "window 512, no options"
	case toolNmap:
		s := "window " + itoa(int(fp.window)) + ", no options"
		if fp.opts == optMSSOnly {
			s = "window " + itoa(int(fp.window)) + ", MSS-only option"
		}
		if !fp.v6 {
			s += ", no DF, TTL<=59"
		}
		return s
	case toolOS:
		return "OS-stack SYN options"
	}
	return ""
}

func isNmapWindow(w uint16) bool { return w == 1024 || w == 2048 || w == 3072 || w == 4096 }

// toolVotes counts, per tool, the probes whose fingerprint matched it.
type toolVotes struct {
	n        [numTools]int
	evidence [numTools]string
	total    int
}

func (v *toolVotes) add(fp synPrint) {
	t := toolOf(fp)
	if v.n[t] == 0 {
		v.evidence[t] = toolEvidence(t, fp)
	}
	v.n[t]++
	v.total++
}

// leader is the tool most probes matched so far (not the OS stack).
func (v *toolVotes) leader() tool {
	best := toolUnknown
	for t := toolNmap; t < toolOS; t++ {
		if v.n[t] > v.n[best] {
			best = t
		}
	}
	return best
}

// verdict names a tool only when at least 80% of probes agree on it;
// "unknown" is better than a wrong name.
func (v *toolVotes) verdict() (string, string) {
	if v.total == 0 {
		return "unknown", ""
	}
	best := v.leader()
	if best == toolUnknown || v.n[best]*5 < v.total*4 {
		return "unknown", ""
	}
	return toolNames[best], fmt.Sprintf("%d/%d probes: %s", v.n[best], v.total, v.evidence[best])
}

// ttlSpread follows the IPv4 TTLs of an episode's probes. An OS stack
// sends every packet with one TTL; nmap draws a new one (37-59) for every
// raw probe, whatever the protocol. Many TTLs within that span, and never
// DF, name nmap however many hops away it is.
type ttlSpread struct {
	seen   [4]uint64 // bitset of TTL values
	n      int       // distinct values
	lo, hi uint8
	df     bool
	probes int
}

func (t *ttlSpread) add(fp synPrint) {
	if fp.v6 {
		return
	}
	t.probes++
	t.df = t.df || fp.df
	w, b := fp.ttl>>6, uint64(1)<<(fp.ttl&63)
	if t.seen[w]&b == 0 {
		t.seen[w] |= b
		if t.n == 0 || fp.ttl < t.lo {
			t.lo = fp.ttl
		}
		t.hi = max(t.hi, fp.ttl)
		t.n++
	}
}

// nmap reports nmap's randomised TTL: at least 4 distinct values, all
// within nmap's 23-value span and at most 59, and no DF.
func (t *ttlSpread) nmap() (bool, string) {
	if t.n < 4 || t.df || t.hi > 59 || t.hi-t.lo > 22 {
		return false, ""
	}
	return true, fmt.Sprintf("TTL randomised per probe (%d values in %d-%d), no DF", t.n, t.lo, t.hi)
}

// flagString names a tcp[13] value the way tcpdump users read it: "SYN|FIN".
func flagString(f uint8) string {
	if f == 0 {
		return "NONE"
	}
	names := [8]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}
	var parts []string
	for i := 7; i >= 0; i-- {
		if f&(1<<i) != 0 {
			parts = append(parts, names[i])
		}
	}
	return strings.Join(parts, "|")
}
