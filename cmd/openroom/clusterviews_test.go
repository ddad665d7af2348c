package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openroom/openroom/admin"
	"github.com/openroom/openroom/internal/testutil"
	"github.com/openroom/openroom/signaling"
)

const testAdminToken = "cluster-admin-token"

// adminCall calls a node's admin API (or any path with the admin token) and
// returns the status and body.
func adminCall(t *testing.T, method, addr, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	client := &http.Client{Timeout: runDeadline}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// adminListing is the part of GET /admin/api/rooms the cluster test reads.
type adminListing struct {
	Node  string `json:"node"`
	Nodes []struct {
		ID      string `json:"id"`
		Members int    `json:"members"`
		Rooms   int    `json:"rooms"`
		Self    bool   `json:"self"`
	} `json:"nodes"`
	Rooms []struct {
		Name    string `json:"room"`
		Node    string `json:"node"`
		Members []struct {
			UserID string `json:"userID"`
		} `json:"members"`
	} `json:"rooms"`
	ClusterError string `json:"clusterError"`
}

func listing(t *testing.T, addr string) adminListing {
	t.Helper()
	status, body := adminCall(t, http.MethodGet, addr, "/admin/api/rooms", "")
	var l adminListing
	if err := json.Unmarshal([]byte(body), &l); status != http.StatusOK || err != nil {
		t.Fatalf("listing at %s: got %d %s (%v); want 200 and JSON", addr, status, body, err)
	}
	return l
}

// TestClusterAdminAndMetrics: two real nodes on one real Redis. Node b's
// /admin lists the room living on a, with both nodes; b's /metrics counts
// both; a kick sent to b removes the member on a. With Redis gone, b lists
// its own rooms and says why, and /metrics says Redis is down.
func TestClusterAdminAndMetrics(t *testing.T) {
	noLeaks(t)
	redis := testutil.StartRedis(t, 0)
	a := startClusterNode(t, redis.URL(), "a", "--admin-token", testAdminToken)
	b := startClusterNode(t, redis.URL(), "b", "--admin-token", testAdminToken)
	m, ws := join(t, a.addr, "r1", "lei")
	if m["type"] != "joined" {
		t.Fatalf("join at a: got %v; want joined", m)
	}

	var l adminListing
	// The room is in Redis once claimed; a's member count comes with its next
	// heartbeat: wait for both (a listing between them showed a with 0 members).
	testutil.Eventually(t, 10*time.Second, "b's /admin lists a's room and a's member (after a's heartbeat)", func() bool {
		l = listing(t, b.addr)
		return len(l.Rooms) == 1 && len(l.Nodes) == 2 && l.Nodes[0].ID == "a" && l.Nodes[0].Members == 1
	})
	t.Run("listing at b", func(t *testing.T) {
		if l.Node != "b" || l.ClusterError != "" {
			t.Errorf("node, clusterError: got %q, %q; want b, none", l.Node, l.ClusterError)
		}
		if r := l.Rooms[0]; r.Name != "r1" || r.Node != "a" || len(r.Members) != 1 || r.Members[0].UserID != "lei" {
			t.Errorf("rooms: got %+v; want r1 on a with lei", l.Rooms)
		}
		if n := l.Nodes; n[0].ID != "a" || n[0].Members != 1 || n[0].Rooms != 1 || n[0].Self || n[1].ID != "b" || !n[1].Self {
			t.Errorf("nodes: got %+v; want a (1 member, 1 room) and b (self)", n)
		}
	})
	t.Run("metrics at b", func(t *testing.T) {
		_, out := adminCall(t, http.MethodGet, b.addr, "/metrics", "")
		for _, want := range []string{"openroom_cluster_nodes 2", "openroom_cluster_redis_up 1",
			`openroom_cluster_node_members{node="a"} 1`, `openroom_cluster_node_rooms{node="a"} 1`} {
			if !strings.Contains(out, want+"\n") {
				t.Errorf("/metrics at b: got no %q", want)
			}
		}
	})
	t.Run("kick at b", func(t *testing.T) {
		status, body := adminCall(t, http.MethodPost, b.addr, "/admin/api/rooms/r1/members/lei/kick", `{"reason":"testing the cluster"}`)
		if status != http.StatusOK || !strings.Contains(body, `"code":0`) {
			t.Fatalf("kick at b: got %d %s; want 200 code 0", status, body)
		}
		if got := expectType(t, ws, "kicked"); got["reason"] != "testing the cluster" {
			t.Errorf("lei was told: got %v; want kicked with the reason", got)
		}
		if l := listing(t, a.addr); len(l.Rooms) != 0 {
			t.Errorf("a's rooms after the kick: got %+v; want none (its last member left)", l.Rooms)
		}
	})

	redis.Stop()
	t.Run("Redis gone", func(t *testing.T) {
		start := time.Now()
		l := listing(t, b.addr)
		if !strings.Contains(l.ClusterError, "Redis") || l.Node != "b" || len(l.Nodes) != 0 {
			t.Errorf("listing at b: got %+v; want node b, no nodes, a clusterError naming Redis", l)
		}
		_, out := adminCall(t, http.MethodGet, b.addr, "/metrics", "")
		if !strings.Contains(out, "openroom_cluster_redis_up 0\n") || strings.Contains(out, "\nopenroom_cluster_nodes") {
			t.Errorf("/metrics at b: got %q; want redis_up 0 and no node count", out)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("a listing and a scrape with Redis gone took %v; want each bounded by about a second", took)
		}
	})
	for _, n := range []*clusterNode{a, b} {
		n.stop()
	}
}

// TestForwardedHeadersAgree: admin and signaling mark forwarded calls with
// one header (admin does not import signaling).
func TestForwardedHeadersAgree(t *testing.T) {
	if admin.ForwardedHeader != signaling.ForwardedHeader {
		t.Errorf("admin.ForwardedHeader: got %q; want %q", admin.ForwardedHeader, signaling.ForwardedHeader)
	}
}
