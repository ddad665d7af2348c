package cluster

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/openroom/openroom/room"
)

// ListedRoom is a room as the cluster's directory lists it: what its node
// published at its last heartbeat (at most a third of NodeTTL old).
type ListedRoom struct {
	Name    string         `json:"name"`
	Info    string         `json:"info,omitempty"`
	Created time.Time      `json:"created"`
	Members []ListedMember `json:"members"`
	Node    string         `json:"node"` // the node it lives on
	// Satellite: the node relays the room from its home (a room that spans
	// nodes); every member is listed on each node it spans.
	Satellite bool `json:"satellite,omitempty"`
}

// ListedMember is a member of a ListedRoom.
type ListedMember struct {
	UserID   string `json:"userID"`
	NickName string `json:"nickName"`
	Kind     string `json:"kind"`
}

func roomsKey(node string) string { return keyPrefix + "rooms:" + node }

// satelliteOf returns the first of nodes that lists room as a satellite
// (relaying it from its home), as their last heartbeats published.
func (c *Cluster) satelliteOf(ctx context.Context, room string, nodes []Node) (Node, bool) {
	keys := make([]string, len(nodes))
	for i, n := range nodes {
		keys[i] = roomsKey(n.ID)
	}
	vals, err := c.rdb.MGet(ctx, keys...).Result()
	if c.observe(err) != nil {
		return Node{}, false
	}
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		var rooms []ListedRoom
		if json.Unmarshal([]byte(s), &rooms) != nil {
			continue
		}
		for _, r := range rooms {
			if r.Name == room && r.Satellite {
				return nodes[i], true
			}
		}
	}
	return Node{}, false
}

// Rooms lists every live node's rooms, oldest first (then by name), as
// room.Manager.Rooms orders them on one node.
func (c *Cluster) Rooms(ctx context.Context) ([]ListedRoom, error) {
	nodes, err := c.Nodes(ctx)
	if err != nil || len(nodes) == 0 {
		return nil, err
	}
	keys := make([]string, len(nodes))
	for i, n := range nodes {
		keys[i] = roomsKey(n.ID)
	}
	vals, err := c.rdb.MGet(ctx, keys...).Result()
	if err := c.observe(err); err != nil {
		return nil, err
	}
	var out []ListedRoom
	seen := map[string]int{} // index in out
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue // the node has not published its rooms yet, or just went
		}
		var rooms []ListedRoom
		if json.Unmarshal([]byte(s), &rooms) != nil {
			continue
		}
		for _, r := range rooms {
			r.Node = nodes[i].ID
			// A room that spans nodes is listed once, as its home lists it (a
			// room moving between nodes may show on both for a beat).
			if j, ok := seen[r.Name]; ok {
				if out[j].Satellite && !r.Satellite {
					out[j] = r
				}
				continue
			}
			seen[r.Name] = len(out)
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b ListedRoom) int { return room.ListingOrder(a.Created, a.Name, b.Created, b.Name) })
	return out, nil
}
