package signaling

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/openroom/openroom/config"
)

// fakePlacer places rooms from a table; a room not in it lives here.
type fakePlacer struct {
	mu      sync.Mutex
	homes   map[string]string // room -> base URL ("" here)
	err     error
	asked   int
	full    bool // this node is full
	joining []bool
}

func (p *fakePlacer) Place(_ context.Context, room string, joining bool) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked++
	p.joining = append(p.joining, joining)
	return p.homes[room], p.err
}

func (p *fakePlacer) Full() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.full
}

// TestJoinOnAFullNode: a join for a room open here on a full node asks the
// cluster where to go (the room may span nodes); if the cluster cannot
// say, the member is served here all the same.
func TestJoinOnAFullNode(t *testing.T) {
	t.Parallel()
	placer := &fakePlacer{homes: map[string]string{}}
	ts := startServer(t, false, nil, func(o *Options) { o.Placer = placer })
	a := dial(t, ts)
	a.send(map[string]any{"type": "join", "room": "webinar", "userSig": ts.userSig(t, "a")})
	a.expect("joined")
	placer.mu.Lock()
	placer.full, placer.asked, placer.joining = true, 0, nil
	placer.homes["webinar"] = "http://10.0.0.3:8080" // a node with room
	placer.mu.Unlock()
	b := dial(t, ts)
	b.send(map[string]any{"type": "join", "room": "webinar", "userSig": ts.userSig(t, "b")})
	if m := b.expect("redirect"); m["url"] != "ws://10.0.0.3:8080/ws" {
		t.Errorf("redirect: got %v; want ws://10.0.0.3:8080/ws", m)
	}
	placer.mu.Lock()
	placer.err = ErrUnplaced
	placer.mu.Unlock()
	c := dial(t, ts)
	c.send(map[string]any{"type": "join", "room": "webinar", "userSig": ts.userSig(t, "c")})
	c.expect("joined") // Redis away: served here, over capacity
	placer.mu.Lock()
	defer placer.mu.Unlock()
	if placer.asked != 2 || !placer.joining[0] || !placer.joining[1] {
		t.Errorf("placer: asked %d times, joining %v; want 2 joins", placer.asked, placer.joining)
	}
}

func TestJoinRedirect(t *testing.T) {
	t.Parallel()
	placer := &fakePlacer{homes: map[string]string{"elsewhere": "http://10.0.0.2:8080", "tls": "https://node3.example.com/base/"}}
	ts := startServer(t, false, nil, func(o *Options) { o.Placer = placer })
	tests := []struct {
		name, room, want string // want: the redirect URL, "" for joined here
	}{
		{name: "a room that lives here", room: "here"},
		{name: "a room on another node", room: "elsewhere", want: "ws://10.0.0.2:8080/ws"},
		{name: "a node behind https and a path", room: "tls", want: "wss://node3.example.com/base/ws"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, ts)
			c.send(map[string]any{"type": "join", "room": tt.room, "userSig": ts.userSig(t, "lei")})
			if tt.want == "" {
				c.expect("joined")
				return
			}
			m := c.expect("redirect")
			if m["url"] != tt.want || m["room"] != tt.room {
				t.Errorf("redirect: got %v; want url %q, room %q", m, tt.want, tt.room)
			}
			if ts.Rooms.Exists(tt.room) {
				t.Errorf("room %q was opened here; want it left to its node", tt.room)
			}
			c.usable() // the socket stays: the client closes it
		})
	}
}

func TestJoinUnplaced(t *testing.T) {
	t.Parallel()
	placer := &fakePlacer{}
	ts := startServer(t, false, nil, func(o *Options) { o.Placer = placer })
	// A room open here goes on without asking the cluster.
	a := dial(t, ts)
	a.send(map[string]any{"type": "join", "room": "open", "userSig": ts.userSig(t, "a")})
	a.expect("joined")
	placer.mu.Lock()
	placer.err, placer.asked = errors.New("dial tcp 127.0.0.1:6379: connection refused"), 0
	placer.mu.Unlock()
	b := dial(t, ts)
	b.send(map[string]any{"type": "join", "room": "open", "userSig": ts.userSig(t, "b")})
	b.expect("joined")
	// A new room cannot be placed: a clear error, and the socket stays usable.
	c := dial(t, ts)
	c.send(map[string]any{"type": "join", "room": "new", "userSig": ts.userSig(t, "c")})
	c.expectError(CodeUnplaced, "Redis is unreachable")
	c.usable()
	placer.mu.Lock()
	defer placer.mu.Unlock()
	if placer.asked != 1 {
		t.Errorf("the cluster was asked %d times; want once (for the new room only)", placer.asked)
	}
}

