package signaling

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/room"
)

var fzActionRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)

// fzAPIActions are the calls of docs/api.md; any other is a 404.
var fzAPIActions = map[string]bool{"get_login_info": true, "create_room": true, "enter_room": true, "quit_room": true,
	"heartbeat": true, "get_room_list": true, "get_room_members": true}

// fzRoomOf reads a roomID from an answer the way a client sends it back: as
// a roomRef (a number or a string).
func fzRoomOf(t *testing.T, what string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: roomID %v: %v", what, v, err)
	}
	var r roomRef
	if err := json.Unmarshal(b, &r); err != nil || !room.ValidName(string(r)) {
		t.Fatalf("%s: roomID %s: got %q, %v; want a valid room the API takes back", what, b, r, err)
	}
	return string(r)
}

// FuzzAPIRequest posts request bodies to the room HTTP API, one request a
// line: "ACTION BODY", where ACTION is an API call (get_login_info,
// create_room, ...) or "sys" for a system message to room r1. $SIGA, $KEYA
// and the other placeholders of FuzzWSMessages stand for real tokens.
// Every answer is one JSON object with a documented code (never 5000) and a
// message, 404 exactly for an unknown call; what a successful call returns
// works: a userSig verifies for its user, a privateMapKey for its user and
// the roomID as the client sends it back, a room list page is no longer
// than asked.
func FuzzAPIRequest(f *testing.F) {
	for _, seed := range []struct {
		lines     string
		openLogin bool
		bearer    bool
	}{
		{"get_login_info {\"userID\":\"alice\"}\nget_login_info \nget_login_info {\"userID\":\"bad user!\"}", true, false},
		{"create_room {\"userID\":\"alice\",\"roomInfo\":\"standup\"}\ncreate_room {\"userID\":\"bob\",\"roomID\":\"team-a\"}\n" +
			"enter_room {\"userID\":\"carol\",\"roomID\":\"team-a\"}\nenter_room {\"userID\":\"dave\",\"roomID\":12345}\n" +
			"get_room_members {\"roomID\":\"team-a\"}\nheartbeat {\"userID\":\"bob\",\"roomID\":\"team-a\"}\n" +
			"quit_room {\"userID\":\"bob\",\"roomID\":\"team-a\"}\nquit_room {\"userID\":\"bob\",\"roomID\":\"team-a\"}", true, false},
		{"get_room_list {\"index\":0,\"count\":1}\nget_room_list {\"index\":1,\"count\":9223372036854775807}\n" +
			"get_room_list {\"index\":-1}\nget_room_list {\"count\":1e30}\nget_room_list {\"index\":1.5}", true, false},
		{"enter_room {\"userID\":5,\"roomID\":1}\nenter_room {\"userID\":\"bob\",\"roomID\":-1}\nenter_room {\"userID\":\"bob\",\"roomID\":\" r1 \"}\n" +
			"create_room {\"userID\":\"bob\",\"roomInfo\":\"" + strings.Repeat("x", 1025) + "\"}\ndrop_tables {}\nget_login_info {\"userID\":", true, false},
		{"get_login_info {\"userID\":\"alice\",\"userSig\":\"$SIGA\"}\nenter_room {\"userID\":\"alice\",\"roomID\":\"r1\",\"userSig\":\"$SIGA\",\"privateMapKey\":\"$KEYA\"}\n" +
			"enter_room {\"userID\":\"bob\",\"roomID\":\"r1\",\"userSig\":\"$SIGB\",\"privateMapKey\":\"$KEYA\"}\n" +
			"get_room_list {\"userSig\":\"$SIGB\"}\ncreate_room {\"userID\":\"alice\"}", false, false},
		{"get_room_members {\"roomID\":\"r1\"}\nheartbeat {\"userID\":\"alice\",\"roomID\":\"r1\"}", false, true},
		{"sys {\"text\":\"maintenance at noon\",\"data\":{\"level\":\"info\"}}\nsys {\"data\":null}\nsys {\"text\":5}\nsys not json", true, false},
	} {
		f.Add([]byte(seed.lines), seed.openLogin, seed.bearer)
	}
	f.Fuzz(func(t *testing.T, data []byte, openLogin, bearer bool) {
		srv := fzServer(t, openLogin)
		defer srv.Close()
		mux := http.NewServeMux()
		srv.Register(mux)
		subst := strings.NewReplacer(fzTokenSet().subst...)
		lines := bytes.Split(data, []byte("\n"))
		if len(lines) > 32 {
			lines = lines[:32]
		}
		for _, line := range lines {
			action, body, _ := strings.Cut(string(line), " ")
			body = subst.Replace(body)
			if !fzActionRE.MatchString(action) {
				action = "bogus"
			}
			target := "/weapp/webrtc_room/" + action
			if action == "sys" {
				target = "/api/rooms/r1/messages"
			}
			req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
			req.Host = "rooms.example.test"
			switch {
			case action == "sys":
				req.Header.Set("Authorization", "Bearer "+fzSecret)
			case bearer:
				req.Header.Set("Authorization", "Bearer "+subst.Replace("$SIGA"))
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			what := action + " " + body
			m := fzDecodeObject(t, what, rec.Body.Bytes())
			// An unknown call is told so with a 404 (its code is 5000, as it always was).
			code := fzCheckCode(t, what, m, !fzAPIActions[action] && action != "sys")
			if action == "sys" {
				fzCheckSystemMessage(t, what, rec.Code, code, m)
				continue
			}
			// A known call answers 200; an unknown one 404, unless its body is refused first.
			switch {
			case fzAPIActions[action] && rec.Code == http.StatusOK:
			case !fzAPIActions[action] && code != CodeOK && (rec.Code == http.StatusNotFound || code != CodeInternal):
			default:
				t.Fatalf("%s: status %d with code %d; want 200 for a call of docs/api.md, 404 for another", what, rec.Code, code)
			}
			if code != CodeOK {
				continue
			}
			fzCheckAPIResult(t, action, what, m, body)
		}
	})
}

// fzCheckSystemMessage: a system message is 200 with an id, or refused with a status to match.
func fzCheckSystemMessage(t *testing.T, what string, status int, code int64, m map[string]any) {
	t.Helper()
	switch {
	case code == CodeOK && status == http.StatusOK:
		if _, ok := m["id"].(json.Number); !ok {
			t.Fatalf("%s: got no message id; want one (%v)", what, m)
		}
	case code != CodeOK && (status == http.StatusBadRequest || status == http.StatusNotFound):
	default:
		t.Fatalf("%s: status %d with code %d; want 200 with 0 or 400/404 with an error", what, status, code)
	}
}

// fzCheckAPIResult checks what a successful API call hands back.
func fzCheckAPIResult(t *testing.T, action, what string, m map[string]any, body string) {
	t.Helper()
	is := fzTokenSet().issuer
	user, _ := m["userID"].(string)
	switch action {
	case "get_login_info":
		sig, _ := m["userSig"].(string)
		if !room.ValidName(user) {
			t.Fatalf("%s: userID %q; want a valid one", what, user)
		}
		if _, err := is.VerifyUserSig(sig, user); err != nil {
			t.Fatalf("%s: the userSig handed out does not verify for %q: %v", what, user, err)
		}
	case "create_room", "enter_room":
		name := fzRoomOf(t, what, m["roomID"])
		key, _ := m["privateMapKey"].(string)
		c, err := is.VerifyPrivateMapKey(key, user, name)
		if err != nil {
			t.Fatalf("%s: the privateMapKey handed out does not verify for %q in %q: %v", what, user, name, err)
		}
		if err := c.Require(auth.PrivJoin); err != nil {
			t.Fatalf("%s: privateMapKey: got %v; want the join privilege", what, err)
		}
	case "get_room_list":
		var req apiRequest
		_ = json.Unmarshal([]byte(body), &req)
		limit := req.Count
		if limit == 0 {
			limit = defaultListCnt
		}
		rooms, _ := m["rooms"].([]any)
		total, _ := m["total"].(json.Number)
		n, err := strconv.Atoi(string(total))
		if err != nil || len(rooms) > limit || len(rooms) > n {
			t.Fatalf("%s: got %d rooms of %v; want at most %d and no more than the total", what, len(rooms), total, limit)
		}
		for _, r := range rooms {
			rm, _ := r.(map[string]any)
			fzRoomOf(t, what, rm["roomID"])
		}
	case "get_room_members":
		if _, ok := m["members"].([]any); !ok {
			t.Fatalf("%s: members %v; want a list", what, m["members"])
		}
		fzRoomOf(t, what, m["roomID"])
	}
}

// FuzzRoomRef decodes a room as the WebSocket (room) and the API (roomID)
// take it: both agree; a number becomes its canonical decimal (0 to
// 4294967295), a string is trimmed; and the value renders back (as the API
// answers it, roomIDValue) to JSON that decodes to the same room.
func FuzzRoomRef(f *testing.F) {
	for _, s := range []string{`"r1"`, `12345`, `" team-a "`, `null`, `4294967295`, `4294967296`, `-1`, `1.5`, `1e3`,
		`"007"`, `007`, `true`, `{}`, `"\u00e9t\u00e9"`, `"\ud800"`, `0`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ws inMsg
		var api apiRequest
		errWS := json.Unmarshal(append(append([]byte(`{"room":`), b...), '}'), &ws)
		errAPI := json.Unmarshal(append(append([]byte(`{"roomID":`), b...), '}'), &api)
		if (errWS == nil) != (errAPI == nil) || ws.Room != api.RoomID {
			t.Fatalf("%q: WebSocket got %q, %v; API got %q, %v; want the same", b, ws.Room, errWS, api.RoomID, errAPI)
		}
		var r roomRef
		if err := json.Unmarshal(b, &r); err != nil {
			return
		}
		if r != ws.Room {
			t.Fatalf("%q: got %q alone and %q in a message; want the same", b, r, ws.Room)
		}
		if s := string(r); strings.TrimSpace(s) != s {
			t.Fatalf("%q: got %q; want it trimmed", b, s)
		}
		if t0 := bytes.TrimSpace(b); len(t0) > 0 && (t0[0] == '-' || (t0[0] >= '0' && t0[0] <= '9')) {
			u, err := strconv.ParseUint(string(r), 10, 32)
			if err != nil || strconv.FormatUint(u, 10) != string(r) {
				t.Fatalf("%q: got %q; want a canonical number 0-4294967295", b, r)
			}
		}
		for _, v := range []any{string(r), roomIDValue(string(r))} {
			out, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("%q: marshal %v: %v", b, v, err)
			}
			var back roomRef
			if err := json.Unmarshal(out, &back); err != nil || back != r {
				t.Fatalf("%q: %q renders as %s, which decodes to %q, %v; want %q", b, r, out, back, err, r)
			}
		}
	})
}
