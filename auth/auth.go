// Package auth issues and verifies openroom's tokens: userSig (who you are) and
// privateMapKey (what you may do in one room). Both are HS256 JWTs signed with the
// server secret, carrying the legacy privilege bits so old clients keep their meaning.
package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Privilege bits, as the legacy privateMapKey defined them.
const (
	PrivCreate       uint32 = 1
	PrivJoin         uint32 = 2
	PrivSendAudio    uint32 = 4
	PrivReceiveAudio uint32 = 8
	PrivSendVideo    uint32 = 16
	PrivReceiveVideo uint32 = 32
	PrivSendAux      uint32 = 64
	PrivReceiveAux   uint32 = 128
	PrivAll          uint32 = 255
)

// PrivilegeName names one bit for error messages ("send video").
func PrivilegeName(bit uint32) string {
	switch bit {
	case PrivCreate:
		return "create room"
	case PrivJoin:
		return "join room"
	case PrivSendAudio:
		return "send audio"
	case PrivReceiveAudio:
		return "receive audio"
	case PrivSendVideo:
		return "send video"
	case PrivReceiveVideo:
		return "receive video"
	case PrivSendAux:
		return "send aux video"
	case PrivReceiveAux:
		return "receive aux video"
	}
	return fmt.Sprintf("privilege %d", bit)
}

// Sentinel errors; every error returned by Verify* wraps exactly one of them.
var (
	ErrMalformed        = errors.New("malformed token")
	ErrExpired          = errors.New("token expired")
	ErrForged           = errors.New("bad token signature")
	ErrWrongUser        = errors.New("token is for another user")
	ErrWrongRoom        = errors.New("token is for another room")
	ErrWrongKind        = errors.New("wrong kind of token")
	ErrMissingPrivilege = errors.New("missing privilege")
)

const (
	kindUserSig = "userSig"
	kindRoomKey = "privateMapKey"
)

// UserClaims is the body of a userSig.
type UserClaims struct {
	Kind string `json:"kind"`
	User string `json:"user"`
	App  uint32 `json:"app"`
	jwt.RegisteredClaims
}

// RoomClaims is the body of a privateMapKey.
type RoomClaims struct {
	Kind       string `json:"kind"`
	User       string `json:"user"`
	Room       string `json:"room"`
	Privileges uint32 `json:"privileges"`
	jwt.RegisteredClaims
}

// Has reports whether all bits in want are granted.
func (c *RoomClaims) Has(want uint32) bool { return c.Privileges&want == want }

// Require returns an error naming the first missing bit of want.
func (c *RoomClaims) Require(want uint32) error {
	for bit := uint32(1); bit <= 128; bit <<= 1 {
		if want&bit != 0 && c.Privileges&bit == 0 {
			return fmt.Errorf("%w: %s (privileges %d)", ErrMissingPrivilege, PrivilegeName(bit), c.Privileges)
		}
	}
	return nil
}

// Issuer signs and verifies tokens with one secret. It is safe for concurrent use.
type Issuer struct {
	secret []byte
	app    uint32
	now    func() time.Time
}

// NewIssuer returns an Issuer. now may be nil (time.Now).
func NewIssuer(secret []byte, app uint32, now func() time.Time) (*Issuer, error) {
	if len(secret) < 16 {
		return nil, errors.New("auth: secret must be at least 16 bytes")
	}
	if now == nil {
		now = time.Now
	}
	return &Issuer{secret: secret, app: app, now: now}, nil
}

// App is the sdkAppID stamped into userSigs.
func (i *Issuer) App() uint32 { return i.app }

func (i *Issuer) registered(ttl time.Duration) jwt.RegisteredClaims {
	now := i.now()
	return jwt.RegisteredClaims{
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
}

// UserSig mints a userSig for user, valid for ttl.
func (i *Issuer) UserSig(user string, ttl time.Duration) (string, error) {
	c := UserClaims{Kind: kindUserSig, User: user, App: i.app, RegisteredClaims: i.registered(ttl)}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(i.secret)
}

// PrivateMapKey mints a room key for user in room with the given privilege bits.
func (i *Issuer) PrivateMapKey(user, room string, privileges uint32, ttl time.Duration) (string, error) {
	c := RoomClaims{Kind: kindRoomKey, User: user, Room: room, Privileges: privileges, RegisteredClaims: i.registered(ttl)}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(i.secret)
}

// maxClockSkew is how far in the future a token's issue time may lie.
const maxClockSkew = 5 * time.Minute

func (i *Issuer) parse(token string, claims jwt.Claims) error {
	if strings.TrimSpace(token) == "" {
		return fmt.Errorf("%w: empty", ErrMalformed)
	}
	_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		return i.secret, nil
	}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(i.now), jwt.WithExpirationRequired())
	switch {
	case err == nil:
		// Issued in the future: not by this server (or by one whose clock is off).
		if iat, _ := claims.GetIssuedAt(); iat != nil && iat.After(i.now().Add(maxClockSkew)) {
			return fmt.Errorf("%w: issued at %s, in the future (more than %v ahead of this server's clock): check the clock of the machine that made it",
				ErrMalformed, iat.UTC().Format(time.RFC3339), maxClockSkew)
		}
		return nil
	case errors.Is(err, jwt.ErrTokenExpired):
		return fmt.Errorf("%w: get a new one", ErrExpired)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return fmt.Errorf("%w: not signed by this server's secret", ErrForged)
	default:
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
}

// VerifyUserSig checks a userSig and returns its claims. If user is not empty the
// token must name that user.
func (i *Issuer) VerifyUserSig(token, user string) (*UserClaims, error) {
	var c UserClaims
	if err := i.parse(token, &c); err != nil {
		return nil, err
	}
	if c.Kind != kindUserSig {
		return nil, fmt.Errorf("%w: want a userSig, got %q", ErrWrongKind, c.Kind)
	}
	if c.User == "" {
		return nil, fmt.Errorf("%w: no user", ErrMalformed)
	}
	if user != "" && c.User != user {
		return nil, fmt.Errorf("%w: token user %q, request user %q", ErrWrongUser, c.User, user)
	}
	return &c, nil
}

// VerifyPrivateMapKey checks a privateMapKey for user in room.
func (i *Issuer) VerifyPrivateMapKey(token, user, room string) (*RoomClaims, error) {
	var c RoomClaims
	if err := i.parse(token, &c); err != nil {
		return nil, err
	}
	if c.Kind != kindRoomKey {
		return nil, fmt.Errorf("%w: want a privateMapKey, got %q", ErrWrongKind, c.Kind)
	}
	if c.User != user {
		return nil, fmt.Errorf("%w: key user %q, request user %q", ErrWrongUser, c.User, user)
	}
	if c.Room != room {
		return nil, fmt.Errorf("%w: key room %q, requested room %q", ErrWrongRoom, c.Room, room)
	}
	return &c, nil
}

// VerifyRoomKey checks a privateMapKey for room, whoever it names: a viewer
// proves its own access to the room, not to the publisher it watches.
func (i *Issuer) VerifyRoomKey(token, room string) (*RoomClaims, error) {
	var c RoomClaims
	if err := i.parse(token, &c); err != nil {
		return nil, err
	}
	if c.Kind != kindRoomKey {
		return nil, fmt.Errorf("%w: want a privateMapKey, got %q", ErrWrongKind, c.Kind)
	}
	if c.Room != room {
		return nil, fmt.Errorf("%w: key room %q, requested room %q", ErrWrongRoom, c.Room, room)
	}
	return &c, nil
}
