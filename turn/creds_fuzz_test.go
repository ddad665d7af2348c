package turn

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	pturn "github.com/pion/turn/v5"
	"golang.org/x/time/rate"
)

// FuzzTURNCredentials checks the TURN REST credentials a client presents.
// Minted ones (Credentials) parse back to their user and expiry and are
// accepted exactly while valid and within the TTL, in the right realm only.
// Any username: a parse error is ErrBadUsername; what parses re-renders
// (expiry:user) to the same user and expiry; and authenticate accepts it
// only when it parses, is in the realm, has not expired, does not expire
// beyond turn_ttl (plus clock skew), naming the parsed user and handing pion
// the key of the secret's password for it. Each refusal is counted once.
func FuzzTURNCredentials(f *testing.F) {
	now := int64(1893557045) // 2030-01-02
	f.Add("alice", now+3600, "1893560645:alice", "openroom", now, uint32(86400))
	f.Add("bob", now-1, "1893557044:bob", "openroom", now, uint32(0))
	f.Add("carol", now+90*86400, "1901333045:carol", "openroom", now, uint32(86400))
	f.Add("a:b", now, "0001893560645:a:b", "openroom", now, uint32(3600))
	f.Add("", int64(-1), "-5:eve", "other", now, uint32(60))
	f.Add("dave", int64(1)<<62, "99999999999999999999:dave", "", now, uint32(60))
	f.Add("\u00e9", int64(0), ":x", "openroom", int64(0), uint32(0))
	f.Add("x", now, "1893557045:", "openroom", now, uint32(1))
	secret := []byte("fuzz-secret-0123456789abcdef0123")
	f.Fuzz(func(t *testing.T, user string, expires int64, username, realm string, nowSec int64, ttlSec uint32) {
		clock := time.Unix(nowSec, 0)
		ttl := time.Duration(ttlSec%(366*86400)) * time.Second
		s := &Server{cfg: Config{Realm: DefaultRealm, Secret: secret, TTL: ttl, Now: func() time.Time { return clock }},
			log: slog.New(slog.DiscardHandler), logLim: rate.NewLimiter(5, 20)}
		src := &net.UDPAddr{IP: net.IPv4(198, 51, 100, 1), Port: 5000}
		valid := func(exp time.Time) bool {
			return !clock.After(exp) && (ttl <= 0 || !exp.After(clock.Add(ttl+clockSkew)))
		}

		if user != "" && expires >= 0 {
			un, pw := Credentials(secret, user, time.Unix(expires, 0))
			u, exp, err := ParseUsername(un)
			if err != nil || u != user || exp.Unix() != expires || pw != password(secret, un) {
				t.Fatalf("Credentials(%q, %d) = %q: parses to %q, %d, %v; want them back", user, expires, un, u, exp.Unix(), err)
			}
			got, key, ok := s.authenticate(&pturn.RequestAttributes{Username: un, Realm: DefaultRealm, SrcAddr: src})
			if ok != valid(exp) || (ok && (got != user || !bytes.Equal(key, pturn.GenerateAuthKey(un, DefaultRealm, pw)))) {
				t.Fatalf("minted %q at %v (ttl %v): got %q, %v; want accepted for %q: %v", un, clock, ttl, got, ok, user, valid(exp))
			}
			if _, _, ok := s.authenticate(&pturn.RequestAttributes{Username: un, Realm: DefaultRealm + "x", SrcAddr: src}); ok {
				t.Fatalf("minted %q in another realm: accepted; want refused", un)
			}
		}

		u, exp, perr := ParseUsername(username)
		if perr != nil && !errors.Is(perr, ErrBadUsername) {
			t.Fatalf("ParseUsername(%q): got %v; want ErrBadUsername", username, perr)
		}
		if perr == nil {
			again := strconv.FormatInt(exp.Unix(), 10) + ":" + u
			u2, exp2, err := ParseUsername(again)
			if u == "" || err != nil || u2 != u || !exp2.Equal(exp) {
				t.Fatalf("ParseUsername(%q) = %q, %v re-renders as %q: %q, %v, %v; want the same", username, u, exp, again, u2, exp2, err)
			}
		}
		failures := s.Stats().AuthFailures
		got, key, ok := s.authenticate(&pturn.RequestAttributes{Username: username, Realm: realm, SrcAddr: src})
		want := perr == nil && realm == DefaultRealm && valid(exp)
		if ok != want {
			t.Fatalf("authenticate(%q in %q) at %v, ttl %v: got %v; want %v", username, realm, clock, ttl, ok, want)
		}
		if ok && (got != u || !bytes.Equal(key, pturn.GenerateAuthKey(username, realm, password(secret, username)))) {
			t.Fatalf("authenticate(%q): got user %q and key %x; want %q and the secret's key", username, got, key, u)
		}
		if n := s.Stats().AuthFailures - failures; n != map[bool]uint64{true: 0, false: 1}[ok] {
			t.Fatalf("authenticate(%q): counted %d failures; want %d", username, n, map[bool]uint64{true: 0, false: 1}[ok])
		}
	})
}
