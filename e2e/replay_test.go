package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Replay from a FIFO honours SIGTERM and SIGINT whatever the writer does:
// it ends within a second, with the alerts before the stall written and
// their episodes closed, and exits 1 (the input was not read to its end).
// No root needed.

// exitWithin signals cmd and waits for it to exit; it returns the exit
// code and how long the exit took.
func exitWithin(t *testing.T, cmd *exec.Cmd, sig os.Signal, limit time.Duration) (int, time.Duration) {
	t.Helper()
	sent := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		took := time.Since(sent)
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), took
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, took
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("still running %v after %v", limit, sig)
		return -1, limit
	}
}

func mkfifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return p
}

func TestReplaySignalNoWriter(t *testing.T) {
	for _, sig := range []os.Signal{syscall.SIGTERM, syscall.SIGINT} {
		for _, args := range [][]string{{"replay"}, {"rules", "check"}, {"replay", "--rules"}} {
			t.Run(sig.String()+"/"+strings.Join(args, " "), func(t *testing.T) {
				fifo := mkfifo(t)
				args := append(args, fifo)
				if args[0] == "replay" && args[1] == "--rules" {
					args = append(args, "../testdata/nmap_sS.pcap")
				}
				var stderr bytes.Buffer
				cmd := exec.Command(scanwatchBin, args...)
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(300 * time.Millisecond) // blocked on the FIFO by now
				code, took := exitWithin(t, cmd, sig, 3*time.Second)
				t.Logf("exit %d, %v after the signal: %s", code, took.Round(time.Millisecond), strings.TrimSpace(stderr.String()))
				if code != 1 || !strings.Contains(stderr.String(), "interrupted") {
					t.Errorf("exit %d, stderr %q; want 1 and \"interrupted\"", code, stderr.String())
				}
				if took > time.Second {
					t.Errorf("took %v to exit", took)
				}
			})
		}
	}
}

func TestReplaySignalStalledWriter(t *testing.T) {
	capture, err := os.ReadFile("../testdata/nmap_sS.pcap")
	if err != nil {
		t.Fatal(err)
	}
	fifo := mkfifo(t)
	cmd := exec.Command(scanwatchBin, "replay", "-q", fifo)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close() // the writer stalls: it never closes before the signal
	if _, err := w.Write(capture[:len(capture)/2]); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// Output is buffered until the end: wait for the reader to block,
	// then stop it.
	time.Sleep(500 * time.Millisecond)
	code, took := exitWithin(t, cmd, syscall.SIGTERM, 3*time.Second)
	var got []string
	for l := range lines {
		got = append(got, l)
	}
	t.Logf("exit %d, %v after SIGTERM; %d records; %s", code, took.Round(time.Millisecond), len(got), strings.TrimSpace(stderr.String()))
	if code != 1 || took > time.Second {
		t.Errorf("exit %d after %v, want 1 within 1 s", code, took)
	}
	if len(got) != 2 || !strings.Contains(got[0], `"event_type":"alert"`) || !strings.Contains(got[1], `"event_type":"flow"`) {
		t.Errorf("records %q, want the alert before the stall and its closing record", got)
	}
}
