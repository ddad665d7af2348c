package relay

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/internal/testutil"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
	"github.com/openroom/openroom/sfu/quality"
)

const testSecret = "relay-test-secret"

func noLeaks(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// collector is a media-only member that counts the packets of every track
// it is offered, by owner and kind.
type collector struct {
	id     string
	mu     sync.Mutex // guards tracks and counts
	tracks map[*sfu.Track]*countSink
}

type countSink struct{ n atomic.Int64 }

func (s *countSink) WriteRTP(*sfu.ExtPacket) error { s.n.Add(1); return nil }

func newCollector(id string) *collector {
	return &collector{id: id, tracks: map[*sfu.Track]*countSink{}}
}

func (c *collector) ID() string { return c.id }

// QualityStats makes the collector's member rated "poor" (a third lost).
func (c *collector) QualityStats() quality.Stats {
	return quality.Stats{PacketLoss: 0.3, Bitrate: 1e6, TargetBitrate: 1e6, LastPacketAge: 10 * time.Millisecond}
}

func (c *collector) AddTrack(t *sfu.Track) {
	s := &countSink{}
	c.mu.Lock()
	c.tracks[t] = s
	c.mu.Unlock()
	go t.AddSink(s) // not under the router's lock
}

func (c *collector) RemoveTrack(t *sfu.Track) {
	c.mu.Lock()
	delete(c.tracks, t)
	c.mu.Unlock()
}

// received reports the packets received of owner's track of kind, and
// whether such a track is offered now.
func (c *collector) received(owner, kind string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for t, s := range c.tracks {
		if t.Owner() == owner && t.Kind().String() == kind {
			return s.n.Load(), true
		}
	}
	return 0, false
}

func (c *collector) track(owner, kind string) *sfu.Track {
	c.mu.Lock()
	defer c.mu.Unlock()
	for t := range c.tracks {
		if t.Owner() == owner && t.Kind().String() == kind {
			return t
		}
	}
	return nil
}

// session is a local member's session; it keeps the last quality list.
type session struct {
	mu   sync.Mutex // guards last
	last map[string]string
}

func (s *session) Notify(ev room.Event) {
	if ev.Type != "quality" || ev.Members == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = map[string]string{}
	for _, q := range *ev.Members {
		s.last[q.UserID] = q.Quality
	}
}
func (*session) Kick(string) {}

// quality is user's rating in the last quality list the session got.
func (s *session) quality(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[user]
}

// node is one side: its rooms, and the relay's two ends.
type node struct {
	rooms  *room.Manager
	stats  *Stats
	srv    *httptest.Server
	accept *Handler
	dial   *Dialer
}

func newNode(t *testing.T, id string) *node {
	t.Helper()
	n := &node{rooms: room.NewManager(room.Options{Timeout: time.Minute}), stats: &Stats{}}
	n.accept = NewHandler(HandlerOptions{Rooms: n.rooms, Secret: testSecret, Stats: n.stats})
	mux := http.NewServeMux()
	mux.Handle("GET "+Path+"{room}", n.accept)
	n.srv = httptest.NewServer(mux)
	n.dial = NewDialer(DialerOptions{Rooms: n.rooms, Secret: testSecret, Node: id, Stats: n.stats, SatelliteIdle: 300 * time.Millisecond})
	t.Cleanup(func() {
		n.dial.Close()
		n.accept.Close()
		n.srv.Close()
	})
	return n
}

// join enters user into the room with a collector for its media.
func (n *node) join(t *testing.T, roomName, user string) (*collector, *session) {
	t.Helper()
	s := &session{}
	if _, err := n.rooms.Enter(room.EnterRequest{Room: roomName, UserID: user, NickName: "李雷 " + user, Kind: "webrtc",
		Privileges: auth.PrivAll, Session: s, Create: true}); err != nil {
		t.Fatalf("enter %s: %v", user, err)
	}
	c := newCollector(user)
	if err := n.rooms.AttachMedia(roomName, user, s, c); err != nil {
		t.Fatal(err)
	}
	return c, s
}

// publish publishes a video track of user's and returns it with a counter
// of the keyframe requests it gets.
func (n *node) publish(t *testing.T, roomName, user string, s *session, kind webrtc.RTPCodecType) (*sfu.Track, *atomic.Int64) {
	t.Helper()
	var kf atomic.Int64
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	if kind == webrtc.RTPCodecTypeAudio {
		codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	}
	tr := sfu.NewTrack(sfu.TrackOptions{ID: user + "-" + kind.String(), Owner: user, Kind: kind, Codec: codec,
		RequestKeyframe: func() { kf.Add(1) }})
	if err := n.rooms.Publish(roomName, user, s, tr); err != nil {
		t.Fatal(err)
	}
	return tr, &kf
}

// feed writes count packets into tr.
func feed(tr *sfu.Track, ssrc uint32, from, count int) {
	for i := from; i < from+count; i++ {
		tr.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(i), Timestamp: uint32(i * 3000), SSRC: ssrc},
			Payload: []byte{0x10, 0x00, 0x00, byte(i)}})
	}
}

