package turn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/openroom/openroom/internal/pionlog"
	pturn "github.com/pion/turn/v5"
)

// writeCert writes a self-signed certificate for 127.0.0.1 and localhost named cn
// to dir/cert.pem and dir/key.pem.
func writeCert(t *testing.T, dir, cn string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	return certFile, keyFile, cert
}

func TestAllocateOverTLS(t *testing.T) {
	requireNetns(t)
	noLeaks(t)
	certFile, keyFile, cert := writeCert(t, t.TempDir(), "turn test")
	tlsConf, err := TLSConfig(certFile, keyFile, nil)
	if err != nil {
		t.Fatalf("TLSConfig: got %v; want nil", err)
	}
	s, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.Serve(tls.NewListener(ln, tlsConf)); !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: got %v; want %v", err, ErrServerClosed)
		}
	}()
	defer func() {
		_ = s.Close()
		wg.Wait()
	}()

	roots := x509.NewCertPool()
	roots.AddCert(cert)
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: testDeadline}, Config: &tls.Config{RootCAs: roots, ServerName: "localhost"}}
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	conn, err := dialer.DialContext(ctx, "tcp4", ln.Addr().String())
	if err != nil {
		t.Fatalf("TLS dial: got %v; want nil", err)
	}
	stunConn := pturn.NewSTUNConn(conn)
	defer stunConn.Close()
	user, pass := creds("alice")
	c, err := pturn.NewClient(&pturn.ClientConfig{
		STUNServerAddr: ln.Addr().String(), TURNServerAddr: ln.Addr().String(), Username: user, Password: pass,
		Realm: DefaultRealm, Conn: stunConn, LoggerFactory: pionlog.Factory{Log: slog.New(slog.DiscardHandler)},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.AllocateWithContext(ctx)
	if err != nil {
		t.Fatalf("Allocate over TLS: got %v; want nil", err)
	}
	if err := relay.Close(); err != nil {
		t.Errorf("relay Close: got %v; want nil", err)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := writeCert(t, dir, "a")
	otherDir := t.TempDir()
	_, otherKey, _ := writeCert(t, otherDir, "b")
	tests := []struct {
		name      string
		cert, key string
	}{
		{name: "missing files", cert: filepath.Join(dir, "none.pem"), key: keyFile},
		{name: "key of another certificate", cert: certFile, key: otherKey},
		{name: "key as certificate", cert: keyFile, key: keyFile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := TLSConfig(tc.cert, tc.key, nil); !errors.Is(err, ErrConfig) {
				t.Errorf("TLSConfig: got %v; want %v", err, ErrConfig)
			}
		})
	}
}

func TestTLSCertificateReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := writeCert(t, dir, "first")
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: slog.New(slog.DiscardHandler)}
	if err := r.load(); err != nil {
		t.Fatal(err)
	}
	subject := func() string {
		t.Helper()
		c, err := r.get(nil)
		if err != nil {
			t.Fatalf("GetCertificate: got %v; want nil", err)
		}
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return leaf.Subject.CommonName
	}
	if got := subject(); got != "first" {
		t.Fatalf("certificate: got %q; want %q", got, "first")
	}
	steps := []struct {
		name  string
		write func()
		want  string
	}{
		{name: "renewed pair is served", write: func() { writeCert(t, dir, "second") }, want: "second"},
		{name: "broken pair keeps the last good one", write: func() {
			if err := os.WriteFile(keyFile, []byte("garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, want: "second"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.write()
			// Make the change visible: a new mtime even on coarse clocks, and skip the interval.
			later := time.Now().Add(time.Minute)
			for _, f := range []string{certFile, keyFile} {
				if err := os.Chtimes(f, later, later); err != nil {
					t.Fatal(err)
				}
			}
			r.mu.Lock()
			r.checked = time.Time{}
			r.mu.Unlock()
			if got := subject(); got != st.want {
				t.Errorf("certificate: got %q; want %q", got, st.want)
			}
		})
	}
}
