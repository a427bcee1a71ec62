//go:build linux

package capture

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A pair of network namespaces joined by a veth pair, private to these tests:
// swbpf-a (10.78.0.1, the scanner and bulk sender) and swbpf-b (10.78.0.2,
// the target and sensor).
const (
	nsA, nsB     = "swbpf-a", "swbpf-b"
	vethA, vethB = "swbpf-va", "swbpf-vb"
	addrA, addrB = "10.78.0.1", "10.78.0.2"
	bulkPort     = 5001
)

func liveNeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root (network namespaces, AF_PACKET, eBPF); run `sudo go test ./capture`")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipped: needs iproute2's ip command")
	}
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// setupNetns creates the namespace pair; t.Cleanup deletes it (which also
// deletes the veths), also when the test fails.
func setupNetns(t testing.TB) {
	t.Helper()
	liveNeedRoot(t)
	del := func() {
		_ = exec.Command("ip", "netns", "del", nsA).Run()
		_ = exec.Command("ip", "netns", "del", nsB).Run()
	}
	del() // leftovers of a killed run
	t.Cleanup(del)
	steps := [][]string{
		{"netns", "add", nsA},
		{"netns", "add", nsB},
		{"link", "add", vethA, "netns", nsA, "type", "veth", "peer", "name", vethB, "netns", nsB},
		{"-n", nsA, "addr", "add", addrA + "/24", "dev", vethA},
		{"-n", nsB, "addr", "add", addrB + "/24", "dev", vethB},
		// One segment per packet, as a NIC without offloads shows them:
		// veth would otherwise pass 64 KB TSO super-packets around.
		{"-n", nsA, "link", "set", vethA, "gso_max_segs", "1"},
		{"-n", nsB, "link", "set", vethB, "gso_max_segs", "1"},
		{"-n", nsA, "link", "set", "lo", "up"},
		{"-n", nsB, "link", "set", "lo", "up"},
		{"-n", nsA, "link", "set", vethA, "up"},
		{"-n", nsB, "link", "set", vethB, "up"},
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			t.Fatal(err)
		}
	}
}

// inNetns runs fn on a thread switched into the named namespace. Sockets
// created by fn stay in that namespace.
func inNetns(ns string, fn func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", ns, err)
	}
	ferr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: it exits with the goroutine.
		return fmt.Errorf("setns back from %s: %w", ns, err)
	}
	runtime.UnlockOSThread()
	return ferr
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

// helper starts this test binary in namespace ns as the given helper.
func helper(t testing.TB, ns, spec string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, exe, "-test.run=^TestLiveHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+spec)
	cmd.Stderr = os.Stderr
	return cmd
}

// bulkTransfer sends n bytes over TCP from swbpf-a to swbpf-b:bulkPort in
// helper processes and returns when the transfer is done.
func bulkTransfer(t testing.TB, n int64) {
	t.Helper()
	sink := helper(t, nsB, fmt.Sprintf("sink:%d", bulkPort))
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
	send := helper(t, nsA, fmt.Sprintf("send:%s:%d:%d", addrB, bulkPort, n))
	if err := send.Run(); err != nil {
		sink.Process.Kill()
		sink.Wait()
		t.Fatalf("bulk sender: %v", err)
	}
	if err := sink.Wait(); err != nil {
		t.Fatalf("bulk sink: %v", err)
	}
}
