package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"github.com/openroom/openroom/internal/fakeclock"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testSecret  = "0123456789abcdef0123456789abcdef"
	otherSecret = "fedcba9876543210fedcba9876543210"
	testApp     = 1400000000
)

func newIssuer(t *testing.T, secret string, clock *fakeclock.Clock) *Issuer {
	t.Helper()
	is, err := NewIssuer([]byte(secret), testApp, clock.Now)
	if err != nil {
		t.Fatalf("NewIssuer: got %v; want nil", err)
	}
	return is
}

func mustUserSig(t *testing.T, is *Issuer, user string, ttl time.Duration) string {
	t.Helper()
	tok, err := is.UserSig(user, ttl)
	if err != nil {
		t.Fatalf("UserSig: got %v; want nil", err)
	}
	return tok
}

func mustRoomKey(t *testing.T, is *Issuer, user, room string, priv uint32, ttl time.Duration) string {
	t.Helper()
	tok, err := is.PrivateMapKey(user, room, priv, ttl)
	if err != nil {
		t.Fatalf("PrivateMapKey: got %v; want nil", err)
	}
	return tok
}

// tamperPayload rewrites one claim of a signed token and keeps the old signature.
func tamperPayload(t *testing.T, token, key string, value any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token parts: got %d; want 3", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode payload: got %v; want nil", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatalf("unmarshal payload: got %v; want nil", err)
	}
	claims[key] = value
	raw, err = json.Marshal(claims)
	if err != nil {
		t.Fatalf("marshal payload: got %v; want nil", err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// unsignedToken builds an `alg: none` token carrying a valid userSig body.
func unsignedToken(t *testing.T, clock *fakeclock.Clock, user string) string {
	t.Helper()
	c := UserClaims{Kind: kindUserSig, User: user, App: testApp, RegisteredClaims: jwt.RegisteredClaims{
		IssuedAt:  jwt.NewNumericDate(clock.Now()),
		ExpiresAt: jwt.NewNumericDate(clock.Now().Add(time.Hour)),
	}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatalf("sign alg none: got %v; want nil", err)
	}
	return tok
}

// headedToken builds a valid userSig body whose header names alg. For HS512 it is
// really signed with HS512 and the right secret; for anything else (RS256) the
// signature is an HS256 HMAC with the right secret, as an algorithm-confusion
// attacker would send. Both must be refused: only HS256 is accepted.
func headedToken(t *testing.T, clock *fakeclock.Clock, alg, user string) string {
	t.Helper()
	c := UserClaims{Kind: kindUserSig, User: user, App: testApp, RegisteredClaims: jwt.RegisteredClaims{
		IssuedAt:  jwt.NewNumericDate(clock.Now()),
		ExpiresAt: jwt.NewNumericDate(clock.Now().Add(time.Hour)),
	}}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["alg"] = alg
	var method jwt.SigningMethod = jwt.SigningMethodHS256
	if alg == "HS512" {
		method = jwt.SigningMethodHS512
	}
	signing, err := tok.SigningString()
	if err != nil {
		t.Fatalf("SigningString: got %v; want nil", err)
	}
	sig, err := method.Sign(signing, []byte(testSecret))
	if err != nil {
		t.Fatalf("Sign: got %v; want nil", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestNewIssuer(t *testing.T) {
	tests := []struct {
		name    string
		secret  string
		wantErr bool
	}{
		{name: "empty", secret: "", wantErr: true},
		{name: "15 bytes", secret: strings.Repeat("x", 15), wantErr: true},
		{name: "16 bytes", secret: strings.Repeat("x", 16), wantErr: false},
		{name: "32 bytes", secret: testSecret, wantErr: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			is, err := NewIssuer([]byte(tc.secret), testApp, nil)
			if got := err != nil; got != tc.wantErr {
				t.Fatalf("error: got %v; want error %v", err, tc.wantErr)
			}
			if err == nil && is.App() != testApp {
				t.Errorf("App(): got %v; want %v", is.App(), testApp)
			}
		})
	}
}

func TestVerifyUserSig(t *testing.T) {
	const ttl = time.Hour
	tests := []struct {
		name string
		// token builds the token; the clock may be advanced before verification.
		token   func(t *testing.T, is *Issuer, clock *fakeclock.Clock) string
		user    string
		wantErr error
	}{
		{
			name:  "valid",
			token: func(t *testing.T, is *Issuer, _ *fakeclock.Clock) string { return mustUserSig(t, is, "alice", ttl) },
			user:  "alice",
		},
		{
			name:  "valid any user",
			token: func(t *testing.T, is *Issuer, _ *fakeclock.Clock) string { return mustUserSig(t, is, "alice", ttl) },
			user:  "",
		},
		{
			name: "still valid just before ttl",
			token: func(t *testing.T, is *Issuer, c *fakeclock.Clock) string {
				tok := mustUserSig(t, is, "alice", ttl)
				c.Advance(ttl - time.Second)
				return tok
			},
			user: "alice",
		},
		{
			name: "expired",
			token: func(t *testing.T, is *Issuer, c *fakeclock.Clock) string {
				tok := mustUserSig(t, is, "alice", ttl)
				c.Advance(ttl + time.Second)
				return tok
			},
			user:    "alice",
			wantErr: ErrExpired,
		},
		{
			name: "signed with another secret",
			token: func(t *testing.T, _ *Issuer, c *fakeclock.Clock) string {
				return mustUserSig(t, newIssuer(t, otherSecret, c), "alice", ttl)
			},
			user:    "alice",
			wantErr: ErrForged,
		},
		{
			name: "tampered user",
			token: func(t *testing.T, is *Issuer, _ *fakeclock.Clock) string {
				return tamperPayload(t, mustUserSig(t, is, "mallory", ttl), "user", "alice")
			},
			user:    "alice",
			wantErr: ErrForged,
		},
		{
			name: "tampered expiry",
			token: func(t *testing.T, is *Issuer, c *fakeclock.Clock) string {
				tok := mustUserSig(t, is, "alice", ttl)
				c.Advance(2 * ttl)
				return tamperPayload(t, tok, "exp", c.Now().Add(ttl).Unix())
			},
			user:    "alice",
			wantErr: ErrForged,
		},
		{
			name:    "wrong user",
			token:   func(t *testing.T, is *Issuer, _ *fakeclock.Clock) string { return mustUserSig(t, is, "alice", ttl) },
			user:    "bob",
			wantErr: ErrWrongUser,
		},
		{
			name: "privateMapKey instead",
			token: func(t *testing.T, is *Issuer, _ *fakeclock.Clock) string {
				return mustRoomKey(t, is, "alice", "r1", PrivAll, ttl)
			},
			user:    "alice",
			wantErr: ErrWrongKind,
		},
		{
			name:    "empty",
			token:   func(*testing.T, *Issuer, *fakeclock.Clock) string { return "" },
			user:    "alice",
			wantErr: ErrMalformed,
		},
		{
			name:    "blank",
			token:   func(*testing.T, *Issuer, *fakeclock.Clock) string { return "  \t\n" },
			user:    "alice",
			wantErr: ErrMalformed,
		},
		{
			name:    "garbage",
			token:   func(*testing.T, *Issuer, *fakeclock.Clock) string { return "not-a-token" },
			user:    "alice",
			wantErr: ErrMalformed,
		},
		{
			name:    "three garbage parts",
			token:   func(*testing.T, *Issuer, *fakeclock.Clock) string { return "a.b.c" },
			user:    "alice",
			wantErr: ErrMalformed,
		},
		{
			name: "no user claim",
			token: func(t *testing.T, is *Issuer, _ *fakeclock.Clock) string {
				return mustUserSig(t, is, "", ttl)
			},
			user:    "",
			wantErr: ErrMalformed,
		},
		{
			name: "no expiry",
			token: func(t *testing.T, is *Issuer, c *fakeclock.Clock) string {
				c2 := UserClaims{Kind: kindUserSig, User: "alice", App: testApp}
				tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c2).SignedString([]byte(testSecret))
				if err != nil {
					t.Fatalf("sign: got %v; want nil", err)
				}
				return tok
			},
			user:    "alice",
			wantErr: ErrMalformed,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := fakeclock.New()
			is := newIssuer(t, testSecret, clock)
			tok := tc.token(t, is, clock)
			c, err := is.VerifyUserSig(tok, tc.user)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error: got %v; want %v", err, tc.wantErr)
				}
				if c != nil {
					t.Errorf("claims: got %+v; want nil", c)
				}
				return
			}
			if err != nil {
				t.Fatalf("error: got %v; want nil", err)
			}
			if c.User != "alice" {
				t.Errorf("User: got %v; want %v", c.User, "alice")
			}
			if c.App != testApp {
				t.Errorf("App: got %v; want %v", c.App, testApp)
			}
		})
	}
}

