package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/openroom/openroom/cluster"
	"github.com/openroom/openroom/internal/testutil"
)

// clusterNode is one openroom process of a test cluster, run in-process.
type clusterNode struct {
	addr   string // host:port of its HTTP listener
	cancel context.CancelFunc
	done   <-chan int
	stderr *syncBuffer
	once   sync.Once
}

// startClusterNode runs a node with neither WebRTC, RTMP nor TURN, and the
// extra flags.
func startClusterNode(t *testing.T, redisURL, id string, extra ...string) *clusterNode {
	t.Helper()
	return startNode(t, append([]string{"--http", "127.0.0.1:0", "--rtc-port", "0", "--rtmp", "", "--turn", "",
		"--node-ip", "127.0.0.1", "--secret", testSecret, "--redis-url", redisURL, "--node-id", id, "--drain", "0s"}, extra...)...)
}

// startNode runs a node with these flags until the test ends.
func startNode(t *testing.T, args ...string) *clusterNode {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := newSyncBuffer("openroom listening")
	done := startRun(t, ctx, args, stderr, nil)
	waitStarted(t, stderr, done)
	n := &clusterNode{addr: listenRE.FindStringSubmatch(stderr.String())[1], cancel: cancel, done: done, stderr: stderr}
	t.Cleanup(n.stop)
	return n
}

func (n *clusterNode) stop() {
	n.once.Do(func() {
		n.cancel()
		select {
		case <-n.done:
		case <-time.After(runDeadline):
		}
	})
}

// join opens a socket to the node at addr, joins room as user and returns
// the first answer (joined, redirect or error) with the socket.
func join(t *testing.T, addr, room, user string) (map[string]any, *websocket.Conn) {
	t.Helper()
	_, sig := loginInfo(t, addr, user)
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	if err := ws.WriteJSON(map[string]any{"type": "join", "room": room, "userSig": sig}); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(runDeadline))
	for {
		var m map[string]any
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("join %s at %s: %v", room, addr, err)
		}
		switch m["type"] {
		case "joined", "redirect", "error":
			return m, ws
		}
	}
}

// TestClusterRedirect: two real nodes on one real Redis. A room lives on one
// node; a join that lands on the other is sent there. With Redis gone the
// nodes keep their rooms and refuse new ones, and take them again when it is
// back.
func TestClusterRedirect(t *testing.T) {
	noLeaks(t)
	redis := testutil.StartRedis(t, 0)
	a := startClusterNode(t, redis.URL(), "a")
	b := startClusterNode(t, redis.URL(), "b")

	// Both nodes are empty: the room goes to the first by ID, "a".
	m, _ := join(t, b.addr, "r1", "lei")
	if m["type"] != "redirect" || m["url"] != "ws://"+a.addr+"/ws" {
		t.Fatalf("join at b: got %v; want a redirect to ws://%s/ws", m, a.addr)
	}
	if m, _ := join(t, a.addr, "r1", "lei"); m["type"] != "joined" {
		t.Fatalf("join at a: got %v; want joined", m)
	}
	// The next room goes to b, now the less loaded, wherever the join lands
	// (once a's heartbeat has told Redis).
	view, err := cluster.New(cluster.Config{URL: redis.URL(), NodeID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer view.Close()
	testutil.Eventually(t, 10*time.Second, "a's load in Redis shows its member", func() bool {
		nodes, err := view.Nodes(context.Background())
		return err == nil && len(nodes) == 2 && nodes[0].ID == "a" && nodes[0].Load.Members == 1
	})
	if m, _ := join(t, a.addr, "r2", "han"); m["type"] != "redirect" || m["url"] != "ws://"+b.addr+"/ws" {
		t.Fatalf("join r2 at a: got %v; want a redirect to b", m)
	}
	// b lists a's room, with its member (as a last published them).
	if got := apiPost(t, b.addr, "get_room_members", `{"userID":"han","roomID":"r1"}`); fmt.Sprint(got["members"]) != "[map[kind:webrtc nickName:lei userID:lei]]" {
		t.Errorf("get_room_members of r1 at b: got %v; want lei", got)
	}
	if got := apiPost(t, b.addr, "get_room_list", `{"userID":"han","index":0,"count":10}`); fmt.Sprint(got["total"]) != "1" {
		t.Errorf("get_room_list at b: got %v; want a's r1", got)
	}
	// A legacy page's enter_room at b runs on a, where r1 lives.
	if got := apiPost(t, b.addr, "enter_room", `{"userID":"mei","roomID":"r1"}`); fmt.Sprint(got["code"]) != "0" {
		t.Errorf("enter_room of r1 at b: got %v; want code 0", got)
	}
	if got := apiPost(t, a.addr, "get_room_members", `{"userID":"mei","roomID":"r1"}`); !strings.Contains(fmt.Sprint(got["members"]), "userID:mei") {
		t.Errorf("members of r1 at a after enter_room at b: got %v; want mei among them", got)
	}
	_ = apiPost(t, a.addr, "quit_room", `{"userID":"mei","roomID":"r1"}`)

	// Redis gone: the open room goes on, a new one is refused clearly.
	redis.Stop()
	if m, _ := join(t, a.addr, "r1", "mei"); m["type"] != "joined" {
		t.Errorf("join of an open room with Redis away: got %v; want joined", m)
	}
	m, _ = join(t, a.addr, "r3", "mei")
	if code, _ := m["code"].(float64); m["type"] != "error" || code != 5004 || !strings.Contains(m["message"].(string), "Redis") {
		t.Errorf("join of a new room with Redis away: got %v; want error 5004 naming Redis", m)
	}
	// Redis back (empty, as after a restart): the nodes register again at
	// their next heartbeat and new rooms are placed.
	testutil.StartRedis(t, redis.Port)
	testutil.Eventually(t, 10*time.Second, "a new room is placed again", func() bool {
		m, ws := join(t, b.addr, "r4", "mei")
		ws.Close()
		return m["type"] == "joined" || m["type"] == "redirect"
	})
	for _, n := range []*clusterNode{a, b} {
		n.stop()
		if !strings.Contains(n.stderr.String(), "cluster mode") {
			t.Errorf("node log: got none saying \"cluster mode\"; want one:\n%s", n.stderr.String())
		}
	}
}

// expectType reads from ws until a message of type typ (others skipped).
func expectType(t *testing.T, ws *websocket.Conn, typ string) map[string]any {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(runDeadline))
	for {
		var m map[string]any
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("waiting for %q: %v", typ, err)
		}
		if m["type"] == typ {
			return m
		}
	}
}

