package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/openroom/openroom/config"
)

var (
	httpsListenRE = regexp.MustCompile(`msg="openroom listening https" https=(\S+)`)
	turnTLSLogRE  = regexp.MustCompile(`msg=turn .*tls=(\S+)`)
)

// selfSigned makes a self-signed ECDSA certificate for names (DNS names or IPs),
// valid for 90 days, and returns its PEM certificate, PEM key and serial number.
func selfSigned(t *testing.T, names ...string) (certPEM, keyPEM []byte, serial *big.Int) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "openroom test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(90 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), serial
}

// writeCertFiles writes a new self-signed pair to certFile and keyFile and
// returns its serial number.
func writeCertFiles(t *testing.T, certFile, keyFile string) *big.Int {
	t.Helper()
	certPEM, keyPEM, serial := selfSigned(t, "localhost", "127.0.0.1")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return serial
}

// peerSerial completes a TLS handshake with addr (sending serverName as SNI,
// none when empty) and returns the serial number of the certificate it got.
func peerSerial(t *testing.T, addr, serverName string) *big.Int {
	t.Helper()
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: runDeadline},
		Config: &tls.Config{ServerName: serverName, InsecureSkipVerify: true}} // test client only: the cert is self-signed
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("TLS handshake with %s: got %v; want nil", addr, err)
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0].SerialNumber
}

