package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme/autocert"

	"github.com/openroom/openroom/config"
	"github.com/openroom/openroom/turn"
)

// certCheckInterval is how often, at most, the tls_cert and tls_key files are
// looked at for a change. The check runs on a TLS handshake, never in between.
const certCheckInterval = 2 * time.Second

// acmeChallengePrefix is where an ACME CA fetches HTTP-01 challenge answers.
const acmeChallengePrefix = "/.well-known/acme-challenge/"

// httpsFront is the HTTPS side of the server: its listener, where its
// certificates come from (tls_cert/tls_key files, or ACME for tls_domains), its
// http.Server, and the redirect the plain http listener answers with.
type httpsFront struct {
	log      *slog.Logger
	ln       net.Listener      // TCP; the http.Server does the TLS
	files    *certFiles        // nil with automatic certificates
	acme     *autocert.Manager // nil with certificate files
	domains  []string
	turnHost string
	redirect bool         // tls_redirect, and an http listener to redirect from
	srv      *http.Server // set by serveHTTPS
}

// newHTTPSFront loads the certificate cfg asks for https; nil when https is
// off. Its listener (ln) opens with the others (openSockets).
func newHTTPSFront(cfg config.Config, log *slog.Logger) (*httpsFront, error) {
	if !cfg.HTTPSEnabled() {
		if cfg.TLSCert != "" || len(cfg.TLSDomains) > 0 {
			log.Warn("https is off, so tls_cert/tls_domains are not used: set https (e.g. :443) to serve HTTPS")
		}
		return nil, nil
	}
	h := &httpsFront{log: log, domains: cfg.TLSDomains, turnHost: cfg.TURNHost, redirect: cfg.TLSRedirect && cfg.HTTP != ""}
	if cfg.TLSCert != "" {
		var err error
		if h.files, err = loadCertFiles(cfg.TLSCert, cfg.TLSKey, log); err != nil {
			return nil, err
		}
	} else {
		if err := checkWritableDir(cfg.TLSCacheDir); err != nil {
			return nil, fmt.Errorf("tls_cache_dir %s: %w (automatic certificates are kept there: set --tls-cache-dir or OPENROOM_TLS_CACHE_DIR to a directory openroom may write)", cfg.TLSCacheDir, err)
		}
		h.acme = &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			Cache:      autocert.DirCache(cfg.TLSCacheDir),
			HostPolicy: autocert.HostWhitelist(cfg.TLSDomains...),
		}
		if addrPort(cfg.HTTP) != "80" && addrPort(cfg.HTTPS) != "443" {
			log.Warn("automatic certificates: the CA checks a domain on port 80 (http) or 443 (https), and neither is bound here; make sure one of them reaches this server (port forwarding)",
				"http", cfg.HTTP, "https", cfg.HTTPS)
		}
	}
	if cfg.RTMP != "" && cfg.FLVURL == "" {
		log.Warn("https is on but flv_url is not set: mini-programs get http:// HTTP-FLV URLs; set flv_url (e.g. https://rooms.example.com)")
	}
	return h, nil
}

// checkWritableDir creates dir if needed and checks that a file can be made in it.
func checkWritableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".openroom-probe-*")
	if err != nil {
		return err
	}
	_ = f.Close()
	return os.Remove(f.Name())
}

// addrPort is the port of a listen address, "" when there is none.
func addrPort(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// tlsConfig is the https server's TLS setup (the http.Server adds h2 and http/1.1).
func (h *httpsFront) tlsConfig() *tls.Config {
	if h.acme != nil {
		c := h.acme.TLSConfig() // also answers tls-alpn-01 challenges
		c.MinVersion = tls.VersionTLS12
		return c
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: h.files.getCertificate}
}

// turnTLSConfig shares the https certificate with TURN over TLS. TURN clients
// often send no server name (SNI), which automatic certificates are chosen by,
// so those get turn_host's certificate if it is one of tls_domains, else the
// first domain's.
func (h *httpsFront) turnTLSConfig() *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if h.files != nil {
		c.GetCertificate = h.files.getCertificate
		return c
	}
	name := h.domains[0]
	if i := slices.IndexFunc(h.domains, func(d string) bool { return strings.EqualFold(d, h.turnHost) }); i >= 0 {
		name = h.domains[i]
	}
	c.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if hello.ServerName == "" {
			named := *hello
			named.ServerName = name
			hello = &named
		}
		return h.acme.GetCertificate(hello)
	}
	return c
}

// plainHandler is what the http listener serves: ACME HTTP-01 answers (with
// automatic certificates), then the redirect to https (tls_redirect), or next.
func (h *httpsFront) plainHandler(next http.Handler) http.Handler {
	if h.redirect {
		next = h.redirectHandler(next)
	}
	if h.acme != nil {
		next = h.acme.HTTPHandler(next)
	}
	return next
}

