package main

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openroom/openroom/cluster"
	"github.com/openroom/openroom/internal/testclient"
	"github.com/openroom/openroom/internal/testutil"
)

// startSpanNode runs a cluster node with WebRTC on loopback that hosts at
// most capacity members before its rooms span other nodes.
func startSpanNode(t *testing.T, redisURL, id string, capacity int) *clusterNode {
	t.Helper()
	return startNode(t, "--http", "127.0.0.1:0", "--rtc-port", strconv.Itoa(freeUDPPort(t, "127.0.0.1")),
		"--node-ip", "127.0.0.1", "--rtmp", "", "--turn", "", "--secret", testSecret, "--redis-url", redisURL,
		"--node-id", id, "--node-capacity", strconv.Itoa(capacity), "--drain", "0s")
}

// view is the test's own look at the cluster's Redis.
type view struct{ *cluster.Cluster }

func clusterView(t *testing.T, redisURL string) view {
	t.Helper()
	c, err := cluster.New(cluster.Config{URL: redisURL, NodeID: "test-view"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return view{c}
}

// waitFull waits until node id announces itself full.
func (v view) waitFull(t *testing.T, id string) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, "node "+id+" announces itself full", func() bool {
		n, ok, err := v.Node(context.Background(), id)
		return err == nil && ok && n.Full()
	})
}

// metric reads one series' value from a node's /metrics (0 when absent).
func metric(t *testing.T, addr, series string) float64 {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if name, v, ok := strings.Cut(sc.Text(), " "); ok && name == series {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// TestClusterSpanningRoom: a room whose home node is full spans others. Its
// publisher is on node a, which hosts at most 2 members; subscribers joined
// at nodes b and c are kept there, and each of those nodes pulls the room's
// tracks from a once. A publisher on c reaches a and, through a, b.
func TestClusterSpanningRoom(t *testing.T) {
	noLeaks(t)
	redis := testutil.StartRedis(t, 0)
	a := startSpanNode(t, redis.URL(), "a", 2)
	b := startSpanNode(t, redis.URL(), "b", 3)
	c := startSpanNode(t, redis.URL(), "c", 3)
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range []*clusterNode{a, b, c} {
				t.Logf("node %s log:\n%s", n.addr, n.stderr.String())
			}
		}
	})
	client := func(n *clusterNode, user string, publish bool) *testclient.Client {
		t.Helper()
		_, sig := loginInfo(t, n.addr, user)
		return testclient.JoinTest(t, testclient.Options{URL: "http://" + n.addr, Room: "span", UserSig: sig, Publish: publish})
	}
	pub := client(a, "pub", true)
	subA := client(a, "sub-a", false)
	clusterView(t, redis.URL()).waitFull(t, "a") // b and c learn it from a's heartbeat
	subs := []*testclient.Client{subA,
		client(b, "sub-b1", false), client(b, "sub-b2", false),
		client(c, "sub-c1", false), client(c, "sub-c2", false)}
	for _, s := range subs {
		for _, kind := range []string{"audio", "video"} {
			testutil.Eventually(t, 15*time.Second, s.UserID+" receives pub's "+kind, func() bool {
				return s.Received("pub", kind) > 20
			})
		}
	}
	_ = pub

	// Each track crossed to each satellite once: a offered its 2 tracks to
	// b and to c, whatever the number of subscribers there.
	for _, tc := range []struct {
		node   *clusterNode
		series string
		want   float64
	}{
		{a, `openroom_relay_tracks_total{direction="sent"}`, 4},
		{b, `openroom_relay_tracks_total{direction="received"}`, 2},
		{c, `openroom_relay_tracks_total{direction="received"}`, 2},
		{a, "openroom_relay_links", 2},
	} {
		if got := metric(t, tc.node.addr, tc.series); got != tc.want {
			t.Errorf("%s at %s: got %v; want %v", tc.series, tc.node.addr, got, tc.want)
		}
	}
	// One copy per packet to each satellite: b received about what one of
	// its subscribers did, not twice that.
	got, per := metric(t, b.addr, `openroom_relay_packets_total{direction="received"}`), float64(subs[1].Received("pub", "audio")+subs[1].Received("pub", "video"))
	t.Logf("relay into b: %v packets, %v bytes; each b subscriber got %v packets from pub", got,
		metric(t, b.addr, `openroom_relay_bytes_total{direction="received"}`), per)
	if got > 1.5*per+100 {
		t.Errorf("relay packets into b: got %v for %v packets to each of its subscribers; want about one copy per packet", got, per)
	}

	// A publisher on a satellite reaches the home and the other satellite.
	pubC := client(c, "pub-c", true)
	for _, s := range []*testclient.Client{subA, subs[1]} {
		testutil.Eventually(t, 15*time.Second, s.UserID+" receives pub-c's video", func() bool {
			return s.Received("pub-c", "video") > 20
		})
	}
	_ = pubC
}

// TestClusterSpanningRoomOutlivesItsHome: the node a spanning room lives on
// goes; the satellite keeps its members and takes the room, so a member
// joining through a third node is sent there.
func TestClusterSpanningRoomOutlivesItsHome(t *testing.T) {
	noLeaks(t)
	redis := testutil.StartRedis(t, 0)
	a := startSpanNode(t, redis.URL(), "a", 1)
	b := startSpanNode(t, redis.URL(), "b", 0)
	c := startSpanNode(t, redis.URL(), "c", 0)
	_, sig := loginInfo(t, a.addr, "host")
	testclient.JoinTest(t, testclient.Options{URL: "http://" + a.addr, Room: "webinar", UserSig: sig})
	view := clusterView(t, redis.URL())
	view.waitFull(t, "a")
	_, sig = loginInfo(t, b.addr, "pub-b")
	pub := testclient.JoinTest(t, testclient.Options{URL: "http://" + b.addr, Room: "webinar", UserSig: sig, Publish: true})
	testutil.Eventually(t, 10*time.Second, "b relays the room from a", func() bool {
		return metric(t, b.addr, "openroom_relay_links") == 1
	})
	a.stop()
	testutil.Eventually(t, 10*time.Second, "the room lives on b", func() bool {
		n, ok, err := view.Locate(context.Background(), "webinar")
		return err == nil && ok && n.ID == "b"
	})
	m, _ := join(t, c.addr, "webinar", "late")
	if m["type"] != "redirect" || m["url"] != "ws://"+b.addr+"/ws" {
		t.Errorf("join at c: got %v; want a redirect to b (ws://%s/ws)", m, b.addr)
	}
	select {
	case <-pub.Done():
		t.Error("b's publisher was dropped with a")
	default:
	}
}
