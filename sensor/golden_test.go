package sensor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"go.yaml.in/yaml/v3"

	"github.com/scanwatch/scanwatch/capture"
	"github.com/scanwatch/scanwatch/decode"
	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/linktype"
	"github.com/scanwatch/scanwatch/rules"
)

// expected mirrors testdata/expected.yaml, whose content was checked by hand
// against tcpdump's view of each capture (testdata/README.md).
type expected struct {
	Captures map[string]wantCapture `yaml:"captures"`
}

type wantCapture struct {
	Group bool       `yaml:"group"` // every scan record shares one non-empty scan.group
	Scans []wantScan `yaml:"scans"`
}

type wantScan struct {
	Scanner     string   `yaml:"scanner"`
	Type        string   `yaml:"type"`
	Shape       string   `yaml:"shape"`
	OpenPorts   []uint16 `yaml:"open_ports"`
	TargetCount int      `yaml:"target_count"`
	PortCount   int      `yaml:"port_count"`
	Tool        string   `yaml:"tool"`
	Decoys      []string `yaml:"decoys"`
	Slow        bool     `yaml:"slow"`
}

// replayFiles runs the pipeline over capture files with the default rules,
// as `scanwatch replay` does, and returns the records it wrote, their bytes,
// the sensor (for its warnings) and Replay's error.
func replayFiles(t *testing.T, paths ...string) (recs []eve.Record, out []byte, s *Sensor, err error) {
	t.Helper()
	var buf bytes.Buffer
	s = New(Options{Rules: rules.Default(), Sink: EVE{eve.NewWriter(&buf, eve.Options{Host: "test"})}})
	src, err := s.OpenFiles(context.Background(), paths...)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	err = s.Replay(context.Background(), src)
	return parseRecords(t, buf.Bytes()), buf.Bytes(), s, err
}

// parseRecords reads EVE lines; alert and flow records must carry their scan.
func parseRecords(t *testing.T, b []byte) []eve.Record {
	t.Helper()
	var recs []eve.Record
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r eve.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		if (r.EventType == eve.EventAlert || r.EventType == eve.EventFlow) && r.Scan() == nil {
			t.Fatalf("%s record without scan object: %s", r.EventType, sc.Text())
		}
		recs = append(recs, r)
	}
	return recs
}

func loadExpected(t *testing.T) expected {
	t.Helper()
	return loadExpectedFile(t, "../testdata/expected.yaml")
}

func loadExpectedFile(t *testing.T, path string) expected {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := yaml.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if len(e.Captures) == 0 {
		t.Fatalf("no captures in %s", path)
	}
	return e
}

// TestGoldenCaptures replays every capture of real scanners and benign
// traffic: each must give exactly the expected scans, the benign ones none.
func TestGoldenCaptures(t *testing.T) {
	exp := loadExpected(t)
	for name, want := range exp.Captures {
		t.Run(name, func(t *testing.T) {
			scans := checkCapture(t, filepath.Join("../testdata", name), want.Scans)
			if want.Group {
				for _, s := range scans {
					if s.Scan().Group == "" || s.Scan().Group != scans[0].Scan().Group {
						t.Errorf("scan records not in one group: %q vs %q", s.Scan().Group, scans[0].Scan().Group)
					}
				}
			}
		})
	}
}

// TestTunnelCaptures replays one nmap -sS scan carried in GRE, ERSPAN II
// and III (over IPv4 and IPv6), VXLAN and Geneve, captured on the
// underlay: each must give the scan the inner packets hold.
func TestTunnelCaptures(t *testing.T) {
	exp := loadExpectedFile(t, "../testdata/expected_issue9.yaml")
	n := 0
	for name, want := range exp.Captures {
		if !strings.HasPrefix(name, "tunnel_") {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			checkCapture(t, filepath.Join("../testdata/issue9", name), want.Scans)
		})
	}
	if n < 6 {
		t.Errorf("%d tunnel captures in expected_issue9.yaml, want 6", n)
	}
}

