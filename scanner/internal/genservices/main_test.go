package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedIsCurrent regenerates services_gen.go from this machine's
// nmap-services and requires the committed file to be the same, so a
// generator change or a stale list cannot go unnoticed; and it checks the
// order the scanner's defaults rely on (http first, then telnet, ...).
func TestGeneratedIsCurrent(t *testing.T) {
	const services = "/usr/share/nmap/nmap-services"
	if _, err := os.Stat(services); err != nil {
		t.Skipf("skipped: %s not installed (Debian package nmap; make test installs it)", services)
	}
	out := filepath.Join(t.TempDir(), "services_gen.go")
	cmd := exec.Command("go", "run", ".", "-in", services, "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("genservices: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../services_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("scanner/services_gen.go is stale: run go generate ./scanner and commit it")
	}
	if !bytes.Contains(got, []byte("var tcpByFrequency = [...]uint16{\n\t80, 23, 443, 21, 22, 25,")) {
		t.Errorf("tcp list does not start with nmap's top ports 80, 23, 443, 21, 22, 25:\n%.300s", got)
	}
}
