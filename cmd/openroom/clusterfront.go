package main

import (
	"context"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/openroom/openroom/cluster"
	"github.com/openroom/openroom/signaling"
)

// locateTimeout bounds the Redis round trips of finding a room's node.
const locateTimeout = 2 * time.Second

// otherNode returns the other node room lives on; false when it is served
// here: open here, living nowhere yet, on this node, or when Redis cannot say.
func (a *app) otherNode(room string) (cluster.Node, bool) {
	if a.cluster == nil || a.rooms.Exists(room) {
		return cluster.Node{}, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), locateTimeout)
	defer cancel()
	n, ok, err := a.cluster.Locate(ctx, room)
	if err != nil || !ok || n.ID == a.cluster.ID() {
		return cluster.Node{}, false
	}
	return n, true
}

// rtmpNode is the bridge's RoomNode: the RTMP address of the other node a
// room lives on ("" to serve it here).
func (a *app) rtmpNode(room string) string {
	n, _ := a.otherNode(room)
	return n.RTMP
}

// clusterFront passes an HTTP-FLV request for a room that lives on another
// node to that node and streams its answer back: players (live-player, ffmpeg)
// get the room from any node. Anything else goes to next.
func (a *app) clusterFront(next http.Handler) http.Handler {
	if a.cluster == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(signaling.ForwardedHeader) != "" {
			next.ServeHTTP(w, r)
			return
		}
		n, ok := a.otherNode(r.PathValue("room"))
		base := n.PublicURL
		target, err := url.Parse(base)
		if !ok || base == "" || err != nil {
			next.ServeHTTP(w, r)
			return
		}
		proxy := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.SetXForwarded()
				pr.Out.Header.Set(signaling.ForwardedHeader, a.cluster.ID())
			},
			FlushInterval: -1, // a live stream: every write goes out at once
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				a.log.Info("cannot pass an HTTP-FLV request to the room's node", "room", r.PathValue("room"), "node", base, "err", err)
				http.Error(w, "the room's node does not answer: try again in a moment", http.StatusBadGateway)
			},
		}
		proxy.ServeHTTP(w, r)
	})
}
