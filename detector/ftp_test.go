package detector

import (
	"net/netip"
	"testing"

	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/technique"
)

func TestParsePort(t *testing.T) {
	for _, tc := range []struct {
		eprt bool
		arg  string
		addr string
		port uint16
	}{
		{false, "10,78,0,10,0,22\r\n", "10.78.0.10", 22},
		{false, "10,77,0,2,162,215", "10.77.0.2", 162<<8 | 215},
		{false, "10,78,0,10,0", "", 0},
		{false, "10,78,0,300,0,22", "", 0},
		{true, "|1|132.235.1.2|6275|\r\n", "132.235.1.2", 6275},
		{true, "|2|1080::8:800:200C:417A|5282|", "1080::8:800:200c:417a", 5282},
		{true, "|1|x|80|", "", 0},
	} {
		a, p, ok := parsePort(tc.eprt, []byte(tc.arg))
		if ok != (tc.addr != "") || ok && (a != netip.MustParseAddr(tc.addr) || p != tc.port) {
			t.Errorf("parsePort(%v, %q) = %v, %d, %v; want %s, %d", tc.eprt, tc.arg, a, p, ok, tc.addr, tc.port)
		}
	}
}

// ftpSession plays a logged-in control connection from client to server
// port 21 and returns a function that sends one line (fromClient or not).
func (w *wire) ftpSession(client, server netip.Addr, sport uint16) func(fromClient bool, line string) {
	w.tcp(client, server, sport, 21, syn, 100, 0, 0, osOpts)
	w.tcp(server, client, 21, sport, synack, 500, 101, 0, osOpts)
	w.tcp(client, server, sport, 21, ack, 101, 501, 0, nil)
	cseq, sseq := uint32(101), uint32(501)
	send := func(fromClient bool, line string) {
		p := decode.Packet{Time: w.now, Kind: decode.KindTCP, Proto: 6, TTL: 64, DF: true, Flags: pshack, Window: 502,
			Payload: len(line), Data: []byte(line)}
		if fromClient {
			p.Src, p.Dst, p.SrcPort, p.DstPort, p.Seq, p.Ack = client, server, sport, 21, cseq, sseq
			cseq += uint32(len(line))
		} else {
			p.Src, p.Dst, p.SrcPort, p.DstPort, p.Seq, p.Ack = server, client, 21, sport, sseq, cseq
			sseq += uint32(len(line))
		}
		w.send(p)
	}
	send(false, "220 (vsFTPd 3.0.3)\r\n")
	send(true, "USER anonymous\r\n")
	send(false, "331 Please specify the password.\r\n")
	send(true, "PASS guest\r\n")
	send(false, "230 Login successful.\r\n")
	return send
}

