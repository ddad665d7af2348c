// Package cluster lets openroom nodes share rooms through Redis: every node
// registers itself (its URLs and load) under a key that expires unless its
// heartbeat refreshes it, and a room lives on one node, which holds it by an
// atomic claim with a lease. A node that dies stops refreshing: its
// registration and its rooms' leases expire, and the rooms can be claimed
// again elsewhere.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Errors; each wraps what went wrong underneath.
var (
	ErrBadURL      = errors.New("cluster: bad redis_url (want redis://[:password@]host:port/db or rediss://...)")
	ErrUnavailable = errors.New("cluster: Redis is unreachable: new rooms cannot be placed until it is back")
	ErrNoNode      = errors.New("cluster: no live node to place the room on")
)

// Defaults of Config.
const (
	DefaultNodeTTL   = 5 * time.Second  // a node's registration outlives 2 missed heartbeats
	DefaultRoomLease = 10 * time.Second // the bound: a dead node's rooms free within 10 s
	keyPrefix        = "openroom:"
)

// Load is what a node reports about how busy it is; rooms go to the least loaded.
type Load struct {
	Members int     `json:"members"`
	Tracks  int     `json:"tracks"`
	CPU     float64 `json:"cpu"` // cores in use
}

// Node is one registered openroom node.
type Node struct {
	ID        string `json:"id"`
	PublicURL string `json:"publicURL"` // https://host:port, what clients are sent to
	RTC       string `json:"rtc"`       // host:port of its WebRTC UDP port
	RTMP      string `json:"rtmp"`      // host:port of its RTMP listener, "" when off
	Load      Load   `json:"load"`
	// Capacity is the members the node hosts before its rooms span other
	// nodes (node_capacity); 0: no limit.
	Capacity int       `json:"capacity,omitempty"`
	Updated  time.Time `json:"updated"`
}

// Full reports whether the node hosts as many members as its capacity.
func (n Node) Full() bool { return n.Capacity > 0 && n.Load.Members >= n.Capacity }

// SpillTarget is the node a new member of a room that lives on home goes to
// when home is full: self when it has room (it then relays the room from
// home), else the least-loaded node with room, else home itself (serving
// over capacity beats refusing the member).
func SpillTarget(nodes []Node, home Node, self string) Node {
	var best *Node
	for i := range nodes {
		n := &nodes[i]
		if n.ID == home.ID || n.Full() {
			continue
		}
		if n.ID == self {
			return *n
		}
		if best == nil || n.Load.Members < best.Load.Members {
			best = n
		}
	}
	if best == nil {
		return home
	}
	return *best
}

// Config configures a Cluster.
type Config struct {
	URL       string // redis_url
	NodeID    string // "" picks a random one
	PublicURL string
	RTC, RTMP string
	// NodeTTL is how long a registration lives without a heartbeat (beats come every third of it).
	NodeTTL time.Duration
	// RoomLease is how long a room's claim lives without renewal.
	RoomLease time.Duration
	// Load reports the node's load at each heartbeat. Optional.
	Load func() Load
	// Capacity is announced with the node (Node.Capacity).
	Capacity int
	// Held lists the rooms this node hosts now: their leases are renewed at each heartbeat.
	Held func() []string
	// Listed, if set, is what this node publishes at each heartbeat for the
	// cluster-wide directory (Rooms): its rooms and their members.
	Listed func() []ListedRoom
	Logger *slog.Logger
	Now    func() time.Time
}

// Cluster is this node's view of the cluster.
type Cluster struct {
	cfg Config
	rdb *redis.Client
	log *slog.Logger

	mu      sync.Mutex // guards healthy
	healthy bool       // the last call to Redis succeeded
}

// New connects to Redis (lazily: nothing is sent until Run or a call).
func New(cfg Config) (*Cluster, error) {
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = 2*time.Second, time.Second, time.Second
	opt.MaxRetries = 1
	if cfg.NodeID == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		cfg.NodeID = "node-" + hex.EncodeToString(b)
	}
	if cfg.NodeTTL <= 0 {
		cfg.NodeTTL = DefaultNodeTTL
	}
	if cfg.RoomLease <= 0 {
		cfg.RoomLease = DefaultRoomLease
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Cluster{cfg: cfg, rdb: redis.NewClient(opt), log: cfg.Logger.With("part", "cluster", "node", cfg.NodeID), healthy: true}, nil
}

