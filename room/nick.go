package room

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNickName is the longest display name, in characters (runes).
const MaxNickName = 64

// ErrBadNickName is returned for a display name people could not read or that
// could disguise itself as another.
var ErrBadNickName = errors.New("bad nickName")

// CleanNickName trims a display name and checks it: any script, 1-64
// characters, no control characters, no line breaks and no bidirectional
// overrides (they can make "alice" read as another name). "" after trimming
// means none was given: the member is then shown by its user ID.
func CleanNickName(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: not UTF-8", ErrBadNickName)
	}
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n > MaxNickName {
		return "", fmt.Errorf("%w: %d characters; the limit is %d", ErrBadNickName, n, MaxNickName)
	}
	for _, r := range s {
		if refusedInName(r) {
			return "", fmt.Errorf("%w: control character %U; use letters, digits, spaces or symbols", ErrBadNickName, r)
		}
	}
	return s, nil
}

func refusedInName(r rune) bool {
	switch {
	case unicode.IsControl(r), unicode.In(r, unicode.Zl, unicode.Zp):
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069: // bidi embeddings, overrides, isolates
		return true
	case r == 0xFEFF, r == utf8.RuneError:
		return true
	}
	return false
}
