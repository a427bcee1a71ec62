package scanner

import (
	"bytes"
	"encoding/xml"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sampleResult is a -sS -sU scan of 40 TCP and 2 UDP ports of two hosts,
// one up and one down.
func sampleResult() *Result {
	r := &Result{Techniques: []Technique{SYN, UDP}, Start: time.Date(2026, 12, 2, 1, 38, 17, 0, time.UTC), Duration: 1380 * time.Millisecond}
	r.Ports.TCP, _ = ParsePorts("1-40")
	r.Ports.UDP = []uint16{53, 54}
	h := HostResult{Addr: netip.MustParseAddr("10.66.0.2"), Up: true, Reason: "arp-response"}
	for _, p := range r.Ports.TCP {
		pr := PortResult{Port: p, Proto: "tcp", State: Closed, Reason: "reset", TTL: 64, Service: Service("tcp", p)}
		if p == 22 {
			pr.State, pr.Reason = Open, "syn-ack"
		}
		h.Ports = append(h.Ports, pr)
	}
	h.Ports = append(h.Ports, PortResult{Port: 53, Proto: "udp", State: Open, Reason: "udp-response", TTL: 64, Service: "domain"},
		PortResult{Port: 54, Proto: "udp", State: Closed, Reason: "port-unreach", TTL: 64, Service: "xns-ch"})
	r.Hosts = []HostResult{h, {Addr: netip.MustParseAddr("10.66.0.9")}}
	return r
}

// TestWriteGrepable: the lines nmap 7.93 writes for the same scan (its
// -oG output, comments aside).
func TestWriteGrepable(t *testing.T) {
	var b bytes.Buffer
	if err := sampleResult().WriteGrepable(&b, Display{}, []string{"-sS", "-sU"}); err != nil {
		t.Fatal(err)
	}
	want := "Host: 10.66.0.2 ()\tStatus: Up\n" +
		"Host: 10.66.0.2 ()\tPorts: 22/open/tcp//ssh///, 53/open/udp//domain///\tIgnored State: closed (40)\n"
	lines := strings.SplitAfter(b.String(), "\n")
	if len(lines) != 5 || strings.Join(lines[1:3], "") != want || !strings.HasPrefix(lines[3], "# scanwatch done at ") ||
		!strings.HasSuffix(lines[3], "-- 2 IP addresses (1 host up) scanned in 1.38 seconds\n") {
		t.Errorf("got:\n%s\nwant between the comments:\n%s", b.String(), want)
	}
}

// TestWriteXML: the XML parses into nmap's elements with every port, and
// is valid against nmap's DTD when xmllint and the DTD are installed.
func TestWriteXML(t *testing.T) {
	var b bytes.Buffer
	if err := sampleResult().WriteXML(&b, Display{}, []string{"-sS", "-sU", "--reason"}); err != nil {
		t.Fatal(err)
	}
	var x struct {
		Scanner string `xml:"scanner,attr"`
		Info    []struct {
			Type     string `xml:"type,attr"`
			Services string `xml:"services,attr"`
		} `xml:"scaninfo"`
		Hosts []struct {
			Status struct {
				State string `xml:"state,attr"`
			} `xml:"status"`
			Address struct {
				Addr string `xml:"addr,attr"`
			} `xml:"address"`
			Extra []struct {
				State   string `xml:"state,attr"`
				Count   int    `xml:"count,attr"`
				Reasons []struct {
					Proto string `xml:"proto,attr"`
					Ports string `xml:"ports,attr"`
				} `xml:"extrareasons"`
			} `xml:"ports>extraports"`
			Ports []struct {
				Proto string `xml:"protocol,attr"`
				ID    int    `xml:"portid,attr"`
				State struct {
					State string `xml:"state,attr"`
				} `xml:"state"`
				Service struct {
					Name string `xml:"name,attr"`
				} `xml:"service"`
			} `xml:"ports>port"`
		} `xml:"host"`
		Runstats struct {
			Hosts struct {
				Up   int `xml:"up,attr"`
				Down int `xml:"down,attr"`
			} `xml:"hosts"`
		} `xml:"runstats"`
	}
	if err := xml.Unmarshal(b.Bytes(), &x); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if x.Scanner != "nmap" || len(x.Info) != 2 || x.Info[0].Type != "syn" || x.Info[0].Services != "1-40" || x.Info[1].Services != "53-54" {
		t.Errorf("nmaprun/scaninfo: %+v", x)
	}
	if len(x.Hosts) != 1 || x.Hosts[0].Address.Addr != "10.66.0.2" || x.Hosts[0].Status.State != "up" {
		t.Fatalf("hosts: %+v", x.Hosts)
	}
	h := x.Hosts[0]
	if len(h.Ports) != 2 || h.Ports[0].ID != 22 || h.Ports[0].Service.Name != "ssh" || h.Ports[1].Proto != "udp" {
		t.Errorf("ports: %+v", h.Ports)
	}
	if len(h.Extra) != 1 || h.Extra[0].Count != 40 || len(h.Extra[0].Reasons) != 2 || h.Extra[0].Reasons[0].Ports != "1-21,23-40" {
		t.Errorf("extraports: %+v", h.Extra)
	}
	if x.Runstats.Hosts.Up != 1 || x.Runstats.Hosts.Down != 1 {
		t.Errorf("runstats: %+v", x.Runstats)
	}
	const dtd = "/usr/share/nmap/nmap.dtd"
	xmllint, err := exec.LookPath("xmllint")
	if _, derr := os.Stat(dtd); err != nil || derr != nil {
		t.Logf("xmllint or %s missing: not validated against nmap's DTD", dtd)
		return
	}
	file := filepath.Join(t.TempDir(), "scan.xml")
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--dtdvalid", dtd, file).CombinedOutput(); err != nil {
		t.Errorf("not valid against nmap's DTD: %v\n%s", err, out)
	}
}