func TestVerifyUserSigExpiryBoundary(t *testing.T) {
	// The token dies at exactly iat+ttl (jwt compares with second precision).
	tests := []struct {
		name    string
		advance time.Duration
		wantErr error
	}{
		{name: "at issue", advance: 0},
		{name: "ttl minus 1s", advance: 59 * time.Second},
		{name: "exactly ttl", advance: time.Minute, wantErr: ErrExpired},
		{name: "ttl plus 1s", advance: time.Minute + time.Second, wantErr: ErrExpired},
		{name: "a day later", advance: 24 * time.Hour, wantErr: ErrExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := fakeclock.New()
			is := newIssuer(t, testSecret, clock)
			tok := mustUserSig(t, is, "alice", time.Minute)
			clock.Advance(tc.advance)
			_, err := is.VerifyUserSig(tok, "alice")
			if tc.wantErr == nil && err != nil {
				t.Fatalf("error: got %v; want nil", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("error: got %v; want %v", err, tc.wantErr)
			}
		})
	}
}

func TestVerifyRefusesOtherAlgorithms(t *testing.T) {
	tests := []struct {
		name  string
		token func(t *testing.T, c *fakeclock.Clock) string
	}{
		{name: "alg none", token: func(t *testing.T, c *fakeclock.Clock) string { return unsignedToken(t, c, "alice") }},
		{name: "alg none with empty signature", token: func(t *testing.T, c *fakeclock.Clock) string {
			return strings.TrimRight(unsignedToken(t, c, "alice"), ".") + "."
		}},
		{name: "RS256 header", token: func(t *testing.T, c *fakeclock.Clock) string { return headedToken(t, c, "RS256", "alice") }},
		{name: "HS512 header", token: func(t *testing.T, c *fakeclock.Clock) string { return headedToken(t, c, "HS512", "alice") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := fakeclock.New()
			is := newIssuer(t, testSecret, clock)
			tok := tc.token(t, clock)
			c, err := is.VerifyUserSig(tok, "alice")
			if err == nil {
				t.Fatalf("error: got nil (claims %+v); want a refusal", c)
			}
			if !errors.Is(err, ErrForged) && !errors.Is(err, ErrMalformed) {
				t.Errorf("error: got %v; want %v or %v", err, ErrForged, ErrMalformed)
			}
			if _, err := is.VerifyPrivateMapKey(tok, "alice", "r1"); err == nil {
				t.Errorf("VerifyPrivateMapKey error: got nil; want a refusal")
			}
		})
	}
}

