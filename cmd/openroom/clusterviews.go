package main

import (
	"context"
	"time"

	"github.com/openroom/openroom/admin"
	"github.com/openroom/openroom/cluster"
	"github.com/openroom/openroom/metrics"
)

// clusterViewTimeout bounds reading the cluster for /admin and /metrics: an
// unreachable Redis must not hold up the page or a scrape.
const clusterViewTimeout = time.Second

// liveNode is a live node with its rooms counted.
type liveNode struct {
	cluster.Node
	Rooms int
}

// clusterView reads the live nodes and every node's rooms from Redis. This
// node's figures are its own, live (the admin page lists its rooms live
// too); the others' are those of their last heartbeat.
func (a *app) clusterView(ctx context.Context) ([]liveNode, []cluster.ListedRoom, error) {
	nodes, err := a.cluster.Nodes(ctx)
	if err != nil {
		return nil, nil, err
	}
	rooms, err := a.cluster.Rooms(ctx)
	if err != nil {
		return nil, nil, err
	}
	perNode := map[string]int{}
	for _, r := range rooms {
		perNode[r.Node]++
	}
	st := a.rooms.Stats()
	out := make([]liveNode, len(nodes))
	for i, n := range nodes {
		out[i] = liveNode{Node: n, Rooms: perNode[n.ID]}
		if n.ID == a.cluster.ID() {
			out[i].Load.Members, out[i].Load.Tracks, out[i].Rooms = members(st), st.Tracks, st.Rooms
		}
	}
	return out, rooms, nil
}

// clusterStats is the cluster as /metrics exports it; RedisUp false when
// Redis cannot be read within clusterViewTimeout.
func (a *app) clusterStats() metrics.ClusterStats {
	ctx, cancel := context.WithTimeout(context.Background(), clusterViewTimeout)
	defer cancel()
	nodes, _, err := a.clusterView(ctx)
	if err != nil {
		return metrics.ClusterStats{}
	}
	st := metrics.ClusterStats{RedisUp: true, Nodes: make([]metrics.ClusterNode, len(nodes))}
	for i, n := range nodes {
		st.Nodes[i] = metrics.ClusterNode{ID: n.ID, Members: float64(n.Load.Members), Tracks: float64(n.Load.Tracks),
			CPU: n.Load.CPU, Rooms: float64(n.Rooms)}
	}
	return st
}

// adminCluster shows the cluster on the admin page, and names the node a
// kick or close for a room elsewhere goes to.
type adminCluster struct{ a *app }

func (c adminCluster) NodeID() string { return c.a.cluster.ID() }

func (c adminCluster) Directory(ctx context.Context) ([]admin.ClusterNode, []admin.ClusterRoom, error) {
	nodes, rooms, err := c.a.clusterView(ctx)
	if err != nil {
		return nil, nil, err
	}
	an := make([]admin.ClusterNode, len(nodes))
	for i, n := range nodes {
		an[i] = admin.ClusterNode{ID: n.ID, PublicURL: n.PublicURL, Members: n.Load.Members, Tracks: n.Load.Tracks,
			CPU: n.Load.CPU, Rooms: n.Rooms}
	}
	ar := make([]admin.ClusterRoom, len(rooms))
	for i, r := range rooms {
		ar[i] = admin.ClusterRoom{Name: r.Name, Info: r.Info, Created: r.Created, Node: r.Node,
			Members: make([]admin.ClusterMember, len(r.Members))}
		for j, m := range r.Members {
			ar[i].Members[j] = admin.ClusterMember{UserID: m.UserID, NickName: m.NickName, Kind: m.Kind}
		}
	}
	return an, ar, nil
}

func (c adminCluster) RoomNode(ctx context.Context, room string) (string, error) {
	n, ok, err := c.a.cluster.Locate(ctx, room)
	if err != nil || !ok || n.ID == c.a.cluster.ID() {
		return "", err
	}
	return n.PublicURL, nil
}
