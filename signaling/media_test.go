package signaling

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openroom/openroom/config"

	"github.com/openroom/openroom/internal/testclient"
)

// TestMediaFlowsThroughSFU: three pion clients publish synthetic RTP and each
// receives the other two's audio and video through the server.
func TestMediaFlowsThroughSFU(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, true, nil)
	api, err := testclient.API()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	users := []string{"alice", "bob", "carol"}
	clients := map[string]*testclient.Client{}
	for _, u := range users {
		c, err := testclient.Join(ctx, api, testclient.Options{URL: ts.URL, Room: "media", UserSig: ts.userSig(t, u), Publish: true})
		if err != nil {
			t.Fatalf("join %s: %v", u, err)
		}
		defer c.Close()
		clients[u] = c
	}
	for _, rx := range users {
		for _, tx := range users {
			if rx == tx {
				continue
			}
			for _, kind := range []string{"audio", "video"} {
				rx, tx, kind := rx, tx, kind
				eventually(t, 20*time.Second, fmt.Sprintf("%s receiving %s from %s", rx, kind, tx), func() bool {
					return clients[rx].Received(tx, kind) > 10
				})
			}
		}
	}
	// bob leaves: the others are told, and his tracks go.
	clients["bob"].Leave()
	for _, u := range []string{"alice", "carol"} {
		u := u
		eventually(t, 5*time.Second, u+" told bob left", func() bool {
			for _, m := range clients[u].Messages() {
				if m["type"] == "member_left" && m["userID"] == "bob" && m["reason"] == "left" {
					return true
				}
			}
			return false
		})
	}
	for _, c := range clients {
		c.Close()
	}
}

// TestChurnLeavesNoGoroutines: 20 members join and leave (half publishing,
// a third of the leaves a dropped socket that times out); afterwards nothing
// of them is left running.
func TestChurnLeavesNoGoroutines(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, true, func(c *config.Config) { c.RoomCapacity = 32; c.MemberTimeout = time.Second })
	api, err := testclient.API()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var live []*testclient.Client
	for i := 0; i < 20; i++ {
		c, err := testclient.Join(ctx, api, testclient.Options{URL: ts.URL, Room: "churn",
			UserSig: ts.userSig(t, fmt.Sprintf("m%02d", i)), Publish: i%2 == 0})
		if err != nil {
			t.Fatalf("join %d: %v", i, err)
		}
		live = append(live, c)
		if len(live) > 4 { // keep a few members around while others come and go
			if i%3 == 0 {
				live[0].Leave()
			} else {
				live[0].Close() // a dropped socket, not a clean leave
			}
			live = live[1:]
		}
	}
	time.Sleep(500 * time.Millisecond) // let renegotiations run against the churn
	for _, c := range live {
		c.Leave()
	}
	eventually(t, 10*time.Second, "room to close", func() bool { return !ts.Rooms.Exists("churn") })
}

// noLeaks checks, after every other cleanup, that the test left no goroutine behind.
func noLeaks(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// TestICERestart: ice_restart gets a subscriber offer with new ICE credentials,
// and media goes on over the restarted connection.
func TestICERestart(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, true, nil)
	alice := joinMedia(t, ts, "ice", "alice", true) // publishes what bob receives
	bob := joinMedia(t, ts, "ice", "bob", false)
	eventually(t, 20*time.Second, "bob receiving alice", func() bool { return bob.Received("alice", "video") > 10 })
	ufrags := func() []string {
		var out []string
		for _, m := range bob.Messages() {
			if m["type"] == "offer" {
				sdp, _ := m["sdp"].(string)
				for _, l := range strings.Split(sdp, "\r\n") {
					if strings.HasPrefix(l, "a=ice-ufrag:") {
						out = append(out, l)
						break
					}
				}
			}
		}
		return out
	}
	before := ufrags()
	plis := alice.KeyframeRequests()
	if err := bob.Send(map[string]any{"type": "ice_restart", "target": "subscriber"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "a subscriber offer with new ICE credentials", func() bool {
		u := ufrags()
		return len(u) > len(before) && u[len(u)-1] != before[len(before)-1]
	})
	n := bob.Received("alice", "video")
	eventually(t, 10*time.Second, "media after the restart", func() bool { return bob.Received("alice", "video") > n+20 })
	// bob's decoder lost packets while his path was down: alice is asked for a keyframe.
	eventually(t, 5*time.Second, "a keyframe request to alice after bob's restart", func() bool { return alice.KeyframeRequests() > plis })

	// alice's network changes: her publisher offers with new credentials; her
	// media reaches bob again and she is asked for a keyframe (what was lost on
	// the way to the server cannot be mended by NACKs).
	plis = alice.KeyframeRequests()
	if err := alice.RestartPublisherICE(); err != nil {
		t.Fatal(err)
	}
	n = bob.Received("alice", "video")
	eventually(t, 10*time.Second, "media after alice's restart", func() bool { return bob.Received("alice", "video") > n+20 })
	eventually(t, 5*time.Second, "a keyframe request to alice after her restart", func() bool { return alice.KeyframeRequests() > plis })
	if err := bob.Send(map[string]any{"type": "ice_restart", "target": "publisher"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "ice_restart for the publisher refused", func() bool {
		for _, m := range bob.Messages() {
			if m["type"] == "error" && m["ref"] == "ice_restart" {
				return true
			}
		}
		return false
	})
}

// joinMedia joins a pion member (publishing when asked); it is closed at cleanup.
func joinMedia(t *testing.T, ts *testServer, roomName, user string, publish bool) *testclient.Client {
	t.Helper()
	return testclient.JoinTest(t, testclient.Options{URL: ts.URL, Room: roomName, UserSig: ts.userSig(t, user), Publish: publish})
}
