package admin

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/internal/fakeclock"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

const testToken = "test-admin-token"

// fakeSession is a member's connection that records what the room tells it.
type fakeSession struct {
	mu     sync.Mutex
	kicks  []string
	events []room.Event
}

func (s *fakeSession) Notify(ev room.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
}

func (s *fakeSession) Kick(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kicks = append(s.kicks, reason)
}

func (s *fakeSession) Kicks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.kicks...)
}

// Left lists "userID:reason" of every member_left event seen.
func (s *fakeSession) Left() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{}
	for _, ev := range s.events {
		if ev.Type == "member_left" {
			out = append(out, ev.UserID+":"+ev.Reason)
		}
	}
	return out
}

// fixture is a Manager with a few members, the admin handler on it, and a clock
// shared by both.
type fixture struct {
	rooms    *room.Manager
	clock    *fakeclock.Clock
	h        http.Handler
	logs     *bytes.Buffer
	sessions map[string]*fakeSession // by "room/user"
}

func newFixture(t *testing.T, token string) *fixture {
	t.Helper()
	return newFixtureWith(t, token, nil)
}

// newFixtureWith is newFixture with a recording service (nil: recording off).
func newFixtureWith(t *testing.T, token string, recs Recordings) *fixture {
	t.Helper()
	clock := fakeclock.New()
	logs := &bytes.Buffer{}
	rooms := room.NewManager(room.Options{Now: clock.Now})
	f := &fixture{rooms: rooms, clock: clock, logs: logs, sessions: map[string]*fakeSession{},
		h: Handler(Options{Rooms: rooms, Token: token, Now: clock.Now, Recordings: recs,
			Logger: slog.New(slog.NewTextHandler(logs, nil))})}
	return f
}

// enter adds user to roomName (creating it); kind http joins without a session.
func (f *fixture) enter(t *testing.T, roomName, user, kind string) *fakeSession {
	t.Helper()
	var s *fakeSession
	req := room.EnterRequest{Room: roomName, UserID: user, NickName: "nick-" + user, Kind: kind, Create: true}
	if kind != room.KindHTTP {
		s = &fakeSession{}
		req.Session = s
	}
	if _, err := f.rooms.Enter(req); err != nil {
		t.Fatalf("Enter(%s, %s): got %v; want nil", roomName, user, err)
	}
	f.sessions[roomName+"/"+user] = s
	return s
}

// publish publishes a track for user with one subscriber sink attached.
func (f *fixture) publish(t *testing.T, roomName, user, id string, kind webrtc.RTPCodecType) *sfu.Track {
	t.Helper()
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	if kind == webrtc.RTPCodecTypeVideo {
		codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	}
	tr := sfu.NewTrack(sfu.TrackOptions{ID: id, Owner: user, Kind: kind, Codec: codec, Now: f.clock.Now})
	tr.AddSink(nopSink{})
	if err := f.rooms.Publish(roomName, user, f.sessions[roomName+"/"+user], tr); err != nil {
		t.Fatalf("Publish(%s): got %v; want nil", id, err)
	}
	return tr
}

type nopSink struct{}

func (nopSink) WriteRTP(*sfu.ExtPacket) error { return nil }

// feed writes n packets of size bytes each (n a multiple of 64, the counters'
// flush batch, so they show at once).
func feed(tr *sfu.Track, n, size int) {
	for i := 0; i < n; i++ {
		tr.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i)}, Payload: make([]byte, size)})
	}
}

// do sends one request; an empty token sends no Authorization header.
func (f *fixture) do(t *testing.T, method, path, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

type answer struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type: got %q; want application/json; charset=utf-8 (body %q)", ct, w.Body.String())
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decoding %q: got %v; want nil", w.Body.String(), err)
	}
	return v
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name       string
		header     string // Authorization; "" sends none
		wantStatus int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"wrong token", "Bearer not-the-token", http.StatusUnauthorized},
		{"token prefix", "Bearer " + testToken[:len(testToken)-1], http.StatusUnauthorized},
		{"token with suffix", "Bearer " + testToken + "x", http.StatusUnauthorized},
		{"empty bearer", "Bearer ", http.StatusUnauthorized},
		{"basic scheme", "Basic " + testToken, http.StatusUnauthorized},
		{"bare token", testToken, http.StatusUnauthorized},
		{"right token", "Bearer " + testToken, http.StatusOK},
		{"scheme in lower case", "bearer " + testToken, http.StatusOK},
	}
	routes := []struct{ method, path string }{
		{http.MethodGet, "/admin/api/rooms"},
		{http.MethodPost, "/admin/api/rooms/r1/members/alice/kick"},
		{http.MethodPost, "/admin/api/rooms/r1/close"},
	}
	for _, tt := range tests {
		for _, rt := range routes {
			t.Run(tt.name+"/"+rt.method+" "+rt.path, func(t *testing.T) {
				f := newFixture(t, testToken)
				alice := f.enter(t, "r1", "alice", room.KindWebRTC)
				req := httptest.NewRequest(rt.method, rt.path, nil)
				if tt.header != "" {
					req.Header.Set("Authorization", tt.header)
				}
				w := httptest.NewRecorder()
				f.h.ServeHTTP(w, req)
				if w.Code != tt.wantStatus {
					t.Fatalf("status: got %d; want %d (body %q)", w.Code, tt.wantStatus, w.Body.String())
				}
				if tt.wantStatus != http.StatusUnauthorized {
					return
				}
				a := decode[answer](t, w)
				if a.Code != CodeBadToken || a.Message == "" {
					t.Errorf("answer: got %+v; want code %d and a message", a, CodeBadToken)
				}
				if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("WWW-Authenticate: got %q; want Bearer ...", got)
				}
				if got := alice.Kicks(); len(got) != 0 {
					t.Errorf("alice's kicks after an unauthorized call: got %v; want none", got)
				}
				if got := f.rooms.Exists("r1"); !got {
					t.Errorf("room r1 exists after an unauthorized call: got %v; want true", got)
				}
			})
		}
	}
}

func TestDisabled(t *testing.T) {
	tests := []struct {
		name, method, path, auth string
	}{
		{"page", http.MethodGet, "/admin", ""},
		{"page with slash", http.MethodGet, "/admin/", ""},
		{"asset", http.MethodGet, "/admin/static/admin.js", ""},
		{"listing", http.MethodGet, "/admin/api/rooms", ""},
		{"listing with empty bearer", http.MethodGet, "/admin/api/rooms", "Bearer "},
		{"kick", http.MethodPost, "/admin/api/rooms/r1/members/alice/kick", "Bearer "},
		{"close", http.MethodPost, "/admin/api/rooms/r1/close", "Bearer "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "")
			alice := f.enter(t, "r1", "alice", room.KindWebRTC)
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, req)
			if w.Code != http.StatusNotFound {
				t.Fatalf("status: got %d; want %d", w.Code, http.StatusNotFound)
			}
			if got := w.Body.String(); !strings.Contains(got, "admin_token") {
				t.Errorf("body: got %q; want a hint to set admin_token", got)
			}
			if got := alice.Kicks(); len(got) != 0 {
				t.Errorf("alice's kicks: got %v; want none", got)
			}
		})
	}
}

