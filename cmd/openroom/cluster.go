package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/openroom/openroom/cluster"
	"github.com/openroom/openroom/config"
	"github.com/openroom/openroom/relay"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/signaling"
)

// clusterPlacer places rooms through the cluster for signaling, and the
// members of a room whose node is full on other nodes (which relay it).
type clusterPlacer struct {
	c        *cluster.Cluster
	relays   *relay.Dialer
	capacity int        // node_capacity; 0: rooms never span
	members  func() int // members on this node now
}

func (p clusterPlacer) Full() bool { return p.capacity > 0 && p.members() >= p.capacity }

func (p clusterPlacer) Place(ctx context.Context, room string, joining bool) (string, error) {
	home, err := p.c.Home(ctx, room)
	if err != nil {
		return "", fmt.Errorf("%w: %v", signaling.ErrUnplaced, err)
	}
	self := p.c.ID()
	base := func(n cluster.Node) string {
		if n.ID == self {
			return ""
		}
		return n.PublicURL
	}
	if !joining || (home.ID == self && !p.Full()) || (home.ID != self && !home.Full()) {
		return base(home), nil
	}
	// The room's node is full: the member goes to a node with room, which
	// relays the room from its home.
	if home.ID == self {
		_ = p.c.Heartbeat(ctx) // announce this node full at once, so the other node does not send the member back
	}
	nodes, err := p.c.Nodes(ctx)
	if err != nil {
		return base(home), nil
	}
	for i := range nodes {
		if nodes[i].ID == self {
			nodes[i].Load.Members, nodes[i].Capacity = p.members(), p.capacity
		}
	}
	to := cluster.SpillTarget(nodes, home, self)
	if to.ID != self || home.ID == self {
		return base(to), nil
	}
	if err := p.relays.Ensure(room, home.PublicURL); err != nil {
		return base(home), nil
	}
	return "", nil
}

// newCluster joins the cluster when redis_url is set; a.cluster stays nil
// otherwise. Called once the listeners are bound: the default public URL
// carries the HTTP port actually bound.
func (a *app) newCluster() error {
	cfg := a.cfg
	if cfg.RedisURL == "" {
		return nil
	}
	httpPort := ""
	if a.httpLn != nil {
		httpPort = port(a.httpLn.Addr())
	}
	public := cfg.NodePublicURL(httpPort)
	if public == "" {
		return fmt.Errorf("%w: cluster mode (redis_url) needs public_url, or node_ip and an http listener to build it from", config.ErrInvalid)
	}
	var rtc, rtmp string
	if cfg.RTCPort != 0 && cfg.NodeIP != "" {
		rtc = net.JoinHostPort(cfg.NodeIP, strconv.Itoa(cfg.RTCPort))
	}
	if a.rtmpLn != nil && cfg.NodeIP != "" {
		rtmp = net.JoinHostPort(cfg.NodeIP, port(a.rtmpLn.Addr()))
	}
	cpu := &cpuMeter{}
	c, err := cluster.New(cluster.Config{URL: cfg.RedisURL, NodeID: cfg.NodeID, PublicURL: public, RTC: rtc, RTMP: rtmp,
		Logger: a.log, Held: a.heldRooms, Listed: a.listedRooms, Capacity: cfg.NodeCapacity,
		Load: func() cluster.Load {
			st := a.rooms.Stats()
			return cluster.Load{Members: a.connected(st), Tracks: st.Tracks, CPU: cpu.cores()}
		}})
	if err != nil {
		return err
	}
	a.cluster = c
	a.log.Info("cluster mode", "node", c.ID(), "public_url", public, "redis", config.RedactURL(cfg.RedisURL))
	return nil
}

// heldRooms names the rooms open on this node: their leases are renewed.
func (a *app) heldRooms() []string {
	rooms := a.rooms.Rooms()
	names := make([]string, len(rooms))
	for i, r := range rooms {
		names[i] = r.Name
	}
	return names
}

// cpuMeter measures the cores this process used between two calls.
type cpuMeter struct {
	mu       sync.Mutex // guards the fields below
	lastCPU  time.Duration
	lastWall time.Time
}

func (m *cpuMeter) cores() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	used := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	cores := 0.0
	if !m.lastWall.IsZero() {
		if wall := now.Sub(m.lastWall); wall > 0 {
			cores = float64(used-m.lastCPU) / float64(wall)
		}
	}
	m.lastCPU, m.lastWall = used, now
	return cores
}

// listedRooms is what this node publishes for the cluster's directory.
func (a *app) listedRooms() []cluster.ListedRoom {
	rooms := a.rooms.Rooms()
	out := make([]cluster.ListedRoom, 0, len(rooms))
	for _, r := range rooms {
		lr := cluster.ListedRoom{Name: r.Name, Info: r.Info, Created: r.Created, Satellite: a.relays != nil && a.relays.dial.Linked(r.Name)}
		ms, _ := a.rooms.Members(r.Name)
		for _, m := range ms {
			lr.Members = append(lr.Members, cluster.ListedMember{UserID: m.UserID, NickName: m.NickName, Kind: m.Kind})
		}
		out = append(out, lr)
	}
	return out
}

// clusterDirectory lists the other nodes' rooms for signaling (this node's
// own it knows better itself).
type clusterDirectory struct{ c *cluster.Cluster }

func (d clusterDirectory) Rooms(ctx context.Context) ([]signaling.ListedRoom, error) {
	rooms, err := d.c.Rooms(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]signaling.ListedRoom, 0, len(rooms))
	for _, r := range rooms {
		if r.Node == d.c.ID() {
			continue
		}
		lr := signaling.ListedRoom{Name: r.Name, Info: r.Info, Created: r.Created}
		for _, m := range r.Members {
			lr.Members = append(lr.Members, room.MemberInfo{UserID: m.UserID, NickName: m.NickName, Kind: m.Kind})
		}
		out = append(out, lr)
	}
	return out, nil
}