// ID is this node's ID.
func (c *Cluster) ID() string { return c.cfg.NodeID }

// Close closes the connections to Redis.
func (c *Cluster) Close() error { return c.rdb.Close() }

func nodeKey(id string) string   { return keyPrefix + "node:" + id }
func roomKey(room string) string { return keyPrefix + "room:" + room }

// observe records whether Redis answered, and logs the changes.
func (c *Cluster) observe(err error) error {
	if err != nil && !errors.Is(err, redis.Nil) {
		c.mu.Lock()
		was := c.healthy
		c.healthy = false
		c.mu.Unlock()
		if was {
			c.log.Error("Redis is unreachable: current rooms go on; new rooms are refused until it is back", "err", err)
		}
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	c.mu.Lock()
	was := c.healthy
	c.healthy = true
	c.mu.Unlock()
	if !was {
		c.log.Info("Redis is back")
	}
	return err
}

// Healthy reports whether the last call to Redis succeeded.
func (c *Cluster) Healthy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.healthy
}

// Heartbeat registers this node with its load for NodeTTL and renews the
// leases of the rooms it holds.
func (c *Cluster) Heartbeat(ctx context.Context) error {
	n := Node{ID: c.cfg.NodeID, PublicURL: c.cfg.PublicURL, RTC: c.cfg.RTC, RTMP: c.cfg.RTMP, Capacity: c.cfg.Capacity, Updated: c.cfg.Now().UTC()}
	if c.cfg.Load != nil {
		n.Load = c.cfg.Load()
	}
	b, _ := json.Marshal(n)
	pipe := c.rdb.Pipeline()
	pipe.Set(ctx, nodeKey(n.ID), b, c.cfg.NodeTTL)
	if c.cfg.Listed != nil {
		rooms := c.cfg.Listed()
		if rooms == nil {
			rooms = []ListedRoom{}
		}
		lb, _ := json.Marshal(rooms)
		pipe.Set(ctx, roomsKey(n.ID), lb, c.cfg.NodeTTL)
	}
	if c.cfg.Held != nil {
		for _, room := range c.cfg.Held() {
			// EVAL, not EVALSHA: in a pipeline a script Redis has not cached
			// (a fresh or restarted Redis) fails with NOSCRIPT, and no lease
			// was renewed: a room open here could be placed on another node.
			renewScript.Eval(ctx, pipe, []string{roomKey(room)}, c.cfg.NodeID, c.cfg.RoomLease.Milliseconds())
		}
	}
	_, err := pipe.Exec(ctx)
	return c.observe(err)
}

// Run beats every third of NodeTTL until ctx ends, then unregisters the node.
func (c *Cluster) Run(ctx context.Context) {
	tick := time.NewTicker(c.cfg.NodeTTL / 3)
	defer tick.Stop()
	for {
		_ = c.Heartbeat(ctx)
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = c.rdb.Del(dctx, nodeKey(c.cfg.NodeID), roomsKey(c.cfg.NodeID)).Err()
			cancel()
			return
		case <-tick.C:
		}
	}
}

// Nodes lists the live nodes, by ID.
func (c *Cluster) Nodes(ctx context.Context) ([]Node, error) {
	var keys []string
	iter := c.rdb.Scan(ctx, 0, keyPrefix+"node:*", 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := c.observe(iter.Err()); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, nil
	}
	vals, err := c.rdb.MGet(ctx, keys...).Result()
	if err := c.observe(err); err != nil {
		return nil, err
	}
	nodes := make([]Node, 0, len(vals))
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue // expired between SCAN and MGET
		}
		var n Node
		if json.Unmarshal([]byte(s), &n) == nil && n.ID != "" {
			nodes = append(nodes, n)
		}
	}
	slices.SortFunc(nodes, func(a, b Node) int { return strings.Compare(a.ID, b.ID) })
	return nodes, nil
}

// Node returns one live node.
func (c *Cluster) Node(ctx context.Context, id string) (Node, bool, error) {
	s, err := c.rdb.Get(ctx, nodeKey(id)).Result()
	if err := c.observe(err); errors.Is(err, redis.Nil) {
		return Node{}, false, nil
	} else if err != nil {
		return Node{}, false, err
	}
	var n Node
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		return Node{}, false, nil
	}
	return n, true, nil
}

