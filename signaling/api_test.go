package signaling

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/config"
)

func post(t *testing.T, url, action, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url+"/weapp/webrtc_room/"+action, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s: answer is not JSON: %v", action, err)
	}
	return resp.StatusCode, m
}

func code(m map[string]any) int {
	f, _ := m["code"].(float64)
	return int(f)
}

func TestAPIOpenLogin(t *testing.T) {
	ts := startServer(t, false, func(c *config.Config) { c.RoomCapacity = 2 })
	// A room made through the API, then used by the cases below.
	_, created := post(t, ts.URL, "create_room", `{"userID":"alice","roomInfo":"standup"}`)
	if code(created) != 0 {
		t.Fatalf("create_room: %v", created)
	}
	roomID, ok := created["roomID"].(float64)
	if !ok {
		t.Fatalf("roomID %v: want a number", created["roomID"])
	}
	rid := strconv.FormatFloat(roomID, 'f', 0, 64)
	long := strings.Repeat("x", 1025)
	tests := []struct {
		name, action, body string
		wantCode           int
		wantKeys           []string
	}{
		{"login with user", "get_login_info", `{"userID":"bob"}`, 0, []string{"userSig", "sdkAppID", "accountType", "userID", "iceServers"}},
		{"login without user", "get_login_info", `{}`, 0, []string{"userSig", "userID"}},
		{"login with empty body", "get_login_info", ``, 0, []string{"userSig", "userID"}},
		{"login bad user", "get_login_info", `{"userID":"bad user!"}`, 7, nil},
		{"malformed json", "get_login_info", `{"userID":`, 4001, nil},
		{"wrong field type", "enter_room", `{"userID":5,"roomID":1}`, 4001, nil},
		{"create missing user", "create_room", `{"roomInfo":"x"}`, 2, nil},
		{"create roomInfo too long", "create_room", `{"userID":"bob","roomInfo":"` + long + `"}`, 11, nil},
		{"create named room", "create_room", `{"userID":"bob","roomID":"team-a"}`, 0, []string{"roomID", "privateMapKey"}},
		{"create duplicate name", "create_room", `{"userID":"bob","roomID":"team-a"}`, 4001, nil},
		{"enter missing room", "enter_room", `{"userID":"bob"}`, 2, nil},
		{"enter no such room", "enter_room", `{"userID":"bob","roomID":4242}`, 3, nil},
		{"enter ok", "enter_room", `{"userID":"bob","roomID":` + rid + `}`, 0, []string{"privateMapKey", "roomID", "userID"}},
		{"enter again ok", "enter_room", `{"userID":"bob","roomID":` + rid + `}`, 0, []string{"privateMapKey"}},
		{"enter full", "enter_room", `{"userID":"carol","roomID":` + rid + `}`, 5001, nil},
		{"heartbeat ok", "heartbeat", `{"userID":"bob","roomID":` + rid + `}`, 0, nil},
		{"heartbeat not member", "heartbeat", `{"userID":"dave","roomID":` + rid + `}`, 3, nil},
		{"heartbeat missing", "heartbeat", `{"userID":"bob"}`, 2, nil},
		{"members", "get_room_members", `{"roomID":` + rid + `}`, 0, []string{"members"}},
		{"members no room", "get_room_members", `{"roomID":"nope"}`, 3, nil},
		{"list", "get_room_list", `{"index":0,"count":10}`, 0, []string{"rooms"}},
		{"list past the end", "get_room_list", `{"index":1000000,"count":100}`, 0, []string{"rooms", "total"}},
		{"list with no count", "get_room_list", `{"index":0}`, 0, []string{"rooms", "total"}},
		{"list with a huge count", "get_room_list", `{"index":1,"count":9223372036854775807}`, 2, []string{"count"}},
		{"list with a count past int64", "get_room_list", `{"index":1,"count":1e30}`, 2, []string{"count"}},
		{"list with a negative count", "get_room_list", `{"index":0,"count":-1}`, 2, []string{"count"}},
		{"list with a count over 100", "get_room_list", `{"index":0,"count":101}`, 2, []string{"count"}},
		{"list with a negative index", "get_room_list", `{"index":-1,"count":10}`, 2, []string{"index"}},
		{"list with a huge index", "get_room_list", `{"index":9223372036854775807,"count":10}`, 2, []string{"index"}},
		{"list with a fractional index", "get_room_list", `{"index":1.5,"count":10}`, 2, []string{"index"}},
		{"quit", "quit_room", `{"userID":"bob","roomID":` + rid + `}`, 0, nil},
		{"quit twice", "quit_room", `{"userID":"bob","roomID":` + rid + `}`, 3, nil},
		{"negative roomID", "enter_room", `{"userID":"bob","roomID":-1}`, 4001, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, m := post(t, ts.URL, tc.action, tc.body)
			if got := code(m); got != tc.wantCode {
				t.Fatalf("code: got %d; want %d (%v)", got, tc.wantCode, m)
			}
			if msg, _ := m["message"].(string); msg == "" {
				t.Errorf("message: got empty; want a reason")
			}
			for _, k := range tc.wantKeys {
				if tc.wantCode != 0 { // a refusal names the field
					if msg, _ := m["message"].(string); !strings.Contains(msg, k) {
						t.Errorf("message: got %q; want it to name %q", msg, k)
					}
					continue
				}
				if _, ok := m[k]; !ok {
					t.Errorf("key %q: got missing; want present in %v", k, m)
				}
			}
		})
	}
	t.Run("members lists alice", func(t *testing.T) {
		_, m := post(t, ts.URL, "get_room_members", `{"roomID":`+rid+`}`)
		b, _ := json.Marshal(m["members"])
		if !bytes.Contains(b, []byte(`"alice"`)) {
			t.Errorf("members: got %s; want alice", b)
		}
	})
	t.Run("unknown action", func(t *testing.T) {
		status, m := post(t, ts.URL, "drop_tables", `{}`)
		if status != http.StatusNotFound || code(m) == 0 {
			t.Errorf("got %d %v; want 404 with an error code", status, m)
		}
	})
	t.Run("GET refused", func(t *testing.T) {
		resp, err := http.Get(ts.URL + "/weapp/webrtc_room/get_login_info")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("status: got %d; want 405", resp.StatusCode)
		}
	})
	t.Run("CORS preflight", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodOptions, ts.URL+"/weapp/webrtc_room/get_login_info", nil)
		req.Header.Set("Origin", "https://example.org")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://example.org" {
			t.Errorf("allow-origin: got %q; want the origin", got)
		}
	})
}

