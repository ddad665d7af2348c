// Package srtpkeys learns the SRTP keys of a DTLS-SRTP connection (RFC 5764)
// on which this side is the DTLS server, from what pion's public hooks show:
// the DTLS key log (the client's random and the master secret) and our own
// ServerHello (our random, the cipher suite, the SRTP profile). pion keeps
// the keys it derives to itself; with these, a send path of our own can
// encrypt with a context of its own (docs/benchmarks.md, "What pion's send
// path costs").
package srtpkeys

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/prf"
	"github.com/pion/dtls/v3/pkg/protocol/extension"
	"github.com/pion/dtls/v3/pkg/protocol/handshake"
	"github.com/pion/srtp/v3"
)

// Errors.
var (
	ErrNotReady = errors.New("srtpkeys: the DTLS handshake has not shown its secrets yet (or this side is not its server)")
	ErrSuite    = errors.New("srtpkeys: the negotiated cipher suite's PRF is not known here")
	ErrContext  = errors.New("srtpkeys: exporters with a context are not supported (DTLS-SRTP uses none)")
)

// keyLogLabel is the key log line's label for a (D)TLS 1.2 master secret.
const keyLogLabel = "CLIENT_RANDOM"

// Recorder records one DTLS connection's secrets. Give it to pion as the key
// log writer (io.Writer) and as the ServerHello hook (ServerHello), on a
// setting engine of that connection alone.
type Recorder struct {
	mu           sync.Mutex // guards the fields below
	clientRandom []byte     // from the key log
	master       []byte     // from the key log
	serverRandom []byte     // from our ServerHello
	suite        uint16     // from our ServerHello
	profile      dtls.SRTPProtectionProfile
	hello        bool // a ServerHello was seen
}

// Write takes key log lines ("CLIENT_RANDOM <client random> <master secret>",
// hex). Other lines are ignored; a malformed one is an error pion only logs.
func (r *Recorder) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(p, []byte{'\n'}) {
		f := bytes.Fields(line)
		if len(f) != 3 || string(f[0]) != keyLogLabel {
			continue
		}
		random, err1 := hex.DecodeString(string(f[1]))
		master, err2 := hex.DecodeString(string(f[2]))
		if err := errors.Join(err1, err2); err != nil {
			return 0, fmt.Errorf("srtpkeys: key log line: %w", err)
		}
		r.mu.Lock()
		r.clientRandom, r.master = random, master
		r.mu.Unlock()
	}
	return len(p), nil
}

// ServerHello records what our ServerHello says and sends it unchanged.
func (r *Recorder) ServerHello(m handshake.MessageServerHello) handshake.Message {
	random := m.Random.MarshalFixed()
	r.mu.Lock()
	r.serverRandom = random[:]
	r.suite, r.profile, r.hello = 0, 0, true
	if m.CipherSuiteID != nil {
		r.suite = *m.CipherSuiteID
	}
	for _, e := range m.Extensions {
		if u, ok := e.(*extension.UseSRTP); ok && len(u.ProtectionProfiles) > 0 {
			r.profile = dtls.SRTPProtectionProfile(u.ProtectionProfiles[0])
		}
	}
	r.mu.Unlock()
	return &m
}

// ExportKeyingMaterial is the RFC 5705 exporter of the connection, as the
// DTLS server computes it; srtp.Config.ExtractSessionKeysFromDTLS calls it.
func (r *Recorder) ExportKeyingMaterial(label string, context []byte, length int) ([]byte, error) {
	if len(context) != 0 {
		return nil, ErrContext
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.hello || r.master == nil {
		return nil, ErrNotReady
	}
	h, err := prfHash(r.suite)
	if err != nil {
		return nil, err
	}
	seed := make([]byte, 0, len(label)+len(r.clientRandom)+len(r.serverRandom))
	seed = append(append(append(seed, label...), r.clientRandom...), r.serverRandom...)
	return prf.PHash(r.master, seed, length, h)
}

// Profile is the negotiated SRTP protection profile.
func (r *Recorder) Profile() (srtp.ProtectionProfile, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.hello || r.profile == 0 {
		return 0, ErrNotReady
	}
	return srtp.ProtectionProfile(r.profile), nil
}

// Keys returns the connection's SRTP keys as its DTLS server holds them
// (Local: what the server sends) and the profile they are for.
func (r *Recorder) Keys() (srtp.SessionKeys, srtp.ProtectionProfile, error) {
	profile, err := r.Profile()
	if err != nil {
		return srtp.SessionKeys{}, 0, err
	}
	c := srtp.Config{Profile: profile}
	if err := c.ExtractSessionKeysFromDTLS(r, false); err != nil {
		return srtp.SessionKeys{}, 0, fmt.Errorf("srtpkeys: %w", err)
	}
	return c.Keys, profile, nil
}

// prfHash is the (D)TLS 1.2 PRF's hash for a cipher suite: SHA-384 for the
// *_SHA384 suites, SHA-256 for the others pion offers.
func prfHash(id uint16) (prf.HashFunc, error) {
	switch dtls.CipherSuiteID(id) {
	case dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, dtls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
		return sha512.New384, nil
	case dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, dtls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, dtls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
		dtls.TLS_ECDHE_ECDSA_WITH_AES_128_CCM, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8:
		return sha256.New, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrSuite, dtls.CipherSuiteName(dtls.CipherSuiteID(id)))
}
