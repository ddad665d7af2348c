package cluster

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openroom/openroom/internal/testutil"
)

func newNode(t *testing.T, url, id string, load *Load, held func() []string) *Cluster {
	t.Helper()
	c, err := New(Config{URL: url, NodeID: id, PublicURL: "http://" + id + ":8080", RTC: id + ":7882",
		NodeTTL: 600 * time.Millisecond, RoomLease: 900 * time.Millisecond,
		Load: func() Load { return *load }, Held: held})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestBadURL(t *testing.T) {
	for _, u := range []string{"", "http://x", "redis://a:b:c"} {
		if _, err := New(Config{URL: u}); !errors.Is(err, ErrBadURL) {
			t.Errorf("New(%q): got %v; want ErrBadURL", u, err)
		}
	}
}

// Nodes register with their load and vanish when they stop beating; a room
// goes to the least-loaded node, every node agrees where it lives, and a
// dead node's room moves.
func TestRegistryAndPlacement(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
	r := testutil.StartRedis(t, 0)
	ctx := context.Background()
	var heldMu sync.Mutex
	held := map[string][]string{}
	heldBy := func(id string) func() []string {
		return func() []string { heldMu.Lock(); defer heldMu.Unlock(); return held[id] }
	}
	loadA, loadB := Load{Members: 5}, Load{Members: 1}
	a := newNode(t, r.URL(), "a", &loadA, heldBy("a"))
	b := newNode(t, r.URL(), "b", &loadB, heldBy("b"))
	for _, n := range []*Cluster{a, b} {
		if err := n.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
	}
	nodes, err := a.Nodes(ctx)
	if err != nil || len(nodes) != 2 || nodes[0].ID != "a" || nodes[1].Load.Members != 1 || nodes[1].PublicURL != "http://b:8080" {
		t.Fatalf("Nodes: got %+v, %v; want a and b with their loads", nodes, err)
	}

	// Placed on the least loaded (b), and both agree, even asking at once.
	var wg sync.WaitGroup
	homes := make([]Node, 8)
	for i := range homes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := a
			if i%2 == 1 {
				n = b
			}
			homes[i], _ = n.Home(ctx, "standup")
		}()
	}
	wg.Wait()
	for i, h := range homes {
		if h.ID != "b" {
			t.Errorf("Home #%d: got %q; want b (the least loaded)", i, h.ID)
		}
	}
	heldMu.Lock()
	held["b"] = []string{"standup"}
	heldMu.Unlock()

	// b keeps its room while it beats, past the lease.
	for range 3 {
		time.Sleep(400 * time.Millisecond)
		_ = a.Heartbeat(ctx)
		_ = b.Heartbeat(ctx)
	}
	if h, err := a.Home(ctx, "standup"); err != nil || h.ID != "b" {
		t.Fatalf("after 1.2 s of heartbeats: Home got %q, %v; want b", h.ID, err)
	}
	if h, err := a.Claim(ctx, "standup"); err != nil || h.ID != "b" {
		t.Errorf("Claim of a room whose node lives: got %q, %v; want b (it stays there)", h.ID, err)
	}

	// b dies (no more heartbeats): its registration expires, and the room moves to a.
	testutil.Eventually(t, 5*time.Second, "b's registration expires", func() bool {
		_ = a.Heartbeat(ctx)
		_, ok, _ := a.Node(ctx, "b")
		return !ok
	})
	if h, err := a.Claim(ctx, "standup"); err != nil || h.ID != "a" || h.PublicURL != "http://a:8080" {
		t.Errorf("after b died: Claim got %+v, %v; want a", h, err)
	}
	if h, err := a.Home(ctx, "standup"); err != nil || h.ID != "a" {
		t.Errorf("after b died: Home got %q, %v; want a", h.ID, err)
	}

	// Release frees only one's own claim.
	if err := b.Release(ctx, "standup"); err != nil {
		t.Fatal(err)
	}
	if h, _ := a.Home(ctx, "standup"); h.ID != "a" {
		t.Errorf("b released a room it no longer held: Home got %q; want a", h.ID)
	}
	if err := a.Release(ctx, "standup"); err != nil {
		t.Fatal(err)
	}
}