// TestClusterRoomMovesWithItsChat: the room's node goes away; a member who
// joins again through another node lands there, with the chat history and
// the board of before.
func TestClusterRoomMovesWithItsChat(t *testing.T) {
	noLeaks(t)
	redis := testutil.StartRedis(t, 0)
	a := startClusterNode(t, redis.URL(), "a")
	b := startClusterNode(t, redis.URL(), "b")
	m, ws := join(t, a.addr, "moving", "lei")
	if m["type"] != "joined" {
		t.Fatalf("join at a: got %v; want joined", m)
	}
	for _, msg := range []map[string]any{
		{"type": "chat", "text": "你好, before the move"},
		{"type": "board", "op": map[string]any{"kind": "stroke", "id": "s1", "points": [][]float64{{0.1, 0.1}, {0.5, 0.5}}, "color": "#00ff00", "width": 2}},
	} {
		if err := ws.WriteJSON(msg); err != nil {
			t.Fatal(err)
		}
		expectType(t, ws, msg["type"].(string)) // applied: the room echoes it
	}
	a.stop() // the room's node goes (its registration with it)
	m, ws = join(t, b.addr, "moving", "lei")
	if m["type"] != "joined" {
		t.Fatalf("join at b after a left: got %v; want joined (the room placed anew on b)", m)
	}
	hist := expectType(t, ws, "chat_history")
	msgs, _ := hist["messages"].([]any)
	if len(msgs) != 1 || msgs[0].(map[string]any)["text"] != "你好, before the move" {
		t.Errorf("chat history on b: got %v; want the message sent on a", hist)
	}
	board := expectType(t, ws, "board_state")
	if ops, _ := board["ops"].([]any); len(ops) != 1 {
		t.Errorf("board on b: got %v; want the stroke drawn on a", board)
	}
	b.stop()
}

// apiPost calls the legacy room API on the node at addr and decodes its answer.
func apiPost(t *testing.T, addr, action, body string) map[string]any {
	t.Helper()
	client := &http.Client{Timeout: runDeadline}
	defer client.CloseIdleConnections()
	resp, err := client.Post("http://"+addr+"/weapp/webrtc_room/"+action, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s: answer is not JSON: %v", action, err)
	}
	return m
}

// TestClusterNodesShareAHost: two nodes on one host start with no more flags
// than --http, --rtc-port, --node-ip, --secret and --redis-url: the second
// finds the default RTMP and TURN ports taken and binds others, which it
// announces.
func TestClusterNodesShareAHost(t *testing.T) {
	noLeaks(t)
	redis := testutil.StartRedis(t, 0)
	var nodes []*clusterNode
	for range 2 {
		nodes = append(nodes, startNode(t, "--http", "127.0.0.1:0", "--rtc-port", strconv.Itoa(freeUDPPort(t, "127.0.0.1")),
			"--node-ip", "127.0.0.1", "--secret", testSecret, "--redis-url", redis.URL()))
	}
	view, err := cluster.New(cluster.Config{URL: redis.URL(), NodeID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer view.Close()
	var registered []cluster.Node
	testutil.Eventually(t, 10*time.Second, "both nodes registered", func() bool {
		registered, err = view.Nodes(context.Background())
		return err == nil && len(registered) == 2
	})
	if registered[0].RTMP == "" || registered[0].RTMP == registered[1].RTMP || registered[0].PublicURL == registered[1].PublicURL {
		t.Errorf("nodes: got %+v; want each with an RTMP address and a public URL of its own", registered)
	}
	for _, n := range nodes {
		n.stop()
	}
}

// noLeaks checks, after every cleanup of the test (nodes stopped, sockets
// closed, Redis gone), that nothing the test started is left running. A
// deferred check would run before the cleanups and report live nodes after a
// t.Fatal.
func noLeaks(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}
