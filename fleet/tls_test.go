package fleet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeTLSFiles makes a CA and a server certificate for 127.0.0.1 signed
// by it, as PEM files in dir.
func writeTLSFiles(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "scanwatch test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(srvKey)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", srvDER), write("server-key.pem", "EC PRIVATE KEY", keyDER)
}

// TestTLS: a server that requires TLS takes a publisher that trusts its CA
// and refuses one that does not.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeTLSFiles(t, dir)
	conf := filepath.Join(dir, "nats.conf")
	os.WriteFile(conf, fmt.Appendf(nil, "tls {\n cert_file: %q\n key_file: %q\n}\n", cert, key), 0o600)
	s, err := Serve(context.Background(), "127.0.0.1:0", t.TempDir(), ServeOptions{ConfigFile: conf})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	url := fmt.Sprintf("tls://127.0.0.1:%d", serverPort(t, s))

	rec := newRecorder(1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := NewCorrelator(ctx, CorrelatorConfig{URL: url, Conn: ConnOptions{CAFile: ca}, ID: "corr", Partitions: testPartitions,
		Lateness: 50 * time.Millisecond, LeaseTTL: 900 * time.Millisecond, Engine: rec.factory, Sink: rec.sink("corr")})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	good, err := NewPublisher(PublisherConfig{URL: url, Sensor: "web-01", Partitions: testPartitions, Conn: ConnOptions{CAFile: ca}, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close(context.Background())
	bad, err := NewPublisher(PublisherConfig{URL: url, Sensor: "web-02", Partitions: testPartitions, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	badCtx, badCancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer func() { bad.Close(badCtx); badCancel() }()
	scanner := netip.MustParseAddr("198.51.100.1")
	good.Add(testContact(scanner, 1, time.Now()))
	bad.Add(testContact(scanner, 2, time.Now()))
	waitFor(t, 5*time.Second, "contact over TLS fed", func() bool { return c.Stats().Contacts == 1 })
	if st := bad.Stats(); st.Connected || st.Published != 0 {
		t.Errorf("publisher without the CA: %+v", st)
	}
}