// With Redis down, calls fail with ErrUnavailable (and the node says it is
// unhealthy); when Redis is back, they work again.
func TestRedisDownAndBack(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
	r := testutil.StartRedis(t, 0)
	ctx := context.Background()
	load := Load{}
	n := newNode(t, r.URL(), "solo", &load, nil)
	if err := n.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	if err := n.Heartbeat(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Heartbeat with Redis down: got %v; want ErrUnavailable", err)
	}
	if _, err := n.Home(ctx, "new-room"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Home with Redis down: got %v; want ErrUnavailable", err)
	}
	if n.Healthy() {
		t.Error("Healthy with Redis down")
	}
	testutil.StartRedis(t, r.Port)
	testutil.Eventually(t, 5*time.Second, "the node recovers", func() bool { return n.Heartbeat(ctx) == nil })
	if h, err := n.Home(ctx, "new-room"); err != nil || h.ID != "solo" || !n.Healthy() {
		t.Errorf("Home after Redis is back: got %q, %v (healthy %v); want solo", h.ID, err, n.Healthy())
	}
}

// Run registers the node at once and unregisters it when it stops.
func TestRunRegistersAndLeaves(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
	r := testutil.StartRedis(t, 0)
	load := Load{Members: 3}
	n := newNode(t, r.URL(), "runner", &load, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); n.Run(ctx) }()
	testutil.Eventually(t, 5*time.Second, "the node registers", func() bool {
		_, ok, _ := n.Node(context.Background(), "runner")
		return ok
	})
	cancel()
	<-done
	if _, ok, _ := n.Node(context.Background(), "runner"); ok {
		t.Error("the node is still registered after Run ended")
	}
}

// TestLeaseRenewedOnFreshRedis: a node's heartbeats keep its rooms' leases
// on a Redis that has never seen the renewal script (in a pipeline, EVALSHA
// of an uncached script failed with NOSCRIPT and nothing was renewed), and
// the heartbeat reports no error.
func TestLeaseRenewedOnFreshRedis(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	r := testutil.StartRedis(t, 0)
	ctx := context.Background()
	n := newNode(t, r.URL(), "solo", new(Load), func() []string { return []string{"kept"} })
	if err := n.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	if h, err := n.Home(ctx, "kept"); err != nil || h.ID != "solo" {
		t.Fatalf("Home: got %q, %v; want solo", h.ID, err)
	}
	// newNode's lease is 900 ms: beat for twice that.
	for range 6 {
		time.Sleep(300 * time.Millisecond)
		if err := n.Heartbeat(ctx); err != nil {
			t.Fatalf("heartbeat: %v", err)
		}
	}
	if h, ok, err := n.Locate(ctx, "kept"); err != nil || !ok || h.ID != "solo" {
		t.Errorf("after 1.8 s of heartbeats: Locate got %q, %v, %v; want the lease kept by solo", h.ID, ok, err)
	}
	if !n.Healthy() {
		t.Error("the node thinks Redis is unreachable")
	}
	// Redis restarted empty: the next heartbeat claims the room again.
	if err := n.rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := n.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	if h, ok, err := n.Locate(ctx, "kept"); err != nil || !ok || h.ID != "solo" {
		t.Errorf("after Redis lost everything: Locate got %q, %v, %v; want the room claimed again by solo", h.ID, ok, err)
	}
	// Another node's claim is never taken.
	if err := n.rdb.Set(ctx, roomKey("kept"), "other", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := n.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	if owner := n.rdb.Get(ctx, roomKey("kept")).Val(); owner != "other" {
		t.Errorf("claim after a heartbeat: got %q; want other's kept", owner)
	}
}