// redirectHandler answers 308 with the same URL on https, except /healthz (so
// probes keep working on http) and ACME challenges, which go to next.
func (h *httpsFront) redirectHandler(next http.Handler) http.Handler {
	port := addrPort(h.ln.Addr().String())
	fallback := "localhost"
	if len(h.domains) > 0 {
		fallback = h.domains[0]
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || strings.HasPrefix(r.URL.Path, acmeChallengePrefix) {
			next.ServeHTTP(w, r)
			return
		}
		http.Redirect(w, r, httpsBase(r.Host, port, fallback)+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

// httpsBase is https://HOST[:PORT] for a request whose Host header was reqHost:
// its host name (fallback when it has none) with the https port, left out when 443.
func httpsBase(reqHost, port, fallback string) string {
	host := reqHost
	if h, _, err := net.SplitHostPort(reqHost); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		host = fallback
	}
	if port == "443" {
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		return "https://" + host
	}
	return "https://" + net.JoinHostPort(host, port)
}

// turnTLSConfig is TURN's TLS setup: its own certificate files (turn_cert,
// turn_key), else https's certificate.
func (a *app) turnTLSConfig(cfg *config.Config) (*tls.Config, error) {
	if cfg.TURNCert != "" || a.https == nil {
		return turn.TLSConfig(cfg.TURNCert, cfg.TURNKey, a.log)
	}
	a.log.Debug("turn over TLS uses the https certificate")
	return a.https.turnTLSConfig(), nil
}

// httpHandler is the handler of the plain http listener.
func (a *app) httpHandler() http.Handler {
	if a.https == nil {
		return a.mux
	}
	return a.https.plainHandler(a.mux)
}

// serveHTTPS serves the mux (API, /ws as wss, demo, /live) over TLS, when https
// is on; a failure goes to errc unless another error got there first.
func (a *app) serveHTTPS(wg *sync.WaitGroup, errc chan<- error) {
	h := a.https
	if h == nil {
		return
	}
	h.srv = a.httpServer(a.mux)
	h.srv.TLSConfig = h.tlsConfig()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := h.srv.ServeTLS(h.ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			select {
			case errc <- err:
			default: // another error already ends the run
			}
		}
	}()
	args := []any{"https", h.ln.Addr().String(), "url", "https://localhost:" + port(h.ln.Addr())}
	if h.acme != nil {
		args = append(args, "certs", "automatic", "domains", strings.Join(h.domains, ","))
	} else {
		args = append(args, "certs", h.files.certFile, "expires", h.files.expiry())
	}
	a.log.Info("openroom listening https", args...)
}

// shutdownHTTPS starts a graceful shutdown of the https server, bounded by
// timeout, and returns a function that waits for it.
func (a *app) shutdownHTTPS(timeout time.Duration) (wait func()) {
	if a.https == nil || a.https.srv == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		_ = a.https.srv.Shutdown(ctx)
	}()
	return func() { <-done }
}

func (a *app) closeHTTPS() {
	if a.https != nil && a.https.ln != nil {
		_ = a.https.ln.Close()
	}
}

// httpErrorLog takes the https server's own error log: failed TLS handshakes
// (scanners, clients refusing the certificate) at debug level, the rest at warn.
type httpErrorLog struct{ log *slog.Logger }

func (l httpErrorLog) Enabled(context.Context, slog.Level) bool { return true } // Handle decides

func (l httpErrorLog) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "TLS handshake error") {
		r.Level = slog.LevelDebug
	}
	if !l.log.Handler().Enabled(ctx, r.Level) {
		return nil
	}
	return l.log.Handler().Handle(ctx, r)
}

func (l httpErrorLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	return httpErrorLog{slog.New(l.log.Handler().WithAttrs(attrs))}
}

func (l httpErrorLog) WithGroup(name string) slog.Handler {
	return httpErrorLog{slog.New(l.log.Handler().WithGroup(name))}
}

// certFiles is a certificate loaded from PEM files and loaded again when the
// files change (checked at most every certCheckInterval, on a handshake), so a
// renewal needs no restart. A broken pair keeps the last good one, and is logged.
type certFiles struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string // sizes and modification times of the files last looked at
	checked time.Time
}

func loadCertFiles(certFile, keyFile string, log *slog.Logger) (*certFiles, error) {
	f := &certFiles{certFile: certFile, keyFile: keyFile, log: log, checked: time.Now()}
	stamp, err := f.fileStamp()
	if err == nil {
		err = f.load()
	}
	if err != nil {
		return nil, fmt.Errorf("tls_cert %s, tls_key %s: %w", certFile, keyFile, err)
	}
	f.stamp = stamp
	if exp := f.cert.Leaf.NotAfter; time.Now().After(exp) {
		log.Warn("https: the TLS certificate has expired", "cert", certFile, "expired", exp)
	}
	return f, nil
}

func (f *certFiles) fileStamp() (string, error) {
	var b strings.Builder
	for _, name := range []string{f.certFile, f.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%d@%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String(), nil
}

func (f *certFiles) load() error {
	cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile) // also parses cert.Leaf
	if err != nil {
		return err
	}
	f.cert = &cert
	return nil
}

func (f *certFiles) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now := time.Now(); now.Sub(f.checked) >= certCheckInterval {
		f.checked = now
		if stamp, err := f.fileStamp(); err == nil && stamp != f.stamp {
			f.stamp = stamp // a broken pair is tried again only when the files change again
			if err := f.load(); err != nil {
				f.log.Warn("https: cannot reload the TLS certificate; keeping the previous one", "cert", f.certFile, "err", err)
			} else {
				f.log.Info("https: TLS certificate reloaded", "cert", f.certFile, "expires", f.cert.Leaf.NotAfter)
			}
		}
	}
	return f.cert, nil
}

func (f *certFiles) expiry() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cert.Leaf.NotAfter
}
