package signaling

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/config"
)

func strokeOp(id string) map[string]any {
	return map[string]any{"kind": "stroke", "id": id, "points": [][]float64{{0.1, 0.1}, {0.2, 0.3}}, "color": "#3366ff", "width": 4}
}

// boardMsgs are the board messages among msgs.
func boardMsgs(msgs []map[string]any) []map[string]any {
	var out []map[string]any
	for _, m := range msgs {
		if m["type"] == "board" {
			out = append(out, m)
		}
	}
	return out
}

// The whiteboard over the WebSocket: ops go to everyone with the room's seq,
// a receive-only member may not draw, bad ops are refused naming the field,
// late joiners and resumed members get the whole board, and the operator can
// read it over HTTP.
func TestBoardWS(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, false, func(c *config.Config) { c.Secret = testSecret })
	alice := dial(t, ts)
	joined := alice.join(ts, "board", "alice")
	if st := alice.expect("board_state"); st["seq"] != 0.0 || len(st["ops"].([]any)) != 0 {
		t.Fatalf("board_state of a new room: got %v; want seq 0, no ops", st)
	}
	viewer := dial(t, ts)
	key, err := ts.Issuer.PrivateMapKey("viewer", "board", auth.PrivJoin|auth.PrivReceiveAudio|auth.PrivReceiveVideo, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	viewer.send(map[string]any{"type": "join", "room": "board", "userSig": ts.userSig(t, "viewer"), "privateMapKey": key})
	viewer.expect("joined")
	viewer.expect("board_state")

	alice.send(map[string]any{"type": "board", "op": strokeOp("s1")})
	more := strokeOp("s1")
	more["points"] = [][]float64{{0.4, 0.4}}
	alice.send(map[string]any{"type": "board", "op": more})
	for _, c := range []*wsClient{alice, viewer} {
		got := boardMsgs(c.drain(200 * time.Millisecond))
		if len(got) != 2 || got[0]["seq"] != 1.0 || got[1]["seq"] != 2.0 || got[0]["userID"] != "alice" ||
			got[1]["op"].(map[string]any)["id"] != "s1" {
			t.Fatalf("board messages: got %v; want alice's two ops of s1 with seq 1 and 2", got)
		}
	}

	t.Run("receive-only member may not draw", func(t *testing.T) {
		viewer.send(map[string]any{"type": "board", "op": strokeOp("v1")})
		viewer.expectError(CodeForbidden, "send video (16) or send aux (64)")
		if got := boardMsgs(alice.drain(200 * time.Millisecond)); len(got) != 0 {
			t.Errorf("alice got %v; want nothing of the refused op", got)
		}
	})
	bad := []struct{ name, op, want string }{
		{"no op", `null`, "missing op"},
		{"bad color", `{"kind":"stroke","id":"x","points":[[0,0]],"color":"blue","width":2}`, "color"},
		{"point outside", `{"kind":"stroke","id":"x","points":[[2,0]],"color":"#000000","width":2}`, "points[0]"},
		{"erase nothing", `{"kind":"erase","target":"nope"}`, `target "nope"`},
	}
	for _, tt := range bad {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			alice.send(map[string]any{"type": "board", "op": json.RawMessage(tt.op)})
			alice.expectError(CodeMissingParam, tt.want)
			alice.usable()
		})
	}

	t.Run("a late joiner gets the board", func(t *testing.T) {
		bob := dial(t, ts)
		bob.join(ts, "board", "bob")
		st := bob.expect("board_state")
		if st["seq"] != 2.0 || len(st["ops"].([]any)) != 2 {
			t.Errorf("board_state: got %v; want seq 2 and both ops", st)
		}
	})

	t.Run("a resumed member gets the board, and no board op as a replay", func(t *testing.T) {
		token := joined["resumeToken"].(string)
		alice.drop()
		time.Sleep(200 * time.Millisecond)
		again := dial(t, ts)
		again.resume(token, seqOf(joined))
		again.expect("resumed")
		st := again.expect("board_state")
		if st["seq"] != 2.0 {
			t.Errorf("board_state after resume: got %v; want seq 2", st)
		}
		again.send(map[string]any{"type": "board", "op": map[string]any{"kind": "clear"}})
		got := boardMsgs(again.drain(200 * time.Millisecond))
		if len(got) != 1 || got[0]["seq"] != 3.0 {
			t.Errorf("after clear: got %v; want the clear with seq 3", got)
		}
	})

	t.Run("the operator reads the board over HTTP", func(t *testing.T) {
		for _, tt := range []struct {
			name, path, auth string
			want             int
		}{
			{"secret", "/api/rooms/board/board", "Bearer " + testSecret, http.StatusOK},
			{"no secret", "/api/rooms/board/board", "", http.StatusUnauthorized},
			{"no room", "/api/rooms/nope/board", "Bearer " + testSecret, http.StatusNotFound},
		} {
			req, _ := http.NewRequest("GET", ts.URL+tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s: GET %s: status %d; want %d (%v)", tt.name, tt.path, resp.StatusCode, tt.want, body)
			}
			if tt.want == http.StatusOK && (body["seq"] != 3.0 || len(body["ops"].([]any)) != 0) {
				t.Errorf("%s: got %v; want seq 3 and no ops after the clear", tt.name, body)
			}
		}
	})

	t.Run("rate limited like chat", func(t *testing.T) {
		c := dial(t, ts)
		c.join(ts, "board", "carol")
		for i := range boardBurst + 20 {
			c.send(map[string]any{"type": "board", "op": strokeOp("c" + strings.Repeat("x", i%3) + string(rune('a'+i%26)))})
		}
		c.expectError(CodeRateLimited, "board ops")
	})
}