func TestVerifyPrivateMapKey(t *testing.T) {
	const ttl = time.Hour
	tests := []struct {
		name       string
		token      func(t *testing.T, is *Issuer, clock *fakeclock.Clock) string
		user, room string
		wantErr    error
		wantPriv   uint32
	}{
		{
			name: "valid all",
			token: func(t *testing.T, is *Issuer, _ *fakeclock.Clock) string {
				return mustRoomKey(t, is, "alice", "r1", PrivAll, ttl)
			},
			user:     "alice",
			room:     "r1",
			wantPriv: PrivAll,
		},
		{
			name: "valid receive only",
			token: func(t *testing.T, is *Issuer, _ *fakeclock.Clock) string {
				return mustRoomKey(t, is, "alice", "r1", 42, ttl)
			},
			user:     "alice",
			room:     "r1",
			wantPriv: 42,
		},
		{
			name: "wrong room",
			token: func(t *testing.T, is *Issuer, _ *fakeclock.Clock) string {
				return mustRoomKey(t, is, "alice", "r1", PrivAll, ttl)
			},
			user:    "alice",
			room:    "r2",
			wantErr: ErrWrongRoom,
		},
		{
			name: "wrong user",
			token: func(t *testing.T, is *Issuer, _ *fakeclock.Clock) string {
				return mustRoomKey(t, is, "alice", "r1", PrivAll, ttl)
			},
			user:    "bob",
			room:    "r1",
			wantErr: ErrWrongUser,
		},
		{
			name: "empty user does not match",
			token: func(t *testing.T, is *Issuer, _ *fakeclock.Clock) string {
				return mustRoomKey(t, is, "alice", "r1", PrivAll, ttl)
			},
			user:    "",
			room:    "r1",
			wantErr: ErrWrongUser,
		},
		{
			name:    "userSig instead",
			token:   func(t *testing.T, is *Issuer, _ *fakeclock.Clock) string { return mustUserSig(t, is, "alice", ttl) },
			user:    "alice",
			room:    "r1",
			wantErr: ErrWrongKind,
		},
		{
			name: "expired",
			token: func(t *testing.T, is *Issuer, c *fakeclock.Clock) string {
				tok := mustRoomKey(t, is, "alice", "r1", PrivAll, ttl)
				c.Advance(ttl + time.Second)
				return tok
			},
			user:    "alice",
			room:    "r1",
			wantErr: ErrExpired,
		},
		{
			name: "signed with another secret",
			token: func(t *testing.T, _ *Issuer, c *fakeclock.Clock) string {
				return mustRoomKey(t, newIssuer(t, otherSecret, c), "alice", "r1", PrivAll, ttl)
			},
			user:    "alice",
			room:    "r1",
			wantErr: ErrForged,
		},
		{
			name: "tampered privileges",
			token: func(t *testing.T, is *Issuer, _ *fakeclock.Clock) string {
				return tamperPayload(t, mustRoomKey(t, is, "alice", "r1", 42, ttl), "privileges", 255)
			},
			user:    "alice",
			room:    "r1",
			wantErr: ErrForged,
		},
		{
			name: "tampered room",
			token: func(t *testing.T, is *Issuer, _ *fakeclock.Clock) string {
				return tamperPayload(t, mustRoomKey(t, is, "alice", "r1", PrivAll, ttl), "room", "r2")
			},
			user:    "alice",
			room:    "r2",
			wantErr: ErrForged,
		},
		{
			name:    "empty",
			token:   func(*testing.T, *Issuer, *fakeclock.Clock) string { return "" },
			user:    "alice",
			room:    "r1",
			wantErr: ErrMalformed,
		},
		{
			name:    "garbage",
			token:   func(*testing.T, *Issuer, *fakeclock.Clock) string { return "eyJhbGciOiJIUzI1NiJ9.!!!.???" },
			user:    "alice",
			room:    "r1",
			wantErr: ErrMalformed,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := fakeclock.New()
			is := newIssuer(t, testSecret, clock)
			tok := tc.token(t, is, clock)
			c, err := is.VerifyPrivateMapKey(tok, tc.user, tc.room)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error: got %v; want %v", err, tc.wantErr)
				}
				if c != nil {
					t.Errorf("claims: got %+v; want nil", c)
				}
				return
			}
			if err != nil {
				t.Fatalf("error: got %v; want nil", err)
			}
			if c.User != tc.user || c.Room != tc.room {
				t.Errorf("user/room: got %v/%v; want %v/%v", c.User, c.Room, tc.user, tc.room)
			}
			if c.Privileges != tc.wantPriv {
				t.Errorf("Privileges: got %v; want %v", c.Privileges, tc.wantPriv)
			}
		})
	}
}

