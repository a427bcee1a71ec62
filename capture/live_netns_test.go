//go:build linux

package capture

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/internal/netns"
)

// A pair of network namespaces joined by a veth pair, private to each test
// (internal/netns, names swbpf-<id>-a and -b): A (10.78.0.1, the scanner
// and bulk sender) and B (10.78.0.2, the target and sensor). The veths send
// one segment per packet (gso_max_segs 1), as a NIC without offloads shows
// them: veth would otherwise pass 64 KB TSO super-packets around.
const (
	addrA, addrB = "10.78.0.1", "10.78.0.2"
	bulkPort     = 5001
)

var liveSubnet = netip.MustParsePrefix("10.78.0.0/24")

// setupNetns creates the namespace pair; t.Cleanup deletes it (which also
// deletes the veths), also when the test fails. It skips the test when not
// root.
func setupNetns(t testing.TB) *netns.Pair {
	t.Helper()
	return netns.New(t, netns.Config{Prefix: "swbpf", Subnet: liveSubnet})
}

// The bulk transfer runs in helper processes (this test binary, re-executed
// under `ip netns exec`), so that its CPU time is not the capture's.
const helperEnv = "SWBPF_HELPER"

// TestLiveHelperProcess is not a test: it is the entry point of the helper
// processes and returns at once in a normal run.
func TestLiveHelperProcess(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		return
	}
	err := runHelper(spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runHelper(spec string) error {
	f := strings.Split(spec, ":")
	switch f[0] {
	case "sink": // sink:port — accept one connection, read it to EOF
		ln, err := net.Listen("tcp", ":"+f[1])
		if err != nil {
			return err
		}
		fmt.Println("ready")
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, c)
		return err
	case "send": // send:addr:port:bytes
		n, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			return err
		}
		var c net.Conn
		for i := 0; ; i++ {
			c, err = net.Dial("tcp", net.JoinHostPort(f[1], f[2]))
			if err == nil || i == 50 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			return err
		}
		buf := make([]byte, 256<<10)
		for n > 0 {
			m := int64(len(buf))
			if m > n {
				m = n
			}
			if _, err := c.Write(buf[:m]); err != nil {
				return err
			}
			n -= m
		}
		return c.Close()
	}
	return errors.New("unknown helper " + spec)
}

// helper prepares this test binary to run in namespace ns as the given
// helper.
func helper(t testing.TB, p *netns.Pair, ns, spec string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := p.Exec(ns, exe, "-test.run=^TestLiveHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+spec)
	cmd.Stderr = os.Stderr
	return cmd
}

// bulkTransfer sends n bytes over TCP from A to B:bulkPort in helper
// processes and returns when the transfer is done.
func bulkTransfer(t testing.TB, p *netns.Pair, n int64) {
	t.Helper()
	sink := helper(t, p, p.B.NS, fmt.Sprintf("sink:%d", bulkPort))
	out, err := sink.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make([]byte, 6)
	if _, err := io.ReadFull(out, ready); err != nil {
		sink.Process.Kill()
		t.Fatalf("sink did not start: %v", err)
	}
	send := helper(t, p, p.A.NS, fmt.Sprintf("send:%s:%d:%d", addrB, bulkPort, n))
	if err := send.Run(); err != nil {
		sink.Process.Kill()
		sink.Wait()
		t.Fatalf("bulk sender: %v", err)
	}
	if err := sink.Wait(); err != nil {
		t.Fatalf("bulk sink: %v", err)
	}
}