func TestPageAndAssets(t *testing.T) {
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantType           string // Content-Type prefix
		wantBody           string // substring
	}{
		{"page", http.MethodGet, "/admin", http.StatusOK, "text/html", `id="admin-token"`},
		{"page with slash", http.MethodGet, "/admin/", http.StatusOK, "text/html", `id="admin-login"`},
		{"page head", http.MethodHead, "/admin", http.StatusOK, "text/html", ""},
		{"script", http.MethodGet, "/admin/static/admin.js", http.StatusOK, "text/javascript", "api/"},
		{"stylesheet", http.MethodGet, "/admin/static/admin.css", http.StatusOK, "text/css", ":root"},
		{"html is only the page", http.MethodGet, "/admin/static/admin.html", http.StatusNotFound, "", ""},
		{"unknown asset", http.MethodGet, "/admin/static/nope.js", http.StatusNotFound, "", ""},
		{"unknown path", http.MethodGet, "/admin/nope", http.StatusNotFound, "", ""},
		{"not under the mount", http.MethodGet, "/administrator", http.StatusNotFound, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testToken)
			w := f.do(t, tt.method, tt.path, "", "")
			if w.Code != tt.wantStatus {
				t.Fatalf("status: got %d; want %d", w.Code, tt.wantStatus)
			}
			if tt.wantType != "" && !strings.HasPrefix(w.Header().Get("Content-Type"), tt.wantType) {
				t.Errorf("Content-Type: got %q; want %s...", w.Header().Get("Content-Type"), tt.wantType)
			}
			if tt.wantBody != "" && !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Errorf("body: got %d bytes without %q; want it", w.Body.Len(), tt.wantBody)
			}
		})
	}
	t.Run("page headers", func(t *testing.T) {
		f := newFixture(t, testToken)
		w := f.do(t, http.MethodGet, "/admin", "", "")
		for h, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
			"X-Content-Type-Options": "nosniff"} {
			if got := w.Header().Get(h); got != want {
				t.Errorf("%s: got %q; want %q", h, got, want)
			}
		}
		if got := w.Header().Get("Content-Security-Policy"); !strings.Contains(got, "script-src 'self'") {
			t.Errorf("Content-Security-Policy: got %q; want script-src 'self'", got)
		}
	})
}

func TestListing(t *testing.T) {
	f := newFixture(t, testToken)
	f.enter(t, "r1", "bob", room.KindHTTP)
	joined := f.clock.Now().UnixMilli()
	f.clock.Advance(time.Second)
	f.enter(t, "r1", "alice", room.KindWebRTC)
	f.enter(t, "r2", "carol", room.KindRTMP)
	f.rooms.SetState("r1", "alice", f.sessions["r1/alice"], "connected")
	v := f.publish(t, "r1", "alice", "alice-v", webrtc.RTPCodecTypeVideo)
	f.publish(t, "r1", "alice", "alice-a", webrtc.RTPCodecTypeAudio)
	feed(v, 64, 100)
	f.clock.Advance(time.Second)

	w := f.do(t, http.MethodGet, "/admin/api/rooms", testToken, "")
	if w.Code != http.StatusOK {
		t.Fatalf("status: got %d; want 200 (body %q)", w.Code, w.Body.String())
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control: got %q; want no-store", got)
	}

	t.Run("top-level keys", func(t *testing.T) {
		raw := decode[map[string]json.RawMessage](t, w)
		keys := make([]string, 0, len(raw))
		for k := range raw {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if want := []string{"now", "rooms", "stats"}; !slices.Equal(keys, want) {
			t.Errorf("keys: got %v; want %v", keys, want)
		}
	})

	got := decode[listingView](t, w)
	t.Run("now", func(t *testing.T) {
		if want := f.clock.Now().UnixMilli(); got.Now != want {
			t.Errorf("now: got %v; want %v", got.Now, want)
		}
	})
	t.Run("rooms", func(t *testing.T) {
		var names []string
		for _, r := range got.Rooms {
			names = append(names, r.Name)
		}
		if want := []string{"r1", "r2"}; !slices.Equal(names, want) {
			t.Errorf("rooms: got %v; want %v", names, want)
		}
	})
	t.Run("members", func(t *testing.T) {
		type m struct{ user, nick, kind, state string }
		var members []m
		for _, r := range got.Rooms {
			for _, mv := range r.Members {
				members = append(members, m{r.Name + "/" + mv.UserID, mv.NickName, mv.Kind, mv.State})
			}
		}
		want := []m{
			{"r1/alice", "nick-alice", "webrtc", "connected"},
			{"r1/bob", "nick-bob", "http", ""},
			{"r2/carol", "nick-carol", "rtmp", ""},
		}
		if !reflect.DeepEqual(members, want) {
			t.Errorf("members: got %v; want %v", members, want)
		}
		if bob := got.Rooms[0].Members[1]; bob.Joined != joined || bob.LastSeen != joined {
			t.Errorf("bob joined/lastSeen: got %v/%v; want %v/%v", bob.Joined, bob.LastSeen, joined, joined)
		}
	})
	t.Run("tracks", func(t *testing.T) {
		alice := got.Rooms[0].Members[0]
		type tr struct {
			id, kind, codec    string
			packetsIn, bytesIn uint64
			bytesOut           uint64
		}
		var tracks []tr
		for _, x := range alice.Tracks {
			tracks = append(tracks, tr{x.TrackID, x.Kind, x.Codec, x.PacketsIn, x.BytesIn, x.BytesOut})
		}
		want := []tr{
			{"alice-v", "video", webrtc.MimeTypeVP8, 64, 6400, 6400},
			{"alice-a", "audio", webrtc.MimeTypeOpus, 0, 0, 0},
		}
		if !reflect.DeepEqual(tracks, want) {
			t.Errorf("tracks: got %+v; want %+v", tracks, want)
		}
		if n := len(got.Rooms[0].Members[1].Tracks); n != 0 {
			t.Errorf("bob's tracks: got %d; want 0", n)
		}
	})
	t.Run("stats", func(t *testing.T) {
		st := got.Stats
		wantKinds := map[string]int{"webrtc": 1, "http": 1, "rtmp": 1}
		if st.Rooms != 2 || st.Members != 3 || st.Tracks != 2 || !reflect.DeepEqual(st.MembersByKind, wantKinds) {
			t.Errorf("stats: got rooms %d members %d tracks %d kinds %v; want 2, 3, 2, %v",
				st.Rooms, st.Members, st.Tracks, st.MembersByKind, wantKinds)
		}
		if st.Media.PacketsIn != 64 || st.Media.BytesIn != 6400 {
			t.Errorf("stats.media: got %+v; want 64 packets, 6400 bytes in", st.Media)
		}
	})
	t.Run("empty", func(t *testing.T) {
		f := newFixture(t, testToken)
		w := f.do(t, http.MethodGet, "/admin/api/rooms", testToken, "")
		if got, want := strings.TrimSpace(w.Body.String()), `"rooms":[]`; !strings.Contains(got, want) {
			t.Errorf("body: got %s; want it to contain %s", got, want)
		}
	})
}

func TestBitrate(t *testing.T) {
	f := newFixture(t, testToken)
	f.enter(t, "r1", "alice", room.KindWebRTC)
	v := f.publish(t, "r1", "alice", "v", webrtc.RTPCodecTypeVideo)
	f.enter(t, "r2", "dave", room.KindWebRTC)
	other := f.publish(t, "r2", "dave", "v", webrtc.RTPCodecTypeVideo) // same track ID in another room

	rate := func(t *testing.T, roomName string) (float64, float64) {
		t.Helper()
		w := f.do(t, http.MethodGet, "/admin/api/rooms", testToken, "")
		l := decode[listingView](t, w)
		for _, r := range l.Rooms {
			if r.Name == roomName {
				tr := r.Members[0].Tracks[0]
				return tr.KbpsIn, tr.KbpsOut
			}
		}
		t.Fatalf("room %s not listed", roomName)
		return 0, 0
	}
	steps := []struct {
		name           string
		packets, size  int           // written before the call
		advance        time.Duration // clock step before the call
		wantIn, wantOt float64
	}{
		{"first call reports 0", 64, 1000, 0, 0, 0},
		// 64 packets x 1000 bytes in 2 s = 512000 bits / 2 s = 256 kbit/s, out to one sink the same.
		{"two seconds later", 64, 1000, 2 * time.Second, 256, 256},
		{"a call within the window repeats the rate", 64, 1000, 100 * time.Millisecond, 256, 256},
		// since the last sample (at 2 s; the call at 2.1 s kept it): 128 packets x 1000 bytes over 1 s
		{"one second after the last sample", 64, 1000, 900 * time.Millisecond, 1024, 1024},
		{"idle", 0, 0, 4 * time.Second, 0, 0},
		{"small packets over half a second", 128, 50, 500 * time.Millisecond, 102.4, 102.4},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			feed(v, s.packets, s.size)
			feed(other, 64, 10) // the other room's track must not disturb r1's rate
			f.clock.Advance(s.advance)
			in, out := rate(t, "r1")
			if in != s.wantIn || out != s.wantOt {
				t.Errorf("kbit/s in, out: got %v, %v; want %v, %v", in, out, s.wantIn, s.wantOt)
			}
		})
	}
	t.Run("republished track starts over", func(t *testing.T) {
		f.rooms.Unpublish("r1", "alice", f.sessions["r1/alice"], v)
		v2 := f.publish(t, "r1", "alice", "v", webrtc.RTPCodecTypeVideo) // same ID, fresh counters
		feed(v2, 64, 10)
		f.clock.Advance(2 * time.Second)
		if in, out := rate(t, "r1"); in != 0 || out != 0 {
			t.Errorf("kbit/s in, out: got %v, %v; want 0, 0", in, out)
		}
		feed(v2, 64, 1000)
		f.clock.Advance(2 * time.Second)
		if in, out := rate(t, "r1"); in != 256 || out != 256 {
			t.Errorf("kbit/s in, out: got %v, %v; want 256, 256", in, out)
		}
	})
	t.Run("stats sum the live tracks", func(t *testing.T) {
		w := f.do(t, http.MethodGet, "/admin/api/rooms", testToken, "")
		l := decode[listingView](t, w)
		var in float64
		for _, r := range l.Rooms {
			for _, m := range r.Members {
				for _, tr := range m.Tracks {
					in += tr.KbpsIn
				}
			}
		}
		if l.Stats.KbpsIn != round1(in) {
			t.Errorf("stats.kbpsIn: got %v; want %v", l.Stats.KbpsIn, round1(in))
		}
	})
}

