package whip

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

// Timers of a session's connection.
const (
	// connectTimeout: a session whose ICE never connects ends (the client
	// went away between POST and media, or cannot reach the server).
	connectTimeout = 30 * time.Second
	// lostTimeout: a connection that stays disconnected this long ends
	// its session (pion declares failure later; the member would linger).
	lostTimeout   = 15 * time.Second
	checkInterval = time.Second
)

// session is one WHIP publisher or WHEP viewer: one peer connection and
// what it holds in a room. For a WHIP session it is the member's room.Session.
type session struct {
	srv        *Server
	id, etag   string
	whep       bool
	room, user string // user: the WHIP publisher, or the member a WHEP viewer plays
	viewer     string // WHEP: who watches (from the token)
	ufrag      string // the client's ICE ufrag (from its offer)
	log        *slog.Logger
	peer       *sfu.Peer
	detach     func() // WHEP: leaves the room's router
	state      atomic.Int32
	created    time.Time
	endOnce    sync.Once
	done       chan struct{}
	// reason is why the session ended: written by end before it closes
	// done, read by cleanup after done is closed.
	reason string
	// disconnectedAt is when the connection last went disconnected (unix
	// ns); 0 while it is not.
	disconnectedAt atomic.Int64
}

// Notify implements room.Session: a WHIP client has no channel to hear room events on.
func (ss *session) Notify(room.Event) {}

// Kick implements room.Session: the room removed the member.
func (ss *session) Kick(reason string) { ss.end(reason) }

// end stops the session: its URL is gone at once, its goroutine cleans up.
// It does not block.
func (ss *session) end(reason string) {
	ss.endOnce.Do(func() {
		ss.reason = reason
		ss.srv.release(ss)
		close(ss.done)
	})
}

func (ss *session) onState(_ string, s webrtc.PeerConnectionState) {
	ss.state.Store(int32(s))
	switch s {
	case webrtc.PeerConnectionStateDisconnected:
		ss.disconnectedAt.CompareAndSwap(0, ss.srv.opts.Now().UnixNano())
	case webrtc.PeerConnectionStateConnected:
		ss.disconnectedAt.Store(0)
	}
}

// down reports whether the connection is gone for good, and why.
func (ss *session) down(now time.Time) (bool, string) {
	switch webrtc.PeerConnectionState(ss.state.Load()) {
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		return true, "connection failed"
	case webrtc.PeerConnectionStateConnected:
		return false, ""
	case webrtc.PeerConnectionStateDisconnected:
		if since := ss.disconnectedAt.Load(); since != 0 && now.Sub(time.Unix(0, since)) > lostTimeout {
			return true, "connection lost"
		}
		return false, ""
	}
	if now.Sub(ss.created) > connectTimeout {
		return true, "ICE did not connect"
	}
	return false, ""
}

// replaceable reports whether a new WHIP session may take this one's place:
// its connection is not up (the encoder reconnects after a network drop
// before the server noticed).
func (ss *session) replaceable() bool {
	return webrtc.PeerConnectionState(ss.state.Load()) != webrtc.PeerConnectionStateConnected
}

// run keeps the session's membership alive while its connection is, and
// cleans up when it ends.
func (ss *session) run() {
	defer ss.srv.wg.Done()
	tick := time.NewTicker(checkInterval)
	defer tick.Stop()
	for {
		select {
		case <-ss.done:
			ss.cleanup()
			return
		case <-tick.C:
		}
		now := ss.srv.opts.Now()
		if gone, why := ss.down(now); gone {
			ss.end(why)
			continue
		}
		rooms := ss.srv.opts.Rooms
		if ss.whep {
			if !rooms.Exists(ss.room) {
				ss.end("room closed")
			}
			continue
		}
		if err := rooms.Touch(ss.room, ss.user, ss); errors.Is(err, room.ErrNotMember) || errors.Is(err, room.ErrNoRoom) {
			ss.end("removed from the room")
		}
	}
}

func (ss *session) cleanup() {
	if ss.whep {
		ss.detach()
	} else {
		_ = ss.srv.opts.Rooms.Leave(ss.room, ss.user, ss, room.ReasonLeft)
	}
	ss.peer.Close()
	ss.log.Info("session ended", "reason", ss.reason)
}
