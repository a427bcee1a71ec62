// Payload: the first request of a connection, told apart by its first
// bytes. nmap's service probes are fixed byte strings (its
// nmap-service-probes file); its scripts make recognisable HTTP requests,
// SSH and FTP greetings. Only the first data segment of each client flow
// is read (live capture's kernel filter passes no more), and only its
// first bytes: captures with a short snap length keep the request line and
// little else.

package detector

import (
	"bytes"
)

// byteProbe is a probe known by its leading bytes.
type byteProbe struct {
	kind  ProbeKind
	bytes string
	whole bool // the request is exactly these bytes, no more
}

// byteProbes: nmap's service probes from nmap-service-probes (the first 32
// bytes of the longer ones), and the fixed greetings of nmap's scripts and
// of masscan's banner grabber.
var byteProbes = []byteProbe{
	{KindGenericLines, "\r\n\r\n", true},
	{KindGetRequest, "GET / HTTP/1.0\r\n\r\n", true},
	{KindHTTPOptions, "OPTIONS / HTTP/1.0\r\n\r\n", true},
	{KindRTSPRequest, "OPTIONS / RTSP/1.0\r\n\r\n", true},
	{KindRPCCheck, "\x80\x00\x00(r\xfe\x1d\x13\x00\x00\x00\x00\x00\x00\x00\x02\x00\x01\x86\xa0\x00\x01\x97|\x00\x00\x00\x00\x00\x00\x00\x00", false},
	{KindDNSVersionBind, "\x00\x1e\x00\x06\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03", true},
	{KindDNSStatus, "\x00\x0c\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00", true},
	{KindHello, "EHLO\r\n", true},
	{KindHelp, "HELP\r\n", true},
	{KindSSLSessionReq, "\x16\x03\x00\x00S\x01\x00\x00O\x03\x00?G\xd7\xf7\xba,\xee\xea\xb2`~\xf3\x00\xfd\x82{\xb9\xd5\x96\xc8w", false},
	{KindTerminalServerCookie, "\x03\x00\x00*%\xe0\x00\x00\x00\x00\x00Cookie: mstshash=nmap", false},
	{KindTLSSessionReq, "\x16\x03\x00\x00i\x01\x00\x00e\x03\x03U\x1c\xa7\xe4random1random2ran", false},
	{KindSSLv23SessionReq, "\x80\x9e\x01\x03\x01\x00u\x00\x00\x00 \x00\x00f\x00\x00e\x00\x00d\x00\x00c\x00\x00b\x00\x00:\x00\x009", false},
	{KindKerberos, "\x00\x00\x00qj\x81n0\x81k\xa1\x03\x02\x01\x05\xa2\x03\x02\x01\x0a\xa4\x81^0\x5c\xa0\x07\x03\x05\x00P\x80", false},
	{KindSMBProgNeg, "\x00\x00\x00\xa4\xffSMBr\x00\x00\x00\x00\x08\x01@\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00@\x06", false},
	{KindX11, "l\x00\x0b\x00\x00\x00\x00\x00\x00\x00\x00\x00", true},
	{KindFourOhFour, "GET /nice%20ports%2C/Tri%6Eity.t", false},
	{KindLPDString, "\x01default\n", true},
	{KindLDAPSearch, "0\x84\x00\x00\x00-\x02\x01\x07c\x84\x00\x00\x00$\x04\x00\x0a\x01\x00\x0a\x01\x00\x02\x01\x00\x02\x01d\x01\x01\x00", false},
	{KindLDAPBind, "0\x0c\x02\x01\x01`\x07\x02\x01\x02\x04\x00\x80\x00", true},
	{KindSIPOptions, "OPTIONS sip:nm SIP/2.0\r\nVia: SIP", false},
	{KindTerminalServer, "\x03\x00\x00\x0b\x06\xe0\x00\x00\x00\x00\x00", true},
	{KindDistCCD, "DIST00000001ARGC00000005ARGV0000", false},
	{KindJavaRMI, "JRMI\x00\x02K", true},
	{KindOracleTNS, "\x00Z\x00\x00\x01\x00\x00\x00\x016\x01,\x00\x00\x08\x00\x7f\xff\x7f\x08\x00\x00\x00\x01\x00 \x00:\x00\x00\x00\x00", false},
	{KindMSSQL, "\x12\x01\x004\x00\x00\x00\x00\x00\x00\x15\x00\x06\x01\x00\x1b\x00\x01\x02\x00\x1c\x00\x0c\x03\x00(\x00\x04\xff\x08\x00\x01", false},
	{KindMemcache, "stats\r\n", true},
	{KindMongoDB, "A\x00\x00\x00:0\x00\x00\xff\xff\xff\xff\xd4\x07\x00\x00\x00\x00\x00\x00test.$cmd\x00\x00\x00", false},
	{KindRedis, "*1\r\n$4\r\ninfo\r\n", true},
	{KindDocker, "GET /version HTTP/1.1\r\n\r\n", true},
	{KindMasscanHTTP, "GET / HTTP/1.0\r\nUser-Agent: masscan/", false},

	// nmap's scripts and masscan's probes.
	{KindSSHHostkey, "SSH-2.0-Nmap-SSH2-Hostkey", false},
	{KindSSHHostkey, "SSH-1.5-Nmap-SSH1-Hostkey", false},
	{KindWebLogicT3, "t3 12.1.2\nAS:2048\nHL:19\n", false},
	{KindFTPAnonymous, "USER anonymous\r\n", true},
	{KindAuthTLS, "AUTH TLS\r\n", true},
}