func TestKick(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		body       string
		wantStatus int
		wantCode   int
		wantKicks  []string // told to alice
		wantGone   bool
	}{
		{"default reason", "/admin/api/rooms/r1/members/alice/kick", "", 200, CodeOK, []string{DefaultKickReason}, true},
		{"empty JSON", "/admin/api/rooms/r1/members/alice/kick", "{}", 200, CodeOK, []string{DefaultKickReason}, true},
		{"blank reason", "/admin/api/rooms/r1/members/alice/kick", `{"reason":"  "}`, 200, CodeOK, []string{DefaultKickReason}, true},
		{"given reason", "/admin/api/rooms/r1/members/alice/kick", `{"reason":"spamming the chat"}`, 200, CodeOK, []string{"spamming the chat"}, true},
		{"no such member", "/admin/api/rooms/r1/members/zed/kick", "", 404, CodeNoRoom, []string{}, false},
		{"no such room", "/admin/api/rooms/nope/members/alice/kick", "", 404, CodeNoRoom, []string{}, false},
		{"malformed body", "/admin/api/rooms/r1/members/alice/kick", `{"reason":`, 400, CodeBadRequest, []string{}, false},
		{"reason not a string", "/admin/api/rooms/r1/members/alice/kick", `{"reason":5}`, 400, CodeBadRequest, []string{}, false},
		{"reason too long", "/admin/api/rooms/r1/members/alice/kick", `{"reason":"` + strings.Repeat("x", maxReason+1) + `"}`, 400, CodeBadRequest, []string{}, false},
		{"body too large", "/admin/api/rooms/r1/members/alice/kick", `{"reason":"a","pad":"` + strings.Repeat("x", maxBody) + `"}`, 400, CodeBadRequest, []string{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testToken)
			alice := f.enter(t, "r1", "alice", room.KindWebRTC)
			bob := f.enter(t, "r1", "bob", room.KindWebRTC)
			w := f.do(t, http.MethodPost, tt.path, testToken, tt.body)
			if w.Code != tt.wantStatus {
				t.Fatalf("status: got %d; want %d (body %q)", w.Code, tt.wantStatus, w.Body.String())
			}
			if a := decode[answer](t, w); a.Code != tt.wantCode {
				t.Errorf("code: got %d; want %d (message %q)", a.Code, tt.wantCode, a.Message)
			}
			if got := alice.Kicks(); !slices.Equal(got, tt.wantKicks) {
				t.Errorf("alice was told: got %v; want %v", got, tt.wantKicks)
			}
			members, _ := f.rooms.Members("r1")
			var ids []string
			for _, m := range members {
				ids = append(ids, m.UserID)
			}
			wantIDs := []string{"alice", "bob"}
			wantLeft := []string{}
			if tt.wantGone {
				wantIDs = []string{"bob"}
				wantLeft = []string{"alice:" + room.ReasonKicked}
			}
			if !slices.Equal(ids, wantIDs) {
				t.Errorf("members of r1: got %v; want %v", ids, wantIDs)
			}
			if got := bob.Left(); !slices.Equal(got, wantLeft) {
				t.Errorf("bob was told member_left: got %v; want %v", got, wantLeft)
			}
			if got := bob.Kicks(); len(got) != 0 {
				t.Errorf("bob's kicks: got %v; want none", got)
			}
			logged := strings.Contains(f.logs.String(), "admin: member kicked")
			if logged != tt.wantGone {
				t.Errorf("kick logged: got %v; want %v (log %q)", logged, tt.wantGone, f.logs.String())
			}
		})
	}
	t.Run("legacy HTTP member", func(t *testing.T) {
		f := newFixture(t, testToken)
		f.enter(t, "r1", "bob", room.KindHTTP)
		carol := f.enter(t, "r1", "carol", room.KindWebRTC)
		if w := f.do(t, http.MethodPost, "/admin/api/rooms/r1/members/bob/kick", testToken, ""); w.Code != 200 {
			t.Fatalf("status: got %d; want 200 (body %q)", w.Code, w.Body.String())
		}
		if got, want := carol.Left(), []string{"bob:kicked"}; !slices.Equal(got, want) {
			t.Errorf("carol was told member_left: got %v; want %v", got, want)
		}
	})
	t.Run("last member: the room goes too", func(t *testing.T) {
		f := newFixture(t, testToken)
		f.enter(t, "solo", "alice", room.KindWebRTC)
		if w := f.do(t, http.MethodPost, "/admin/api/rooms/solo/members/alice/kick", testToken, ""); w.Code != 200 {
			t.Fatalf("status: got %d; want 200 (body %q)", w.Code, w.Body.String())
		}
		if got := f.rooms.Exists("solo"); got {
			t.Errorf("room exists: got %v; want false", got)
		}
	})
	t.Run("log line", func(t *testing.T) {
		f := newFixture(t, testToken)
		f.enter(t, "r1", "alice", room.KindWebRTC)
		f.do(t, http.MethodPost, "/admin/api/rooms/r1/members/alice/kick", testToken, "")
		lines := strings.Split(strings.TrimSpace(f.logs.String()), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], "room=r1") || !strings.Contains(lines[0], "user=alice") {
			t.Errorf("log: got %q; want one line with room=r1 and user=alice", lines)
		}
	})
}

