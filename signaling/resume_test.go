package signaling

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/openroom/openroom/config"
	"github.com/openroom/openroom/room"
)

// seqOf is a message's sequence number (0 for direct replies).
func seqOf(m map[string]any) uint64 {
	f, _ := m["seq"].(float64)
	return uint64(f)
}

// drain waits d, then returns everything that arrived before the reply to a
// heartbeat sent then (gorilla's read deadlines break the socket for good).
func (c *wsClient) drain(d time.Duration) []map[string]any {
	c.t.Helper()
	time.Sleep(d)
	c.send(map[string]any{"type": "heartbeat"})
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var out []map[string]any
	for {
		var m map[string]any
		if err := c.ws.ReadJSON(&m); err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if m["type"] == "heartbeat" {
			return out
		}
		out = append(out, m)
	}
}

// expectOneOf reads until a message of one of the types arrives.
func (c *wsClient) expectOneOf(types ...string) map[string]any {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var m map[string]any
		if err := c.ws.ReadJSON(&m); err != nil {
			c.t.Fatalf("waiting for %v: %v", types, err)
		}
		for _, t := range types {
			if m["type"] == t {
				return m
			}
		}
	}
}

// drop ends the socket without a leave, as a dead network does.
func (c *wsClient) drop() { _ = c.ws.UnderlyingConn().Close() }

func (c *wsClient) resume(token string, lastSeq uint64) {
	c.t.Helper()
	c.send(map[string]any{"type": "resume", "resumeToken": token, "lastSeq": lastSeq})
}

func TestResume(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, true, nil)

	alice := dial(t, ts)
	joined := alice.join(ts, "r", "alice")
	token, _ := joined["resumeToken"].(string)
	if len(token) < 20 {
		t.Fatalf("joined: resumeToken %q; want a token", token)
	}
	// chat_history follows joined, but on a loaded machine bob's member_joined
	// can come between them: wait for it, so that what the resume replays is known.
	alice.expect("chat_history")
	bob := dial(t, ts)
	bob.join(ts, "r", "bob")
	seen := alice.expect("member_joined")
	lastSeq := seqOf(seen)
	if lastSeq <= seqOf(joined) {
		t.Fatalf("seq: member_joined %d after joined %d; want increasing", lastSeq, seqOf(joined))
	}

	alice.drop()
	time.Sleep(200 * time.Millisecond) // the server notices the socket is gone
	carol := dial(t, ts)
	carol.join(ts, "r", "carol")
	bob.send(map[string]any{"type": "chat", "text": "while you were away"})

	again := dial(t, ts)
	again.resume(token, lastSeq)
	resumed := again.expect("resumed")
	next, _ := resumed["resumeToken"].(string)
	if next == "" || next == token {
		t.Errorf("resumed: resumeToken %q; want a new one", next)
	}
	var types []string
	prev := lastSeq
	for _, m := range again.drain(500 * time.Millisecond) {
		if s := seqOf(m); s != 0 {
			if s != prev+1 {
				t.Errorf("replay: seq %d after %d; want %d", s, prev, prev+1)
			}
			prev = s
		}
		types = append(types, m["type"].(string))
	}
	if got, want := strings.Join(types, ","), "member_joined,chat"; !strings.HasPrefix(got, want) {
		t.Errorf("replayed after resume: %s; want %s first", got, want)
	}
	for _, m := range bob.drain(300 * time.Millisecond) {
		if m["type"] == "member_left" || (m["type"] == "member_joined" && m["member"].(map[string]any)["userID"] == "alice") {
			t.Errorf("bob saw %v: the others must see nothing of a resume", m)
		}
	}
	again.send(map[string]any{"type": "chat", "text": "back"})
	for m := carol.expect("chat"); m["text"] != "back"; m = carol.expect("chat") {
		if m["from"] != "bob" {
			t.Errorf("carol got %v; want alice's chat after the resume", m)
		}
	}

	t.Run("a token works once", func(t *testing.T) {
		thief := dial(t, ts)
		thief.resume(token, lastSeq)
		thief.expectError(CodeResumeFailed, "join again")
		thief.usable()
	})
	t.Run("resume on a joined socket", func(t *testing.T) {
		carol.resume(next, 0)
		carol.expectError(CodeNotJoined, "already joined")
	})
	t.Run("lastSeq ahead of the server", func(t *testing.T) {
		c := dial(t, ts)
		c.resume(next, 1<<40)
		c.expectError(CodeResumeFailed, "ahead")
		// A refused resume does not spend the token.
		c.resume(next, prev)
		c.expect("resumed")
	})
	t.Run("missing token", func(t *testing.T) {
		c := dial(t, ts)
		c.send(map[string]any{"type": "resume"})
		c.expectError(CodeMissingParam, "resumeToken")
	})
}

