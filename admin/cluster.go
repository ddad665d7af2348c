package admin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ForwardedHeader marks an admin call one node passed to another (cluster
// mode): it is served where it lands, never passed on again, so two nodes
// that disagree on where a room lives cannot bounce it. It is the header
// signaling.ForwardedHeader names (admin does not import signaling).
const ForwardedHeader = "X-Openroom-Forwarded"

// Cluster is what the admin needs of the cluster in cluster mode (redis_url);
// cmd/openroom implements it over package cluster. Every call gets a context
// that ends within about a second: an unreachable Redis must not hold up the
// page.
type Cluster interface {
	// NodeID is this node's ID.
	NodeID() string
	// Directory lists the live nodes, by ID, and every node's rooms as each
	// node published them at its last heartbeat.
	Directory(ctx context.Context) ([]ClusterNode, []ClusterRoom, error)
	// RoomNode returns the base URL (public_url) of the other node a room
	// lives on; "" when it lives on this node or nowhere.
	RoomNode(ctx context.Context, room string) (string, error)
}

// ClusterNode is a live node and its load.
type ClusterNode struct {
	ID, PublicURL   string
	Members, Tracks int
	CPU             float64 // cores in use
	Rooms           int
}

// ClusterRoom is a room of the cluster's directory.
type ClusterRoom struct {
	Name, Info string
	Created    time.Time
	Node       string // the node it lives on
	Members    []ClusterMember
}

// ClusterMember is a member of a ClusterRoom.
type ClusterMember struct{ UserID, NickName, Kind string }

// Bounds of the calls to the cluster.
const (
	// clusterTimeout bounds a listing's and a locate's Redis round trips.
	clusterTimeout = time.Second
	// forwardTimeout bounds a kick or close passed to the room's node.
	forwardTimeout = 5 * time.Second
)

// CodeNodeDown answers a kick or close for a room on another node that did
// not answer (502).
const CodeNodeDown = 5020

type nodeView struct {
	ID        string  `json:"id"`
	PublicURL string  `json:"publicURL"`
	Members   int     `json:"members"`
	Tracks    int     `json:"tracks"`
	CPU       float64 `json:"cpu"`
	Rooms     int     `json:"rooms"`
	Self      bool    `json:"self"`
}

// addCluster adds to a listing of this node's rooms the other nodes' rooms
// (members without media: other nodes publish no more), the node each room
// lives on, and the live nodes. With the directory unreadable the listing
// keeps this node's rooms and says why in clusterError.
func (h *handler) addCluster(ctx context.Context, l *listingView) {
	self := h.cluster.NodeID()
	l.Node = self
	for i := range l.Rooms {
		l.Rooms[i].Node = self
	}
	ctx, cancel := context.WithTimeout(ctx, h.clusterTimeout)
	defer cancel()
	nodes, rooms, err := h.cluster.Directory(ctx)
	if err != nil {
		h.log.Warn("admin: cluster directory unavailable: listing this node's rooms only", "err", err)
		l.ClusterError = fmt.Sprintf("cannot read the cluster from Redis, so only this node's rooms are listed "+
			"(check that Redis at redis_url is up and reachable from this node): %v", err)
		return
	}
	here := make(map[string]bool, len(l.Rooms))
	for _, r := range l.Rooms {
		here[r.Name] = true
	}
	for _, r := range rooms {
		if r.Node == self || here[r.Name] { // this node knows its own rooms better, live
			continue
		}
		here[r.Name] = true
		rv := roomView{Name: r.Name, Info: r.Info, Created: r.Created.UnixMilli(), Node: r.Node,
			Members: make([]memberView, 0, len(r.Members))}
		for _, m := range r.Members {
			rv.Members = append(rv.Members, memberView{UserID: m.UserID, NickName: m.NickName, Kind: m.Kind, Tracks: []trackView{}})
		}
		l.Rooms = append(l.Rooms, rv)
	}
	slices.SortFunc(l.Rooms, func(a, b roomView) int { return strings.Compare(a.Name, b.Name) }) // as Details orders them
	l.Nodes = make([]nodeView, 0, len(nodes))
	for _, n := range nodes {
		l.Nodes = append(l.Nodes, nodeView{ID: n.ID, PublicURL: n.PublicURL, Members: n.Members, Tracks: n.Tracks,
			CPU: round2(n.CPU), Rooms: n.Rooms, Self: n.ID == self})
	}
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// forward passes a kick or close for a room that is not here to the node it
// lives on, with the same method, path, body and token, and copies its
// answer back. It reports whether it answered. A call another node passed
// here is served here whatever it finds.
func (h *handler) forward(w http.ResponseWriter, r *http.Request, roomName string, body []byte) bool {
	if h.cluster == nil || r.Header.Get(ForwardedHeader) != "" || h.rooms.Exists(roomName) {
		return false
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.clusterTimeout)
	base, err := h.cluster.RoomNode(ctx, roomName)
	cancel()
	if err != nil {
		// Served here (no such room): without Redis no node can be named.
		h.log.Warn("admin: cannot tell where a room lives: answering for this node", "room", roomName, "err", err)
		return false
	}
	if base == "" {
		return false
	}
	base = strings.TrimRight(base, "/")
	ctx, cancel = context.WithTimeout(r.Context(), forwardTimeout)
	defer cancel()
	out, err := http.NewRequestWithContext(ctx, r.Method, base+r.URL.EscapedPath(), bytes.NewReader(body))
	if err != nil {
		h.log.Error("admin: bad node URL in the cluster", "room", roomName, "node", base, "err", err)
		return false
	}
	out.Header.Set("Content-Type", "application/json")
	out.Header.Set("Authorization", r.Header.Get("Authorization"))
	out.Header.Set(ForwardedHeader, h.cluster.NodeID())
	resp, err := h.client.Do(out)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, CodeNodeDown,
			fmt.Sprintf("room %s lives on the node at %s, which does not answer: %v", roomName, base, err))
		return true
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		// Not passed back as 401: the page would sign out of this node,
		// whose token is good.
		writeJSON(w, http.StatusBadGateway, CodeNodeDown, fmt.Sprintf(
			"room %s lives on the node at %s, which refused this admin token: give every node the same admin_token", roomName, base))
		return true
	}
	h.log.Info("admin: call passed to the room's node", "path", r.URL.Path, "node", base, "status", resp.StatusCode,
		"remote", r.RemoteAddr)
	for _, k := range []string{"Content-Type", "X-Content-Type-Options"} {
		if v := resp.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, io.LimitReader(resp.Body, maxBody))
	return true
}