func TestCloseRoom(t *testing.T) {
	tests := []struct {
		name       string
		path, body string
		wantStatus int
		wantCode   int
		wantReason string // told to each member; "" when nobody is told
	}{
		{"default reason", "/admin/api/rooms/r1/close", "", 200, CodeOK, DefaultCloseReason},
		{"given reason", "/admin/api/rooms/r1/close", `{"reason":"maintenance"}`, 200, CodeOK, "maintenance"},
		{"no such room", "/admin/api/rooms/nope/close", "", 404, CodeNoRoom, ""},
		{"malformed body", "/admin/api/rooms/r1/close", "not json", 400, CodeBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testToken)
			alice := f.enter(t, "r1", "alice", room.KindWebRTC)
			carol := f.enter(t, "r1", "carol", room.KindRTMP)
			f.enter(t, "r1", "bob", room.KindHTTP)
			dave := f.enter(t, "r2", "dave", room.KindWebRTC)
			w := f.do(t, http.MethodPost, tt.path, testToken, tt.body)
			if w.Code != tt.wantStatus {
				t.Fatalf("status: got %d; want %d (body %q)", w.Code, tt.wantStatus, w.Body.String())
			}
			if a := decode[answer](t, w); a.Code != tt.wantCode {
				t.Errorf("code: got %d; want %d (message %q)", a.Code, tt.wantCode, a.Message)
			}
			want := []string{}
			if tt.wantReason != "" {
				want = []string{tt.wantReason}
			}
			for name, s := range map[string]*fakeSession{"alice": alice, "carol": carol} {
				if got := s.Kicks(); !slices.Equal(got, want) {
					t.Errorf("%s was told: got %v; want %v", name, got, want)
				}
			}
			if got, want := f.rooms.Exists("r1"), tt.wantReason == ""; got != want {
				t.Errorf("r1 exists: got %v; want %v", got, want)
			}
			if got := dave.Kicks(); len(got) != 0 || !f.rooms.Exists("r2") {
				t.Errorf("r2: dave told %v, exists %v; want nothing told, exists", got, f.rooms.Exists("r2"))
			}
			if tt.wantReason != "" {
				line := f.logs.String()
				if !strings.Contains(line, "admin: room closed") || !strings.Contains(line, "room=r1") ||
					!strings.Contains(line, "users=alice,bob,carol") {
					t.Errorf("log: got %q; want a room closed line with room=r1 users=alice,bob,carol", line)
				}
			}
		})
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantCode           int    // 0: not JSON
		wantAllow          string // for 405
	}{
		{"api root", http.MethodGet, "/admin/api", 404, CodeNotFound, ""},
		{"unknown endpoint", http.MethodGet, "/admin/api/users", 404, CodeNotFound, ""},
		{"room without action", http.MethodPost, "/admin/api/rooms/r1", 404, CodeNotFound, ""},
		{"member without action", http.MethodPost, "/admin/api/rooms/r1/members/alice", 404, CodeNotFound, ""},
		{"unknown member action", http.MethodPost, "/admin/api/rooms/r1/members/alice/ban", 404, CodeNotFound, ""},
		{"post listing", http.MethodPost, "/admin/api/rooms", 405, CodeBadMethod, "GET, HEAD"},
		{"delete listing", http.MethodDelete, "/admin/api/rooms", 405, CodeBadMethod, "GET, HEAD"},
		{"get kick", http.MethodGet, "/admin/api/rooms/r1/members/alice/kick", 405, CodeBadMethod, "POST"},
		{"delete kick", http.MethodDelete, "/admin/api/rooms/r1/members/alice/kick", 405, CodeBadMethod, "POST"},
		{"get close", http.MethodGet, "/admin/api/rooms/r1/close", 405, CodeBadMethod, "POST"},
		{"put close", http.MethodPut, "/admin/api/rooms/r1/close", 405, CodeBadMethod, "POST"},
		{"post page", http.MethodPost, "/admin", 405, 0, "GET, HEAD"},
		{"delete asset", http.MethodDelete, "/admin/static/admin.js", 405, 0, "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testToken)
			alice := f.enter(t, "r1", "alice", room.KindWebRTC)
			w := f.do(t, tt.method, tt.path, testToken, "")
			if w.Code != tt.wantStatus {
				t.Fatalf("status: got %d; want %d (body %q)", w.Code, tt.wantStatus, w.Body.String())
			}
			if tt.wantCode != 0 {
				if a := decode[answer](t, w); a.Code != tt.wantCode || a.Message == "" {
					t.Errorf("answer: got %+v; want code %d and a message", a, tt.wantCode)
				}
			}
			if got := w.Header().Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow: got %q; want %q", got, tt.wantAllow)
			}
			if got := alice.Kicks(); len(got) != 0 {
				t.Errorf("alice's kicks: got %v; want none", got)
			}
		})
	}
}

// TestConcurrentListings runs listings, kicks and media at once (for -race).
func TestConcurrentListings(t *testing.T) {
	f := newFixture(t, testToken)
	var tracks []*sfu.Track
	for _, u := range []string{"a", "b", "c", "d"} {
		f.enter(t, "r1", u, room.KindWebRTC)
		tracks = append(tracks, f.publish(t, "r1", u, u+"-v", webrtc.RTPCodecTypeVideo))
	}
	var wg sync.WaitGroup
	for _, tr := range tracks {
		wg.Go(func() { feed(tr, 640, 100) })
	}
	for range 4 {
		wg.Go(func() {
			for range 20 {
				f.clock.Advance(300 * time.Millisecond)
				if w := f.do(t, http.MethodGet, "/admin/api/rooms", testToken, ""); w.Code != 200 {
					t.Errorf("status: got %d; want 200", w.Code)
				}
			}
		})
	}
	wg.Go(func() { f.do(t, http.MethodPost, "/admin/api/rooms/r1/members/d/kick", testToken, "") })
	wg.Wait()
	w := f.do(t, http.MethodGet, "/admin/api/rooms", testToken, "")
	l := decode[listingView](t, w)
	if got := len(l.Rooms[0].Members); got != 3 {
		t.Errorf("members after kicking d: got %d; want 3", got)
	}
}

func TestPprof(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		token      string
		wantStatus int
		wantCode   int    // for JSON answers
		wantBody   string // a substring, for the others
	}{
		{"index needs the token", http.MethodGet, "/admin/debug/pprof/", "", http.StatusUnauthorized, CodeBadToken, ""},
		{"profile needs the token", http.MethodGet, "/admin/debug/pprof/profile?seconds=1", "wrong", http.StatusUnauthorized, CodeBadToken, ""},
		{"index", http.MethodGet, "/admin/debug/pprof/", testToken, http.StatusOK, 0, "goroutine?debug=0"},
		{"index without slash", http.MethodGet, "/admin/debug/pprof", testToken, http.StatusOK, 0, "profile?seconds=30"},
		{"goroutines as text", http.MethodGet, "/admin/debug/pprof/goroutine?debug=1", testToken, http.StatusOK, 0, "goroutine profile:"},
		{"heap", http.MethodGet, "/admin/debug/pprof/heap", testToken, http.StatusOK, 0, ""},
		{"cpu profile", http.MethodGet, "/admin/debug/pprof/profile?seconds=1", testToken, http.StatusOK, 0, ""},
		{"no such profile", http.MethodGet, "/admin/debug/pprof/nope", testToken, http.StatusNotFound, CodeNotFound, ""},
		{"bad seconds", http.MethodGet, "/admin/debug/pprof/profile?seconds=0", testToken, http.StatusBadRequest, CodeBadRequest, ""},
		{"seconds too many", http.MethodGet, "/admin/debug/pprof/trace?seconds=61", testToken, http.StatusBadRequest, CodeBadRequest, ""},
		{"bad debug", http.MethodGet, "/admin/debug/pprof/heap?debug=x", testToken, http.StatusBadRequest, CodeBadRequest, ""},
		{"post", http.MethodPost, "/admin/debug/pprof/heap", testToken, http.StatusMethodNotAllowed, CodeBadMethod, ""},
		{"not the prefix", http.MethodGet, "/admin/debug/pprofx", testToken, http.StatusNotFound, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testToken)
			w := f.do(t, tt.method, tt.path, tt.token, "")
			if w.Code != tt.wantStatus {
				t.Fatalf("status: got %d; want %d (body %.200q)", w.Code, tt.wantStatus, w.Body.String())
			}
			if tt.wantCode != 0 {
				if a := decode[answer](t, w); a.Code != tt.wantCode || a.Message == "" {
					t.Errorf("answer: got %+v; want code %d and a message", a, tt.wantCode)
				}
			}
			if tt.wantBody != "" && !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Errorf("body: got %.300q; want it to contain %q", w.Body.String(), tt.wantBody)
			}
			if tt.wantStatus == http.StatusOK && w.Body.Len() == 0 {
				t.Errorf("body: got nothing; want a profile")
			}
		})
	}
	t.Run("disabled", func(t *testing.T) {
		f := newFixture(t, "")
		if w := f.do(t, http.MethodGet, "/admin/debug/pprof/heap", testToken, ""); w.Code != http.StatusNotFound {
			t.Errorf("status with admin disabled: got %d; want 404", w.Code)
		}
	})
}