// TestWriteNormal: --open leaves out closed ports and hosts without open
// ones; --reason adds the REASON column; -v shows more before summarising.
func TestWriteNormal(t *testing.T) {
	r := sampleResult()
	for _, tc := range []struct {
		d        Display
		want     []string
		dontWant []string
	}{
		{Display{}, []string{"scanwatch scan report for 10.66.0.2\nHost is up.\nNot shown: 39 closed tcp ports (reset), 1 closed udp ports (port-unreach)\n",
			"PORT   STATE SERVICE\n22/tcp open  ssh\n53/udp open  domain\n", "2 IP addresses (1 host up) scanned in 1.38 seconds"}, []string{"10.66.0.9"}},
		{Display{Reason: true}, []string{"Host is up, received arp-response.", "22/tcp open  ssh     syn-ack ttl 64\n"}, nil},
		{Display{Verbose: 1}, []string{"1/tcp  closed tcpmux", "54/udp closed xns-ch"}, []string{"Not shown"}},
		{Display{Open: true, Verbose: 1}, []string{"22/tcp open", "Not shown: 39 closed tcp ports"}, []string{"1/tcp"}},
	} {
		var b bytes.Buffer
		if err := r.WriteNormal(&b, tc.d); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%+v: output lacks %q:\n%s", tc.d, w, b.String())
			}
		}
		for _, w := range tc.dontWant {
			if strings.Contains(b.String(), w) {
				t.Errorf("%+v: output has %q:\n%s", tc.d, w, b.String())
			}
		}
	}
}

// TestOutputFiles: -oA writes the three formats; a format sent to "-"
// replaces the report on stdout.
func TestOutputFiles(t *testing.T) {
	base := filepath.Join(t.TempDir(), "scan")
	o, err := ParseArgs([]string{"-sS", "-oA", base, "-oX", "-", "10.66.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Normal != base+".nmap" || o.Grepable != base+".gnmap" || o.XML != "-" {
		t.Fatalf("outputs %q %q %q", o.Normal, o.XML, o.Grepable)
	}
	var stdout bytes.Buffer
	if err := o.write(sampleResult(), &stdout); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout.String(), "<?xml") || strings.Contains(stdout.String(), "Not shown") {
		t.Errorf("stdout is not just the XML:\n%s", stdout.String())
	}
	for ext, want := range map[string]string{".nmap": "Not shown: 39 closed tcp ports", ".gnmap": "Ignored State: closed (40)"} {
		data, err := os.ReadFile(base + ext)
		if err != nil || !strings.Contains(string(data), want) || !strings.HasPrefix(string(data), "# scanwatch scan initiated") {
			t.Errorf("%s: %v\n%s", ext, err, data)
		}
	}
}
