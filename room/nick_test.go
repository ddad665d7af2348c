package room

import (
	"errors"
	"strings"
	"testing"
)

func TestCleanNickName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		bad            bool
	}{
		{name: "chinese", in: "李雷", want: "李雷"},
		{name: "spaces kept inside, trimmed outside", in: "  Ada Lovelace \t", want: "Ada Lovelace"},
		{name: "emoji with joiner", in: "👩‍💻 Grace", want: "👩‍💻 Grace"},
		{name: "empty means none", in: "   ", want: ""},
		{name: "64 characters", in: strings.Repeat("名", 64), want: strings.Repeat("名", 64)},
		{name: "65 characters", in: strings.Repeat("名", 65), bad: true},
		{name: "newline", in: "a\nb", bad: true},
		{name: "nul", in: "a\x00b", bad: true},
		{name: "bidi override", in: "alice\u202Egnp.exe", bad: true},
		{name: "line separator", in: "a\u2028b", bad: true},
		{name: "not utf-8", in: "a\xffb", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := CleanNickName(tt.in)
			if tt.bad {
				if !errors.Is(err, ErrBadNickName) {
					t.Fatalf("CleanNickName(%q) = %q, %v; want ErrBadNickName", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("CleanNickName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}