// fakeRecordings is the recording service: a room can record while the
// Manager has it; files are given by the test.
type fakeRecordings struct {
	rooms *room.Manager

	mu      sync.Mutex
	on      map[string]bool
	files   []RecordingFile   // newest first, as the service promises
	content map[string]string // by "room/name"
	fail    error             // returned by Start, Stop, Files and Open when set
	opened  int
	closed  int
}

func (r *fakeRecordings) Recording(roomName string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.on[roomName]
}

func (r *fakeRecordings) set(roomName string, on bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	if !r.rooms.Exists(roomName) {
		return fmt.Errorf("recording %s: %w", roomName, room.ErrNoRoom)
	}
	r.on[roomName] = on
	return nil
}

func (r *fakeRecordings) Start(roomName string) error { return r.set(roomName, true) }
func (r *fakeRecordings) Stop(roomName string) error  { return r.set(roomName, false) }

func (r *fakeRecordings) Files(roomName string) ([]RecordingFile, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return nil, r.fail
	}
	var out []RecordingFile
	for _, f := range r.files {
		if roomName == "" || f.Room == roomName {
			out = append(out, f)
		}
	}
	return out, nil
}

func (r *fakeRecordings) Open(roomName, name string) (io.ReadSeekCloser, os.FileInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return nil, nil, r.fail
	}
	body, ok := r.content[roomName+"/"+name]
	if !ok {
		return nil, nil, fmt.Errorf("open %s/%s: %w", roomName, name, fs.ErrNotExist)
	}
	r.opened++
	info := fakeInfo{name: name, size: int64(len(body)), mod: time.Date(2024, 5, 1, 11, 0, 0, 0, time.UTC)}
	return trackedFile{strings.NewReader(body), r}, info, nil
}

func (r *fakeRecordings) counts() (opened, closed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.opened, r.closed
}

type trackedFile struct {
	*strings.Reader
	recs *fakeRecordings
}

func (f trackedFile) Close() error {
	f.recs.mu.Lock()
	defer f.recs.mu.Unlock()
	f.recs.closed++
	return nil
}

type fakeInfo struct {
	name string
	size int64
	mod  time.Time
}

func (i fakeInfo) Name() string       { return i.name }
func (i fakeInfo) Size() int64        { return i.size }
func (i fakeInfo) Mode() fs.FileMode  { return 0o644 }
func (i fakeInfo) ModTime() time.Time { return i.mod }
func (i fakeInfo) IsDir() bool        { return false }
func (i fakeInfo) Sys() any           { return nil }

const testVideo = "0123456789abcdefghij" // a recording's bytes

// newRecFixture is a fixture with recording on: rooms r1 and r2 exist (r1
// records), and r1, r2 and the closed room old have files.
func newRecFixture(t *testing.T) (*fixture, *fakeRecordings) {
	t.Helper()
	recs := &fakeRecordings{on: map[string]bool{}, content: map[string]string{}}
	f := newFixtureWith(t, testToken, recs)
	recs.rooms = f.rooms
	f.enter(t, "r1", "alice", room.KindWebRTC)
	f.enter(t, "r2", "bob", room.KindWHIP)
	recs.on["r1"] = true
	t0 := f.clock.Now()
	recs.files = []RecordingFile{
		{Room: "r1", Name: "alice-20240501T115000Z.mp4", UserID: "alice", NickName: "Alice", Start: t0.Add(-10 * time.Minute),
			Duration: 0, Bytes: 20, Tracks: []string{"video H264", "audio opus"}}, // in progress
		{Room: "r2", Name: "bob-20240501T114000Z.webm", UserID: "bob", NickName: "Bob", Start: t0.Add(-20 * time.Minute),
			End: t0.Add(-15 * time.Minute), Duration: 300, Bytes: 20, Tracks: []string{"video VP8"}, Complete: true},
		{Room: "r1", Name: "alice-20240501T113000Z.mp4", UserID: "alice", NickName: "Alice", Start: t0.Add(-30 * time.Minute),
			End: t0.Add(-25 * time.Minute), Duration: 300, Bytes: 20, Tracks: []string{"video H264", "audio opus"}, Complete: true},
		{Room: "old", Name: "carol-20240430T090000Z.mp4", UserID: "carol", Start: t0.Add(-27 * time.Hour),
			End: t0.Add(-26 * time.Hour), Duration: 3600, Bytes: 20}, // no tracks, not complete
	}
	for _, rf := range recs.files {
		recs.content[rf.Room+"/"+rf.Name] = testVideo
	}
	recs.content["r1/alice-20240501T113000Z.json"] = `{"version":1}`
	return f, recs
}

// testSig signs a download link the way the handler must.
func testSig(token, roomName, name, exp string) string {
	key := sha256.Sum256([]byte(token))
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte(roomName + "\n" + name + "\n" + exp))
	return hex.EncodeToString(m.Sum(nil))
}

// signedPath is the download path of roomName/name with a link valid for ttl.
func (f *fixture) signedPath(roomName, name string, ttl time.Duration) string {
	exp := strconv.FormatInt(f.clock.Now().Add(ttl).Unix(), 10)
	return "/admin/download/" + url.PathEscape(roomName) + "/" + url.PathEscape(name) +
		"?exp=" + exp + "&sig=" + testSig(testToken, roomName, name, exp)
}

