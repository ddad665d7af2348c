// Package signaling serves the room HTTP API (with the legacy /weapp/webrtc_room
// names) and the WebSocket signaling at /ws. It uses the room manager and the
// SFU engine; neither knows about it.
package signaling

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/config"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
	"github.com/openroom/openroom/turn"
)

// Server handles the API and the WebSocket. Create it with New.
type Server struct {
	cfg       config.Config
	issuer    *auth.Issuer
	rooms     *room.Manager
	engine    *sfu.Engine  // nil when WebRTC is disabled
	urls      StreamURLs   // nil when the mini-program bridge is off
	placer    Placer       // nil on a node on its own
	dir       Directory    // nil on a node on its own
	forwarder *http.Client // passes room calls to the room's node (apiforward.go)
	log       *slog.Logger
	now       func() time.Time
	conns     connSet
	sessions  sessionTable // resumable members by resume token
	events    eventMemo    // the room event last marshaled, shared by its members
	stats     counters
	draining  atomic.Bool // set by Drain: no new joins
}

// Options wire a Server.
type Options struct {
	Config config.Config
	Issuer *auth.Issuer
	Rooms  *room.Manager
	Engine *sfu.Engine // optional
	// StreamURLs builds the RTMP/FLV addresses for mini-program members. Optional.
	StreamURLs StreamURLs
	// Placer, in cluster mode, says which node each room lives on. Optional.
	Placer Placer
	// Directory, in cluster mode, lists every node's rooms. Optional.
	Directory Directory
	Logger    *slog.Logger
	Now       func() time.Time // optional
}

// New returns a Server.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Server{cfg: o.Config, issuer: o.Issuer, rooms: o.Rooms, engine: o.Engine, urls: o.StreamURLs, placer: o.Placer, dir: o.Directory, log: o.Logger, now: o.Now,
		conns: connSet{m: map[*conn]struct{}{}}, forwarder: &http.Client{Timeout: apiForwardTimeout}}
}

// Register adds the API and /ws routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.Handle("/weapp/webrtc_room/{action}", s.cors(http.HandlerFunc(s.serveAPI)))
	mux.HandleFunc("GET /ws", s.serveWS)
	mux.HandleFunc("POST /api/rooms/{room}/messages", s.serveSystemMessage)
	mux.HandleFunc("GET /api/rooms/{room}/board", s.serveBoard)
}

// OriginAllowed applies allowed_origins (config.Origins: unset, any origin in
// dev mode and only the server's own in production); requests without an
// Origin (curl, backends, mini-programs, same-origin GETs) are always allowed.
func (s *Server) OriginAllowed(r *http.Request) bool { return OriginAllowed(s.cfg.Origins(), r) }

// OriginAllowed reports whether r's Origin is in allowed ("*": any) or is the
// origin r was sent to.
func OriginAllowed(allowed []string, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || slices.Contains(allowed, "*") || slices.Contains(allowed, origin) {
		return true
	}
	return strings.EqualFold(strings.TrimPrefix(strings.TrimPrefix(origin, "http://"), "https://"), r.Host)
}

func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			if !s.OriginAllowed(r) {
				http.Error(w, fmt.Sprintf("origin %q is not in allowed_origins", origin), http.StatusForbidden)
				return
			}
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Vary", "Origin")
			w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
			w.Header().Set("Access-Control-Max-Age", "600")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Drain stops new joins (they get code 5003) and tells every connected member
// that the server is going away and when; members leave on their own or are
// closed by Close after the drain time.
func (s *Server) Drain(within time.Duration) {
	s.draining.Store(true)
	s.conns.mu.Lock()
	defer s.conns.mu.Unlock()
	for c := range s.conns.m {
		c.out(map[string]any{"type": "going_away", "reason": "server shutting down", "within": within.Milliseconds(), "reconnect": true})
	}
}

// Draining reports whether Drain was called (readiness probes fail then).
func (s *Server) Draining() bool { return s.draining.Load() }

// Close ends every WebSocket connection and waits for their goroutines.
func (s *Server) Close() {
	s.forwarder.CloseIdleConnections()
	s.conns.closeAll()
	for _, sess := range s.sessions.all() {
		sess.end()
		sess.close()
	}
	s.conns.wg.Wait() // closes started by a room's kick meanwhile
}

// ICEServers are handed to clients with their tokens: the bundled TURN server
// with credentials minted for userID (when TURN is on), then ice_servers. host
// is the Host the client reached signaling on (the TURN URLs' host by default).
func (s *Server) ICEServers(host, userID string) []config.ICEServer {
	out := make([]config.ICEServer, 0, 1+len(s.cfg.ICEServers))
	if ts, ok := turn.ICEServer(s.cfg, host, userID, s.now()); ok {
		out = append(out, ts)
	}
	return append(out, s.cfg.ICEServers...)
}

// StreamURLs builds the addresses a mini-program member pushes to and plays from.
// host is the Host the client reached signaling on; sig is the member's own
// privateMapKey. The mini-program bridge implements it.
type StreamURLs interface {
	PushURL(host, room, user, sig string) string
	PlayURLs(host, room, publisher, sig string) (flv, rtmp string)
	// ScreenPlayURLs play publisher's shared screen (and its sound), a stream of its own.
	ScreenPlayURLs(host, room, publisher, sig string) (flv, rtmp string)
}
