package signaling

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/config"
)

type wsClient struct {
	t  *testing.T
	ws *websocket.Conn
}

func dial(t *testing.T, ts *testServer) *wsClient {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return &wsClient{t: t, ws: ws}
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	if err := c.ws.WriteJSON(v); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// expect reads until a message of type typ arrives (others are skipped).
func (c *wsClient) expect(typ string) map[string]any {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var m map[string]any
		if err := c.ws.ReadJSON(&m); err != nil {
			c.t.Fatalf("waiting for %q: %v", typ, err)
		}
		if m["type"] == typ {
			return m
		}
	}
}

// expectError reads until an error arrives and checks its code.
func (c *wsClient) expectError(wantCode int, wantInMessage string) {
	c.t.Helper()
	m := c.expect("error")
	if got := code(m); got != wantCode {
		c.t.Fatalf("error code: got %d; want %d (%v)", got, wantCode, m)
	}
	if msg, _ := m["message"].(string); !strings.Contains(msg, wantInMessage) {
		c.t.Fatalf("error message: got %q; want it to contain %q", msg, wantInMessage)
	}
}

// usable proves the socket still works after an error.
func (c *wsClient) usable() {
	c.t.Helper()
	c.send(map[string]any{"type": "heartbeat"})
	c.expect("heartbeat")
}

func (c *wsClient) join(ts *testServer, roomName, user string) map[string]any {
	c.t.Helper()
	c.send(map[string]any{"type": "join", "room": roomName, "userSig": ts.userSig(c.t, user)})
	return c.expect("joined")
}

