package signaling

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Placer says which node a room lives on when nodes share rooms (cluster
// mode, package cluster). A join for a room that lives on another node is
// answered with {"type":"redirect","url":"ws(s)://that node/ws"}.
type Placer interface {
	// Place returns "" when the room lives on this node (placing it here when
	// it lives nowhere yet and this node is the least loaded), else the base
	// URL (http(s)://host:port) of the node it lives on. An error wraps
	// ErrUnplaced. joining is set for a member joining: when the room's node
	// is full, the member may be placed on another node the room then spans
	// (this one, or the URL returned).
	Place(ctx context.Context, room string, joining bool) (string, error)
	// Full reports whether this node hosts as many members as it may: a
	// join for a room open here is then placed anew (the room may span
	// nodes: docs/deploy.md).
	Full() bool
}

// ErrUnplaced: the cluster cannot say where a room lives (Redis is
// unreachable, or no node is alive). Rooms already open go on.
var ErrUnplaced = errors.New("the cluster cannot place new rooms now (its Redis is unreachable): rooms already open go on; try again in a moment")

// placeTimeout bounds the Redis round trips of one placement.
const placeTimeout = 3 * time.Second

// homeBase returns the base URL (http(s)://host:port) of the node roomName
// lives on, or "" to serve it here. A room open here is served here without
// asking Redis, so current rooms go on while Redis is away; unless a member
// joins (joining) and this node is full, when the cluster may send it to
// another node the room spans (and, if it cannot say, it is served here all
// the same).
func (s *Server) homeBase(roomName string, joining bool) (string, error) {
	if s.placer == nil {
		return "", nil
	}
	open := s.rooms.Exists(roomName)
	if open && (!joining || !s.placer.Full()) {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), placeTimeout)
	defer cancel()
	base, err := s.placer.Place(ctx, roomName, joining)
	if err != nil && open {
		return "", nil // over capacity here beats refusing a member of an open room
	}
	if err != nil && !errors.Is(err, ErrUnplaced) {
		err = fmt.Errorf("%w: %v", ErrUnplaced, err)
	}
	return base, err
}

// homeOf returns the WebSocket URL to send a member of roomName to, or ""
// to serve it here (see homeBase).
func (s *Server) homeOf(roomName string) (string, error) {
	base, err := s.homeBase(roomName, true)
	if err != nil || base == "" {
		return "", err
	}
	return wsURL(base)
}

// wsURL turns a node's base URL into its signaling URL.
func wsURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%w: the room's node announced a bad URL %q", ErrUnplaced, base)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("%w: the room's node announced a bad URL %q", ErrUnplaced, base)
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/ws"
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}
