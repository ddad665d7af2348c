package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// The fuzz targets verify tokens at a fixed instant, so the tokens in their
// seed corpora (testdata/fuzz) stay valid.

const fzSecret = "fuzz-secret-0123456789abcdef0123"

var fzNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func fzIssuer(t *testing.T, now time.Time) *Issuer {
	t.Helper()
	is, err := NewIssuer([]byte(fzSecret), testApp, func() time.Time { return now })
	if err != nil {
		t.Fatalf("NewIssuer: got %v; want nil", err)
	}
	return is
}

var fzSentinels = []error{ErrMalformed, ErrExpired, ErrForged, ErrWrongUser, ErrWrongRoom, ErrWrongKind, ErrMissingPrivilege}

// fzOneSentinel checks the package's promise: every error returned by
// Verify* wraps exactly one of the sentinels.
func fzOneSentinel(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	n := 0
	for _, s := range fzSentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%s: error %q wraps %d sentinels; want exactly 1", what, err, n)
	}
}

// fzCheckVerify verifies token as userSig and privateMapKey for user and
// room, and checks that the answers agree with each other and with what a
// verified token says: its kind, a user, the user and room asked for, an
// expiry after now (and an error once it has passed), an issue time not
// beyond the allowed clock skew.
func fzCheckVerify(t *testing.T, token, user, room string) (*UserClaims, *RoomClaims) {
	t.Helper()
	is := fzIssuer(t, fzNow)
	uc, uerr := is.VerifyUserSig(token, user)
	rc, rerr := is.VerifyPrivateMapKey(token, user, room)
	kc, kerr := is.VerifyRoomKey(token, room)
	fzOneSentinel(t, "VerifyUserSig", uerr)
	fzOneSentinel(t, "VerifyPrivateMapKey", rerr)
	fzOneSentinel(t, "VerifyRoomKey", kerr)
	if uerr == nil {
		if uc.Kind != kindUserSig || uc.User == "" || (user != "" && uc.User != user) {
			t.Fatalf("VerifyUserSig(%q): got kind %q, user %q; want a userSig for %q", user, uc.Kind, uc.User, user)
		}
		if !errors.Is(rerr, ErrWrongKind) || !errors.Is(kerr, ErrWrongKind) {
			t.Fatalf("a verified userSig as a privateMapKey: got %v, %v; want ErrWrongKind", rerr, kerr)
		}
		if _, err := is.VerifyUserSig(token, uc.User+"x"); !errors.Is(err, ErrWrongUser) {
			t.Fatalf("userSig of %q for %q: got %v; want ErrWrongUser", uc.User, uc.User+"x", err)
		}
		fzCheckTimes(t, token, uc.ExpiresAt.Time, uc.IssuedAt, uc.NotBefore)
	}
	if rerr == nil {
		if rc.Kind != kindRoomKey || rc.User != user || rc.Room != room {
			t.Fatalf("VerifyPrivateMapKey(%q, %q): got kind %q, user %q, room %q; want them", user, room, rc.Kind, rc.User, rc.Room)
		}
		if kerr != nil || kc.User != rc.User || kc.Privileges != rc.Privileges {
			t.Fatalf("VerifyRoomKey of a verified privateMapKey: got %+v, %v; want %+v", kc, kerr, rc)
		}
	}
	if kerr == nil {
		if kc.Kind != kindRoomKey || kc.Room != room {
			t.Fatalf("VerifyRoomKey(%q): got kind %q, room %q; want a privateMapKey for it", room, kc.Kind, kc.Room)
		}
		if _, err := is.VerifyPrivateMapKey(token, kc.User, room); err != nil {
			t.Fatalf("VerifyPrivateMapKey for the key's own user %q: got %v; want nil", kc.User, err)
		}
		if !errors.Is(uerr, ErrWrongKind) {
			t.Fatalf("a verified privateMapKey as a userSig: got %v; want ErrWrongKind", uerr)
		}
		fzCheckTimes(t, token, kc.ExpiresAt.Time, kc.IssuedAt, kc.NotBefore)
		for bit := uint32(1); bit <= 128; bit <<= 1 {
			if kc.Has(bit) != (kc.Require(bit) == nil) {
				t.Fatalf("privileges %d, bit %d: Has %v but Require %v", kc.Privileges, bit, kc.Has(bit), kc.Require(bit))
			}
		}
	}
	return uc, kc
}

func fzCheckTimes(t *testing.T, token string, exp time.Time, iat, nbf *jwt.NumericDate) {
	t.Helper()
	if !fzNow.Before(exp) {
		t.Fatalf("verified token expires at %v; want after now (%v)", exp, fzNow)
	}
	if iat != nil && iat.After(fzNow.Add(maxClockSkew)) {
		t.Fatalf("verified token issued at %v; want at most %v from now (%v)", iat.Time, maxClockSkew, fzNow)
	}
	if nbf != nil && nbf.After(fzNow) {
		t.Fatalf("verified token not valid before %v; want at most now (%v)", nbf.Time, fzNow)
	}
	// Once it has expired it is refused as expired, whatever its kind.
	later := fzIssuer(t, exp.Add(time.Second))
	_, uerr := later.VerifyUserSig(token, "")
	_, kerr := later.VerifyRoomKey(token, "")
	if !errors.Is(uerr, ErrExpired) && !errors.Is(kerr, ErrExpired) {
		t.Fatalf("token checked after its expiry %v: got %v, %v; want ErrExpired", exp, uerr, kerr)
	}
}