func TestWSBadInput(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, true, nil)
	otherRoom := dial(t, ts) // a bystander in another room must not notice anything
	otherRoom.join(ts, "calm", "zed")
	key := func(user, roomName string, priv uint32) string {
		k, err := ts.Issuer.PrivateMapKey(user, roomName, priv, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	forger, _ := auth.NewIssuer([]byte("not-the-server-secret-at-all!!!!"), 1, nil)
	forged, _ := forger.UserSig("mallory", time.Hour)

	tests := []struct {
		name      string
		joined    bool // join "r1" first
		raw       string
		msg       map[string]any
		wantCode  int
		wantInMsg string
	}{
		{name: "malformed JSON", raw: `{"type":`, wantCode: 4001, wantInMsg: "malformed"},
		{name: "not an object", raw: `[1,2,3]`, wantCode: 4001, wantInMsg: "malformed"},
		{name: "missing type", raw: `{}`, wantCode: 2, wantInMsg: "type"},
		{name: "unknown type", msg: map[string]any{"type": "launch"}, wantCode: 4002, wantInMsg: "launch"},
		{name: "offer before join", msg: map[string]any{"type": "offer", "target": "publisher", "sdp": "v=0"}, wantCode: 4003, wantInMsg: "join first"},
		{name: "join without room", msg: map[string]any{"type": "join", "userSig": "x"}, wantCode: 2, wantInMsg: "room"},
		{name: "join bad room name", msg: map[string]any{"type": "join", "room": "a b", "userSig": "x"}, wantCode: 4001, wantInMsg: "bad room"},
		{name: "join without sig", msg: map[string]any{"type": "join", "room": "r1"}, wantCode: 2, wantInMsg: "userSig"},
		{name: "join garbage sig", msg: map[string]any{"type": "join", "room": "r1", "userSig": "abc"}, wantCode: 4010, wantInMsg: "malformed"},
		{name: "join forged sig", msg: map[string]any{"type": "join", "room": "r1", "userSig": forged}, wantCode: 4010, wantInMsg: "signature"},
		{name: "join key for another room", msg: map[string]any{"type": "join", "room": "r1",
			"userSig": ts.userSig(t, "bob"), "privateMapKey": key("bob", "r2", auth.PrivAll)}, wantCode: 4010, wantInMsg: "another room"},
		{name: "join key of another user", msg: map[string]any{"type": "join", "room": "r1",
			"userSig": ts.userSig(t, "bob"), "privateMapKey": key("eve", "r1", auth.PrivAll)}, wantCode: 4010, wantInMsg: "another user"},
		{name: "join key without join bit", msg: map[string]any{"type": "join", "room": "r1",
			"userSig": ts.userSig(t, "bob"), "privateMapKey": key("bob", "r1", auth.PrivSendAudio)}, wantCode: 4030, wantInMsg: "join room"},
		{name: "invalid SDP", joined: true, msg: map[string]any{"type": "offer", "target": "publisher", "sdp": "hello"}, wantCode: 4100, wantInMsg: "SDP"},
		{name: "offer to subscriber", joined: true, msg: map[string]any{"type": "offer", "target": "subscriber", "sdp": "v=0"}, wantCode: 4100, wantInMsg: "publisher"},
		{name: "answer nobody asked for", joined: true, msg: map[string]any{"type": "answer", "target": "subscriber", "sdp": "v=0\r\n"}, wantCode: 4100, wantInMsg: ""},
		{name: "bad candidate", joined: true, msg: map[string]any{"type": "candidate", "target": "publisher", "candidate": map[string]any{"candidate": "candidate:garbage"}}, wantCode: 4100, wantInMsg: "candidate"},
		{name: "bad mute kind", joined: true, msg: map[string]any{"type": "mute", "kind": "smell", "muted": true}, wantCode: 4001, wantInMsg: "smell"},
		{name: "join twice", joined: true, msg: map[string]any{"type": "join", "room": "r1", "userSig": "x"}, wantCode: 4003, wantInMsg: "already joined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, ts)
			if tc.joined {
				c.join(ts, "r1", "joiner")
			}
			if tc.raw != "" {
				if err := c.ws.WriteMessage(websocket.TextMessage, []byte(tc.raw)); err != nil {
					t.Fatal(err)
				}
			} else {
				c.send(tc.msg)
			}
			c.expectError(tc.wantCode, tc.wantInMsg)
			c.usable()
			c.ws.Close()
		})
	}
	t.Run("oversized frame closes with 1009", func(t *testing.T) {
		c := dial(t, ts)
		big := `{"type":"heartbeat","pad":"` + strings.Repeat("x", 70<<10) + `"}`
		_ = c.ws.WriteMessage(websocket.TextMessage, []byte(big))
		_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		var err error
		for err == nil {
			_, _, err = c.ws.ReadMessage()
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
			t.Fatalf("close: got %v; want code 1009", err)
		}
	})
	t.Run("flood is rate limited", func(t *testing.T) {
		c := dial(t, ts)
		for i := 0; i < 300; i++ {
			c.send(map[string]any{"type": "heartbeat"})
		}
		c.expectError(CodeRateLimited, "too many messages")
		time.Sleep(1100 * time.Millisecond) // the bucket refills at 50/s
		c.usable()
	})
	t.Run("missing send-video privilege", func(t *testing.T) {
		c := dial(t, ts)
		c.send(map[string]any{"type": "join", "room": "r1", "userSig": ts.userSig(t, "viewer"),
			"privateMapKey": key("viewer", "r1", auth.PrivJoin|auth.PrivReceiveAudio|auth.PrivReceiveVideo)})
		if j := c.expect("joined"); code(map[string]any{"code": j["privileges"]}) != 42 {
			t.Fatalf("privileges: got %v; want 42", j["privileges"])
		}
		c.send(map[string]any{"type": "offer", "target": "publisher", "sdp": videoOffer})
		c.expectError(CodeForbidden, "send video")
		c.usable()
	})
	otherRoom.usable()
}

// videoOffer is a minimal browser-like offer sending one H.264 video track.
const videoOffer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n" +
	"a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" +
	"a=setup:actpass\r\na=rtcp-mux\r\na=rtpmap:102 H264/90000\r\n" +
	"a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"