// TestLinkRelaysBothWays: a satellite linked to the room's home gets the
// home's tracks (as members named like their publishers) and packets, asks
// the home for keyframes, and sends its own publisher's track to the home;
// no track comes back to the node it came from.
func TestLinkRelaysBothWays(t *testing.T) {
	noLeaks(t)
	home, sat := newNode(t, "home"), newNode(t, "sat")
	homeSub, homeS := home.join(t, "r", "lei")
	_, pubS := home.join(t, "r", "pub")
	video, keyframes := home.publish(t, "r", "pub", pubS, webrtc.RTPCodecTypeVideo)
	home.publish(t, "r", "pub", pubS, webrtc.RTPCodecTypeAudio)

	satSub, satS := sat.join(t, "r", "mei")
	if err := sat.dial.Ensure("r", home.srv.URL); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "the home's publisher is a member at the satellite", func() bool {
		ms, _ := sat.rooms.Members("r")
		for _, m := range ms {
			if m.UserID == "pub" && m.NickName == "李雷 pub" && len(m.Tracks) == 2 {
				return true
			}
		}
		return false
	})
	testutil.Eventually(t, 5*time.Second, "the satellite's member gets pub's video", func() bool {
		feed(video, 1, 0, 10)
		n, _ := satSub.received("pub", "video")
		return n >= 10
	})
	// A keyframe request at the satellite reaches the home's publisher.
	before := keyframes.Load()
	time.Sleep(600 * time.Millisecond) // past both tracks' keyframe throttle (500 ms)
	satSub.track("pub", "video").RequestKeyframe()
	testutil.Eventually(t, 5*time.Second, "the satellite's keyframe request reaches the publisher", func() bool {
		return keyframes.Load() > before
	})

	// The satellite's publisher reaches the home; its track does not come back.
	satVideo, _ := sat.publish(t, "r", "mei", satS, webrtc.RTPCodecTypeVideo)
	testutil.Eventually(t, 5*time.Second, "the home's member gets mei's video", func() bool {
		feed(satVideo, 2, 0, 5)
		n, _ := homeSub.received("mei", "video")
		return n >= 5
	})
	time.Sleep(100 * time.Millisecond)
	if got := sat.stats.TracksIn.Load(); got != 2 {
		t.Errorf("tracks into the satellite: got %d; want 2 (pub's two; never its own back)", got)
	}
	if got := home.stats.TracksOut.Load(); got != 2 {
		t.Errorf("tracks out of the home: got %d; want 2", got)
	}

	// Members, chat and board cross both ways, once.
	testutil.Eventually(t, 5*time.Second, "mei, who publishes nothing yet, is a member at the home", func() bool {
		_, err := home.rooms.Kind("r", "mei")
		return err == nil
	})
	if _, err := home.rooms.Chat("r", "lei", homeS, "", "你好 from the home", nil, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := sat.rooms.Chat("r", "mei", satS, "", "hello from the satellite", nil, "c2"); err != nil {
		t.Fatal(err)
	}
	if _, err := home.rooms.Board("r", "lei", homeS, room.BoardOp{Kind: "stroke", ID: "s1", Points: [][]float64{{0.1, 0.1}, {0.2, 0.2}}, Color: "#ff0000", Width: 2}); err != nil {
		t.Fatal(err)
	}
	if err := sat.rooms.SetMuted("r", "mei", satS, "audio", true); err != nil {
		t.Fatal(err)
	}
	texts := func(n *node, user string) []string {
		h, _ := n.rooms.History("r", user)
		var out []string
		for _, m := range h {
			out = append(out, m.From+": "+m.Text)
		}
		slices.Sort(out) // each node numbers the messages in the order it got them
		return out
	}
	want := "lei: 你好 from the home,mei: hello from the satellite"
	testutil.Eventually(t, 5*time.Second, "both rooms hold both messages, once", func() bool {
		return strings.Join(texts(home, "lei"), ",") == want && strings.Join(texts(sat, "mei"), ",") == want
	})
	testutil.Eventually(t, 5*time.Second, "the satellite's board has the home's stroke, and the home sees mei muted", func() bool {
		st, _ := sat.rooms.BoardState("r")
		ms, _ := home.rooms.Members("r")
		muted := false
		for _, m := range ms {
			muted = muted || (m.UserID == "mei" && m.AudioMuted)
		}
		return len(st.Ops) == 1 && st.Ops[0].UserID == "lei" && muted
	})
	// The home rates its members; the satellite shows the home's rating.
	home.rooms.TickQuality()
	testutil.Eventually(t, 5*time.Second, "the satellite shows lei's rating from the home", func() bool {
		return satS.quality("lei") == "poor"
	})
	if st, _ := home.rooms.BoardState("r"); len(st.Ops) != 1 {
		t.Errorf("home board: got %d ops; want 1 (the stroke never comes back)", len(st.Ops))
	}

	// The home's publisher leaves: it leaves the satellite too.
	if err := home.rooms.Leave("r", "pub", pubS, room.ReasonLeft); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "pub left the satellite", func() bool {
		_, err := sat.rooms.Kind("r", "pub")
		_, offered := satSub.received("pub", "video")
		return err != nil && !offered
	})

	// The satellite's last own member leaves: its link ends, the home forgets
	// mei, and the satellite's room goes.
	if err := sat.rooms.Leave("r", "mei", satS, room.ReasonLeft); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "the link ends once nobody of the satellite is left", func() bool {
		_, err := home.rooms.Kind("r", "mei")
		return home.stats.Links.Load() == 0 && sat.stats.Links.Load() == 0 && err != nil && !sat.rooms.Exists("r")
	})
}