func TestRecordingListingField(t *testing.T) {
	tests := []struct {
		name string
		recs bool
		want map[string]any // room -> its recording field; nil: absent
	}{
		{"recording on", true, map[string]any{"r1": true, "r2": false}},
		{"recording off", false, map[string]any{"r1": nil, "r2": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f *fixture
			if tt.recs {
				f, _ = newRecFixture(t)
			} else {
				f = newFixture(t, testToken)
				f.enter(t, "r1", "alice", room.KindWebRTC)
				f.enter(t, "r2", "bob", room.KindWHIP)
			}
			w := f.do(t, http.MethodGet, "/admin/api/rooms", testToken, "")
			if w.Code != http.StatusOK {
				t.Fatalf("status: got %d; want 200 (body %q)", w.Code, w.Body.String())
			}
			l := decode[struct {
				Rooms []map[string]any `json:"rooms"`
			}](t, w)
			got := map[string]any{}
			for _, r := range l.Rooms {
				got[r["room"].(string)] = r["recording"]
				var keys []string
				for k := range r {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				want := []string{"created", "members", "room", "roomInfo"}
				if tt.recs {
					want = []string{"created", "members", "recording", "room", "roomInfo"}
				}
				if !slices.Equal(keys, want) {
					t.Errorf("room %v keys: got %v; want %v", r["room"], keys, want)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("recording by room: got %v; want %v", got, tt.want)
			}
		})
	}
}

func TestRecordingStartStop(t *testing.T) {
	type recAnswer struct {
		Code      int    `json:"code"`
		Message   string `json:"message"`
		Recording *bool  `json:"recording"`
	}
	tests := []struct {
		name           string
		method         string
		path, body     string
		fail           error
		wantStatus     int
		wantCode       int
		wantR1, wantR2 bool // recording after the call (before: r1 yes, r2 no)
	}{
		{"start", http.MethodPost, "/admin/api/rooms/r2/recording", `{"action":"start"}`, nil, 200, CodeOK, true, true},
		{"start again", http.MethodPost, "/admin/api/rooms/r1/recording", `{"action":"start"}`, nil, 200, CodeOK, true, false},
		{"stop", http.MethodPost, "/admin/api/rooms/r1/recording", `{"action":"stop"}`, nil, 200, CodeOK, false, false},
		{"stop again", http.MethodPost, "/admin/api/rooms/r2/recording", ` {"action": "stop"} `, nil, 200, CodeOK, true, false},
		{"bad action", http.MethodPost, "/admin/api/rooms/r1/recording", `{"action":"pause"}`, nil, 400, CodeBadRequest, true, false},
		{"action in capitals", http.MethodPost, "/admin/api/rooms/r2/recording", `{"action":"START"}`, nil, 400, CodeBadRequest, true, false},
		{"no action", http.MethodPost, "/admin/api/rooms/r1/recording", `{}`, nil, 400, CodeBadRequest, true, false},
		{"empty body", http.MethodPost, "/admin/api/rooms/r1/recording", "", nil, 400, CodeBadRequest, true, false},
		{"malformed body", http.MethodPost, "/admin/api/rooms/r1/recording", `{"action":`, nil, 400, CodeBadRequest, true, false},
		{"action not a string", http.MethodPost, "/admin/api/rooms/r1/recording", `{"action":1}`, nil, 400, CodeBadRequest, true, false},
		{"body too large", http.MethodPost, "/admin/api/rooms/r1/recording", `{"action":"stop","pad":"` + strings.Repeat("x", maxBody) + `"}`, nil, 400, CodeBadRequest, true, false},
		{"no such room", http.MethodPost, "/admin/api/rooms/nope/recording", `{"action":"start"}`, nil, 404, CodeNoRoom, true, false},
		{"room name not a name", http.MethodPost, "/admin/api/rooms/%2E%2E/recording", `{"action":"start"}`, nil, 404, CodeNoRoom, true, false},
		{"service fails", http.MethodPost, "/admin/api/rooms/r2/recording", `{"action":"start"}`, errors.New("disk full"), 500, CodeServerError, true, false},
		{"get", http.MethodGet, "/admin/api/rooms/r1/recording", "", nil, 405, CodeBadMethod, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, recs := newRecFixture(t)
			recs.fail = tt.fail
			w := f.do(t, tt.method, tt.path, testToken, tt.body)
			if w.Code != tt.wantStatus {
				t.Fatalf("status: got %d; want %d (body %q)", w.Code, tt.wantStatus, w.Body.String())
			}
			a := decode[recAnswer](t, w)
			if a.Code != tt.wantCode || a.Message == "" {
				t.Errorf("answer: got %+v; want code %d and a message", a, tt.wantCode)
			}
			if tt.fail != nil && !strings.Contains(a.Message, tt.fail.Error()) {
				t.Errorf("message: got %q; want it to contain %q", a.Message, tt.fail.Error())
			}
			if tt.wantStatus == http.StatusOK {
				want := tt.wantR1
				if strings.Contains(tt.path, "/r2/") {
					want = tt.wantR2
				}
				if a.Recording == nil || *a.Recording != want {
					t.Errorf("recording in the answer: got %v; want %v", a.Recording, want)
				}
				if !strings.Contains(f.logs.String(), "admin: recording ") {
					t.Errorf("log: got %q; want an admin: recording line", f.logs.String())
				}
			} else if a.Recording != nil {
				t.Errorf("recording in an error answer: got %v; want none", *a.Recording)
			}
			if got := [2]bool{recs.Recording("r1"), recs.Recording("r2")}; got != [2]bool{tt.wantR1, tt.wantR2} {
				t.Errorf("recording r1, r2: got %v; want %v", got, [2]bool{tt.wantR1, tt.wantR2})
			}
		})
	}
}

func TestRecordingsList(t *testing.T) {
	type list struct {
		Code       int             `json:"code"`
		Recordings []RecordingFile `json:"recordings"`
	}
	names := func(l list) []string {
		out := []string{}
		for _, r := range l.Recordings {
			out = append(out, r.Room+"/"+r.Name)
		}
		return out
	}
	tests := []struct {
		name string
		path string
		want []string
	}{
		{"every room", "/admin/api/recordings", []string{"r1/alice-20240501T115000Z.mp4", "r2/bob-20240501T114000Z.webm",
			"r1/alice-20240501T113000Z.mp4", "old/carol-20240430T090000Z.mp4"}},
		{"one room", "/admin/api/rooms/r1/recordings", []string{"r1/alice-20240501T115000Z.mp4", "r1/alice-20240501T113000Z.mp4"}},
		{"a closed room", "/admin/api/rooms/old/recordings", []string{"old/carol-20240430T090000Z.mp4"}},
		{"a room without recordings", "/admin/api/rooms/r9/recordings", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, recs := newRecFixture(t)
			w := f.do(t, http.MethodGet, tt.path, testToken, "")
			if w.Code != http.StatusOK {
				t.Fatalf("status: got %d; want 200 (body %q)", w.Code, w.Body.String())
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control: got %q; want no-store", got)
			}
			if !strings.Contains(w.Body.String(), `"recordings":[`) {
				t.Errorf("body: got %s; want a recordings list", w.Body.String())
			}
			l := decode[list](t, w)
			if l.Code != CodeOK {
				t.Errorf("code: got %d; want %d", l.Code, CodeOK)
			}
			if got := names(l); !slices.Equal(got, tt.want) {
				t.Errorf("recordings: got %v; want %v", got, tt.want)
			}
			exp := strconv.FormatInt(f.clock.Now().Add(time.Hour).Unix(), 10)
			for _, r := range l.Recordings {
				u, err := url.Parse(r.Download)
				if err != nil {
					t.Fatalf("download %q: got %v; want a URL", r.Download, err)
				}
				if want := "/admin/download/" + r.Room + "/" + r.Name; u.Path != want {
					t.Errorf("download path: got %q; want %q", u.Path, want)
				}
				if got := u.Query().Get("exp"); got != exp {
					t.Errorf("download exp: got %q; want %q (now + 1 h)", got, exp)
				}
				if got, want := u.Query().Get("sig"), testSig(testToken, r.Room, r.Name, exp); got != want {
					t.Errorf("download sig: got %q; want %q", got, want)
				}
				if r.Tracks == nil {
					t.Errorf("%s tracks: got null; want a list", r.Name)
				}
			}
			for _, rf := range recs.files {
				if rf.Download != "" {
					t.Errorf("the service's %s: got download %q; want it left alone", rf.Name, rf.Download)
				}
			}
		})
	}
	t.Run("fields", func(t *testing.T) {
		f, _ := newRecFixture(t)
		w := f.do(t, http.MethodGet, "/admin/api/rooms/r1/recordings", testToken, "")
		raw := decode[struct {
			Recordings []map[string]any `json:"recordings"`
		}](t, w)
		if len(raw.Recordings) != 2 {
			t.Fatalf("recordings: got %d; want 2", len(raw.Recordings))
		}
		live, done := raw.Recordings[0], raw.Recordings[1]
		if _, ok := live["end"]; ok {
			t.Errorf("end of a recording in progress: got %v; want absent", live["end"])
		}
		if got, want := done["end"], "2024-05-01T11:35:00Z"; got != want {
			t.Errorf("end: got %v; want %v", got, want)
		}
		want := map[string]any{"room": "r1", "userID": "alice", "nickName": "Alice", "start": "2024-05-01T11:30:00Z",
			"duration": 300.0, "bytes": 20.0, "tracks": []any{"video H264", "audio opus"}, "complete": true}
		for k, v := range want {
			if !reflect.DeepEqual(done[k], v) {
				t.Errorf("%s: got %v; want %v", k, done[k], v)
			}
		}
	})
	t.Run("service fails", func(t *testing.T) {
		f, recs := newRecFixture(t)
		recs.fail = errors.New("reading /rec: permission denied")
		w := f.do(t, http.MethodGet, "/admin/api/recordings", testToken, "")
		if w.Code != http.StatusInternalServerError {
			t.Fatalf("status: got %d; want 500 (body %q)", w.Code, w.Body.String())
		}
		if a := decode[answer](t, w); a.Code != CodeServerError || !strings.Contains(a.Message, "permission denied") {
			t.Errorf("answer: got %+v; want code %d and the service's message", a, CodeServerError)
		}
	})
	t.Run("service says no such room", func(t *testing.T) {
		f, recs := newRecFixture(t)
		recs.fail = fmt.Errorf("listing: %w", room.ErrNoRoom)
		w := f.do(t, http.MethodGet, "/admin/api/rooms/r1/recordings", testToken, "")
		if a := decode[answer](t, w); w.Code != http.StatusNotFound || a.Code != CodeNoRoom {
			t.Errorf("status, code: got %d, %d; want 404, %d", w.Code, a.Code, CodeNoRoom)
		}
	})
	t.Run("methods and names", func(t *testing.T) {
		f, _ := newRecFixture(t)
		for _, c := range []struct {
			method, path string
			wantStatus   int
			wantCode     int
		}{
			{http.MethodPost, "/admin/api/recordings", 405, CodeBadMethod},
			{http.MethodDelete, "/admin/api/rooms/r1/recordings", 405, CodeBadMethod},
			{http.MethodGet, "/admin/api/rooms/a.b/recordings", 404, CodeNoRoom},
			{http.MethodGet, "/admin/api/rooms//recordings", 404, CodeNoRoom},
		} {
			w := f.do(t, c.method, c.path, testToken, "")
			if a := decode[answer](t, w); w.Code != c.wantStatus || a.Code != c.wantCode {
				t.Errorf("%s %s: got %d, code %d; want %d, code %d", c.method, c.path, w.Code, a.Code, c.wantStatus, c.wantCode)
			}
		}
	})
	t.Run("needs the token", func(t *testing.T) {
		f, recs := newRecFixture(t)
		for _, c := range []struct{ method, path, body string }{
			{http.MethodGet, "/admin/api/recordings", ""},
			{http.MethodGet, "/admin/api/rooms/r1/recordings", ""},
			{http.MethodPost, "/admin/api/rooms/r2/recording", `{"action":"start"}`},
		} {
			for _, token := range []string{"", "wrong"} {
				w := f.do(t, c.method, c.path, token, c.body)
				if a := decode[answer](t, w); w.Code != http.StatusUnauthorized || a.Code != CodeBadToken {
					t.Errorf("%s %s with token %q: got %d, code %d; want 401, code %d", c.method, c.path, token, w.Code, a.Code, CodeBadToken)
				}
			}
		}
		if recs.Recording("r2") {
			t.Errorf("r2 recording after unauthorized calls: got true; want false")
		}
	})
}

