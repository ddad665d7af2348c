package bridge

import (
	"errors"
	"net/url"
	"testing"

	"github.com/openroom/openroom/room"
)

// FuzzParseStreamPath parses stream paths as pushers, players and HTTP-FLV
// viewers send them: an error is one of the bad-path, bad-room or bad-user
// errors; a path that parses names a valid room and user, and the URLs the
// bridge hands out for them (push, RTMP play, FLV play) parse back to the
// same room, user and sig.
func FuzzParseStreamPath(f *testing.F) {
	for _, s := range []struct {
		path, query string
		flv         bool
	}{
		{"/live/r1/alice", "sig=abc.def-ghi", false},
		{"/live/r1/alice.flv", "sig=a%2Bb%3D%3D&x=1", true},
		{"live/12345/bob", "", false},
		{"/live/r1/alice", "sig=one&sig=two", false},
		{"/live/r1/alice", "sig=%zz", false},
		{"/live/r1/alice", "a=1;b=2", false},
		{"/live/r1/alice.flv", "", false},
		{"/live/r1/alice", "", true},
		{"/live/r 1/alice", "", false},
		{"/live/r1/al/ice", "", false},
		{"/play/r1/alice", "", false},
		{"//live/r1/alice", "", false},
		{"/live//alice", "", false},
		{"/live/r1/.flv", "", true},
	} {
		f.Add(s.path, s.query, s.flv)
	}
	urls := URLs{RTMPPort: 1935}
	f.Fuzz(func(t *testing.T, path, rawQuery string, flv bool) {
		ext := ""
		if flv {
			ext = ".flv"
		}
		ref, err := parseStreamPath(path, rawQuery, ext)
		if err != nil {
			if !errors.Is(err, ErrBadPath) && !errors.Is(err, room.ErrBadRoomName) && !errors.Is(err, room.ErrBadUserID) {
				t.Fatalf("parseStreamPath(%q, %q, %q): got %v; want a bad path, room or user error", path, rawQuery, ext, err)
			}
			return
		}
		if !room.ValidName(ref.Room) || !room.ValidName(ref.User) {
			t.Fatalf("parseStreamPath(%q, %q, %q): got room %q, user %q; want valid names", path, rawQuery, ext, ref.Room, ref.User)
		}
		push := urls.PushURL("rooms.example.test:8080", ref.Room, ref.User, ref.Sig)
		flvURL, rtmpURL := urls.PlayURLs("rooms.example.test:8080", ref.Room, ref.User, ref.Sig)
		for _, u := range []struct{ url, ext string }{{push, ""}, {rtmpURL, ""}, {flvURL, ".flv"}} {
			pu, err := url.Parse(u.url)
			if err != nil {
				t.Fatalf("%+v renders as %q, which does not parse: %v", ref, u.url, err)
			}
			back, err := parseStreamPath(pu.Path, pu.RawQuery, u.ext)
			if err != nil || back != ref {
				t.Fatalf("%+v renders as %q, which parses to %+v, %v; want the same", ref, u.url, back, err)
			}
		}
	})
}
