package scanner

// Service returns the well-known service name of a port ("ssh" for 22/tcp),
// or "unknown" like nmap. The table is small and built in: the services a
// port table is usually read for, named as IANA and nmap name them.
func Service(proto string, port uint16) string {
	if proto == "udp" {
		if s, ok := udpServices[port]; ok {
			return s
		}
	} else if s, ok := tcpServices[port]; ok {
		return s
	}
	return "unknown"
}

var tcpServices = map[uint16]string{
	7: "echo", 9: "discard", 13: "daytime", 19: "chargen", 20: "ftp-data", 21: "ftp",
	22: "ssh", 23: "telnet", 25: "smtp", 37: "time", 43: "whois", 49: "tacacs",
	53: "domain", 70: "gopher", 79: "finger", 80: "http", 81: "hosts2-ns", 88: "kerberos-sec",
	106: "pop3pw", 110: "pop3", 111: "rpcbind", 113: "ident", 119: "nntp", 123: "ntp",
	135: "msrpc", 139: "netbios-ssn", 143: "imap", 179: "bgp", 199: "smux", 389: "ldap",
	427: "svrloc", 443: "https", 444: "snpp", 445: "microsoft-ds", 465: "smtps",
	512: "exec", 513: "login", 514: "shell", 515: "printer", 543: "klogin", 544: "kshell",
	548: "afp", 554: "rtsp", 587: "submission", 631: "ipp", 636: "ldapssl", 646: "ldp",
	873: "rsync", 990: "ftps", 993: "imaps", 995: "pop3s", 1025: "NFS-or-IIS",
	1080: "socks", 1194: "openvpn", 1433: "ms-sql-s", 1521: "oracle", 1723: "pptp",
	1883: "mqtt", 2049: "nfs", 2121: "ccproxy-ftp", 2375: "docker", 3000: "ppp",
	3128: "squid-http", 3306: "mysql", 3389: "ms-wbt-server", 5060: "sip", 5432: "postgresql",
	5672: "amqp", 5900: "vnc", 6379: "redis", 6443: "sun-sr-https", 6667: "irc",
	8000: "http-alt", 8008: "http", 8080: "http-proxy", 8443: "https-alt", 8888: "sun-answerbook",
	9000: "cslistener", 9090: "zeus-admin", 9100: "jetdirect", 9200: "wap-wsp",
	11211: "memcache", 27017: "mongod",
}

var udpServices = map[uint16]string{
	7: "echo", 9: "discard", 53: "domain", 67: "dhcps", 68: "dhcpc", 69: "tftp",
	111: "rpcbind", 123: "ntp", 135: "msrpc", 137: "netbios-ns", 138: "netbios-dgm",
	161: "snmp", 162: "snmptrap", 177: "xdmcp", 389: "ldap", 427: "svrloc", 443: "https",
	500: "isakmp", 514: "syslog", 520: "route", 623: "asf-rmcp", 631: "ipp", 1194: "openvpn",
	1434: "ms-sql-m", 1812: "radius", 1900: "upnp", 4500: "nat-t-ike", 5060: "sip",
	5353: "zeroconf", 11211: "memcache",
}