// Home returns the node a room lives on, placing it on the least-loaded live
// node when it lives nowhere (a new room, or one whose node died). Two nodes
// placing one room at once agree: the claim is atomic.
func (c *Cluster) Home(ctx context.Context, room string) (Node, error) {
	return c.place(ctx, room, func(nodes []Node) Node {
		return slices.MinFunc(nodes, func(a, b Node) int {
			if a.Load.Members != b.Load.Members {
				return a.Load.Members - b.Load.Members
			}
			if a.Load.Tracks != b.Load.Tracks {
				return a.Load.Tracks - b.Load.Tracks
			}
			return strings.Compare(a.ID, b.ID)
		})
	})
}

// Claim makes this node the home of a room that lives nowhere or on a node
// that is gone (a satellite whose home died keeps the room), and returns the
// node it lives on then: this one, or one that placed it first.
func (c *Cluster) Claim(ctx context.Context, room string) (Node, error) {
	self := Node{ID: c.cfg.NodeID, PublicURL: c.cfg.PublicURL, RTC: c.cfg.RTC, RTMP: c.cfg.RTMP, Capacity: c.cfg.Capacity}
	return c.place(ctx, room, func([]Node) Node { return self })
}

// place returns the node room lives on, placing it on pick(live nodes) when
// it lives nowhere.
func (c *Cluster) place(ctx context.Context, room string, pick func([]Node) Node) (Node, error) {
	owner, err := c.rdb.Get(ctx, roomKey(room)).Result()
	if err := c.observe(err); err != nil && !errors.Is(err, redis.Nil) {
		return Node{}, err
	}
	orphaned := false
	if owner != "" {
		if n, ok, err := c.Node(ctx, owner); err != nil || ok {
			return n, err
		}
		orphaned = true
		// Its node is gone but the lease has not expired yet: take it over
		// only when the lease is the dead node's (compare and set).
		if err := c.observe(releaseScript.Run(ctx, c.rdb, []string{roomKey(room)}, owner).Err()); err != nil && !errors.Is(err, redis.Nil) {
			return Node{}, err
		}
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return Node{}, err
	}
	if len(nodes) == 0 {
		return Node{}, ErrNoNode
	}
	best, ok := Node{}, false
	if orphaned {
		// Its node died: a node that relayed the room (a satellite) still
		// has members in it, so the room goes on there.
		best, ok = c.satelliteOf(ctx, room, nodes)
	}
	if !ok {
		best = pick(nodes)
	}
	prev, err := c.rdb.SetArgs(ctx, roomKey(room), best.ID, redis.SetArgs{Mode: "NX", TTL: c.cfg.RoomLease, Get: true}).Result()
	if err := c.observe(err); errors.Is(err, redis.Nil) {
		return best, nil // ours: placed on best
	} else if err != nil {
		return Node{}, err
	}
	// Another node placed it first: it lives there.
	n, ok, err := c.Node(ctx, prev)
	if err != nil {
		return Node{}, err
	}
	if !ok {
		return Node{}, fmt.Errorf("%w: room %s was just placed on %s, which is gone", ErrNoNode, room, prev)
	}
	return n, nil
}

// Release gives up this node's claim on a room (it closed here).
func (c *Cluster) Release(ctx context.Context, room string) error {
	return c.observe(releaseScript.Run(ctx, c.rdb, []string{roomKey(room)}, c.cfg.NodeID).Err())
}

var (
	// renewScript: KEYS[1] room, ARGV[1] node, ARGV[2] lease ms. Renews our
	// own claim, and claims again a room we hold that has no claim (Redis
	// restarted empty); never another node's.
	renewScript = redis.NewScript(`local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`)
	// releaseScript: KEYS[1] room, ARGV[1] node. Deletes the claim only if
	// that node holds it: our own (Release), or a dead node's (Home).
	releaseScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)
)

// Locate returns the live node a room lives on, without placing it: false
// when it lives nowhere (or on a node that is gone).
func (c *Cluster) Locate(ctx context.Context, room string) (Node, bool, error) {
	owner, err := c.rdb.Get(ctx, roomKey(room)).Result()
	if err := c.observe(err); errors.Is(err, redis.Nil) {
		return Node{}, false, nil
	} else if err != nil {
		return Node{}, false, err
	}
	return c.Node(ctx, owner)
}
