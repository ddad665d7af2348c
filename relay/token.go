package relay

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"
)

// Headers of a relay request. The node's ID and the expiry travel in the
// clear; the MAC (Authorization: Bearer) binds them and the room to the
// cluster's shared secret.
const (
	headerNode    = "X-Openroom-Node"
	headerExpires = "X-Openroom-Expires"
	tokenTTL      = time.Minute
)

// ErrUnauthorized: a relay request not signed with this cluster's secret,
// or expired.
var ErrUnauthorized = errors.New("relay: request not signed with this cluster's secret (do all nodes share one secret?), or expired (are the nodes' clocks in sync?)")

func mac(secret, room, node string, exp int64) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte("openroom relay\x00" + room + "\x00" + node + "\x00" + strconv.FormatInt(exp, 10)))
	return hex.EncodeToString(h.Sum(nil))
}

// verify checks a request's MAC and expiry.
func verify(secret, room, node, expires, got string, now time.Time) error {
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || node == "" || secret == "" {
		return ErrUnauthorized
	}
	if t := time.Unix(exp, 0); t.Before(now) || t.After(now.Add(2*tokenTTL)) {
		return ErrUnauthorized
	}
	if !hmac.Equal([]byte(got), []byte(mac(secret, room, node, exp))) {
		return ErrUnauthorized
	}
	return nil
}