func TestResumeAfterTimeout(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, false, func(c *config.Config) {
		c.MemberTimeout = time.Second
		c.PingInterval = 200 * time.Millisecond
	})
	alice := dial(t, ts)
	token := alice.join(ts, "t", "alice")["resumeToken"].(string)
	bob := dial(t, ts)
	bob.join(ts, "t", "bob")
	alice.drop()
	start := time.Now()
	left := bob.expect("member_left")
	if left["userID"] != "alice" || left["reason"] != "timeout" {
		t.Errorf("member_left: got %v; want alice, timeout", left)
	}
	if d := time.Since(start); d < 700*time.Millisecond {
		t.Errorf("alice left %v after her socket dropped; want the 1 s member timeout", d)
	}
	again := dial(t, ts)
	again.resume(token, 0)
	again.expectError(CodeResumeFailed, "timed out")
	again.join(ts, "t", "alice") // the normal way back
	if j := bob.expect("member_joined"); j["member"].(map[string]any)["userID"] != "alice" {
		t.Errorf("member_joined: got %v", j)
	}
}

func TestResumeReplacesAStaleSocket(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, false, nil)
	alice := dial(t, ts)
	token := alice.join(ts, "s", "alice")["resumeToken"].(string)
	// The server has not noticed the first socket is gone (a half-open TCP
	// connection): the resume takes over, and the old socket is closed.
	again := dial(t, ts)
	again.resume(token, 0)
	again.expect("resumed")
	alice.expect("kicked")
	_, _, err := alice.ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		t.Errorf("old socket: got %v; want closed", err)
	}
	again.usable()
	if err := ts.Rooms.Touch("s", "alice", nil); err != nil {
		t.Errorf("alice: %v; want still a member", err)
	}
}

// TestResumeChurn: 100 drops and resumes of a member with peer connections
// leave nothing running, and the member is the same throughout.
func TestResumeChurn(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, true, nil)
	watcher := dial(t, ts)
	watcher.join(ts, "c", "watcher")
	c := dial(t, ts)
	token := c.join(ts, "c", "alice")["resumeToken"].(string)
	watcher.expect("member_joined")
	var last uint64
	for i := range 100 {
		c.drop()
		c = dial(t, ts)
		c.resume(token, last)
		r := c.expectOneOf("resumed", "error")
		if r["type"] == "error" {
			t.Fatalf("resume %d: %v", i, r)
		}
		token, last = r["resumeToken"].(string), uint64(r["lastSeq"].(float64))
		if i%25 == 0 {
			c.usable()
		}
	}
	for _, m := range watcher.drain(300 * time.Millisecond) {
		if m["type"] == "member_left" || m["type"] == "member_joined" {
			t.Errorf("watcher saw %v during the churn", m)
		}
	}
	c.send(map[string]any{"type": "leave"})
	if l := watcher.expect("member_left"); l["userID"] != "alice" || l["reason"] != "left" {
		t.Errorf("member_left: got %v; want alice, left", l)
	}
	eventually(t, 5*time.Second, "no resumable sessions of alice", func() bool { return ts.Server.sessions.len() == 1 })
}