func TestDownload(t *testing.T) {
	const (
		live    = "alice-20240501T115000Z.mp4"
		webm    = "bob-20240501T114000Z.webm"
		sidecar = "alice-20240501T113000Z.json"
	)
	hour := time.Hour
	tests := []struct {
		name       string
		method     string
		path       func(f *fixture) string
		header     map[string]string
		advance    time.Duration // clock step after signing
		wantStatus int
		wantCode   int    // for JSON answers
		wantBody   string // for the others
		wantType   string
		wantDisp   string // Content-Disposition
	}{
		{"signed", http.MethodGet, func(f *fixture) string { return f.signedPath("r1", live, hour) }, nil, 0,
			200, 0, testVideo, "video/mp4", ""},
		{"as attachment", http.MethodGet, func(f *fixture) string { return f.signedPath("r1", live, hour) + "&dl=1" }, nil, 0,
			200, 0, testVideo, "video/mp4", `attachment; filename=` + live},
		{"range", http.MethodGet, func(f *fixture) string { return f.signedPath("r1", live, hour) }, map[string]string{"Range": "bytes=2-5"}, 0,
			206, 0, "2345", "video/mp4", ""},
		{"head", http.MethodHead, func(f *fixture) string { return f.signedPath("r1", live, hour) }, nil, 0,
			200, 0, "", "video/mp4", ""},
		{"webm", http.MethodGet, func(f *fixture) string { return f.signedPath("r2", webm, hour) }, nil, 0,
			200, 0, testVideo, "video/webm", ""},
		{"sidecar", http.MethodGet, func(f *fixture) string { return f.signedPath("r1", sidecar, hour) }, nil, 0,
			200, 0, `{"version":1}`, "application/json", ""},
		{"a closed room's", http.MethodGet, func(f *fixture) string { return f.signedPath("old", "carol-20240430T090000Z.mp4", hour) }, nil, 0,
			200, 0, testVideo, "video/mp4", ""},
		{"still valid at exp", http.MethodGet, func(f *fixture) string { return f.signedPath("r1", live, hour) }, nil, hour,
			200, 0, testVideo, "video/mp4", ""},
		{"expired", http.MethodGet, func(f *fixture) string { return f.signedPath("r1", live, hour) }, nil, hour + time.Second,
			403, CodeBadSignature, "", "", ""},
		{"forged signature", http.MethodGet, func(f *fixture) string {
			p := f.signedPath("r1", live, hour)
			last := p[len(p)-1]
			flip := byte('0')
			if last == '0' {
				flip = '1'
			}
			return p[:len(p)-1] + string(flip)
		}, nil, 0, 403, CodeBadSignature, "", "", ""},
		{"another file's signature", http.MethodGet, func(f *fixture) string {
			p := f.signedPath("r1", live, hour)
			return strings.Replace(p, "/r1/"+live, "/r2/"+webm, 1)
		}, nil, 0, 403, CodeBadSignature, "", "", ""},
		{"exp moved", http.MethodGet, func(f *fixture) string {
			p := f.signedPath("r1", live, hour)
			exp := strconv.FormatInt(f.clock.Now().Add(hour).Unix(), 10)
			return strings.Replace(p, "exp="+exp, "exp="+exp+"0", 1)
		}, nil, 0, 403, CodeBadSignature, "", "", ""},
		{"signed with another token", http.MethodGet, func(f *fixture) string {
			exp := strconv.FormatInt(f.clock.Now().Add(hour).Unix(), 10)
			return "/admin/download/r1/" + live + "?exp=" + exp + "&sig=" + testSig("other", "r1", live, exp)
		}, nil, 0, 403, CodeBadSignature, "", "", ""},
		{"no signature", http.MethodGet, func(f *fixture) string {
			return "/admin/download/r1/" + live + "?exp=" + strconv.FormatInt(f.clock.Now().Add(hour).Unix(), 10)
		}, nil, 0, 403, CodeBadSignature, "", "", ""},
		{"no query", http.MethodGet, func(f *fixture) string { return "/admin/download/r1/" + live }, nil, 0,
			403, CodeBadSignature, "", "", ""},
		{"the admin token instead of a signature", http.MethodGet, func(f *fixture) string { return "/admin/download/r1/" + live },
			map[string]string{"Authorization": "Bearer " + testToken}, 0, 403, CodeBadSignature, "", "", ""},
		{"unknown file", http.MethodGet, func(f *fixture) string { return f.signedPath("r1", "zed.mp4", hour) }, nil, 0,
			404, CodeNoRoom, "", "", ""},
		// Signed, so only the name check stands between these and the service.
		{"dot-dot in the name", http.MethodGet, func(f *fixture) string { return f.signedPath("r1", "../r2/"+webm, hour) }, nil, 0,
			400, CodeBadRequest, "", "", ""},
		{"dot-dot as the name", http.MethodGet, func(f *fixture) string { return f.signedPath("r1", "..", hour) }, nil, 0,
			400, CodeBadRequest, "", "", ""},
		{"backslash in the name", http.MethodGet, func(f *fixture) string { return f.signedPath("r1", `..\secret`, hour) }, nil, 0,
			400, CodeBadRequest, "", "", ""},
		{"dot-dot as the room", http.MethodGet, func(f *fixture) string { return f.signedPath("..", "passwd", hour) }, nil, 0,
			400, CodeBadRequest, "", "", ""},
		{"a path as the name", http.MethodGet, func(f *fixture) string {
			exp := strconv.FormatInt(f.clock.Now().Add(hour).Unix(), 10)
			return "/admin/download/r1/sub/" + live + "?exp=" + exp + "&sig=" + testSig(testToken, "r1", "sub/"+live, exp)
		}, nil, 0, 400, CodeBadRequest, "", "", ""},
		{"no name", http.MethodGet, func(f *fixture) string { return "/admin/download/r1" }, nil, 0,
			404, CodeNotFound, "", "", ""},
		{"post", http.MethodPost, func(f *fixture) string { return f.signedPath("r1", live, hour) }, nil, 0,
			405, CodeBadMethod, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, recs := newRecFixture(t)
			req := httptest.NewRequest(tt.method, tt.path(f), nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			f.clock.Advance(tt.advance)
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, req)
			if w.Code != tt.wantStatus {
				t.Fatalf("status: got %d; want %d (body %q)", w.Code, tt.wantStatus, w.Body.String())
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control: got %q; want no-store", got)
			}
			if opened, closed := recs.counts(); opened != closed {
				t.Errorf("files opened, closed: got %d, %d; want them equal", opened, closed)
			}
			if tt.wantCode != 0 {
				if a := decode[answer](t, w); a.Code != tt.wantCode || a.Message == "" {
					t.Errorf("answer: got %+v; want code %d and a message", a, tt.wantCode)
				}
				return
			}
			if got := w.Body.String(); got != tt.wantBody {
				t.Errorf("body: got %q; want %q", got, tt.wantBody)
			}
			if got := w.Header().Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type: got %q; want %q", got, tt.wantType)
			}
			if got := w.Header().Get("Content-Disposition"); got != tt.wantDisp {
				t.Errorf("Content-Disposition: got %q; want %q", got, tt.wantDisp)
			}
			if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options: got %q; want nosniff", got)
			}
			if got := w.Header().Get("Accept-Ranges"); got != "bytes" {
				t.Errorf("Accept-Ranges: got %q; want bytes", got)
			}
			if tt.wantStatus == http.StatusPartialContent {
				if got, want := w.Header().Get("Content-Range"), "bytes 2-5/20"; got != want {
					t.Errorf("Content-Range: got %q; want %q", got, want)
				}
			}
		})
	}
	t.Run("listed link works", func(t *testing.T) {
		f, _ := newRecFixture(t)
		l := decode[struct {
			Recordings []RecordingFile `json:"recordings"`
		}](t, f.do(t, http.MethodGet, "/admin/api/rooms/r2/recordings", testToken, ""))
		if len(l.Recordings) != 1 {
			t.Fatalf("recordings: got %d; want 1", len(l.Recordings))
		}
		f.clock.Advance(59 * time.Minute)
		w := f.do(t, http.MethodGet, l.Recordings[0].Download+"&dl=1", "", "")
		if w.Code != http.StatusOK || w.Body.String() != testVideo {
			t.Errorf("download: got %d %q; want 200 %q", w.Code, w.Body.String(), testVideo)
		}
		if !strings.Contains(f.logs.String(), "admin: recording downloaded") {
			t.Errorf("log: got %q; want an admin: recording downloaded line", f.logs.String())
		}
	})
	t.Run("service fails", func(t *testing.T) {
		f, recs := newRecFixture(t)
		path := f.signedPath("r1", live, hour)
		recs.fail = errors.New("input/output error")
		w := f.do(t, http.MethodGet, path, "", "")
		if a := decode[answer](t, w); w.Code != http.StatusInternalServerError || a.Code != CodeServerError {
			t.Errorf("status, code: got %d, %d; want 500, %d", w.Code, a.Code, CodeServerError)
		}
	})
}

