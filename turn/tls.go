package turn

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certReloadInterval is how often the certificate files are checked for a change.
const certReloadInterval = 10 * time.Second

// TLSConfig returns a server tls.Config for TURN over TLS with the PEM pair in
// certFile and keyFile. The pair is reloaded when either file changes (checked
// at most every 10 s), so a renewed certificate needs no restart; a broken
// renewal keeps the last good pair and is logged.
func TLSConfig(certFile, keyFile string, log *slog.Logger) (*tls.Config, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := r.load(); err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.get}, nil
}

type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string // the files' sizes and mtimes when cert was loaded
	checked time.Time
}

func (r *certReloader) fileStamp() (string, error) {
	var stamp string
	for _, name := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return "", err
		}
		stamp += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return stamp, nil
}

func (r *certReloader) load() error {
	stamp, err := r.fileStamp()
	if err == nil {
		var cert tls.Certificate
		if cert, err = tls.LoadX509KeyPair(r.certFile, r.keyFile); err == nil {
			r.cert, r.stamp = &cert, stamp
			return nil
		}
	}
	return fmt.Errorf("%w: turn_cert %s, turn_key %s: %v", ErrConfig, r.certFile, r.keyFile, err)
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.checked) >= certReloadInterval {
		r.checked = now
		if stamp, err := r.fileStamp(); err == nil && stamp != r.stamp {
			if err := r.load(); err != nil {
				r.log.Warn("turn: cannot reload the TLS certificate; keeping the previous one", "err", err)
				r.stamp = stamp // don't retry a broken pair on every handshake
			} else {
				r.log.Info("turn: TLS certificate reloaded", "cert", r.certFile)
			}
		}
	}
	return r.cert, nil
}