// TestHandlerRefuses: a link request not signed with the cluster's secret,
// expired, or for a room that is not open on the node is refused.
func TestHandlerRefuses(t *testing.T) {
	noLeaks(t)
	home := newNode(t, "home")
	home.join(t, "open", "lei")
	now := time.Now()
	exp := now.Add(tokenTTL).Unix()
	tests := []struct {
		name, room, secret string
		exp                int64
		want               int
	}{
		{name: "signed", room: "open", secret: testSecret, exp: exp, want: http.StatusSwitchingProtocols},
		{name: "another secret", room: "open", secret: "other", exp: exp, want: http.StatusUnauthorized},
		{name: "expired", room: "open", secret: testSecret, exp: now.Add(-time.Second).Unix(), want: http.StatusUnauthorized},
		{name: "too far ahead", room: "open", secret: testSecret, exp: now.Add(time.Hour).Unix(), want: http.StatusUnauthorized},
		{name: "signed for another room", room: "other", secret: testSecret, exp: exp, want: http.StatusUnauthorized},
		{name: "room not open here", room: "closed", secret: testSecret, exp: exp, want: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			signedRoom := tt.room
			if tt.name == "signed for another room" {
				signedRoom = "open"
			}
			h.Set("Authorization", "Bearer "+mac(tt.secret, signedRoom, "sat", tt.exp))
			h.Set(headerNode, "sat")
			h.Set(headerExpires, strconv.FormatInt(tt.exp, 10))
			ws, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(home.srv.URL, "http")+Path+tt.room, h)
			if ws != nil {
				ws.Close()
			}
			if res == nil {
				t.Fatalf("dial: %v", err)
			}
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Errorf("status: got %d; want %d", res.StatusCode, tt.want)
			}
		})
	}
}

