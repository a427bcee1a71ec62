package fleet

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// startDebianServer runs the system's nats-server (Debian's package,
// 2.9.10 on bookworm) with JetStream on a free loopback port.
func startDebianServer(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("no nats-server binary (apt-get install nats-server; make deps installs it)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-sd", t.TempDir())
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var version string
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, "Version:"); i >= 0 {
				version = strings.TrimSpace(line[i+len("Version:"):])
			}
			if strings.Contains(line, "Server is ready") {
				ready <- version
			}
		}
	}()
	select {
	case v := <-ready:
		t.Logf("Debian nats-server %s on port %d", v, port)
	case <-time.After(10 * time.Second):
		t.Fatal("nats-server not ready after 10s")
	}
	return fmt.Sprintf("nats://127.0.0.1:%d", port)
}

// TestDebianServer runs the correlator's takeover and sharing against the
// nats-server Debian ships: its JetStream has what the fleet uses
// (key-value buckets with a TTL, create and update on revision, ordered
// and durable pull consumers with a filter, message-id deduplication).
func TestDebianServer(t *testing.T) {
	t.Run("takeover", func(t *testing.T) { takeover(t, startDebianServer(t)) })
	t.Run("share", func(t *testing.T) { share(t, startDebianServer(t)) })
}