// minCompare is how many leading bytes must have been captured for a
// longer probe to match: the capture may have cut the rest.
const minCompare = 12

// byFirstByte indexes byteProbes by their first byte, so a request is
// compared with the one or two probes that can match it.
var byFirstByte = func() (idx [256][]byteProbe) {
	for _, p := range byteProbes {
		idx[p.bytes[0]] = append(idx[p.bytes[0]], p)
	}
	return idx
}()

// match reports whether a request of n bytes whose first bytes are data is
// probe b.
func (b *byteProbe) match(data []byte, n int) bool {
	if b.whole && n != len(b.bytes) || n < len(b.bytes) {
		return false
	}
	m := min(len(data), len(b.bytes))
	return m >= min(len(b.bytes), minCompare) && string(data[:m]) == b.bytes[:m]
}

// nseUserAgent is the start of the User-Agent nmap's scripts send
// ("Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)").
var nseUserAgent = []byte("(compatible; Nmap")

// classifyRequest names the probe that a connection's first request is,
// from its captured first bytes (data) and its length (n, from the IP
// header); KindNone when it is none we know. nmapUA reports the nmap
// scripting engine's User-Agent among the captured bytes.
func classifyRequest(data []byte, n int) (kind ProbeKind, nmapUA bool) {
	if len(data) == 0 {
		return KindNone, false
	}
	for i := range byFirstByte[data[0]] {
		if p := &byFirstByte[data[0]][i]; p.match(data, n) {
			return p.kind, false
		}
	}
	switch data[0] {
	case 'G', 'P', 'O', 'H':
		nmapUA = bytes.Contains(data, nseUserAgent)
		kind = httpRequestKind(data)
		if kind == KindNone && nmapUA {
			kind = KindNSEUserAgent
		}
	}
	return kind, nmapUA
}

// httpRequestKind names the script request an HTTP request line makes.
func httpRequestKind(data []byte) ProbeKind {
	method, rest, ok := bytes.Cut(data, []byte(" "))
	if !ok {
		return KindNone
	}
	path, version, _ := bytes.Cut(rest, []byte(" "))
	switch string(method) {
	case "GET":
		switch {
		case bytes.HasPrefix(path, []byte("/nmaplowercheck")) && len(path) > 15 && isDigit(path[15]):
			return KindNmapLowerCheck
		case string(path) == "/HNAP1" || string(path) == "/HNAP1/":
			return KindHNAP1
		case string(path) == "/evox/about":
			return KindEvoxAbout
		case string(path) == "/.git/HEAD":
			return KindGitHead
		case string(path) == "/robots.txt":
			return KindRobots
		case string(path) == "/favicon.ico":
			return KindFavicon
		}
	case "POST":
		if string(path) == "/sdk" {
			return KindVMwareSDK
		}
	case "PROPFIND":
		return KindPropfind
	case "OPTIONS":
		if string(path) == "/" && bytes.HasPrefix(version, []byte("HTTP/1.1")) {
			return KindHTTPOptions11
		}
	case "HEAD":
		if string(path) == "/" && bytes.HasPrefix(version, []byte("HTTP/1.1")) {
			return KindHTTPHead
		}
	}
	return KindNone
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
