package signaling

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/config"
)

// chats reads n chat messages (skipping other types).
func (c *wsClient) chats(n int) []map[string]any {
	c.t.Helper()
	var out []map[string]any
	for len(out) < n {
		out = append(out, c.expect("chat"))
	}
	return out
}

func texts(ms []map[string]any) []string {
	var s []string
	for _, m := range ms {
		s = append(s, fmt.Sprint(m["text"]))
	}
	return s
}

func TestChat(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, false, nil)
	alice, bob := dial(t, ts), dial(t, ts)
	alice.join(ts, "chat", "alice")
	alice.expect("chat_history")
	bob.join(ts, "chat", "bob")
	bob.expect("chat_history")

	t.Run("ordered and stamped, echoed to the sender with clientID", func(t *testing.T) {
		for i := 0; i < 5; i++ {
			alice.send(map[string]any{"type": "chat", "text": fmt.Sprintf("m%d", i), "clientID": fmt.Sprintf("c%d", i)})
		}
		got := bob.chats(5)
		if want := "[m0 m1 m2 m3 m4]"; fmt.Sprint(texts(got)) != want {
			t.Fatalf("bob got %v; want %s", texts(got), want)
		}
		for i, m := range got {
			if m["from"] != "alice" || m["time"] == nil || m["clientID"] != nil {
				t.Errorf("message %d: got %v; want from alice, a time, no clientID", i, m)
			}
			if i > 0 && m["id"].(float64) <= got[i-1]["id"].(float64) {
				t.Errorf("ids: got %v after %v; want increasing", m["id"], got[i-1]["id"])
			}
		}
		echo := alice.chats(5)
		if echo[4]["clientID"] != "c4" {
			t.Errorf("echo: got clientID %v; want c4", echo[4]["clientID"])
		}
	})
	t.Run("custom data", func(t *testing.T) {
		alice.send(map[string]any{"type": "chat", "data": map[string]any{"kind": "raise-hand"}})
		m := bob.expect("chat")
		if d, _ := m["data"].(map[string]any); d["kind"] != "raise-hand" {
			t.Errorf("data: got %v; want {kind: raise-hand}", m["data"])
		}
		alice.expect("chat")
	})
	t.Run("private message reaches only its target", func(t *testing.T) {
		carol := dial(t, ts)
		carol.join(ts, "chat", "carol")
		carol.expect("chat_history")
		alice.send(map[string]any{"type": "chat", "text": "psst", "to": "bob"})
		alice.send(map[string]any{"type": "chat", "text": "all"})
		if got := texts(bob.chats(2)); fmt.Sprint(got) != "[psst all]" {
			t.Errorf("bob: got %v; want [psst all]", got)
		}
		if got := texts(carol.chats(1)); fmt.Sprint(got) != "[all]" {
			t.Errorf("carol: got %v; want only [all]", got)
		}
		alice.chats(2)
		alice.send(map[string]any{"type": "chat", "text": "x", "to": "nobody"})
		alice.expectError(CodeNoRoom, "nobody")
	})
	t.Run("history for a late joiner, privates filtered", func(t *testing.T) {
		dave := dial(t, ts)
		dave.join(ts, "chat", "dave")
		h := dave.expect("chat_history")
		msgs := h["messages"].([]any)
		var got []string
		for _, m := range msgs {
			got = append(got, fmt.Sprint(m.(map[string]any)["text"]))
		}
		if strings.Contains(fmt.Sprint(got), "psst") || len(got) < 7 || got[0] != "m0" {
			t.Errorf("history: got %v; want m0.. without the private psst", got)
		}
	})
	t.Run("bad messages keep the socket", func(t *testing.T) {
		tests := []struct {
			name string
			msg  map[string]any
			code int
			text string
		}{
			{"empty", map[string]any{"type": "chat"}, CodeBadMessage, "neither text nor data"},
			{"too big", map[string]any{"type": "chat", "text": strings.Repeat("x", 5000)}, CodeTooLarge, "4096"},
			{"wrong type", map[string]any{"type": "chat", "text": 5}, CodeBadMessage, "malformed"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				alice.send(tc.msg)
				alice.expectError(tc.code, tc.text)
				alice.usable()
			})
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		eve := dial(t, ts)
		eve.join(ts, "chat2", "eve")
		for i := 0; i < 40; i++ {
			eve.send(map[string]any{"type": "chat", "text": "spam"})
		}
		eve.expectError(CodeRateLimited, "too many chat messages")
		eve.usable()
	})
	t.Run("no reading or sending without joining", func(t *testing.T) {
		mallory := dial(t, ts)
		mallory.send(map[string]any{"type": "chat", "text": "hi"})
		mallory.expectError(CodeNotJoined, "join first")
		k, _ := ts.Issuer.PrivateMapKey("mallory", "chat", auth.PrivSendAudio, time.Hour)
		mallory.send(map[string]any{"type": "join", "room": "chat", "userSig": ts.userSig(t, "mallory"), "privateMapKey": k})
		mallory.expectError(CodeForbidden, "join room")
	})
}

func TestSystemMessage(t *testing.T) {
	ts := startServer(t, false, func(c *config.Config) { c.Secret = testSecret })
	alice := dial(t, ts)
	alice.join(ts, "sys", "alice")
	alice.expect("chat_history")
	post := func(roomName, auth, body string) int {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/rooms/"+roomName+"/messages", strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tests := []struct {
		name, room, auth, body string
		want                   int
	}{
		{"no secret", "sys", "", `{"text":"hi"}`, http.StatusUnauthorized},
		{"wrong secret", "sys", "nope", `{"text":"hi"}`, http.StatusUnauthorized},
		{"no room", "ghost", testSecret, `{"text":"hi"}`, http.StatusNotFound},
		{"bad body", "sys", testSecret, `{"text":`, http.StatusBadRequest},
		{"ok", "sys", testSecret, `{"text":"maintenance at 5"}`, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := post(tc.room, tc.auth, tc.body); got != tc.want {
				t.Errorf("status: got %d; want %d", got, tc.want)
			}
		})
	}
	m := alice.expect("chat")
	if m["system"] != true || m["text"] != "maintenance at 5" || m["from"] != "" {
		t.Errorf("system message: got %v; want system, the text, from empty", m)
	}
}
