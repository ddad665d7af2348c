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
	"github.com/openroom/openroom/signaling"
)

// clusterPlacer places rooms through the cluster for signaling.
type clusterPlacer struct{ c *cluster.Cluster }

func (p clusterPlacer) Place(ctx context.Context, room string) (string, error) {
	n, err := p.c.Home(ctx, room)
	if err != nil {
		return "", fmt.Errorf("%w: %v", signaling.ErrUnplaced, err)
	}
	if n.ID == p.c.ID() {
		return "", nil
	}
	return n.PublicURL, nil
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
		Logger: a.log, Held: a.heldRooms,
		Load: func() cluster.Load {
			st := a.rooms.Stats()
			members := 0
			for _, n := range st.MembersByKind {
				members += n
			}
			return cluster.Load{Members: members, Tracks: st.Tracks, CPU: cpu.cores()}
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