// insecureClient trusts any certificate and never follows redirects.
func insecureClient() *http.Client {
	return &http.Client{
		Timeout:       runDeadline,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // test client only
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// do sends a request with client and returns the status, the Location header and the body.
func do(t *testing.T, client *http.Client, method, url, host string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: got %v; want nil", method, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// startTLSRun starts the server and waits until the TURN line (logged after the
// http and https lines) is written; it returns the http, https and TURN TLS addresses.
func startTLSRun(t *testing.T, ctx context.Context, args []string) (done <-chan int, stderr *syncBuffer, httpAddr, httpsAddr, turnTLS string) {
	t.Helper()
	stderr = newSyncBuffer("msg=turn ")
	done = startRun(t, ctx, args, stderr, nil)
	waitStarted(t, stderr, done)
	for _, x := range []struct {
		re  *regexp.Regexp
		dst *string
	}{{listenRE, &httpAddr}, {httpsListenRE, &httpsAddr}, {turnTLSLogRE, &turnTLS}} {
		m := x.re.FindStringSubmatch(stderr.String())
		if m == nil {
			t.Fatalf("log: got no match for %s in\n%s", x.re, stderr.String())
		}
		*x.dst = m[1]
	}
	return done, stderr, httpAddr, httpsAddr, turnTLS
}

func TestRunServerHTTPS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	serial1 := writeCertFiles(t, certFile, keyFile)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, stderr, httpAddr, httpsAddr, turnTLS := startTLSRun(t, ctx, []string{"--http", "127.0.0.1:0", "--https", "127.0.0.1:0",
		"--tls-cert", certFile, "--tls-key", keyFile, "--rtc-port", "0", "--rtmp", "", "--node-ip", "127.0.0.1",
		"--turn", "", "--turn-tls", "127.0.0.1:0"})
	_, httpsPort, _ := net.SplitHostPort(httpsAddr)
	client := insecureClient()
	defer client.CloseIdleConnections()

	t.Run("healthz over https", func(t *testing.T) {
		resp, err := client.Get("https://" + httpsAddr + "/healthz")
		if err != nil {
			t.Fatalf("GET /healthz: got %v; want nil", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
			t.Errorf("GET /healthz: got %v %q; want %v %q", resp.StatusCode, body, http.StatusOK, "ok\n")
		}
		if resp.TLS == nil || resp.TLS.PeerCertificates[0].SerialNumber.Cmp(serial1) != 0 {
			t.Errorf("certificate: got %+v; want serial %v", resp.TLS, serial1)
		}
	})
	t.Run("demo and API over https", func(t *testing.T) {
		if code, _, _ := do(t, client, "GET", "https://"+httpsAddr+"/", ""); code != http.StatusOK {
			t.Errorf("GET /: got %v; want %v", code, http.StatusOK)
		}
		resp, err := client.Post("https://"+httpsAddr+"/weapp/webrtc_room/get_login_info", "application/json",
			strings.NewReader(`{"userID":"alice"}`))
		if err != nil {
			t.Fatalf("POST get_login_info: got %v; want nil", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"userSig"`) {
			t.Errorf("POST get_login_info: got %v %q; want %v with a userSig", resp.StatusCode, body, http.StatusOK)
		}
		if !strings.Contains(string(body), "turns:") {
			t.Errorf("get_login_info iceServers: got %s; want a turns: URL (TURN over TLS with the https certificate)", body)
		}
	})
	t.Run("wss", func(t *testing.T) {
		d := websocket.Dialer{HandshakeTimeout: runDeadline, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // test client only
		ws, resp, err := d.Dial("wss://"+httpsAddr+"/ws", nil)
		if err != nil {
			t.Fatalf("dial wss /ws: got %v; want nil", err)
		}
		resp.Body.Close()
		ws.Close()
	})
	t.Run("http redirects with 308", func(t *testing.T) {
		for _, tc := range []struct{ method, path string }{
			{"GET", "/"},
			{"GET", "/r/room1?user=alice"},
			{"POST", "/weapp/webrtc_room/get_login_info"},
			{"GET", "/readyz"},
		} {
			code, loc, _ := do(t, client, tc.method, "http://"+httpAddr+tc.path, "")
			if want := "https://127.0.0.1:" + httpsPort + tc.path; code != http.StatusPermanentRedirect || loc != want {
				t.Errorf("%s %s on http: got %v Location %q; want %v %q", tc.method, tc.path, code, loc, http.StatusPermanentRedirect, want)
			}
		}
		code, loc, _ := do(t, client, "GET", "http://"+httpAddr+"/r/x", "rooms.example.com:8080")
		if want := "https://rooms.example.com:" + httpsPort + "/r/x"; code != http.StatusPermanentRedirect || loc != want {
			t.Errorf("GET /r/x with Host rooms.example.com:8080: got %v %q; want %v %q", code, loc, http.StatusPermanentRedirect, want)
		}
	})
	t.Run("healthz and ACME challenges on http are not redirected", func(t *testing.T) {
		if code, _, body := do(t, client, "GET", "http://"+httpAddr+"/healthz", ""); code != http.StatusOK || body != "ok\n" {
			t.Errorf("GET /healthz on http: got %v %q; want %v %q", code, body, http.StatusOK, "ok\n")
		}
		code, _, _ := do(t, client, "GET", "http://"+httpAddr+"/.well-known/acme-challenge/token", "")
		if code == http.StatusPermanentRedirect {
			t.Errorf("GET /.well-known/acme-challenge/token on http: got %v; want no redirect", code)
		}
	})
	t.Run("TURN over TLS shares the certificate", func(t *testing.T) {
		if got := peerSerial(t, turnTLS, ""); got.Cmp(serial1) != 0 {
			t.Errorf("TURN TLS certificate serial: got %v; want %v", got, serial1)
		}
	})
	t.Run("certificate reload", func(t *testing.T) {
		serial2 := writeCertFiles(t, certFile, keyFile)
		deadline := time.Now().Add(certCheckInterval + 5*time.Second)
		for got := peerSerial(t, httpsAddr, "localhost"); got.Cmp(serial2) != 0; got = peerSerial(t, httpsAddr, "localhost") {
			if got.Cmp(serial1) != 0 {
				t.Fatalf("certificate serial: got %v; want %v or %v", got, serial1, serial2)
			}
			if time.Now().After(deadline) {
				t.Fatalf("certificate serial after replacing the files: got %v until %v; want %v; stderr:\n%s",
					got, deadline, serial2, stderr.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		if got := peerSerial(t, turnTLS, ""); got.Cmp(serial2) != 0 {
			t.Errorf("TURN TLS certificate serial after the reload: got %v; want %v", got, serial2)
		}
		if !strings.Contains(stderr.String(), "TLS certificate reloaded") {
			t.Errorf("stderr: want the reload logged in\n%s", stderr.String())
		}
	})
	t.Run("a broken renewal keeps the certificate", func(t *testing.T) {
		before := peerSerial(t, httpsAddr, "")
		if err := os.WriteFile(keyFile, []byte("not a key\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(certCheckInterval + 5*time.Second)
		for !strings.Contains(stderr.String(), "cannot reload the TLS certificate") {
			if time.Now().After(deadline) {
				t.Fatalf("stderr: want the failed reload logged within %v in\n%s", certCheckInterval+5*time.Second, stderr.String())
			}
			_ = peerSerial(t, httpsAddr, "")
			time.Sleep(100 * time.Millisecond)
		}
		if got := peerSerial(t, httpsAddr, ""); got.Cmp(before) != 0 {
			t.Errorf("certificate serial after a broken renewal: got %v; want %v", got, before)
		}
	})
	client.CloseIdleConnections()
	cancel()
	if code := waitCode(t, done, stderr); code != 0 {
		t.Errorf("exit code: got %v; want %v; stderr:\n%s", code, 0, stderr.String())
	}
}

func TestRunServerHTTPSNoRedirect(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCertFiles(t, certFile, keyFile)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, stderr, httpAddr, httpsAddr, _ := startTLSRun(t, ctx, []string{"--http", "127.0.0.1:0", "--https", "127.0.0.1:0",
		"--tls-cert", certFile, "--tls-key", keyFile, "--tls-redirect=false", "--rtc-port", "0", "--rtmp", "",
		"--node-ip", "127.0.0.1", "--turn", "", "--turn-tls", "127.0.0.1:0"})
	client := insecureClient()
	for _, url := range []string{"http://" + httpAddr + "/", "https://" + httpsAddr + "/"} {
		if code, _, _ := do(t, client, "GET", url, ""); code != http.StatusOK {
			t.Errorf("GET %s with --tls-redirect=false: got %v; want %v", url, code, http.StatusOK)
		}
	}
	client.CloseIdleConnections()
	cancel()
	if code := waitCode(t, done, stderr); code != 0 {
		t.Errorf("exit code: got %v; want %v; stderr:\n%s", code, 0, stderr.String())
	}
}

// TestRunServerHTTPSAutomatic runs with tls_domains and a cache already holding a
// certificate for the domain (as autocert stores it: key, then chain), so no CA
// is asked.
func TestRunServerHTTPSAutomatic(t *testing.T) {
	if os.Getenv("OPENROOM_NETNS") != "1" {
		t.Skip("a mistake here would contact Let's Encrypt: run inside the private network namespace (scripts/netns-run.sh)")
	}
	const domain = "rooms.example.test"
	cache := t.TempDir()
	certPEM, keyPEM, serial := selfSigned(t, domain)
	if err := os.WriteFile(filepath.Join(cache, domain), append(keyPEM, certPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, stderr, httpAddr, httpsAddr, turnTLS := startTLSRun(t, ctx, []string{"--http", "127.0.0.1:0", "--https", "127.0.0.1:0",
		"--tls-domains", domain, "--tls-cache-dir", cache, "--rtc-port", "0", "--rtmp", "", "--node-ip", "127.0.0.1",
		"--turn", "", "--turn-tls", "127.0.0.1:0"})
	_, httpsPort, _ := net.SplitHostPort(httpsAddr)
	if got := peerSerial(t, httpsAddr, domain); got.Cmp(serial) != 0 {
		t.Errorf("https certificate for %s: got serial %v; want %v", domain, got, serial)
	}
	if got := peerSerial(t, turnTLS, ""); got.Cmp(serial) != 0 {
		t.Errorf("TURN TLS certificate without SNI: got serial %v; want %v (the first domain's)", got, serial)
	}
	client := insecureClient()
	defer client.CloseIdleConnections()
	code, loc, _ := do(t, client, "GET", "http://"+httpAddr+"/r/x", domain)
	if want := "https://" + domain + ":" + httpsPort + "/r/x"; code != http.StatusPermanentRedirect || loc != want {
		t.Errorf("GET /r/x on http: got %v %q; want %v %q", code, loc, http.StatusPermanentRedirect, want)
	}
	// An unknown token: autocert's challenge handler answers (404), not the redirect.
	if code, _, _ := do(t, client, "GET", "http://"+httpAddr+"/.well-known/acme-challenge/unknown", domain); code != http.StatusNotFound {
		t.Errorf("GET an ACME challenge on http: got %v; want %v", code, http.StatusNotFound)
	}
	if !strings.Contains(stderr.String(), "certs=automatic") {
		t.Errorf("stderr: want certs=automatic in the https line in\n%s", stderr.String())
	}
	client.CloseIdleConnections()
	cancel()
	if code := waitCode(t, done, stderr); code != 0 {
		t.Errorf("exit code: got %v; want %v; stderr:\n%s", code, 0, stderr.String())
	}
}

func TestRunServerHTTPSStartErrors(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCertFiles(t, certFile, keyFile)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	notDir := writeFile(t, "file", "x")
	base := []string{"--http", "127.0.0.1:0", "--rtc-port", "0", "--rtmp", "", "--turn", "", "--turn-tls", ""}
	tests := []struct {
		name     string
		args     []string
		contains string
	}{
		{"missing cert file", []string{"--https", "127.0.0.1:0", "--tls-cert", filepath.Join(dir, "none.pem"), "--tls-key", keyFile}, "tls_cert"},
		{"cert and key swapped", []string{"--https", "127.0.0.1:0", "--tls-cert", keyFile, "--tls-key", certFile}, "tls_cert"},
		{"port in use", []string{"--https", busy.Addr().String(), "--tls-cert", certFile, "--tls-key", keyFile}, "--https"},
		{"cache dir not writable", []string{"--https", "127.0.0.1:0", "--tls-domains", "rooms.example.test",
			"--tls-cache-dir", filepath.Join(notDir, "certs")}, "tls_cache_dir"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stderr := newSyncBuffer("")
			done := startRun(t, context.Background(), append(append([]string{}, base...), tc.args...), stderr, nil)
			if code := waitCode(t, done, stderr); code != 1 {
				t.Errorf("exit code: got %v; want %v; stderr:\n%s", code, 1, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.contains) {
				t.Errorf("stderr: got %q; want it to contain %q", stderr.String(), tc.contains)
			}
		})
	}
}

func TestHTTPSConfig(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		contains string // "" when valid
		check    func(t *testing.T, c config.Config)
	}{
		{name: "defaults", check: func(t *testing.T, c config.Config) {
			if c.HTTPS != "" || !c.TLSRedirect || c.TLSCacheDir != "/var/lib/openroom/certs" || c.HTTPSEnabled() {
				t.Errorf("https/redirect/cache/enabled: got %q/%v/%q/%v; want \"\"/true//var/lib/openroom/certs/false",
					c.HTTPS, c.TLSRedirect, c.TLSCacheDir, c.HTTPSEnabled())
			}
		}},
		{name: "files", args: []string{"--https", ":8443", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, check: func(t *testing.T, c config.Config) {
			if !c.HTTPSEnabled() || !c.TURNTLSEnabled() {
				t.Errorf("HTTPSEnabled, TURNTLSEnabled: got %v, %v; want true, true (TURN shares the certificate)", c.HTTPSEnabled(), c.TURNTLSEnabled())
			}
		}},
		{name: "domains from flags", args: []string{"--https", ":443", "--tls-domains", "a.example.com, b.example.com", "--tls-cache-dir", "/tmp/c",
			"--tls-redirect=false"}, check: func(t *testing.T, c config.Config) {
			if strings.Join(c.TLSDomains, " ") != "a.example.com b.example.com" || c.TLSCacheDir != "/tmp/c" || c.TLSRedirect {
				t.Errorf("domains/cache/redirect: got %q/%q/%v; want [a.example.com b.example.com]//tmp/c/false", c.TLSDomains, c.TLSCacheDir, c.TLSRedirect)
			}
		}},
		{name: "domains from env", env: map[string]string{"OPENROOM_HTTPS": ":443", "OPENROOM_TLS_DOMAINS": "rooms.example.com",
			"OPENROOM_TLS_CACHE_DIR": "/srv/certs", "OPENROOM_TLS_REDIRECT": "false"}, check: func(t *testing.T, c config.Config) {
			if c.HTTPS != ":443" || strings.Join(c.TLSDomains, " ") != "rooms.example.com" || c.TLSCacheDir != "/srv/certs" || c.TLSRedirect {
				t.Errorf("config: got %+v; want https :443, the domain, /srv/certs, no redirect", c)
			}
		}},
		{name: "files from env, flag wins", args: []string{"--tls-key", "flag.pem"},
			env: map[string]string{"OPENROOM_HTTPS": ":8443", "OPENROOM_TLS_CERT": "c.pem", "OPENROOM_TLS_KEY": "k.pem"},
			check: func(t *testing.T, c config.Config) {
				if c.TLSCert != "c.pem" || c.TLSKey != "flag.pem" {
					t.Errorf("cert, key: got %q, %q; want c.pem, flag.pem", c.TLSCert, c.TLSKey)
				}
			}},
		{name: "turn keeps its own certificate", args: []string{"--https", ":8443", "--tls-cert", "c.pem", "--tls-key", "k.pem",
			"--turn-cert", "tc.pem", "--turn-key", "tk.pem"}, check: func(t *testing.T, c config.Config) {
			if !c.TURNTLSEnabled() || c.TURNCert != "tc.pem" {
				t.Errorf("TURNTLSEnabled, TURNCert: got %v, %q; want true, tc.pem", c.TURNTLSEnabled(), c.TURNCert)
			}
		}},
		{name: "certificate without https is unused", args: []string{"--tls-cert", "c.pem", "--tls-key", "k.pem"}, check: func(t *testing.T, c config.Config) {
			if c.HTTPSEnabled() || c.TURNTLSEnabled() {
				t.Errorf("HTTPSEnabled, TURNTLSEnabled: got %v, %v; want false, false", c.HTTPSEnabled(), c.TURNTLSEnabled())
			}
		}},
		{name: "https without a certificate", args: []string{"--https", ":8443"}, contains: "set tls_cert and tls_key (PEM files), or tls_domains"},
		{name: "https without a certificate from env", env: map[string]string{"OPENROOM_HTTPS": ":443"}, contains: `https ":443" needs a certificate`},
		{name: "cert without key", args: []string{"--https", ":8443", "--tls-cert", "c.pem"}, contains: "tls_cert and tls_key: set both"},
		{name: "key without cert", args: []string{"--tls-key", "k.pem"}, contains: "tls_cert and tls_key: set both"},
		{name: "files and domains", args: []string{"--https", ":443", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-domains", "rooms.example.com"},
			contains: "tls_cert/tls_key and tls_domains are both set"},
		{name: "bad https address", args: []string{"--https", "8443", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, contains: `https "8443"`},
		{name: "domain with scheme", args: []string{"--https", ":443", "--tls-domains", "https://rooms.example.com"}, contains: "tls_domains"},
		{name: "domain with port", args: []string{"--https", ":443", "--tls-domains", "rooms.example.com:443"}, contains: "tls_domains"},
		{name: "wildcard domain", args: []string{"--https", ":443", "--tls-domains", "*.example.com"}, contains: "tls_domains"},
		{name: "IP as domain", args: []string{"--https", ":443", "--tls-domains", "203.0.113.7"}, contains: "tls_domains"},
		{name: "single-label domain", args: []string{"--https", ":443", "--tls-domains", "localhost"}, contains: "tls_domains"},
		{name: "domains without a cache dir", args: []string{"--https", ":443", "--tls-domains", "rooms.example.com", "--tls-cache-dir", ""},
			contains: "tls_cache_dir"},
		{name: "bad redirect env", env: map[string]string{"OPENROOM_TLS_REDIRECT": "maybe"}, contains: "OPENROOM_TLS_REDIRECT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			c, err := loadConfig(tc.args, &stderr, fakeEnv(tc.env))
			if tc.contains == "" {
				if err != nil {
					t.Fatalf("loadConfig: got %v; want nil", err)
				}
				tc.check(t, c)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.contains) || !errors.Is(err, config.ErrInvalid) {
				t.Errorf("loadConfig: got %v; want an invalid-config error containing %q", err, tc.contains)
			}
		})
	}
}

func TestHTTPSBase(t *testing.T) {
	tests := []struct{ host, port, want string }{
		{"rooms.example.com:8080", "8443", "https://rooms.example.com:8443"},
		{"rooms.example.com", "443", "https://rooms.example.com"},
		{"rooms.example.com:80", "443", "https://rooms.example.com"},
		{"127.0.0.1:8080", "8443", "https://127.0.0.1:8443"},
		{"[::1]:8080", "443", "https://[::1]"},
		{"[::1]:8080", "8443", "https://[::1]:8443"},
		{"[::1]", "8443", "https://[::1]:8443"},
		{"", "443", "https://fallback.example.com"},
	}
	for _, tc := range tests {
		if got := httpsBase(tc.host, tc.port, "fallback.example.com"); got != tc.want {
			t.Errorf("httpsBase(%q, %q): got %q; want %q", tc.host, tc.port, got, tc.want)
		}
	}
}