// TestVerifyErrorsWrapOneSentinel checks the documented promise: every Verify
// error wraps exactly one sentinel.
func TestVerifyErrorsWrapOneSentinel(t *testing.T) {
	sentinels := []error{ErrMalformed, ErrExpired, ErrForged, ErrWrongUser, ErrWrongRoom, ErrWrongKind, ErrMissingPrivilege}
	clock := fakeclock.New()
	is := newIssuer(t, testSecret, clock)
	other := newIssuer(t, otherSecret, clock)
	sig := mustUserSig(t, is, "alice", time.Minute)
	key := mustRoomKey(t, is, "alice", "r1", PrivAll, time.Minute)
	tests := []struct {
		name   string
		verify func() error
	}{
		{name: "malformed", verify: func() error { _, err := is.VerifyUserSig("x", "alice"); return err }},
		{name: "forged", verify: func() error {
			_, err := is.VerifyUserSig(mustUserSig(t, other, "alice", time.Minute), "alice")
			return err
		}},
		{name: "wrong user", verify: func() error { _, err := is.VerifyUserSig(sig, "bob"); return err }},
		{name: "wrong room", verify: func() error { _, err := is.VerifyPrivateMapKey(key, "alice", "r2"); return err }},
		{name: "wrong kind", verify: func() error { _, err := is.VerifyPrivateMapKey(sig, "alice", "r1"); return err }},
		{name: "alg none", verify: func() error { _, err := is.VerifyUserSig(unsignedToken(t, clock, "alice"), "alice"); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.verify()
			n := 0
			for _, s := range sentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("sentinels wrapped by %v: got %v; want %v", err, n, 1)
			}
		})
	}
}

