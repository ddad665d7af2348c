// Package whip serves WHIP ingest (RFC 9725) and WHEP playback: a WHIP
// client publishes into a room as a member of kind "whip"; a WHEP client
// plays one member's camera and microphone as a hidden viewer. Both are
// plain HTTP in front of the room and SFU APIs.
package whip

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/config"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

// Defaults of Options.
const (
	DefaultMaxSessions = 500
	// DefaultOfferRate is how many offers per second all clients together
	// may POST (each one costs a peer connection and ICE gathering).
	DefaultOfferRate  = 20
	defaultOfferBurst = 40
)

// Sentinel errors; each maps to one HTTP status (statusOf).
var (
	ErrBadOffer     = errors.New("bad offer")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrUnsupported  = errors.New("unsupported media")
	ErrTooMany      = errors.New("too many requests")
	ErrUnavailable  = errors.New("unavailable")
	ErrICERestart   = errors.New("ICE restarts are not supported: POST a new offer (and DELETE this session)")
	ErrPrecondition = errors.New("precondition failed")
)

// Options configure a Server.
type Options struct {
	Rooms  *room.Manager
	Issuer *auth.Issuer
	Engine *sfu.Engine
	// OpenLogin accepts requests without a token, and userSigs, as full access (dev mode).
	OpenLogin bool
	// MaxSDPBytes and MaxSDPMedia bound an offer (as max_sdp_bytes and max_sdp_media do on /ws).
	MaxSDPBytes, MaxSDPMedia int
	// ICEServers are offered to clients in Link headers (RFC 9725 4.6); may be nil.
	ICEServers func(host, userID string) []config.ICEServer
	// OriginAllowed says whether a browser on the request's Origin may call; nil allows any.
	OriginAllowed func(*http.Request) bool
	// MaxSessions caps WHIP and WHEP sessions together (503 beyond); 0: DefaultMaxSessions.
	MaxSessions int
	// OfferRate limits POSTs per second across clients (429 beyond); 0: DefaultOfferRate.
	OfferRate float64
	Logger    *slog.Logger
	Now       func() time.Time
}

// Server handles /whip/ and /whep/.
type Server struct {
	opts   Options
	log    *slog.Logger
	offers *rate.Limiter

	mu       sync.Mutex          // guards sessions and closed
	sessions map[string]*session // by session ID
	closed   bool
	wg       sync.WaitGroup // session goroutines
	ids      uint64         // guarded by mu: numbers WHEP viewers' media IDs
	refused  map[int]uint64 // guarded by mu: POSTs refused, by HTTP status
}

// New returns a Server.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.OfferRate <= 0 {
		o.OfferRate = DefaultOfferRate
	}
	if o.MaxSDPBytes <= 0 {
		o.MaxSDPBytes = config.Default().MaxSDPBytes
	}
	if o.MaxSDPMedia <= 0 {
		o.MaxSDPMedia = config.Default().MaxSDPMedia
	}
	return &Server{opts: o, log: o.Logger.With("part", "whip"), sessions: map[string]*session{}, refused: map[int]uint64{},
		offers: rate.NewLimiter(rate.Limit(o.OfferRate), max(defaultOfferBurst, int(o.OfferRate)))}
}

// Register mounts the WHIP and WHEP routes.
func (s *Server) Register(mux *http.ServeMux) {
	for _, p := range []string{"whip", "whep"} {
		mux.HandleFunc("POST /"+p+"/{room}/{user}", s.handlePost)
		mux.HandleFunc("OPTIONS /"+p+"/{room}/{user}", s.handleOptions)
		mux.HandleFunc("PATCH /"+p+"/{room}/{user}/{id}", s.handlePatch)
		mux.HandleFunc("DELETE /"+p+"/{room}/{user}/{id}", s.handleDelete)
		mux.HandleFunc("OPTIONS /"+p+"/{room}/{user}/{id}", s.handleOptions)
		mux.HandleFunc("/"+p+"/", s.handleOther)
	}
}

// Stats are the server's counters, for metrics.
type Stats struct {
	WHIP, WHEP int            // sessions now
	Refused    map[int]uint64 // POSTs refused, by HTTP status
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	whip, whep := s.sessionsLocked()
	st := Stats{WHIP: whip, WHEP: whep, Refused: make(map[int]uint64, len(s.refused))}
	for code, n := range s.refused {
		st.Refused[code] = n
	}
	return st
}

// Sessions counts the live WHIP and WHEP sessions.
func (s *Server) Sessions() (whip, whep int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessionsLocked()
}

func (s *Server) sessionsLocked() (whip, whep int) {
	for _, ss := range s.sessions {
		if ss.whep {
			whep++
		} else {
			whip++
		}
	}
	return whip, whep
}

// Close ends every session and waits for them.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	all := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		all = append(all, ss)
	}
	s.mu.Unlock()
	for _, ss := range all {
		ss.end("server shutting down")
	}
	s.wg.Wait()
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
