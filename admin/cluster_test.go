package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

	"github.com/openroom/openroom/internal/fakeclock"
	"github.com/openroom/openroom/room"
)

// fakeCluster is a cluster whose directory and room homes are set by the test.
type fakeCluster struct {
	id    string
	nodes []ClusterNode
	rooms []ClusterRoom
	homes map[string]string // room -> base URL of the other node it lives on
	err   error             // every call fails with it
	hang  bool              // every call waits for its context to end
}

func (c *fakeCluster) NodeID() string { return c.id }

func (c *fakeCluster) Directory(ctx context.Context) ([]ClusterNode, []ClusterRoom, error) {
	if c.hang {
		<-ctx.Done()
		return nil, nil, ctx.Err()
	}
	return c.nodes, c.rooms, c.err
}

func (c *fakeCluster) RoomNode(ctx context.Context, name string) (string, error) {
	if c.hang {
		<-ctx.Done()
		return "", ctx.Err()
	}
	return c.homes[name], c.err
}

// newClusterFixture is newFixture in cluster mode, as node c.id; a call to
// the cluster gives up after 50 ms (a second in production).
func newClusterFixture(t *testing.T, c *fakeCluster) *fixture {
	t.Helper()
	clock := fakeclock.New()
	logs := &bytes.Buffer{}
	rooms := room.NewManager(room.Options{Now: clock.Now})
	h := Handler(Options{Rooms: rooms, Token: testToken, Now: clock.Now, Cluster: c,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	h.(*handler).clusterTimeout = 50 * time.Millisecond
	return &fixture{rooms: rooms, clock: clock, logs: logs, sessions: map[string]*fakeSession{}, h: h}
}

// topKeys lists the answer's top-level keys, sorted.
func topKeys(t *testing.T, w *httptest.ResponseRecorder) []string {
	t.Helper()
	raw := decode[map[string]json.RawMessage](t, w)
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestClusterListing(t *testing.T) {
	created := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	directory := []ClusterRoom{
		{Name: "r1", Node: "a", Created: created, Members: []ClusterMember{{"stale", "stale", "webrtc"}}}, // a's own, as it published it
		{Name: "r0", Node: "b", Info: "far away", Created: created, Members: []ClusterMember{{"lei", "雷", "webrtc"}, {"han", "han", "rtmp"}}},
		{Name: "r2", Node: "c", Created: created.Add(time.Minute), Members: []ClusterMember{}},
	}
	nodes := []ClusterNode{
		{ID: "a", PublicURL: "http://10.0.0.1:8080", Members: 1, Tracks: 0, CPU: 0.123, Rooms: 1},
		{ID: "b", PublicURL: "http://10.0.0.2:8080", Members: 2, Tracks: 3, CPU: 1.5, Rooms: 1},
		{ID: "c", PublicURL: "http://10.0.0.3:8080", Rooms: 1},
	}
	tests := []struct {
		name        string
		cluster     *fakeCluster // nil: a single node
		wantKeys    []string
		wantRooms   []string // "name@node"
		wantNodes   []nodeView
		wantErrText string // in clusterError
	}{
		{
			name:      "single node",
			wantKeys:  []string{"now", "rooms", "stats"},
			wantRooms: []string{"r1@"},
		},
		{
			name:      "cluster",
			cluster:   &fakeCluster{id: "a", nodes: nodes, rooms: directory},
			wantKeys:  []string{"node", "nodes", "now", "rooms", "stats"},
			wantRooms: []string{"r0@b", "r1@a", "r2@c"},
			wantNodes: []nodeView{
				{ID: "a", PublicURL: "http://10.0.0.1:8080", Members: 1, CPU: 0.12, Rooms: 1, Self: true},
				{ID: "b", PublicURL: "http://10.0.0.2:8080", Members: 2, Tracks: 3, CPU: 1.5, Rooms: 1},
				{ID: "c", PublicURL: "http://10.0.0.3:8080", Rooms: 1},
			},
		},
		{
			name:        "Redis failing",
			cluster:     &fakeCluster{id: "a", err: errors.New("cluster: Redis is unreachable: connection refused")},
			wantKeys:    []string{"clusterError", "node", "now", "rooms", "stats"},
			wantRooms:   []string{"r1@a"},
			wantErrText: "connection refused",
		},
		{
			name:        "Redis hanging",
			cluster:     &fakeCluster{id: "a", hang: true},
			wantKeys:    []string{"clusterError", "node", "now", "rooms", "stats"},
			wantRooms:   []string{"r1@a"},
			wantErrText: "deadline exceeded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testToken)
			if tt.cluster != nil {
				f = newClusterFixture(t, tt.cluster)
			}
			f.enter(t, "r1", "alice", room.KindWebRTC)
			start := time.Now()
			w := f.do(t, http.MethodGet, "/admin/api/rooms", testToken, "")
			if took := time.Since(start); took > time.Second {
				t.Errorf("listing took %v; want it bounded by the cluster timeout (50 ms here)", took)
			}
			if w.Code != http.StatusOK {
				t.Fatalf("status: got %d; want 200 (body %q)", w.Code, w.Body.String())
			}
			if got := topKeys(t, w); !slices.Equal(got, tt.wantKeys) {
				t.Errorf("keys: got %v; want %v", got, tt.wantKeys)
			}
			got := decode[listingView](t, w)
			var rooms []string
			for _, r := range got.Rooms {
				rooms = append(rooms, r.Name+"@"+r.Node)
			}
			if !slices.Equal(rooms, tt.wantRooms) {
				t.Errorf("rooms: got %v; want %v", rooms, tt.wantRooms)
			}
			if !reflect.DeepEqual(got.Nodes, tt.wantNodes) {
				t.Errorf("nodes: got %+v; want %+v", got.Nodes, tt.wantNodes)
			}
			if tt.cluster != nil && got.Node != tt.cluster.id {
				t.Errorf("node: got %q; want %q", got.Node, tt.cluster.id)
			}
			if !strings.Contains(got.ClusterError, tt.wantErrText) || (tt.wantErrText != "" && !strings.Contains(got.ClusterError, "Redis")) {
				t.Errorf("clusterError: got %q; want one naming Redis and %q", got.ClusterError, tt.wantErrText)
			}
			if got.Stats.Rooms != 1 || got.Stats.Members != 1 {
				t.Errorf("stats: got %d rooms, %d members; want this node's 1 and 1", got.Stats.Rooms, got.Stats.Members)
			}
		})
	}
	t.Run("other node's room", func(t *testing.T) {
		f := newClusterFixture(t, &fakeCluster{id: "a", nodes: nodes, rooms: directory})
		w := f.do(t, http.MethodGet, "/admin/api/rooms", testToken, "")
		var raw struct {
			Rooms []map[string]json.RawMessage `json:"rooms"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
			t.Fatal(err)
		}
		r0 := raw.Rooms[0]
		for key, want := range map[string]string{
			"room":     `"r0"`,
			"roomInfo": `"far away"`,
			"created":  "1796119200000",
			"node":     `"b"`,
			"members": `[{"userID":"lei","nickName":"雷","kind":"webrtc","audioMuted":false,"videoMuted":false,"state":"","joined":0,"lastSeen":0,"tracks":[]},` +
				`{"userID":"han","nickName":"han","kind":"rtmp","audioMuted":false,"videoMuted":false,"state":"","joined":0,"lastSeen":0,"tracks":[]}]`,
		} {
			if got := string(r0[key]); got != want {
				t.Errorf("%s: got %s; want %s", key, got, want)
			}
		}
		if _, ok := r0["recording"]; ok {
			t.Errorf("recording: got one; want none for another node's room")
		}
	})
	t.Run("single node answer unchanged", func(t *testing.T) {
		f := newFixture(t, testToken)
		f.enter(t, "r1", "alice", room.KindWebRTC)
		w := f.do(t, http.MethodGet, "/admin/api/rooms", testToken, "")
		if got := w.Body.String(); strings.Contains(got, `"node`) || strings.Contains(got, "clusterError") {
			t.Errorf("body: got %s; want no node, nodes or clusterError", got)
		}
	})
}

// fakeNode is another node's admin API: it records the calls passed to it
// and answers with status and body.
type fakeNode struct {
	srv    *httptest.Server
	mu     sync.Mutex // guards calls
	calls  []*http.Request
	bodies []string
	status int
	body   string
}

func newFakeNode(t *testing.T, status int, body string) *fakeNode {
	t.Helper()
	n := &fakeNode{status: status, body: body}
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		n.mu.Lock()
		n.calls = append(n.calls, r)
		n.bodies = append(n.bodies, string(b))
		n.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(n.status)
		_, _ = io.WriteString(w, n.body)
	}))
	t.Cleanup(n.srv.Close)
	return n
}

