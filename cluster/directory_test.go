package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openroom/openroom/internal/testutil"
)

// TestDirectory: each node publishes its rooms at its heartbeat; Rooms lists
// every live node's, oldest first, with the node each lives on; a node that
// stops running takes its rooms out of the list.
func TestDirectory(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	r := testutil.StartRedis(t, 0)
	ctx := context.Background()
	t0 := time.Unix(1_700_000_000, 0).UTC()
	listing := func(rooms ...ListedRoom) func() []ListedRoom { return func() []ListedRoom { return rooms } }
	mk := func(id string, listed func() []ListedRoom) *Cluster {
		c, err := New(Config{URL: r.URL(), NodeID: id, PublicURL: "http://" + id, NodeTTL: 600 * time.Millisecond, Listed: listed})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	// a also relays b's class (a room that spans both): it is listed as its home lists it.
	a := mk("a", listing(ListedRoom{Name: "standup", Created: t0.Add(time.Minute), Members: []ListedMember{{UserID: "lei", NickName: "李雷", Kind: "webrtc"}}},
		ListedRoom{Name: "class", Created: t0, Satellite: true, Members: []ListedMember{{UserID: "mei", Kind: "webrtc"}, {UserID: "lily", Kind: "webrtc"}}}))
	b := mk("b", listing(ListedRoom{Name: "class", Info: "math", Created: t0}, ListedRoom{Name: "z", Created: t0.Add(time.Minute)}))
	empty := mk("c", listing())
	for _, n := range []*Cluster{a, b, empty} {
		if err := n.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rooms, err := a.Rooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rm := range rooms {
		got = append(got, fmt.Sprintf("%s@%s/%d", rm.Name, rm.Node, len(rm.Members)))
	}
	if want := "[class@b/0 standup@a/1 z@b/0]"; fmt.Sprint(got) != want {
		t.Errorf("Rooms: got %v; want %s", got, want)
	}

	// b stops: its registration and its list go with it.
	bctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Run(bctx)
	}()
	stop()
	<-done
	rooms, err = a.Rooms(ctx)
	got = nil
	for _, rm := range rooms {
		got = append(got, fmt.Sprintf("%s@%s/%d", rm.Name, rm.Node, len(rm.Members)))
	}
	// a's relayed class is all that is left of it (its link would end, or a become its home).
	if want := "[class@a/2 standup@a/1]"; err != nil || fmt.Sprint(got) != want {
		t.Errorf("after b stopped: got %v, %v; want %s", got, err, want)
	}
}

// TestOrphanedRoomGoesToItsSatellite: when a room's node dies, a join
// placing it again sends it to the node that relayed it (its members are
// there), not to the least-loaded node.
func TestOrphanedRoomGoesToItsSatellite(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	r := testutil.StartRedis(t, 0)
	ctx := context.Background()
	mk := func(id string, members int, listed ...ListedRoom) *Cluster {
		c, err := New(Config{URL: r.URL(), NodeID: id, PublicURL: "http://" + id, NodeTTL: time.Minute,
			Load: func() Load { return Load{Members: members} }, Listed: func() []ListedRoom { return listed }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if err := c.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := mk("a", 0)
	mk("b", 5, ListedRoom{Name: "class", Satellite: true})
	c := mk("c", 1)
	if h, err := a.Home(ctx, "class"); err != nil || h.ID != "a" {
		t.Fatalf("Home: got %q, %v; want a (the least loaded)", h.ID, err)
	}
	// a dies: its registration goes, its lease on class stays.
	actx, stop := context.WithCancel(ctx)
	stop()
	a.Run(actx)
	if h, err := c.Home(ctx, "class"); err != nil || h.ID != "b" {
		t.Errorf("Home after a died: got %q, %v; want b (its satellite), not c (the least loaded)", h.ID, err)
	}
	if h, err := c.Home(ctx, "other"); err != nil || h.ID != "c" {
		t.Errorf("Home of a new room: got %q, %v; want c (the least loaded)", h.ID, err)
	}
}
