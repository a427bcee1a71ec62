//go:build linux

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scanwatch/scanwatch/eve"
	"github.com/scanwatch/scanwatch/internal/netns"
)

// liveSensor is the sensor under test: `scanwatch live` in the target
// namespace.
type liveSensor struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    string // its --out file
	mu     sync.Mutex
	stderr bytes.Buffer
	exited chan struct{}
	err    error // Wait's, once exited is closed
	audits int   // seccomp audit lines in the kernel log before it started
}

// startSensor runs `scanwatch live -i <B's veth> --out FILE args...` in B, as
// a Type=notify systemd unit does, and waits for its readiness notification
// (READY=1 on $NOTIFY_SOCKET).
func startSensor(t *testing.T, p *netns.Pair, args ...string) *liveSensor {
	t.Helper()
	return startSensorIn(t, p, "", nil, args...)
}

// startSensorOut is startSensor with --out out.
func startSensorOut(t *testing.T, p *netns.Pair, out string, args ...string) *liveSensor {
	t.Helper()
	return startSensorWith(t, p, out, notifySocket(t, "READY=1"), nil, args...)
}

// startSensorIn is startSensor with the output and the notification
// socket in dir (a test's own temporary folder when ""), and the command
// run through wrap (such as setpriv with its options), which must exec it.
func startSensorIn(t *testing.T, p *netns.Pair, dir string, wrap []string, args ...string) *liveSensor {
	t.Helper()
	var ready notification
	if dir == "" {
		dir = t.TempDir()
		ready = notifySocket(t, "READY=1")
	} else {
		ready = notifySocketIn(t, dir, "READY=1")
	}
	return startSensorWith(t, p, filepath.Join(dir, "eve.json"), ready, wrap, args...)
}

// startSensorWith starts `scanwatch live` on the pair's B side writing to
// out, and returns once it has said READY=1 on ready.
func startSensorWith(t *testing.T, p *netns.Pair, out string, ready notification, wrap []string, args ...string) *liveSensor {
	t.Helper()
	s := &liveSensor{t: t, out: out, exited: make(chan struct{})}
	argv := append(append(append([]string{}, wrap...), scanwatchBin, "live", "-i", p.B.Veth, "--out", s.out), args...)
	s.cmd = p.Exec(p.B.NS, argv...)
	s.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+ready.path)
	s.cmd.Stderr = lockedWriter{s}
	s.audits = len(seccompAudits())
	p.StartCmd(s.cmd)
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sensor stderr:\n%s", s.Stderr())
			if b, err := os.ReadFile(s.out); err == nil {
				t.Logf("sensor output:\n%s", b)
			}
		}
	})
	select {
	case <-ready.got:
	case <-s.exited:
		t.Fatalf("scanwatch live exited before it was ready: %v\n%s", s.err, s.Stderr())
	case <-time.After(15 * time.Second):
		t.Fatalf("scanwatch live sent no READY=1 within 15 s:\n%s", s.Stderr())
	}
	// READY=1 can overtake the stderr line written just before it (the
	// pipe is copied by another goroutine): wait for that line too.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(s.Stderr(), "capturing on"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("READY=1 came, but no \"capturing on\" on stderr within 5 s:\n%s", s.Stderr())
		}
	}
	return s
}

// lockedWriter appends the sensor's stderr under its lock.
type lockedWriter struct{ s *liveSensor }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.stderr.Write(b)
}

// notification is a systemd notification socket (sd_notify(3)): got closes
// when a datagram holding want arrives.
type notification struct {
	path string
	got  chan struct{}
}

func notifySocket(t *testing.T, want string) notification {
	t.Helper()
	return notifySocketIn(t, t.TempDir(), want)
}

// notifySocketIn is notifySocket with the socket in dir, writable by
// every user (a sensor that is not root sends to it too).
func notifySocketIn(t *testing.T, dir, want string) notification {
	t.Helper()
	n := notification{path: filepath.Join(dir, "notify"), got: make(chan struct{})}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(n.path, 0o666); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			if slices.Contains(strings.Split(string(buf[:k]), "\n"), want) {
				close(n.got)
				return
			}
		}
	}()
	return n
}

func (s *liveSensor) Stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// stop sends SIGINT, waits for a clean exit and returns every record written.
func (s *liveSensor) stop() []record {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		s.t.Fatalf("SIGINT to scanwatch live: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		s.t.Fatalf("scanwatch live did not exit within 15 s of SIGINT:\n%s", s.Stderr())
	}
	if s.err != nil {
		s.t.Fatalf("scanwatch live: %v\n%s", s.err, s.Stderr())
	}
	s.checkSeccomp()
	return s.records()
}

// records reads the complete lines written so far.
func (s *liveSensor) records() []record {
	s.t.Helper()
	b, err := os.ReadFile(s.out)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		s.t.Fatal(err)
	}
	return parseRecords(s.t, b)
}

// waitAlerts polls the output until every (scanner, type) in want has an
// alert, or the timeout; it returns whether they all came. Alerts are written
// while the sensor runs, not only at shutdown.
func (s *liveSensor) waitAlerts(want []scanKey, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		have := map[scanKey]bool{}
		for _, r := range s.records() {
			if r.EventType == eve.EventAlert {
				have[scanKey{r.Scan().Scanner, r.Scan().Type}] = true
			}
		}
		missing := false
		for _, k := range want {
			missing = missing || !have[k]
		}
		if !missing {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// record is one EVE line, and the line itself for messages.
type record struct {
	eve.Record
	raw string
}

type scanKey struct{ scanner, typ string }

func parseRecords(t *testing.T, b []byte) []record {
	t.Helper()
	var rs []record
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break // a line still being written
		}
		line := b[:i]
		b = b[i+1:]
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r record
		if err := json.Unmarshal(line, &r.Record); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		if (r.EventType == eve.EventAlert || r.EventType == eve.EventFlow) && r.Scan() == nil {
			t.Fatalf("%s record without alert.context.scan: %s", r.EventType, line)
		}
		r.raw = string(line)
		rs = append(rs, r)
	}
	return rs
}

func byType(rs []record, eventType string) []record {
	var out []record
	for _, r := range rs {
		if r.EventType == eventType {
			out = append(out, r)
		}
	}
	return out
}

// finalStats returns the last stats record's counters.
func finalStats(t *testing.T, rs []record) *eve.Stats {
	t.Helper()
	st := byType(rs, eve.EventStats)
	if len(st) == 0 || st[len(st)-1].Stats == nil || st[len(st)-1].Stats.Capture == nil {
		t.Fatal("no stats record with capture counters written at shutdown")
	}
	return st[len(st)-1].Stats
}

// counters are the sensor's counters from the line `scanwatch live` prints
// on stderr when it ends, with the ones EVE has no name for.
type counters struct {
	seen, passed, filtered, lost, received, decoded, undecodable uint64
}

func finalCounters(t *testing.T, s *liveSensor) counters {
	t.Helper()
	var c counters
	i := strings.LastIndex(s.Stderr(), "counters: ")
	if i < 0 {
		t.Fatalf("no counters line on stderr:\n%s", s.Stderr())
	}
	_, err := fmt.Sscanf(s.Stderr()[i:], "counters: kernel seen %d, passed %d, filtered out %d; ring lost %d; received %d, decoded %d, undecodable %d;",
		&c.seen, &c.passed, &c.filtered, &c.lost, &c.received, &c.decoded, &c.undecodable)
	if err != nil {
		t.Fatalf("counters line: %v\n%s", err, s.Stderr()[i:])
	}
	return c
}