func TestAPIClosedLogin(t *testing.T) {
	ts := startServer(t, false, func(c *config.Config) { c.OpenLogin = false })
	sig := ts.userSig(t, "alice")
	key, _ := ts.Issuer.PrivateMapKey("alice", "r1", auth.PrivAll, time.Hour)
	keyNoJoin, _ := ts.Issuer.PrivateMapKey("alice", "r1", auth.PrivSendAudio, time.Hour)
	other, _ := auth.NewIssuer([]byte("another-secret-another-secret!!"), 1, nil)
	forged, _ := other.UserSig("alice", time.Hour)
	expiredIssuer, _ := auth.NewIssuer([]byte(testSecret), 1, func() time.Time { return time.Now().Add(-2 * time.Hour) })
	expired, _ := expiredIssuer.UserSig("alice", time.Hour)
	post(t, ts.URL, "create_room", `{"userID":"alice","roomID":"r1","userSig":"`+sig+`"}`)
	tests := []struct {
		name, action, body string
		wantCode           int
		wantInMessage      string
	}{
		{"login needs sig", "get_login_info", `{"userID":"alice"}`, 4010, "open_login is off"},
		{"login with sig", "get_login_info", `{"userID":"alice","userSig":"` + sig + `"}`, 0, ""},
		{"forged sig", "get_login_info", `{"userID":"alice","userSig":"` + forged + `"}`, 4010, "signature"},
		{"expired sig", "get_login_info", `{"userID":"alice","userSig":"` + expired + `"}`, 4010, "expired"},
		{"sig of another user", "get_login_info", `{"userID":"bob","userSig":"` + sig + `"}`, 4010, "another user"},
		{"list needs sig", "get_room_list", `{}`, 4010, "userSig"},
		{"enter needs key", "enter_room", `{"userID":"alice","roomID":"r1","userSig":"` + sig + `"}`, 4010, "privateMapKey"},
		{"enter key wrong room", "enter_room", `{"userID":"alice","roomID":"r2","userSig":"` + sig + `","privateMapKey":"` + key + `"}`, 4010, "another room"},
		{"enter key without join", "enter_room", `{"userID":"alice","roomID":"r1","userSig":"` + sig + `","privateMapKey":"` + keyNoJoin + `"}`, 4030, "join room"},
		{"enter ok", "enter_room", `{"userID":"alice","roomID":"r1","userSig":"` + sig + `","privateMapKey":"` + key + `"}`, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, m := post(t, ts.URL, tc.action, tc.body)
			if got := code(m); got != tc.wantCode {
				t.Fatalf("code: got %d; want %d (%v)", got, tc.wantCode, m)
			}
			if msg, _ := m["message"].(string); !strings.Contains(msg, tc.wantInMessage) {
				t.Errorf("message: got %q; want it to contain %q", msg, tc.wantInMessage)
			}
		})
	}
	t.Run("bearer header", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/weapp/webrtc_room/get_room_list", strings.NewReader(`{"userID":"alice"}`))
		req.Header.Set("Authorization", "Bearer "+sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		if code(m) != 0 {
			t.Errorf("got %v; want code 0", m)
		}
	})
}

// TestOrigins: with production on and allowed_origins unset, only the
// server's own origin may call the API and open /ws; configured origins are
// allowed; dev mode allows any.
func TestOrigins(t *testing.T) {
	tests := []struct {
		name       string
		production bool
		allowed    []string
		origin     string // "" : the server's own, filled in below
		want       bool
	}{
		{"dev mode, any origin", false, nil, "https://elsewhere.example", true},
		{"production, another origin", true, nil, "https://elsewhere.example", false},
		{"production, own origin", true, nil, "", true},
		{"production, a configured origin", true, []string{"https://app.example"}, "https://app.example", true},
		{"production, not the configured one", true, []string{"https://app.example"}, "https://elsewhere.example", false},
		{"production, any on purpose", true, []string{"*"}, "https://elsewhere.example", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, false, func(c *config.Config) {
				c.Production, c.AllowedOrigins = tc.production, tc.allowed
				if tc.production {
					c.OpenLogin, c.Secret = false, testSecret
				}
			})
			origin := tc.origin
			if origin == "" {
				origin = ts.URL // http://127.0.0.1:port: the origin of a page it served
			}
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/weapp/webrtc_room/get_room_list", strings.NewReader(`{}`))
			req.Header.Set("Origin", origin)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.StatusCode != http.StatusForbidden; got != tc.want {
				t.Errorf("API from %s: got status %d; want allowed %v", origin, resp.StatusCode, tc.want)
			}
			h := http.Header{"Origin": {origin}}
			ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws", h)
			if ws != nil {
				ws.Close()
			}
			if got := err == nil; got != tc.want {
				status := 0
				if resp != nil {
					status = resp.StatusCode
				}
				t.Errorf("/ws from %s: got opened %v (status %d); want %v", origin, got, status, tc.want)
			}
		})
	}
}