func TestRoomClaimsPrivileges(t *testing.T) {
	tests := []struct {
		name       string
		privileges uint32
		want       uint32
		wantHas    bool
		wantErrMsg string // empty: Require succeeds
	}{
		{name: "255 has all", privileges: 255, want: PrivAll, wantHas: true},
		{name: "255 send video", privileges: 255, want: PrivSendVideo, wantHas: true},
		{name: "42 join", privileges: 42, want: PrivJoin, wantHas: true},
		{name: "42 receive audio and video", privileges: 42, want: PrivReceiveAudio | PrivReceiveVideo, wantHas: true},
		{name: "42 send video", privileges: 42, want: PrivSendVideo, wantHas: false, wantErrMsg: "send video"},
		{name: "42 send audio", privileges: 42, want: PrivSendAudio, wantHas: false, wantErrMsg: "send audio"},
		{name: "42 create", privileges: 42, want: PrivCreate, wantHas: false, wantErrMsg: "create room"},
		{name: "42 join and send video names send video", privileges: 42, want: PrivJoin | PrivSendVideo, wantHas: false, wantErrMsg: "send video"},
		{name: "0 join", privileges: 0, want: PrivJoin, wantHas: false, wantErrMsg: "join room"},
		{name: "0 aux", privileges: 0, want: PrivReceiveAux, wantHas: false, wantErrMsg: "receive aux video"},
		{name: "anything wants nothing", privileges: 0, want: 0, wantHas: true},
		{name: "first missing bit is named", privileges: 0, want: PrivSendAudio | PrivSendVideo, wantHas: false, wantErrMsg: "send audio"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &RoomClaims{Privileges: tc.privileges}
			if got := c.Has(tc.want); got != tc.wantHas {
				t.Errorf("Has(%d): got %v; want %v", tc.want, got, tc.wantHas)
			}
			err := c.Require(tc.want)
			if tc.wantErrMsg == "" {
				if err != nil {
					t.Errorf("Require(%d): got %v; want nil", tc.want, err)
				}
				return
			}
			if !errors.Is(err, ErrMissingPrivilege) {
				t.Fatalf("Require(%d): got %v; want %v", tc.want, err, ErrMissingPrivilege)
			}
			if !strings.Contains(err.Error(), tc.wantErrMsg) {
				t.Errorf("Require(%d) message: got %q; want it to contain %q", tc.want, err.Error(), tc.wantErrMsg)
			}
		})
	}
}

func TestPrivilegeName(t *testing.T) {
	tests := []struct {
		bit  uint32
		want string
	}{
		{PrivCreate, "create room"},
		{PrivJoin, "join room"},
		{PrivSendAudio, "send audio"},
		{PrivReceiveAudio, "receive audio"},
		{PrivSendVideo, "send video"},
		{PrivReceiveVideo, "receive video"},
		{PrivSendAux, "send aux video"},
		{PrivReceiveAux, "receive aux video"},
		{256, "privilege 256"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := PrivilegeName(tc.bit); got != tc.want {
				t.Errorf("PrivilegeName(%d): got %v; want %v", tc.bit, got, tc.want)
			}
		})
	}
}

func TestRoundTripClaims(t *testing.T) {
	clock := fakeclock.New()
	is := newIssuer(t, testSecret, clock)
	tests := []struct {
		name string
		priv uint32
	}{
		{name: "all", priv: PrivAll},
		{name: "legacy 42", priv: 42},
		{name: "none", priv: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := mustRoomKey(t, is, "alice", "r1", tc.priv, time.Hour)
			c, err := is.VerifyPrivateMapKey(key, "alice", "r1")
			if err != nil {
				t.Fatalf("VerifyPrivateMapKey: got %v; want nil", err)
			}
			if c.Privileges != tc.priv {
				t.Errorf("Privileges: got %v; want %v", c.Privileges, tc.priv)
			}
			if got, want := c.ExpiresAt.Time, clock.Now().Add(time.Hour).Truncate(time.Second); !got.Equal(want) {
				t.Errorf("ExpiresAt: got %v; want %v", got, want)
			}
		})
	}
}

// TestVerifyRefusesTokensFromTheFuture: a token issued ahead of the server's
// clock by more than the skew allows (a forged clock, or a broken one) is refused.
func TestVerifyRefusesTokensFromTheFuture(t *testing.T) {
	tests := []struct {
		name    string
		ahead   time.Duration // how far the issuer's clock is ahead of the verifier's
		wantErr error
	}{
		{name: "same clock", ahead: 0},
		{name: "a minute ahead", ahead: time.Minute},
		{name: "a day ahead", ahead: 24 * time.Hour, wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			issuerClock, serverClock := fakeclock.New(), fakeclock.New()
			issuerClock.Advance(tc.ahead)
			tok := mustUserSig(t, newIssuer(t, testSecret, issuerClock), "alice", 48*time.Hour)
			_, err := newIssuer(t, testSecret, serverClock).VerifyUserSig(tok, "alice")
			if tc.wantErr == nil && err != nil {
				t.Fatalf("error: got %v; want nil", err)
			}
			if tc.wantErr != nil && (!errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), "future")) {
				t.Fatalf("error: got %v; want %v saying the future", err, tc.wantErr)
			}
		})
	}
}
