package turn

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the TURN REST scheme is HMAC-SHA1; HMAC keeps it sound
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrBadUsername means a username is not in the "expiry:userID" form.
var ErrBadUsername = errors.New("turn: username is not expiry:userID")

// Credentials returns ephemeral TURN credentials for userID in the TURN REST
// scheme: username "expiry:userID" (expiry in Unix seconds) and password
// base64(HMAC-SHA1(secret, username)). Any server that knows the secret can
// check them without a database.
func Credentials(secret []byte, userID string, expires time.Time) (username, credential string) {
	username = strconv.FormatInt(expires.Unix(), 10) + ":" + userID
	return username, password(secret, username)
}

// password is what the secret makes of username.
func password(secret []byte, username string) string {
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ParseUsername splits an "expiry:userID" username.
func ParseUsername(username string) (userID string, expires time.Time, err error) {
	ts, user, ok := strings.Cut(username, ":")
	if !ok || user == "" || ts == "" {
		return "", time.Time{}, fmt.Errorf("%w: %q", ErrBadUsername, username)
	}
	for _, r := range ts {
		if r < '0' || r > '9' {
			return "", time.Time{}, fmt.Errorf("%w: %q", ErrBadUsername, username)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: %q", ErrBadUsername, username)
	}
	return user, time.Unix(sec, 0), nil
}