func TestFTPBounce(t *testing.T) {
	relay, victim := v4(21), v4(30)
	runCases(t, []protoCase{{
		// nmap -b: PORT naming the victim, LIST; the relay connects and
		// the victim's answer decides the reply.
		name: "nmap -b",
		run: func(w *wire) {
			ftp := w.ftpSession(scanner, relay, 40000)
			for port := uint16(1); port <= 10; port++ {
				ftp(true, "PORT 10,77,0,30,0,"+itoa(int(port))+"\r\n")
				w.tcp(relay, victim, 20000+port, port, syn, 1, 0, 0, osOpts)
				if port == 7 {
					w.tcp(victim, relay, port, 20000+port, synack, 9, 2, 0, osOpts)
					ftp(false, "200 PORT command successful.\r\n")
					ftp(true, "LIST\r\n")
					ftp(false, "150 Here comes the directory listing.\r\n")
					ftp(false, "226 Directory send OK.\r\n")
					continue
				}
				w.tcp(victim, relay, port, 20000+port, rstack, 0, 2, 0, nil)
				ftp(false, "200 PORT command successful.\r\n")
				ftp(true, "LIST\r\n")
				ftp(false, "425 Failed to establish connection.\r\n")
			}
		},
		want: []want{{scanner: scanner, typ: technique.FTPBounce, shape: "vertical", ports: 10, open: []uint16{7}, tool: "nmap",
			evidence: []string{"10 PORT commands naming 10.77.0.30 (10 ports)", "1 data connections opened", "9 refused by the target (425)",
				"bounces its scan off the FTP server 10.77.0.21", "the relay's 10 connections"}}},
	}, {
		// A server that refuses PORT to a third party (RFC 2577): the
		// attempts are still a bounce scan, and the relay connects nowhere.
		name: "relay refuses",
		run: func(w *wire) {
			ftp := w.ftpSession(scanner, relay, 40000)
			for port := uint16(1); port <= 6; port++ {
				ftp(true, "EPRT |1|10.77.0.30|"+itoa(int(port))+"|\r\n")
				ftp(false, "500 Illegal PORT command.\r\n")
				ftp(true, "LIST\r\n")
				ftp(false, "425 Use PORT or PASV first.\r\n")
			}
		},
		want: []want{{scanner: scanner, typ: technique.FTPBounce, ports: 6, evidence: []string{"6 refused by the relay"}}},
	}, {
		// FXP: the client moves files from another server to this one,
		// naming the other server's passive ports; every transfer works.
		name: "server-to-server transfers",
		run: func(w *wire) {
			ftp := w.ftpSession(scanner, relay, 40000)
			ftp(true, "TYPE I\r\n")
			ftp(false, "200 Switching to Binary mode.\r\n")
			for i := range 12 {
				dport := uint16(50000 + 7*i)
				ftp(true, "PORT 10,77,0,30,"+itoa(int(dport>>8))+","+itoa(int(dport&0xff))+"\r\n")
				ftp(false, "200 PORT command successful.\r\n")
				w.tcp(relay, victim, 20, dport, syn, 1, 0, 0, osOpts)
				w.tcp(victim, relay, dport, 20, synack, 9, 2, 0, osOpts)
				ftp(true, "STOR file"+itoa(i)+".iso\r\n")
				ftp(false, "150 Ok to send data.\r\n")
				ftp(false, "226 Transfer complete.\r\n")
			}
		},
	}, {
		// Active mode: PORT names the client, the server connects back to
		// a new port of the client for every transfer.
		name: "active mode",
		run: func(w *wire) {
			ftp := w.ftpSession(scanner, relay, 40000)
			ftp(true, "TYPE I\r\n")
			ftp(false, "200 Switching to Binary mode.\r\n")
			for i := range 20 {
				dport := uint16(41000 + i)
				ftp(true, "PORT 10,77,0,2,"+itoa(int(dport>>8))+","+itoa(int(dport&0xff))+"\r\n")
				ftp(false, "200 PORT command successful.\r\n")
				ftp(true, "RETR file.txt\r\n")
				w.tcp(relay, scanner, 20, dport, syn, 1, 0, 0, osOpts)
				w.tcp(scanner, relay, dport, 20, rstack, 0, 2, 0, nil) // a firewall refuses it
				ftp(false, "425 Failed to establish connection.\r\n")
			}
		},
	}})
}

// FuzzApplicationBytes: any first request, FTP command or reply is read
// without a panic.
func FuzzApplicationBytes(f *testing.F) {
	for _, s := range []string{"PORT 10,78,0,10,0,22\r\n", "EPRT |2|::1|80|", "EPRT ||||", "425 x", "GET /nmaplowercheck1 HTTP/1.1", "\x16\x03\x00\x00S"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		classifyRequest(b, len(b))
		w := newWire(t)
		ftp := w.ftpSession(scanner, v4(21), 40000)
		ftp(true, string(b))
		ftp(false, string(b))
		ftp(true, "LIST\r\n")
		ftp(false, string(b))
		w.d.Flush()
	})
}
