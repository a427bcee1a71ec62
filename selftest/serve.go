package selftest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"
)

// startServices runs `scanwatch selftest internal-serve` in the target and
// waits for its "ready". It exits when its stdin closes (when we exit).
func (st *session) startServices(ctx context.Context) error {
	cmd := st.pair.Exec(st.pair.B.NS, st.exe, "selftest", ServeArg)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	st.servicesIn = stdin // held open for the child's lifetime: it exits at EOF
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var errBuf syncBuffer
	cmd.Stderr = &errBuf
	if _, err := st.start(cmd); err != nil {
		return err
	}
	ready := make(chan error, 1)
	var sctp string
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "ready; sctp: "); ok {
				sctp = rest
				ready <- nil
				io.Copy(io.Discard, stdout)
				return
			}
		}
		ready <- errors.New("services exited before they were ready")
	}()
	select {
	case err := <-ready:
		if err != nil {
			return fmt.Errorf("%w: %s", err, strings.TrimSpace(errBuf.String()))
		}
	case <-time.After(stepTimeout):
		return fmt.Errorf("services not ready after %v: %s", stepTimeout, strings.TrimSpace(errBuf.String()))
	case <-ctx.Done():
		return ctx.Err()
	}
	st.logf("target services: tcp %s (%d with an SSH banner), udp %s, sctp %s", formatPorts(tcpServices), bannerPort, formatPorts(udpServices), sctp)
	return nil
}

// Serve is the services child in the target namespace (`scanwatch selftest
// internal-serve`, started by [Run]): it lifts the ICMP rate limit (so that a
// UDP scan's unreachables all get out), opens the services (SCTP: see
// sctp_linux.go), says "ready" on stdout and serves until stdin closes or
// ctx ends.
func Serve(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	for key, v := range map[string]string{
		"net/ipv4/icmp_ratelimit": "0", // per-destination limit
		"net/ipv4/icmp_ratemask":  "0", // no type is rate limited, nor counted by the global limit
	} {
		if err := os.WriteFile("/proc/sys/"+key, []byte(v), 0o644); err != nil {
			return fmt.Errorf("sysctl %s=%s: %w", strings.ReplaceAll(key, "/", "."), v, err)
		}
	}
	for _, p := range append(slices.Clone(tcpServices), bannerPort) {
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", p))
		if err != nil {
			return fmt.Errorf("listen tcp %d: %w", p, err)
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				// Echo until the client closes, as a service that
				// waits for a request does. Closing first would
				// put the server's FIN before the scanner's close.
				go func() {
					defer c.Close()
					_ = c.SetDeadline(time.Now().Add(10 * time.Second))
					if p == bannerPort {
						_, _ = io.WriteString(c, sshBanner)
					}
					_, _ = io.Copy(c, c)
				}()
			}
		}()
	}
	for _, p := range udpServices {
		c, err := net.ListenPacket("udp", fmt.Sprintf(":%d", p))
		if err != nil {
			return fmt.Errorf("listen udp %d: %w", p, err)
		}
		go func() {
			buf := make([]byte, 2048)
			for {
				_, from, err := c.ReadFrom(buf)
				if err != nil {
					return
				}
				_, _ = c.WriteTo([]byte("scanwatch selftest\n"), from)
			}
		}()
	}
	sctp, err := startSCTPResponder(sctpOpen)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "ready; sctp:", sctp)
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, stdin)
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}