func (n *fakeNode) Calls() ([]*http.Request, []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.calls), slices.Clone(n.bodies)
}

func TestClusterForward(t *testing.T) {
	const ok = `{"code":0,"message":"ok"}`
	tests := []struct {
		name       string
		path, body string
		token      string // "" is testToken
		forwarded  bool   // the call carries ForwardedHeader: another node passed it here
		locateErr  error
		nodeDown   bool // the room's node does not answer
		nodeStatus int  // the room's node's answer (200 when 0)
		nodeBody   string
		wantPassed bool // the call reached the room's node
		wantStatus int
		wantCode   int
		wantText   string // in the message
	}{
		{name: "kick", path: "/admin/api/rooms/far/members/lei/kick", body: `{"reason":"spam"}`, nodeBody: ok,
			wantPassed: true, wantStatus: 200, wantCode: CodeOK},
		{name: "close", path: "/admin/api/rooms/far/close", nodeBody: ok, wantPassed: true, wantStatus: 200, wantCode: CodeOK},
		{name: "the node's refusal passed back", path: "/admin/api/rooms/far/members/zed/kick", nodeStatus: 404,
			nodeBody: `{"code":3,"message":"no such member: zed"}`, wantPassed: true, wantStatus: 404, wantCode: CodeNoRoom, wantText: "zed"},
		{name: "a forwarded call is served here", path: "/admin/api/rooms/far/close", forwarded: true,
			wantStatus: 404, wantCode: CodeNoRoom},
		{name: "a room here is served here", path: "/admin/api/rooms/r1/members/alice/kick", wantStatus: 200, wantCode: CodeOK},
		{name: "a room nowhere", path: "/admin/api/rooms/nowhere/close", wantStatus: 404, wantCode: CodeNoRoom},
		{name: "Redis failing", path: "/admin/api/rooms/far/close", locateErr: errors.New("Redis is unreachable"),
			wantStatus: 404, wantCode: CodeNoRoom},
		{name: "wrong token", path: "/admin/api/rooms/far/close", token: "nope", wantStatus: 401, wantCode: CodeBadToken},
		{name: "malformed body", path: "/admin/api/rooms/far/close", body: "{", wantStatus: 400, wantCode: CodeBadRequest},
		{name: "the node refuses the token", path: "/admin/api/rooms/far/close", nodeStatus: 401,
			nodeBody: `{"code":4010,"message":"wrong token"}`, wantPassed: true, wantStatus: 502, wantCode: CodeNodeDown, wantText: "same admin_token"},
		{name: "the node is down", path: "/admin/api/rooms/far/close", nodeDown: true, wantStatus: 502, wantCode: CodeNodeDown,
			wantText: "does not answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := tt.nodeStatus
			if status == 0 {
				status = 200
			}
			node := newFakeNode(t, status, tt.nodeBody)
			if tt.nodeDown {
				node.srv.Close()
			}
			f := newClusterFixture(t, &fakeCluster{id: "a", err: tt.locateErr, homes: map[string]string{"far": node.srv.URL + "/"}})
			alice := f.enter(t, "r1", "alice", room.KindWebRTC)
			req := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body))
			token := tt.token
			if token == "" {
				token = testToken
			}
			req.Header.Set("Authorization", "Bearer "+token)
			if tt.forwarded {
				req.Header.Set(ForwardedHeader, "b")
			}
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, req)
			if w.Code != tt.wantStatus {
				t.Fatalf("status: got %d; want %d (body %q)", w.Code, tt.wantStatus, w.Body.String())
			}
			if a := decode[answer](t, w); a.Code != tt.wantCode || !strings.Contains(a.Message, tt.wantText) {
				t.Errorf("answer: got %+v; want code %d with %q", a, tt.wantCode, tt.wantText)
			}
			calls, bodies := node.Calls()
			if got := len(calls) > 0; got != tt.wantPassed {
				t.Fatalf("passed to the room's node: got %v; want %v", got, tt.wantPassed)
			}
			if tt.wantPassed {
				c := calls[0]
				for what, pair := range map[string][2]string{
					"method":        {c.Method, http.MethodPost},
					"path":          {c.URL.Path, tt.path},
					"body":          {bodies[0], tt.body},
					"Authorization": {c.Header.Get("Authorization"), "Bearer " + testToken},
					ForwardedHeader: {c.Header.Get(ForwardedHeader), "a"},
				} {
					if pair[0] != pair[1] {
						t.Errorf("passed call's %s: got %q; want %q", what, pair[0], pair[1])
					}
				}
				if len(calls) != 1 {
					t.Errorf("calls to the room's node: got %d; want 1", len(calls))
				}
			}
			wantKicked := tt.path == "/admin/api/rooms/r1/members/alice/kick"
			if got := len(alice.Kicks()) > 0; got != wantKicked {
				t.Errorf("alice kicked here: got %v; want %v", got, wantKicked)
			}
		})
	}
}

// TestClusterTimeoutBound keeps the production bound on Redis at about a second.
func TestClusterTimeoutBound(t *testing.T) {
	if clusterTimeout > time.Second {
		t.Errorf("clusterTimeout: got %v; want at most 1s (a listing must not hang on Redis)", clusterTimeout)
	}
}