func TestJoinRedirectNeedsAToken(t *testing.T) {
	t.Parallel()
	placer := &fakePlacer{homes: map[string]string{"elsewhere": "http://10.0.0.2:8080"}}
	ts := startServer(t, false, func(c *config.Config) { c.OpenLogin = false }, func(o *Options) { o.Placer = placer })
	c := dial(t, ts)
	c.send(map[string]any{"type": "join", "room": "elsewhere", "userSig": "forged"})
	c.expectError(CodeBadToken, "userSig")
	placer.mu.Lock()
	defer placer.mu.Unlock()
	if placer.asked != 0 {
		t.Errorf("the cluster was asked for a member without a valid token; want not")
	}
}

func TestWSURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ base, want string }{
		{"http://10.0.0.2:8080", "ws://10.0.0.2:8080/ws"},
		{"https://n.example.com/", "wss://n.example.com/ws"},
		{"https://n.example.com/rooms?x=1", "wss://n.example.com/rooms/ws"},
		{"ftp://n.example.com", ""},
		{"10.0.0.2:8080", ""},
	}
	for _, tt := range tests {
		got, err := wsURL(tt.base)
		if tt.want == "" {
			if !errors.Is(err, ErrUnplaced) {
				t.Errorf("wsURL(%q): got %q, %v; want ErrUnplaced", tt.base, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("wsURL(%q) = %q, %v; want %q", tt.base, got, err, tt.want)
		}
	}
}

// TestRoomCallsForwarded: create_room, enter_room, quit_room and heartbeat
// for a room that lives on another node run there, and their answers come
// back as that node gave them; a forwarded call is never passed on again.
func TestRoomCallsForwarded(t *testing.T) {
	t.Parallel()
	home := startServer(t, false, nil)
	placer := &fakePlacer{homes: map[string]string{"far": home.URL, "loop": home.URL}}
	front := startServer(t, false, nil, func(o *Options) { o.Placer = placer })

	if _, m := post(t, front.URL, "create_room", `{"userID":"lei","roomID":"far","roomInfo":"math"}`); code(m) != 0 {
		t.Fatalf("create_room through the front node: got %v; want code 0", m)
	}
	if !home.Rooms.Exists("far") || front.Rooms.Exists("far") {
		t.Fatalf("room far: on its node %v, on the front node %v; want only on its node", home.Rooms.Exists("far"), front.Rooms.Exists("far"))
	}
	if _, m := post(t, front.URL, "enter_room", `{"userID":"han","roomID":"far"}`); code(m) != 0 {
		t.Fatalf("enter_room through the front node: got %v; want code 0", m)
	}
	if ms, _ := home.Rooms.Members("far"); len(ms) != 2 || ms[0].UserID != "han" || ms[1].UserID != "lei" {
		t.Errorf("members of far on its node: got %+v; want han and lei (its creator)", ms)
	}
	if _, m := post(t, front.URL, "heartbeat", `{"userID":"han","roomID":"far"}`); code(m) != 0 {
		t.Errorf("heartbeat through the front node: got %v; want code 0", m)
	}
	if _, m := post(t, front.URL, "quit_room", `{"userID":"han","roomID":"far"}`); code(m) != 0 {
		t.Errorf("quit_room through the front node: got %v; want code 0", m)
	}
	// The node's own answer comes back, refusals too.
	if _, m := post(t, front.URL, "quit_room", `{"userID":"han","roomID":"loop"}`); code(m) != CodeNoRoom {
		t.Errorf("quit_room of no room: got %v; want code %d from the room's node", m, CodeNoRoom)
	}
	// A call another node passed on is served where it lands.
	req, _ := http.NewRequest(http.MethodPost, front.URL+"/weapp/webrtc_room/create_room", strings.NewReader(`{"userID":"lei","roomID":"loop"}`))
	req.Header.Set(ForwardedHeader, "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !front.Rooms.Exists("loop") || home.Rooms.Exists("loop") {
		t.Errorf("a forwarded create_room: got it passed on again; want it served where it landed")
	}
}
