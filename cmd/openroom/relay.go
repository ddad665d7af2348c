package main

import (
	"context"
	"net/http"

	"github.com/openroom/openroom/metrics"
	"github.com/openroom/openroom/relay"
	"github.com/openroom/openroom/room"
)

// relayParts are the two ends of the relays of rooms that span nodes: the
// links this node accepts as a room's home, and those it dials as a satellite.
type relayParts struct {
	stats  *relay.Stats
	accept *relay.Handler
	dial   *relay.Dialer
}

// newRelays sets up the relays of a cluster node, registers the home's
// endpoint, and returns the placer that sends members of full nodes' rooms
// to satellites.
func (a *app) newRelays() clusterPlacer {
	st := &relay.Stats{}
	c := a.cluster
	a.relays = &relayParts{
		stats:  st,
		accept: relay.NewHandler(relay.HandlerOptions{Rooms: a.rooms, Secret: a.cfg.Secret, Stats: st, Logger: a.log}),
		dial: relay.NewDialer(relay.DialerOptions{Rooms: a.rooms, Secret: a.cfg.Secret, Node: c.ID(), Stats: st, Logger: a.log,
			Home: func(ctx context.Context, room string) (string, bool, error) {
				// Its home died: this node, which holds the room, takes it
				// (unless another node placed it first: then it relays from there).
				n, err := c.Claim(ctx, room)
				if err != nil {
					return "", false, err
				}
				return n.PublicURL, n.ID == c.ID(), nil
			}}),
	}
	a.mux.Handle("GET "+relay.Path+"{room}", http.Handler(a.relays.accept))
	return clusterPlacer{c: c, relays: a.relays.dial, capacity: a.cfg.NodeCapacity, members: a.memberCount}
}

// connected is the members of st connected to this node, of every kind:
// the other nodes' members relayed here are not counted (they cost the
// relay, not a connection).
func (a *app) connected(st room.Stats) int {
	n := members(st)
	if a.relays != nil {
		n -= int(a.relays.stats.Members.Load())
	}
	return n
}

// memberCount is the members connected to this node now.
func (a *app) memberCount() int { return a.connected(a.rooms.Stats()) }

// close ends the relay links (nil-safe: a node out of cluster mode has none).
func (r *relayParts) close() {
	if r == nil {
		return
	}
	r.dial.Close()
	r.accept.Close()
}

// metrics reads the relay counters for /metrics.
func (r *relayParts) metrics() metrics.RelayStats {
	s := r.stats.Snapshot()
	return metrics.RelayStats{Links: float64(s.Links), TracksSent: float64(s.TracksOut), TracksReceived: float64(s.TracksIn),
		PacketsSent: float64(s.PacketsOut), BytesSent: float64(s.BytesOut), PacketsReceived: float64(s.PacketsIn),
		BytesReceived: float64(s.BytesIn), Dropped: float64(s.Dropped)}
}