func TestSessionBacklog(t *testing.T) {
	t.Parallel()
	srv := New(Options{})
	s := &session{srv: srv, log: srv.log, token: "t"}
	for range replayBacklog + 10 {
		s.out(map[string]any{"type": "chat"})
	}
	if len(s.backlog) != replayBacklog || s.backlog[0].seq != 11 {
		t.Fatalf("backlog: %d messages from seq %d; want %d from 11", len(s.backlog), s.backlog[0].seq, replayBacklog)
	}
	c := &conn{srv: srv, log: srv.log, send: make(chan []byte, 1024), kick: make(chan struct{})}
	if _, err := s.attach(c, "t", 5); !errors.Is(err, ErrResume) {
		t.Errorf("resume from seq 5: got %v; want ErrResume (seq 6-10 are gone)", err)
	}
	if _, err := s.attach(c, "t", 10); err != nil {
		t.Fatalf("resume from seq 10: %v", err)
	}
	if got := len(c.send); got != 1+replayBacklog {
		t.Errorf("queued %d; want resumed + %d", got, replayBacklog)
	}
	for _, tt := range []struct{ in, want string }{
		{`{"type":"x"}`, `{"seq":7,"type":"x"}`},
		{`{}`, `{"seq":7}`},
		{`[1]`, `[1]`},
	} {
		if got := string(withSeq([]byte(tt.in), 7)); got != tt.want {
			t.Errorf("withSeq(%s) = %s; want %s", tt.in, got, tt.want)
		}
	}
}

func TestResumeWhileDraining(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, false, nil)
	alice := dial(t, ts)
	token := alice.join(ts, "d", "alice")["resumeToken"].(string)
	alice.drop()
	ts.Server.Drain(time.Second)
	again := dial(t, ts)
	again.resume(token, 0)
	again.expectError(CodeShuttingDown, "shutting down")
}

// A room event goes to every member: it is marshaled once, and every
// member's backlog keeps the same bytes, each member's socket getting its
// own seq.
func TestRoomEventSharedByBacklogs(t *testing.T) {
	t.Parallel()
	srv := New(Options{})
	sessions := make([]*session, 3)
	conns := make([]*conn, 3)
	for i := range sessions {
		conns[i] = &conn{srv: srv, log: srv.log, send: make(chan []byte, 16), kick: make(chan struct{})}
		sessions[i] = &session{srv: srv, log: srv.log, token: "t", conn: conns[i]}
		for range i { // a different seq on each
			sessions[i].out(map[string]any{"type": "heartbeat"})
			<-conns[i].send
		}
	}
	ev := room.Event{Type: "member_joined", Member: &room.MemberInfo{UserID: "alice"}}
	for _, s := range sessions {
		s.Notify(ev)
	}
	first := sessions[0].backlog[len(sessions[0].backlog)-1].b
	for i, s := range sessions {
		b := s.backlog[len(s.backlog)-1].b
		if &b[0] != &first[0] {
			t.Errorf("session %d keeps its own copy of the event; want the shared bytes", i)
		}
		var got map[string]any
		if err := json.Unmarshal(<-conns[i].send, &got); err != nil {
			t.Fatal(err)
		}
		if got["seq"] != float64(i+1) || got["type"] != "member_joined" {
			t.Errorf("session %d sent %v; want seq %d, member_joined", i, got, i+1)
		}
	}
	// The same content from another broadcast is marshaled again, and says the same.
	again := room.Event{Type: "member_joined", Member: &room.MemberInfo{UserID: "alice"}}
	sessions[0].Notify(again)
	if b := sessions[0].backlog[len(sessions[0].backlog)-1].b; string(b) != string(first) {
		t.Errorf("got %s; want %s", b, first)
	}
}
