package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/internal/netns"
)

// Helper processes: the test binary again, as a service, a bulk sender or
// a sink inside a namespace (see TestMain and runHelper).

// helper returns this test binary prepared to run as a helper in ns.
func helper(p *netns.Pair, ns string, spec ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	cmd := p.Exec(ns, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+strings.Join(spec, " "))
	return cmd
}

// runHelper is the helper process's main. Specs:
//
//	serve TCPPORTS UDPPORTS   listen (comma lists); print "ready"; serve until killed
//	sink PORT                 accept one connection; print "ready", then "flowing"
//	                          after the first MB; read to EOF; print the byte count
//	send ADDR PORT BYTES      connect and send BYTES zero bytes
func runHelper(spec string) error {
	f := strings.Fields(spec)
	switch {
	case len(f) == 3 && f[0] == "serve":
		for _, ps := range strings.Split(f[1], ",") {
			ln, err := net.Listen("tcp", ":"+ps)
			if err != nil {
				return err
			}
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() { // a service waiting for a request that never comes
						io.Copy(io.Discard, c)
						c.Close()
					}()
				}
			}()
		}
		for _, ps := range strings.Split(f[2], ",") {
			pc, err := net.ListenPacket("udp", ":"+ps)
			if err != nil {
				return err
			}
			go func() { // answer every datagram
				buf := make([]byte, 2048)
				for {
					_, from, err := pc.ReadFrom(buf)
					if err != nil {
						return
					}
					pc.WriteTo([]byte("hello\n"), from)
				}
			}()
		}
		fmt.Println("ready")
		select {}
	case len(f) == 2 && f[0] == "sink":
		ln, err := net.Listen("tcp", ":"+f[1])
		if err != nil {
			return err
		}
		fmt.Println("ready")
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		n, err := io.CopyN(io.Discard, c, 1<<20)
		if err != nil {
			return err
		}
		fmt.Println("flowing")
		m, err := io.Copy(io.Discard, c)
		fmt.Println(n + m)
		return err
	case len(f) == 4 && f[0] == "send":
		n, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			return err
		}
		c, err := net.Dial("tcp", net.JoinHostPort(f[1], f[2]))
		if err != nil {
			return err
		}
		buf := make([]byte, 256<<10)
		for n > 0 {
			m := min(int64(len(buf)), n)
			if _, err := c.Write(buf[:m]); err != nil {
				return err
			}
			n -= m
		}
		return c.Close()
	}
	return fmt.Errorf("bad helper spec %q", spec)
}

// startHelper starts a helper and waits for it to print want.
func startHelper(t *testing.T, p *netns.Pair, ns, want string, spec ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := helper(p, ns, spec...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	p.StartCmd(cmd)
	sc := bufio.NewScanner(out)
	if !waitLine(sc, want, 10*time.Second) {
		t.Fatalf("helper %q did not print %q within 10 s; stderr: %s", spec, want, stderr.String())
	}
	return cmd, sc
}

// waitLine reads lines until one equals want, or the timeout. The scanner
// is read in the calling goroutine through a goroutine with a channel, so
// that the timeout holds even when the helper prints nothing.
func waitLine(sc *bufio.Scanner, want string, timeout time.Duration) bool {
	found := make(chan bool, 1)
	go func() {
		for sc.Scan() {
			if sc.Text() == want {
				found <- true
				return
			}
		}
		found <- false
	}()
	select {
	case ok := <-found:
		return ok
	case <-time.After(timeout):
		return false
	}
}