func TestRecordingOff(t *testing.T) {
	tests := []struct {
		name, method, path, body string
	}{
		{"start", http.MethodPost, "/admin/api/rooms/r1/recording", `{"action":"start"}`},
		{"stop with a bad method", http.MethodGet, "/admin/api/rooms/r1/recording", ""},
		{"every room's recordings", http.MethodGet, "/admin/api/recordings", ""},
		{"one room's recordings", http.MethodGet, "/admin/api/rooms/r1/recordings", ""},
		{"download", http.MethodGet, "", ""}, // a well-signed link
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testToken)
			f.enter(t, "r1", "alice", room.KindWebRTC)
			if tt.path == "" {
				tt.path = f.signedPath("r1", "alice.mp4", time.Hour)
			}
			w := f.do(t, tt.method, tt.path, testToken, tt.body)
			if w.Code != http.StatusNotFound {
				t.Fatalf("status: got %d; want 404 (body %q)", w.Code, w.Body.String())
			}
			if a := decode[answer](t, w); a.Code != CodeNotFound || !strings.Contains(a.Message, "record_dir") {
				t.Errorf("answer: got %+v; want code %d and a hint to set record_dir", a, CodeNotFound)
			}
		})
	}
	t.Run("admin disabled", func(t *testing.T) {
		// With no token the signing key is the hash of "", known to everyone.
		recs := &fakeRecordings{on: map[string]bool{}, content: map[string]string{"r1/alice.mp4": testVideo}}
		f := newFixtureWith(t, "", recs)
		recs.rooms = f.rooms
		exp := strconv.FormatInt(f.clock.Now().Add(time.Hour).Unix(), 10)
		path := "/admin/download/r1/alice.mp4?exp=" + exp + "&sig=" + testSig("", "r1", "alice.mp4", exp)
		w := f.do(t, http.MethodGet, path, "", "")
		if w.Code != http.StatusNotFound || strings.Contains(w.Body.String(), testVideo) {
			t.Fatalf("status: got %d (body %q); want 404 without the file", w.Code, w.Body.String())
		}
		if a := decode[answer](t, w); a.Code != CodeNotFound || !strings.Contains(a.Message, "admin_token") {
			t.Errorf("answer: got %+v; want code %d and a hint to set admin_token", a, CodeNotFound)
		}
		if opened, _ := recs.counts(); opened != 0 {
			t.Errorf("files opened: got %d; want 0", opened)
		}
	})
}
