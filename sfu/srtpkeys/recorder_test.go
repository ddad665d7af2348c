package srtpkeys

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	dtlsnet "github.com/pion/dtls/v3/pkg/net"
	"github.com/pion/srtp/v3"
	"github.com/pion/transport/v5/dpipe"
	"go.uber.org/goleak"
)

// handshakeInMemory runs a DTLS handshake in memory, the server with r's hooks, and
// returns the server's view of the keys (pion's own exporter).
func handshakeInMemory(t *testing.T, r *Recorder, suite dtls.CipherSuiteID, profile dtls.SRTPProtectionProfile, ems dtls.ExtendedMasterSecretType) srtp.SessionKeys {
	t.Helper()
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	ca, cb := dpipe.Pipe()
	cfg := func() *dtls.Config {
		return &dtls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true,
			CipherSuites: []dtls.CipherSuiteID{suite}, SRTPProtectionProfiles: []dtls.SRTPProtectionProfile{profile},
			ExtendedMasterSecret: ems}
	}
	srvCfg := cfg()
	srvCfg.KeyLogWriter = r
	srvCfg.ServerHelloMessageHook = r.ServerHello
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type result struct {
		c   *dtls.Conn
		err error
	}
	cli := make(chan result, 1)
	go func() {
		c, err := dtls.Client(dtlsnet.PacketConnFromConn(ca), ca.RemoteAddr(), cfg())
		if err == nil {
			err = c.HandshakeContext(ctx)
		}
		cli <- result{c, err}
	}()
	srv, err := dtls.Server(dtlsnet.PacketConnFromConn(cb), cb.RemoteAddr(), srvCfg)
	if err == nil {
		err = srv.HandshakeContext(ctx)
	}
	c := <-cli
	if err = errors.Join(err, c.err); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.c.Close(); _ = srv.Close() })
	state, ok := srv.ConnectionState()
	if !ok {
		t.Fatal("no connection state")
	}
	want := srtp.Config{Profile: srtp.ProtectionProfile(profile)}
	if err := want.ExtractSessionKeysFromDTLS(&state, false); err != nil {
		t.Fatal(err)
	}
	return want.Keys
}

// TestKeysMatchPion: the keys derived from the hooks are the ones pion's DTLS
// server derives itself, for each PRF hash, SRTP profile, and with and
// without the extended master secret.
func TestKeysMatchPion(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, tc := range []struct {
		name    string
		suite   dtls.CipherSuiteID
		profile dtls.SRTPProtectionProfile
		ems     dtls.ExtendedMasterSecretType
	}{
		{"AES-128-GCM suite, AEAD_AES_128_GCM", dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, dtls.SRTP_AEAD_AES_128_GCM, dtls.RequireExtendedMasterSecret},
		{"AES-128-GCM suite, AES128_CM_HMAC_SHA1_80", dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, dtls.SRTP_AES128_CM_HMAC_SHA1_80, dtls.RequireExtendedMasterSecret},
		{"SHA-384 suite, AEAD_AES_256_GCM", dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, dtls.SRTP_AEAD_AES_256_GCM, dtls.RequireExtendedMasterSecret},
		{"CBC suite, no extended master secret", dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, dtls.SRTP_AES128_CM_HMAC_SHA1_80, dtls.DisableExtendedMasterSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Recorder{}
			want := handshakeInMemory(t, r, tc.suite, tc.profile, tc.ems)
			got, profile, err := r.Keys()
			if err != nil {
				t.Fatal(err)
			}
			if profile != srtp.ProtectionProfile(tc.profile) {
				t.Errorf("profile: got %v; want %v", profile, tc.profile)
			}
			for _, k := range []struct {
				name      string
				got, want []byte
			}{
				{"local key", got.LocalMasterKey, want.LocalMasterKey},
				{"local salt", got.LocalMasterSalt, want.LocalMasterSalt},
				{"remote key", got.RemoteMasterKey, want.RemoteMasterKey},
				{"remote salt", got.RemoteMasterSalt, want.RemoteMasterSalt},
			} {
				if len(k.want) == 0 || !bytes.Equal(k.got, k.want) {
					t.Errorf("%s: got %x; want %x", k.name, k.got, k.want)
				}
			}
		})
	}
}

// TestNotReady: before the handshake has shown its secrets there are no keys.
func TestNotReady(t *testing.T) {
	t.Parallel()
	r := &Recorder{}
	if _, _, err := r.Keys(); !errors.Is(err, ErrNotReady) {
		t.Errorf("before anything: got %v; want ErrNotReady", err)
	}
	if _, err := r.Write([]byte("CLIENT_RANDOM 0102 0304\n")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Keys(); !errors.Is(err, ErrNotReady) {
		t.Errorf("key log without a ServerHello: got %v; want ErrNotReady", err)
	}
	if _, err := r.Write([]byte("CLIENT_RANDOM zz 0304\n")); err == nil {
		t.Errorf("malformed key log line: got no error")
	}
	if _, err := r.ExportKeyingMaterial("EXTRACTOR-dtls_srtp", []byte{1}, 16); !errors.Is(err, ErrContext) {
		t.Errorf("with a context: got %v; want ErrContext", err)
	}
}
