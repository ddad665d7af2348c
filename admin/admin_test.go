package admin

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
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
	clock := fakeclock.New()
	logs := &bytes.Buffer{}
	rooms := room.NewManager(room.Options{Now: clock.Now})
	f := &fixture{rooms: rooms, clock: clock, logs: logs, sessions: map[string]*fakeSession{},
		h: Handler(Options{Rooms: rooms, Token: token, Now: clock.Now,
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