// checkCapture replays path and checks its scans against want; it returns
// the scan records.
func checkCapture(t *testing.T, path string, want []wantScan) []eve.Record {
	t.Helper()
	recs, _, s, err := replayFiles(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if w := s.Warnings(); len(w) > 0 {
		t.Errorf("replay warned: %q", w)
	}
	var alerts, scans []eve.Record
	for _, r := range recs {
		switch r.EventType {
		case eve.EventAlert:
			alerts = append(alerts, r)
		case eve.EventFlow:
			scans = append(scans, r)
		}
	}
	key := func(scanner, typ string) string { return scanner + " " + typ }
	var wantKeys, gotAlerts, gotScans []string
	for _, w := range want {
		wantKeys = append(wantKeys, key(w.Scanner, w.Type))
	}
	for _, a := range alerts {
		gotAlerts = append(gotAlerts, key(a.SrcIP, a.Scan().Type))
	}
	for _, s := range scans {
		gotScans = append(gotScans, key(s.SrcIP, s.Scan().Type))
	}
	sort.Strings(wantKeys)
	sort.Strings(gotAlerts)
	sort.Strings(gotScans)
	if !slices.Equal(wantKeys, gotAlerts) || !slices.Equal(wantKeys, gotScans) {
		t.Fatalf("want scans %v\ngot alerts %v\ngot scan records %v", wantKeys, gotAlerts, gotScans)
	}
	for _, w := range want {
		for _, s := range scans {
			if key(s.SrcIP, s.Scan().Type) != key(w.Scanner, w.Type) {
				continue
			}
			g := s.Scan()
			if g.Shape != w.Shape || g.Scanner != w.Scanner || !slices.Equal(g.OpenPorts, orEmpty(w.OpenPorts)) {
				t.Errorf("%s: shape %s open %v, want %s open %v", w.Type, g.Shape, g.OpenPorts, w.Shape, w.OpenPorts)
			}
			if w.Tool != "" && g.Tool != w.Tool {
				t.Errorf("%s: tool %q, want %q", w.Type, g.Tool, w.Tool)
			}
			if w.TargetCount != 0 && g.TargetCount != w.TargetCount {
				t.Errorf("%s: %d targets, want %d", w.Type, g.TargetCount, w.TargetCount)
			}
			if w.PortCount != 0 && g.PortCount != w.PortCount {
				t.Errorf("%s: %d ports, want %d", w.Type, g.PortCount, w.PortCount)
			}
			if !slices.Equal(g.Decoys, w.Decoys) || g.Slow != w.Slow {
				t.Errorf("%s: decoys %v slow %v, want %v %v", w.Type, g.Decoys, g.Slow, w.Decoys, w.Slow)
			}
		}
	}
	return scans
}

func orEmpty(p []uint16) []uint16 {
	if p == nil {
		return []uint16{}
	}
	return p
}

// TestReplayDeterministic: two runs over the same files print the same bytes.
func TestReplayDeterministic(t *testing.T) {
	files, _ := filepath.Glob("../testdata/*.pcap")
	if len(files) < 10 {
		t.Fatalf("only %d captures", len(files))
	}
	_, a, _, _ := replayFiles(t, files...)
	_, b, _, _ := replayFiles(t, files...)
	if !bytes.Equal(a, b) || len(a) == 0 {
		t.Fatal("two replays of the same files differ")
	}
}

// TestTruncatedCapture: a capture cut in the middle of a record still gives
// the alerts found before the damage and the closing scan records, and the
// error names the byte offset (the command exits 1 with it: see
// cmd/scanwatch's TestReplayCommand).
func TestTruncatedCapture(t *testing.T) {
	b, err := os.ReadFile("../testdata/nmap_sS.pcap")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(cut, b[:len(b)*2/3+5], 0o644); err != nil {
		t.Fatal(err)
	}
	recs, _, _, err := replayFiles(t, cut)
	if err == nil || !strings.Contains(err.Error(), "byte offset") {
		t.Fatalf("Replay: %v, want an error naming the byte offset", err)
	}
	types := map[string]bool{}
	for _, r := range recs {
		types[r.EventType] = true
	}
	if !types[eve.EventAlert] || !types[eve.EventFlow] {
		t.Fatalf("want the alert and the closing scan record before the damage, got %v", types)
	}
}

// rewrite copies a capture through f, which may change or drop each frame.
func rewrite(t *testing.T, in string, lt layers.LinkType, f func(data []byte) []byte) string {
	t.Helper()
	src, err := capture.OpenFiles(in)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := filepath.Join(t.TempDir(), filepath.Base(in))
	w, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	for {
		p, err := src.ReadPacket()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data := f(p.Data)
		if data == nil {
			continue
		}
		ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(data), Length: len(data)}
		if err := pw.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// vlan inserts an 802.1Q tag after the Ethernet addresses.
func vlan(d []byte) []byte {
	out := append([]byte{}, d[:12]...)
	out = append(out, 0x81, 0x00, 0x00, 0x2a)
	return append(out, d[12:]...)
}

// sll turns an Ethernet frame into a Linux cooked (SLL) one.
func sll(d []byte) []byte {
	h := []byte{0, 0, 0, 1, 0, 6, d[6], d[7], d[8], d[9], d[10], d[11], 0, 0, d[12], d[13]}
	return append(h, d[14:]...)
}

// fromHost keeps only frames sent by addr: a one-sided capture.
func fromHost(addr string) func([]byte) []byte {
	dec := decode.NewDecoder(0)
	return func(d []byte) []byte {
		var p decode.Packet
		ok, _ := dec.Decode(linktype.Ethernet, d, p.Time, &p)
		if !ok || p.Src.String() != addr {
			return nil
		}
		return d
	}
}

// TestCaptureVariants: the same scans through VLAN tags, SLL framing and
// one-sided captures (only the scanner's packets) give the same verdicts.
func TestCaptureVariants(t *testing.T) {
	exp := loadExpected(t)
	for _, name := range []string{"nmap_sS.pcap", "nmap_sT.pcap", "nmap_sF.pcap", "nmap_sU.pcap", "benign_services.pcap", "benign_midstream.pcap"} {
		want := exp.Captures[name].Scans
		path := filepath.Join("../testdata", name)
		t.Run("vlan/"+name, func(t *testing.T) { checkCapture(t, rewrite(t, path, layers.LinkTypeEthernet, vlan), want) })
		t.Run("sll/"+name, func(t *testing.T) { checkCapture(t, rewrite(t, path, layers.LinkTypeLinuxSLL, sll), want) })
	}
	// One-sided: the target's replies are missing, so open ports are not
	// known, but scanner, type and shape must hold.
	for _, name := range []string{"nmap_sS.pcap", "nmap_sT.pcap", "nmap_sF.pcap", "nmap_sX.pcap", "nmap_sA.pcap", "nmap_sU.pcap", "masscan.pcap", "benign_http.pcap", "benign_services.pcap", "benign_dns.pcap"} {
		t.Run("onesided/"+name, func(t *testing.T) {
			want := exp.Captures[name].Scans
			recs, _, _, _ := replayFiles(t, rewrite(t, filepath.Join("../testdata", name), layers.LinkTypeEthernet, fromHost("10.77.0.2")))
			var got []string
			for _, r := range recs {
				if r.EventType == eve.EventAlert {
					got = append(got, r.SrcIP+" "+r.Scan().Type+" "+r.Scan().Shape)
				}
			}
			var w []string
			for _, s := range want {
				w = append(w, s.Scanner+" "+s.Type+" "+s.Shape)
			}
			if !slices.Equal(got, w) {
				t.Fatalf("one-sided: got %v, want %v", got, w)
			}
		})
	}
}

// TestUndecodableWarns: frames of an encapsulation the decoder does not
// know (here MACsec's ethertype) must not vanish silently: a warning names
// the ethertype, and a capture in which no frame decoded is an error, not
// "no scan".
func TestUndecodableWarns(t *testing.T) {
	macsec := func(d []byte) []byte {
		out := append([]byte{}, d...)
		out[12], out[13] = 0x88, 0xe5
		return out
	}
	path := rewrite(t, "../testdata/nmap_sS.pcap", layers.LinkTypeEthernet, macsec)
	_, _, s, err := replayFiles(t, path)
	if !strings.Contains(strings.Join(s.Warnings(), "\n"), "0x88e5") {
		t.Errorf("warnings %q: want one naming ethertype 0x88e5", s.Warnings())
	}
	var ef *EmptyFileError
	if !errors.As(err, &ef) || ef.Frames != 2055 || !strings.Contains(err.Error(), "none of its 2055 frames could be decoded") {
		t.Errorf("Replay: %v, want an *EmptyFileError for its 2055 frames", err)
	}
}

// TestToolChangeIsNewScan: one source running masscan, then zmap 3 s
// later (within the idle timeout), is two scans, each named after its tool.
func TestToolChangeIsNewScan(t *testing.T) {
	recs, _, _, _ := replayFiles(t, "../testdata/zmap_sweep.pcap", "../testdata/masscan_sweep.pcap")
	var got []string
	for _, r := range recs {
		got = append(got, r.EventType+" "+r.Scan().Tool)
	}
	want := []string{"alert masscan", "flow masscan", "alert zmap", "flow zmap"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