// fzMint mints tokens at fzNow (deterministic: the seeds stay valid).
func fzMint(t testing.TB, kind, user, room string, priv uint32) string {
	t.Helper()
	is, err := NewIssuer([]byte(fzSecret), testApp, func() time.Time { return fzNow })
	if err != nil {
		t.Fatal(err)
	}
	var tok string
	if kind == kindUserSig {
		tok, err = is.UserSig(user, time.Hour)
	} else {
		tok, err = is.PrivateMapKey(user, room, priv, time.Hour)
	}
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// FuzzVerifyToken verifies any string as a userSig and a privateMapKey:
// no panic, exactly one sentinel per error, and a token that verifies
// names the kind, user and room it was checked for (fzCheckVerify).
func FuzzVerifyToken(f *testing.F) {
	userSig := fzMint(f, kindUserSig, "alice", "", 0)
	roomKey := fzMint(f, kindRoomKey, "alice", "r1", PrivAll)
	parts := strings.Split(userSig, ".")
	for _, s := range []struct{ token, user, room string }{
		{userSig, "alice", "r1"},
		{userSig, "", ""},
		{userSig, "bob", "r1"},
		{roomKey, "alice", "r1"},
		{roomKey, "alice", "r2"},
		{roomKey, "bob", "r1"},
		{parts[0] + "." + parts[1] + ".", "alice", "r1"},
		{parts[0] + ".." + parts[2], "alice", "r1"},
		{"eyJhbGciOiJub25lIn0." + parts[1] + ".", "alice", "r1"},
		{"a.b.c", "", ""},
		{" ", "", ""},
		{"", "", ""},
	} {
		f.Add(s.token, s.user, s.room)
	}
	f.Fuzz(func(t *testing.T, token, user, room string) {
		fzCheckVerify(t, token, user, room)
	})
}

// FuzzVerifySignedClaims signs any header and payload with the server's
// secret, so the claims are what is fuzzed: no panic, one sentinel per
// error, fzCheckVerify's checks on what verifies, an HS256 token signed
// with the secret is never called forged, and changing its signature
// makes it fail.
func FuzzVerifySignedClaims(f *testing.F) {
	hs256 := `{"alg":"HS256","typ":"JWT"}`
	now, hour := fzNow.Unix(), fzNow.Add(time.Hour).Unix()
	claims := func(format string) string {
		return strings.NewReplacer("NOW", strconv.FormatInt(now, 10), "HOUR", strconv.FormatInt(hour, 10)).Replace(format)
	}
	for _, s := range []struct{ header, payload, user, room string }{
		{hs256, claims(`{"kind":"userSig","user":"alice","app":1400000000,"iat":NOW,"exp":HOUR}`), "alice", "r1"},
		{hs256, claims(`{"kind":"userSig","user":"","exp":HOUR}`), "", ""},
		{hs256, claims(`{"kind":"userSig","user":"alice"}`), "alice", ""},
		{hs256, claims(`{"kind":"userSig","user":"alice","exp":NOW}`), "alice", ""},
		{hs256, claims(`{"kind":"userSig","user":"alice","exp":HOUR,"iat":HOUR}`), "alice", ""},
		{hs256, claims(`{"kind":"userSig","user":"alice","exp":HOUR,"nbf":HOUR}`), "alice", ""},
		{hs256, claims(`{"kind":"userSig","user":"alice","exp":"HOUR"}`), "alice", ""},
		{hs256, claims(`{"kind":"userSig","user":"alice","exp":1e400}`), "alice", ""},
		{hs256, claims(`{"kind":"privateMapKey","user":"alice","room":"r1","privileges":255,"iat":NOW,"exp":HOUR}`), "alice", "r1"},
		{hs256, claims(`{"kind":"privateMapKey","user":"alice","room":"r1","privileges":-1,"exp":HOUR}`), "alice", "r1"},
		{hs256, claims(`{"kind":"privateMapKey","user":"alice","room":"r1","privileges":4294967296,"exp":HOUR}`), "alice", "r1"},
		{`{"alg":"none"}`, claims(`{"kind":"userSig","user":"alice","exp":HOUR}`), "alice", ""},
		{`{"alg":"HS512"}`, claims(`{"kind":"userSig","user":"alice","exp":HOUR}`), "alice", ""},
		{`{"alg":"HS256","crit":["x"]}`, claims(`{"kind":"userSig","user":"alice","exp":HOUR}`), "alice", ""},
		{`[]`, `null`, "", ""},
	} {
		f.Add([]byte(s.header), []byte(s.payload), s.user, s.room)
	}
	f.Fuzz(func(t *testing.T, header, payload []byte, user, room string) {
		enc := base64.RawURLEncoding
		signed := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
		mac := hmac.New(sha256.New, []byte(fzSecret))
		mac.Write([]byte(signed))
		sig := mac.Sum(nil)
		token := signed + "." + enc.EncodeToString(sig)
		uc, kc := fzCheckVerify(t, token, user, room)

		var h map[string]any // as the JWT library reads it: "alg" exactly
		if json.Unmarshal(header, &h) == nil && h["alg"] == "HS256" {
			is := fzIssuer(t, fzNow)
			for _, err := range []error{
				func() error { _, err := is.VerifyUserSig(token, ""); return err }(),
				func() error { _, err := is.VerifyRoomKey(token, room); return err }(),
			} {
				if errors.Is(err, ErrForged) {
					t.Fatalf("an HS256 token signed with the secret: got %v; want it not called forged", err)
				}
			}
		}
		if uc == nil && kc == nil {
			return
		}
		sig[0] ^= 0x80
		tampered := signed + "." + enc.EncodeToString(sig)
		is := fzIssuer(t, fzNow)
		if _, err := is.VerifyUserSig(tampered, ""); err == nil {
			t.Fatalf("token with a changed signature verified as a userSig; want an error")
		}
		if _, err := is.VerifyRoomKey(tampered, room); err == nil {
			t.Fatalf("token with a changed signature verified as a privateMapKey; want an error")
		}
	})
}

// FuzzIssueVerify mints tokens for any user, room, privileges and TTL and
// verifies them: a token that verifies names the user (and room and
// privileges) it was issued for, for no one else, and is refused once its
// TTL is over (a TTL of 0 or less: at once).
func FuzzIssueVerify(f *testing.F) {
	f.Add("alice", "r1", uint32(PrivAll), int64(3600))
	f.Add("bob", "12345", PrivJoin|PrivReceiveVideo, int64(1))
	f.Add("", "r1", uint32(0), int64(60))
	f.Add("carol", "", uint32(1<<31), int64(0))
	f.Add("dave", "r1", uint32(PrivJoin), int64(-5))
	f.Add("\u00e9ve", "caf\u00e9", uint32(PrivAll), int64(100*365*24*3600))
	f.Fuzz(func(t *testing.T, user, room string, priv uint32, ttlSec int64) {
		// Callers pass names that passed room.ValidName; JSON carries only
		// UTF-8, so a non-UTF-8 name comes back changed (U+FFFD).
		if !utf8.ValidString(user) || !utf8.ValidString(room) {
			return
		}
		ttlSec = max(min(ttlSec, 200*365*24*3600), -200*365*24*3600) // Durations hold about 292 years
		ttl := time.Duration(ttlSec) * time.Second
		is := fzIssuer(t, fzNow)
		sig, err := is.UserSig(user, ttl)
		if err != nil {
			t.Fatalf("UserSig(%q, %v): %v", user, ttl, err)
		}
		key, err := is.PrivateMapKey(user, room, priv, ttl)
		if err != nil {
			t.Fatalf("PrivateMapKey(%q, %q, %d, %v): %v", user, room, priv, ttl, err)
		}
		uc, uerr := is.VerifyUserSig(sig, user)
		rc, rerr := is.VerifyPrivateMapKey(key, user, room)
		switch {
		case ttl <= 0:
			if !errors.Is(uerr, ErrExpired) || !errors.Is(rerr, ErrExpired) {
				t.Fatalf("tokens with TTL %v: got %v, %v; want ErrExpired", ttl, uerr, rerr)
			}
			return
		case user == "":
			if !errors.Is(uerr, ErrMalformed) {
				t.Fatalf("userSig without a user: got %v; want ErrMalformed", uerr)
			}
		case uerr != nil || uc.User != user || uc.App != testApp:
			t.Fatalf("userSig for %q: got %+v, %v; want it to verify for %q", user, uc, uerr, user)
		}
		if rerr != nil || rc.User != user || rc.Room != room || rc.Privileges != priv {
			t.Fatalf("privateMapKey for %q in %q with %d: got %+v, %v; want it to verify with them", user, room, priv, rc, rerr)
		}
		if _, err := is.VerifyPrivateMapKey(key, user+"x", room); !errors.Is(err, ErrWrongUser) {
			t.Fatalf("privateMapKey of %q for %q: got %v; want ErrWrongUser", user, user+"x", err)
		}
		if _, err := is.VerifyPrivateMapKey(key, user, room+"x"); !errors.Is(err, ErrWrongRoom) {
			t.Fatalf("privateMapKey for %q used in %q: got %v; want ErrWrongRoom", room, room+"x", err)
		}
		fzCheckVerify(t, sig, user, room)
		fzCheckVerify(t, key, user, room)
		late := fzIssuer(t, fzNow.Add(ttl))
		if _, err := late.VerifyPrivateMapKey(key, user, room); !errors.Is(err, ErrExpired) {
			t.Fatalf("privateMapKey checked when its TTL %v is over: got %v; want ErrExpired", ttl, err)
		}
	})
}