func TestWSKickAndTimeout(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, false, func(c *config.Config) {
		c.MemberTimeout = time.Second
		c.PingInterval = 200 * time.Millisecond
	})
	t.Run("duplicate login kicks the first", func(t *testing.T) {
		first := dial(t, ts)
		first.join(ts, "k", "alice")
		watcher := dial(t, ts)
		watcher.join(ts, "k", "watcher")
		second := dial(t, ts)
		second.join(ts, "k", "alice")
		m := first.expect("kicked")
		if m["reason"] != "logged in elsewhere" {
			t.Errorf("reason: got %v; want logged in elsewhere", m["reason"])
		}
		_, _, err := first.ws.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4000 {
			t.Errorf("close: got %v; want code 4000", err)
		}
		left := watcher.expect("member_left")
		if left["userID"] != "alice" || left["reason"] != "kicked" {
			t.Errorf("member_left: got %v; want alice kicked", left)
		}
		if j := watcher.expect("member_joined"); j["member"].(map[string]any)["userID"] != "alice" {
			t.Errorf("member_joined: got %v; want alice", j)
		}
		second.usable()
	})
	t.Run("silent member is removed", func(t *testing.T) {
		alive := dial(t, ts)
		alive.join(ts, "hb", "alive")
		go func() { // keep reading so pings are answered
			for {
				if _, _, err := alive.ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
		silent := dial(t, ts)
		silent.join(ts, "hb", "silent") // then never reads again: pings go unanswered
		watcher := dial(t, ts)
		watcher.join(ts, "hb", "watcher2")
		start := time.Now()
		var left map[string]any
		for {
			left = watcher.expect("member_left")
			if left["userID"] == "silent" {
				break
			}
			watcher.usable() // keep the watcher itself alive
		}
		if left["reason"] != "timeout" {
			t.Errorf("reason: got %v; want timeout", left["reason"])
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("removed after %v; want about the 1s timeout", d)
		}
		if err := ts.Rooms.Touch("hb", "alive", nil); err != nil {
			t.Errorf("alive member: got %v; want still in the room", err)
		}
	})
}

func TestJoinTimeout(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, false, func(c *config.Config) { c.JoinTimeout = 300 * time.Millisecond })
	idle := dial(t, ts)
	joined := dial(t, ts)
	joined.join(ts, "jt", "alice")

	_ = idle.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := idle.ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != closeJoinTimeout || !strings.Contains(ce.Text, "join") {
		t.Fatalf("a socket that never joins: got %v; want close %d naming join", err, closeJoinTimeout)
	}
	time.Sleep(300 * time.Millisecond) // past the timeout for the joined one too
	joined.usable()
	if got := ts.Server.Stats().JoinTimeouts; got != 1 {
		t.Errorf("JoinTimeouts: got %d; want 1", got)
	}
}

func TestSDPLimits(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, true, func(c *config.Config) { c.MaxSDPBytes, c.MaxSDPMedia = 4096, 4 })
	c := dial(t, ts)
	c.join(ts, "sdp", "alice")
	media := func(n int) string {
		var b strings.Builder
		b.WriteString("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
		for range n {
			b.WriteString("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n")
		}
		return b.String()
	}
	tests := []struct {
		name, typ, target, sdp, want string
	}{
		{"offer too large", "offer", "publisher", strings.Repeat("a=x\r\n", 1000), "max_sdp_bytes"},
		{"offer with too many m-lines", "offer", "publisher", media(5), "max_sdp_media"},
		{"answer too large", "answer", "subscriber", strings.Repeat("a=x\r\n", 1000), "max_sdp_bytes"},
		{"answer with too many m-lines", "answer", "subscriber", media(5), "max_sdp_media"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c.send(map[string]any{"type": tc.typ, "target": tc.target, "sdp": tc.sdp})
			c.expectError(CodeBadSDP, tc.want)
			c.usable()
		})
	}
}