// TestLinkBadPeer: a peer that sends frames of unknown tracks, short frames
// or a control frame that is not JSON harms nothing: the link drops what it
// cannot use and ends on garbage, and the room goes on.
func TestLinkBadPeer(t *testing.T) {
	noLeaks(t)
	home := newNode(t, "home")
	sub, _ := home.join(t, "r", "lei")
	exp := time.Now().Add(tokenTTL).Unix()
	h := http.Header{}
	h.Set("Authorization", "Bearer "+mac(testSecret, "r", "evil", exp))
	h.Set(headerNode, "evil")
	h.Set(headerExpires, strconv.FormatInt(exp, 10))
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(home.srv.URL, "http")+Path+"r", h)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	pkt := []byte{0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1} // an RTP header, no payload
	for _, f := range []struct {
		typ int
		b   []byte
	}{
		{websocket.BinaryMessage, []byte{0}},                              // shorter than a record's header
		{websocket.BinaryMessage, append([]byte{0, 15, 0, 9, 0}, pkt...)}, // no such track
		{websocket.BinaryMessage, append([]byte{0, 99, 0, 9, 0}, pkt...)}, // a record longer than its frame
		{websocket.TextMessage, []byte(`{"type":"track","n":1,"id":"x","owner":"bad name!","kind":"video","mime":"video/VP8","clockRate":90000}`)},
		{websocket.BinaryMessage, append(append([]byte{0, 15, 0, 1, 0}, pkt...), 0, 1)}, // the refused track's, and a stub
		{websocket.TextMessage, []byte(`{"type":"keyframe","n":77}`)},
		{websocket.TextMessage, []byte(`not json`)},
	} {
		if err := ws.WriteMessage(f.typ, f.b); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 5*time.Second, "the link ends on garbage", func() bool { return home.stats.Links.Load() == 0 })
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				t.Errorf("the link's end: got %v; want a close frame (1000)", err)
			}
			break
		}
	}
	if _, offered := sub.received("bad name!", "video"); offered {
		t.Error("a track with an invalid owner was published")
	}
	if ms, _ := home.rooms.Members("r"); len(ms) != 1 {
		t.Errorf("members: got %v; want lei alone", ms)
	}
}

// signedDial opens a relay link to node's room as node id, by hand.
func signedDial(t *testing.T, n *node, roomName, id string) *websocket.Conn {
	t.Helper()
	exp := time.Now().Add(tokenTTL).Unix()
	h := http.Header{}
	h.Set("Authorization", "Bearer "+mac(testSecret, roomName, id, exp))
	h.Set(headerNode, id)
	h.Set(headerExpires, strconv.FormatInt(exp, 10))
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(n.srv.URL, "http")+Path+roomName, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// TestHandlerReplacesLink: a node that dials again for a room replaces its
// link (the old one is dead to it); another node's link stays.
func TestHandlerReplacesLink(t *testing.T) {
	noLeaks(t)
	home := newNode(t, "home")
	home.join(t, "r", "lei")
	first := signedDial(t, home, "r", "sat")
	other := signedDial(t, home, "r", "sat2")
	testutil.Eventually(t, 5*time.Second, "two links up", func() bool { return home.stats.Links.Load() == 2 })
	signedDial(t, home, "r", "sat")
	_ = first.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := first.ReadMessage(); err != nil {
			if strings.Contains(err.Error(), "timeout") {
				t.Fatalf("the first link: got %v; want it closed by the home", err)
			}
			break
		}
	}
	testutil.Eventually(t, 5*time.Second, "two links up again", func() bool { return home.stats.Links.Load() == 2 })
	_ = other.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, _, err := other.ReadMessage(); err != nil && !strings.Contains(err.Error(), "timeout") {
		t.Errorf("the other node's link: got %v; want it up", err)
	}
}
