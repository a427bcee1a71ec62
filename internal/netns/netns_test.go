package netns

import (
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHostAddr(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		n      int
		want   string
	}{
		{"10.80.0.0/24", 1, "10.80.0.1"},
		{"10.80.0.0/24", 10, "10.80.0.10"},
		{"10.80.0.77/24", 2, "10.80.0.2"}, // masked first
		{"10.80.0.0/16", 300, "10.80.1.44"},
		{"fd80::/64", 2, "fd80::2"},
	} {
		if got := HostAddr(netip.MustParsePrefix(tc.prefix), tc.n); got.String() != tc.want {
			t.Errorf("HostAddr(%s, %d) = %s, want %s", tc.prefix, tc.n, got, tc.want)
		}
	}
}

// Bad configurations are refused before anything is made (no root needed).
func TestCreateRefusesBadConfig(t *testing.T) {
	v4 := netip.MustParsePrefix("10.80.0.0/24")
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Prefix: "toolongprefix", Subnet: v4}, "longer than 15"},
		{Config{Prefix: "swself", ID: "123456789", Subnet: v4}, "longer than 15"},
		{Config{Subnet: netip.MustParsePrefix("10.80.0.0/31")}, "/30 or shorter"},
		{Config{Subnet: netip.MustParsePrefix("fd80::/64")}, "want an IPv4 prefix"},
		{Config{Subnet: v4, Subnet6: v4}, "want an IPv6 prefix"},
	} {
		if p, err := Create(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Create(%+v) = %v, %v; want an error with %q", tc.cfg, p, err, tc.want)
		}
	}
}

// TestPair builds a pair with a given id and host numbers, sends a ping
// across, enters B from this process, and checks that Close leaves nothing.
func TestPair(t *testing.T) {
	Require(t)
	id := strconv.Itoa(os.Getpid()) // unique among the tests running at once
	p, err := Create(Config{Prefix: "swnt", ID: id, Subnet: netip.MustParsePrefix("10.81.0.0/24"),
		Subnet6: netip.MustParsePrefix("fd81::/64"), HostA: 2, HostB: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.A.NS != "swnt-"+id+"-a" || p.B.Veth != "swnt"+id+"b" || p.A.Addr.String() != "10.81.0.2" || p.B.Addr6.String() != "fd81::a" {
		t.Errorf("names and addresses: %+v %+v", p.A, p.B)
	}
	if _, err := Create(Config{Prefix: "swnt", ID: id, Subnet: netip.MustParsePrefix("10.81.0.0/24")}); err == nil {
		t.Error("a second pair with the same id was created")
	}
	if err := p.AddAddr(p.A.NS, netip.MustParseAddr("10.81.0.21")); err != nil {
		t.Fatal(err)
	}
	// A listener opened in B from this process, dialed from A's extra
	// address: Do enters each namespace, and the link carries traffic.
	var ln net.Listener
	if err := p.Do(p.B.NS, func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(p.B.Addr.String(), "0"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	if err := p.Do(p.A.NS, func() error {
		d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("10.81.0.21")}}
		c, err := d.Dial("tcp", ln.Addr().String())
		if err == nil {
			c.Close()
		}
		return err
	}); err != nil {
		t.Fatalf("connect from A to B: %v", err)
	}
	if err := p.Do("nosuchns", func() error { return nil }); err == nil {
		t.Error("Do in a namespace not of the pair succeeded")
	}
	sleeper := p.Exec(p.B.NS, "sleep", "60")
	if err := p.StartCmd(sleeper); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sleeper.Wait(); err == nil {
		t.Error("the process in B outlived Close")
	}
	out, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(out), "swnt-"+id+"-") {
		t.Errorf("namespaces left after Close:\n%s", out)
	}
}
