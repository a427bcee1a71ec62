package scanner

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// optSpec is one command-line option.
type optSpec struct {
	names       []string // as nmap spells them: "-p", "--top-ports"
	arg         string   // the value's name ("<ports>"), "" for a flag
	optionalArg bool     // the value may only be attached (-PS22) and may be left out
	repeatable  bool     // -vv, -ff count
	help        string
	section     string
	// set applies the option; nil marks an nmap option scanwatch does not
	// implement (it is refused with "not supported").
	set func(o *Options, val string) error
}

// Sections, in nmap's order.
const (
	secTargets   = "TARGET SPECIFICATION"
	secDiscovery = "HOST DISCOVERY"
	secTechnique = "SCAN TECHNIQUES"
	secPorts     = "PORT SPECIFICATION AND SCAN ORDER"
	secTiming    = "TIMING AND PERFORMANCE"
	secEvasion   = "FIREWALL/IDS EVASION AND SPOOFING"
	secOutput    = "OUTPUT"
	secMisc      = "MISC"
)

// options lists scanwatch's options and every other option of nmap 7.93
// (those with a nil set), so that an nmap command line is either run or
// refused by name.
var options []optSpec

func init() {
	options = []optSpec{
		// Targets.
		{names: []string{"-iL"}, arg: "<file>", section: secTargets, help: "read targets from a file (one or more per line, # comments; - is stdin)", set: setInputList},
		{names: []string{"--exclude"}, arg: "<hosts>", section: secTargets, help: "leave out these hosts/networks (comma-separated)", set: func(o *Options, v string) error {
			o.Exclude = append(o.Exclude, splitList(v)...)
			return nil
		}},
		{names: []string{"--excludefile"}, arg: "<file>", section: secTargets, help: "leave out the hosts/networks listed in a file", set: func(o *Options, v string) error {
			specs, err := readTargetFile(v)
			o.Exclude = append(o.Exclude, specs...)
			return err
		}},
		{names: []string{"-iR"}, arg: "<num>", section: secTargets},

		// Host discovery.
		{names: []string{"-Pn", "-P0"}, section: secDiscovery, help: "treat all hosts as up: no host discovery", set: func(o *Options, _ string) error {
			o.Discovery.Skip = true
			return nil
		}},
		{names: []string{"-n"}, section: secDiscovery, help: "no reverse DNS (scanwatch never resolves addresses to names)", set: func(o *Options, _ string) error { return nil }},
		{names: []string{"--system-dns"}, section: secDiscovery, help: "resolve target names with the system resolver (always the case)", set: func(o *Options, _ string) error { return nil }},
		{names: []string{"-sL"}, section: secDiscovery, help: "list scan: print the targets, send nothing", set: func(o *Options, _ string) error {
			o.ListOnly = true
			return nil
		}},
		{names: []string{"-sn", "-sP"}, section: secDiscovery, help: "ping scan: find the hosts that are up, scan no ports", set: func(o *Options, _ string) error {
			o.Discovery.Only = true
			return nil
		}},
		{names: []string{"-PS"}, arg: "[ports]", optionalArg: true, section: secDiscovery, help: "TCP SYN discovery (default port 80)", set: ping('S')},
		{names: []string{"-PA"}, arg: "[ports]", optionalArg: true, section: secDiscovery, help: "TCP ACK discovery (default port 80)", set: ping('A')},
		{names: []string{"-PU"}, arg: "[ports]", optionalArg: true, section: secDiscovery, help: "UDP discovery (default port 40125)", set: ping('U')},
		{names: []string{"-PY"}, arg: "[ports]", optionalArg: true, section: secDiscovery, help: "SCTP INIT discovery (default port 80)", set: ping('Y')},
		{names: []string{"-PE"}, section: secDiscovery, help: "ICMP echo discovery", set: ping('E')},
		{names: []string{"-PP"}, section: secDiscovery, help: "ICMP timestamp discovery", set: ping('P')},
		{names: []string{"-PM"}, section: secDiscovery, help: "ICMP address mask discovery", set: ping('M')},
		{names: []string{"-PO"}, arg: "[protocols]", optionalArg: true, section: secDiscovery, help: "IP protocol discovery (default 1,2,4)", set: ping('O')},
		{names: []string{"-PR"}, section: secDiscovery, help: "ARP / neighbour discovery (the default on a local Ethernet link)", set: func(o *Options, _ string) error {
			o.arpPing = true
			return nil
		}},
		{names: []string{"--disable-arp-ping"}, section: secDiscovery, help: "use the IP probes on local links too", set: func(o *Options, _ string) error {
			o.Discovery.NoARP = true
			return nil
		}},
		{names: []string{"--discovery-ignore-rst"}, section: secDiscovery},
		{names: []string{"-R"}, section: secDiscovery},
		{names: []string{"--dns-servers"}, arg: "<servers>", section: secDiscovery},
		{names: []string{"--resolve-all"}, section: secDiscovery},
		{names: []string{"--traceroute"}, section: secDiscovery},

		// Techniques.
		{names: []string{"-sS"}, section: secTechnique, help: "TCP SYN scan (the default as root)", set: tech(SYN)},
		{names: []string{"-sT"}, section: secTechnique, help: "TCP connect() scan (the default otherwise)", set: tech(Connect)},
		{names: []string{"-sA"}, section: secTechnique, help: "TCP ACK scan", set: tech(ACK)},
		{names: []string{"-sW"}, section: secTechnique, help: "TCP Window scan", set: tech(Window)},
		{names: []string{"-sM"}, section: secTechnique, help: "TCP Maimon scan", set: tech(Maimon)},
		{names: []string{"-sN"}, section: secTechnique, help: "TCP Null scan", set: tech(Null)},
		{names: []string{"-sF"}, section: secTechnique, help: "TCP FIN scan", set: tech(FIN)},
		{names: []string{"-sX"}, section: secTechnique, help: "TCP Xmas scan", set: tech(Xmas)},
		{names: []string{"-sU"}, section: secTechnique, help: "UDP scan (with one TCP type: both in one run)", set: tech(UDP)},
		{names: []string{"--scanflags"}, arg: "<flags>", section: secTechnique, help: "TCP flags to send: URGACKPSHRSTSYNFIN names or a number", set: func(o *Options, v string) error {
			o.customFlags = v
			return nil
		}},
		{names: []string{"-sY"}, section: secTechnique, help: "SCTP INIT scan", set: tech(SCTPInit)},
		{names: []string{"-sZ"}, section: secTechnique, help: "SCTP COOKIE ECHO scan", set: tech(SCTPCookie)},
		{names: []string{"-sO"}, section: secTechnique, help: "IP protocol scan (-p lists protocol numbers 0-255; default all)", set: tech(IPProto)},
		{names: []string{"-sI"}, arg: "<zombie[:port]>", section: secTechnique},
		{names: []string{"-b"}, arg: "<ftp relay>", section: secTechnique},
		{names: []string{"-sV"}, section: secTechnique},
		{names: []string{"-sC"}, section: secTechnique},
		{names: []string{"-sR"}, section: secTechnique},

		// Ports.
		{names: []string{"-p"}, arg: "<ports>", section: secPorts, help: "ports: 22; 1-1024; -p- (all); U:53,T:21-25,80 (per protocol)", set: func(o *Options, v string) error {
			o.portSpec = v
			_, err := ParsePorts(v)
			return err
		}},
		{names: []string{"--exclude-ports"}, arg: "<ports>", section: secPorts, help: "leave these ports out", set: func(o *Options, v string) error {
			o.excludePort = v
			return nil
		}},
		{names: []string{"-F"}, section: secPorts, help: "fast: the 100 most common ports (default: the 1000 most common)", set: func(o *Options, _ string) error {
			o.topPorts = FastPorts
			return nil
		}},
		{names: []string{"--top-ports"}, arg: "<number>", section: secPorts, help: "the <number> most common ports of each protocol (nmap-services order)", set: func(o *Options, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("%q: want a number of ports, 1 or more", v)
			}
			o.topPorts = n
			return nil
		}},
		{names: []string{"-r"}, section: secPorts, help: "scan ports in order, not shuffled", set: func(o *Options, _ string) error {
			o.Sequential = true
			return nil
		}},
		{names: []string{"--port-ratio"}, arg: "<ratio>", section: secPorts},
		{names: []string{"--allports"}, section: secPorts},

		// Timing.
		{names: []string{"-T"}, arg: "<0-5>", section: secTiming, help: "timing template: 0 paranoid, 1 sneaky, 2 polite, 3 normal (default), 4 aggressive, 5 insane", set: setTemplate},
		{names: []string{"--min-rtt-timeout"}, arg: "<time>", section: secTiming, help: "floor of the adaptive reply timeout", set: timingDuration(func(t *Timing, d time.Duration) { t.MinRTTTimeout = d })},
		{names: []string{"--max-rtt-timeout"}, arg: "<time>", section: secTiming, help: "ceiling of the adaptive reply timeout", set: timingDuration(func(t *Timing, d time.Duration) { t.MaxRTTTimeout = d })},
		{names: []string{"--initial-rtt-timeout"}, arg: "<time>", section: secTiming, help: "reply timeout before any round trip is measured", set: timingDuration(func(t *Timing, d time.Duration) { t.InitialRTTTimeout = d })},
		{names: []string{"--max-retries"}, arg: "<tries>", section: secTiming, help: "retransmissions of a probe, at most", set: func(o *Options, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("%q: want 0 or more", v)
			}
			o.timing = append(o.timing, func(t *Timing) { t.MaxRetries = n })
			return nil
		}},
		{names: []string{"--host-timeout"}, arg: "<time>", section: secTiming, help: "give up on a host after this long (unanswered ports: reason host-timeout)", set: timingDuration(func(t *Timing, d time.Duration) { t.HostTimeout = d })},
		{names: []string{"--max-rate"}, arg: "<number>", section: secTiming, help: "probes per second, at most", set: timingRate(func(t *Timing, r float64) { t.MaxRate = r })},
		{names: []string{"--min-rate"}, arg: "<number>", section: secTiming, help: "probes per second, at least (sent past the congestion window)", set: timingRate(func(t *Timing, r float64) { t.MinRate = r })},
		{names: []string{"--scan-delay"}, arg: "<time>", section: secTiming, help: "wait at least this long between probes to one host", set: timingDuration(func(t *Timing, d time.Duration) { t.ScanDelay = d })},
		{names: []string{"--max-scan-delay"}, arg: "<time>", section: secTiming, help: "most the scan delay grows to when answers are lost", set: timingDuration(func(t *Timing, d time.Duration) {
			t.MaxScanDelay, t.MaxUDPScanDelay = d, d
		})},
		{names: []string{"--min-parallelism"}, arg: "<probes>", section: secTiming, help: "probes in flight, at least", set: timingCount(func(t *Timing, n int) { t.MinParallelism = n })},
		{names: []string{"--max-parallelism"}, arg: "<probes>", section: secTiming, help: "probes in flight, at most (per host)", set: timingCount(func(t *Timing, n int) { t.MaxParallelism = n })},
		{names: []string{"--min-hostgroup"}, arg: "<size>", section: secTiming},
		{names: []string{"--max-hostgroup"}, arg: "<size>", section: secTiming},
		{names: []string{"--defeat-rst-ratelimit"}, section: secTiming},
		{names: []string{"--defeat-icmp-ratelimit"}, section: secTiming},
		{names: []string{"--nsock-engine"}, arg: "<engine>", section: secTiming},

		// Evasion.
		{names: []string{"-e"}, arg: "<iface>", section: secEvasion, help: "send and receive on this interface only", set: func(o *Options, v string) error {
			o.Interface = v
			return nil
		}},
		{names: []string{"-g", "--source-port"}, arg: "<port>", section: secEvasion, help: "send from this source port", set: func(o *Options, v string) error {
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil || n == 0 {
				return fmt.Errorf("%q: want a port 1-65535", v)
			}
			o.SourcePort = uint16(n)
			return nil
		}},
		{names: []string{"-f"}, repeatable: true, section: secEvasion, help: "fragment probes into 8-byte pieces (-ff: 16)", set: func(o *Options, v string) error {
			n := 1
			if v != "" {
				n, _ = strconv.Atoi(v)
			}
			o.Evasion.MTU = 8 * n
			return nil
		}},
		{names: []string{"--mtu"}, arg: "<bytes>", section: secEvasion, help: "fragment probes into pieces of this size (a multiple of 8)", set: func(o *Options, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 8 || n%8 != 0 {
				return fmt.Errorf("%q: want a multiple of 8", v)
			}
			o.Evasion.MTU = n
			return nil
		}},
		{names: []string{"-D"}, arg: "<decoy,...[,ME]>", section: secEvasion, help: "send each probe from these addresses too (ME: where ours goes; RND:n: n random ones)", set: setDecoys},
		{names: []string{"-S"}, arg: "<address>", section: secEvasion, help: "send from this source address", set: func(o *Options, v string) error {
			a, err := netip.ParseAddr(v)
			if err != nil {
				return err
			}
			o.Evasion.Spoof = a.Unmap()
			return nil
		}},
		{names: []string{"--data"}, arg: "<hex>", section: secEvasion, help: "payload of every probe, in hex (0xdeadbeef or deadbeef)", set: func(o *Options, v string) error {
			b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimPrefix(v, "0x"), `\x`, ""))
			if err != nil {
				return fmt.Errorf("%q: not hex", v)
			}
			o.Evasion.Data = b
			return nil
		}},
		{names: []string{"--data-string"}, arg: "<string>", section: secEvasion, help: "payload of every probe, as text", set: func(o *Options, v string) error {
			o.Evasion.Data = []byte(v)
			return nil
		}},
		{names: []string{"--data-length"}, arg: "<bytes>", section: secEvasion, help: "append this many random bytes to every probe", set: func(o *Options, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 1400 {
				return fmt.Errorf("%q: want 0-1400", v)
			}
			o.Evasion.DataLength = n
			return nil
		}},
		{names: []string{"--ttl"}, arg: "<value>", section: secEvasion, help: "IP time-to-live (hop limit) of every probe", set: func(o *Options, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 255 {
				return fmt.Errorf("%q: want 1-255", v)
			}
			o.Evasion.TTL = uint8(n)
			return nil
		}},
		{names: []string{"--badsum"}, section: secEvasion, help: "send a wrong TCP/UDP/SCTP/ICMP checksum", set: func(o *Options, _ string) error {
			o.Evasion.BadSum = true
			return nil
		}},
		{names: []string{"--proxies", "--proxy"}, arg: "<urls>", section: secEvasion},
		{names: []string{"--ip-options"}, arg: "<options>", section: secEvasion},
		{names: []string{"--spoof-mac"}, arg: "<mac>", section: secEvasion},
		{names: []string{"--adler32"}, section: secEvasion},

		// Output.
		{names: []string{"--json"}, section: secOutput, help: "the result as one JSON object on stdout (scanwatch's own format)", set: func(o *Options, _ string) error {
			o.JSON = true
			return nil
		}},
		{names: []string{"-v"}, repeatable: true, section: secOutput, help: "more verbose: list more ports before summarising (-vv more)", set: func(o *Options, v string) error {
			n := 1
			if v != "" {
				var err error
				if n, err = strconv.Atoi(v); err != nil || n < 0 {
					return fmt.Errorf("%q: want a level", v)
				}
			}
			o.Display.Verbose += n
			return nil
		}},
		{names: []string{"--reason"}, section: secOutput, help: "say why each port has its state", set: func(o *Options, _ string) error {
			o.Display.Reason = true
			return nil
		}},
		{names: []string{"--open"}, section: secOutput, help: "show only open (or possibly open) ports, and only hosts with some", set: func(o *Options, _ string) error {
			o.Display.Open = true
			return nil
		}},
		{names: []string{"-oN"}, arg: "<file>", section: secOutput, help: "normal output to a file (- is stdout)", set: func(o *Options, v string) error {
			o.Normal = v
			return nil
		}},
		{names: []string{"-oX"}, arg: "<file>", section: secOutput, help: "nmap's XML output to a file (- is stdout)", set: func(o *Options, v string) error {
			o.XML = v
			return nil
		}},
		{names: []string{"-oG"}, arg: "<file>", section: secOutput, help: "nmap's grepable output to a file (- is stdout)", set: func(o *Options, v string) error {
			o.Grepable = v
			return nil
		}},
		{names: []string{"-oA"}, arg: "<basename>", section: secOutput, help: "all three: <basename>.nmap, .xml and .gnmap", set: func(o *Options, v string) error {
			o.Normal, o.XML, o.Grepable = v+".nmap", v+".xml", v+".gnmap"
			return nil
		}},
		{names: []string{"-oS"}, arg: "<file>", section: secOutput},
		{names: []string{"-oM"}, arg: "<file>", section: secOutput},
		{names: []string{"-d"}, repeatable: true, section: secOutput},
		{names: []string{"--packet-trace"}, section: secOutput},
		{names: []string{"--iflist"}, section: secOutput},
		{names: []string{"--append-output"}, section: secOutput},
		{names: []string{"--resume"}, arg: "<file>", section: secOutput},
		{names: []string{"--noninteractive"}, section: secOutput, help: "accepted: scanwatch never reads the keyboard", set: func(o *Options, _ string) error { return nil }},
		{names: []string{"--stylesheet"}, arg: "<path>", section: secOutput},
		{names: []string{"--webxml"}, section: secOutput},
		{names: []string{"--no-stylesheet"}, section: secOutput},
		{names: []string{"--stats-every"}, arg: "<time>", section: secOutput},
		{names: []string{"--log-errors"}, section: secOutput},

		// Misc.
		{names: []string{"-6"}, section: secMisc, help: "IPv6: every target must be an IPv6 address", set: func(o *Options, _ string) error {
			o.IPv6 = true
			return nil
		}},
		{names: []string{"-h", "--help"}, section: secMisc, help: "this help", set: func(o *Options, _ string) error { return ErrHelp }},
		{names: []string{"-A"}, section: secMisc},
		{names: []string{"-O"}, section: secMisc},
		{names: []string{"--osscan-limit"}, section: secMisc},
		{names: []string{"--osscan-guess"}, section: secMisc},
		{names: []string{"--max-os-tries"}, arg: "<n>", section: secMisc},
		{names: []string{"--version-intensity"}, arg: "<0-9>", section: secMisc},
		{names: []string{"--version-light"}, section: secMisc},
		{names: []string{"--version-all"}, section: secMisc},
		{names: []string{"--version-trace"}, section: secMisc},
		{names: []string{"--script"}, arg: "<scripts>", section: secMisc},
		{names: []string{"--script-args"}, arg: "<args>", section: secMisc},
		{names: []string{"--script-args-file"}, arg: "<file>", section: secMisc},
		{names: []string{"--script-trace"}, section: secMisc},
		{names: []string{"--script-updatedb"}, section: secMisc},
		{names: []string{"--script-help"}, arg: "<scripts>", section: secMisc},
		{names: []string{"--script-timeout"}, arg: "<time>", section: secMisc},
		{names: []string{"--datadir"}, arg: "<dir>", section: secMisc},
		{names: []string{"--servicedb"}, arg: "<file>", section: secMisc},
		{names: []string{"--versiondb"}, arg: "<file>", section: secMisc},
		{names: []string{"--send-eth"}, section: secMisc},
		{names: []string{"--send-ip"}, section: secMisc},
		{names: []string{"--privileged"}, section: secMisc},
		{names: []string{"--unprivileged"}, section: secMisc},
		{names: []string{"--release-memory"}, section: secMisc},
		{names: []string{"--deprecated-xml-osclass"}, section: secMisc},
		{names: []string{"-V", "--version"}, section: secMisc},
	}
}

// findOption returns the spec named exactly name, or nil.
func findOption(name string) *optSpec {
	for i := range options {
		for _, n := range options[i].names {
			if n == name {
				return &options[i]
			}
		}
	}
	return nil
}

// isNmapOption reports whether name is an nmap option (implemented or not).
func isNmapOption(name string) bool { return findOption(name) != nil }
