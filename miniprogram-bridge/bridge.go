// Package bridge lets WeChat mini-programs into openroom's rooms: RTMP ingest
// for <live-pusher> and RTMP / HTTP-FLV output for <live-player>. Pushers and
// viewers are room members through the same sfu.Member door as browsers: H.264
// passes through, AAC and Opus are transcoded.
package bridge

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

// Sentinel errors; messages say what to fix.
var (
	ErrBadPath     = errors.New("bad stream path: want /live/{room}/{userID}")
	ErrForbidden   = errors.New("forbidden")
	ErrNotFound    = errors.New("not publishing")
	ErrUnsupported = errors.New("unsupported media")
	ErrBFrames     = errors.New("stream has B-frames (composition offsets): the bridge passes H.264 through unreordered, so set the encoder to baseline or disable B-frames (ffmpeg: -bf 0)")
)

// Transcoders make the audio converters; the default uses libavcodec (codec package).
type Transcoders interface {
	// NewAACToOpus converts AAC access units (described by asc) to 20 ms, 48 kHz stereo Opus packets.
	NewAACToOpus(asc []byte) (AACToOpus, error)
	// NewOpusToAAC converts Opus packets to AAC-LC 48 kHz stereo access units.
	NewOpusToAAC() (OpusToAAC, error)
}

// AACToOpus converts one stream; not safe for concurrent use.
type AACToOpus interface {
	Convert(au []byte) ([][]byte, error)
	Close()
}

// OpusToAAC converts one stream; not safe for concurrent use.
type OpusToAAC interface {
	Convert(packet []byte) ([][]byte, error)
	Config() []byte // AudioSpecificConfig of the output
	Close()
}

// Options configure a Server.
type Options struct {
	Rooms       *room.Manager
	Issuer      *auth.Issuer
	Transcoders Transcoders
	// OpenLogin accepts streams without a sig and userSigs as full access (dev mode).
	OpenLogin bool
	Logger    *slog.Logger
	// PushGrace keeps a pusher's member and tracks this long after its RTMP
	// connection ends, for a reconnect (0: DefaultPushGrace; negative: none).
	PushGrace time.Duration
	// ViewerWriteTimeout cuts an FLV or RTMP player that has not taken its data
	// for this long (0: DefaultViewerWriteTimeout).
	ViewerWriteTimeout time.Duration
	// OriginAllowed decides whether a page from the request's Origin may play
	// HTTP-FLV (CORS); nil allows any.
	OriginAllowed func(*http.Request) bool
	// Spreader spreads pushers' fan-out to many subscribers over several
	// cores (see sfu.Spreader). Optional.
	Spreader *sfu.Spreader
	// RoomNode, in cluster mode, returns the RTMP address (host:port) of the
	// other node a room lives on, or "" to serve it here: RTMP pushes and
	// plays for such a room are passed on to that node (relay.go). Optional.
	RoomNode func(room string) string
}

// DefaultViewerWriteTimeout is Options.ViewerWriteTimeout's default.
const DefaultViewerWriteTimeout = 10 * time.Second

// Server is the mini-program bridge. Its RTMP side accepts connections handed to
// it (Serve a listener); its FLV side is an http.Handler.
type Server struct {
	opts Options
	log  *slog.Logger
	ids  atomic.Uint64

	mu      sync.Mutex             // guards sources, parked and closed
	sources map[string]*source     // by room + "/" + owner
	parked  map[string]*parkedPush // pushes ended within the grace period, by room + "/" + user
	closed  bool
	wg      sync.WaitGroup // every connection and source goroutine
	// Metrics.
	pushers, viewers, transcodeErrors atomic.Int64
	viewerTimeouts, preAuthRefusals   atomic.Int64
	conns                             map[closer]struct{} // guarded by mu: live connections, closed on Close
}

type closer interface{ Close() error }

// New returns a Server.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ViewerWriteTimeout <= 0 {
		o.ViewerWriteTimeout = DefaultViewerWriteTimeout
	}
	return &Server{opts: o, log: o.Logger.With("part", "bridge"), sources: map[string]*source{}, conns: map[closer]struct{}{}}
}

// streamRef is what a stream URL names.
type streamRef struct {
	Room, User, Sig string
	Screen          bool // {user}.screen: the member's shared screen, not its camera
}

// screenSuffix names a member's screen share in a stream URL: "." is not
// allowed in user IDs, so it cannot be mistaken for another member.
const screenSuffix = ".screen"

// key names the stream among the bridge's sources.
func (r streamRef) key() string {
	k := r.Room + "/" + r.User
	if r.Screen {
		k += screenSuffix
	}
	return k
}

// parseStreamPath reads /live/{room}/{user}[.screen][.flv]?sig=... as pushers,
// players and HTTP-FLV viewers send it.
func parseStreamPath(path, rawQuery, ext string) (streamRef, error) {
	p := strings.TrimPrefix(path, "/")
	parts := strings.Split(p, "/")
	if len(parts) != 3 || parts[0] != "live" {
		return streamRef{}, fmt.Errorf("%w, got %q", ErrBadPath, path)
	}
	user := parts[2]
	if ext != "" {
		if !strings.HasSuffix(user, ext) {
			return streamRef{}, fmt.Errorf("%w%s, got %q", ErrBadPath, ext, path)
		}
		user = strings.TrimSuffix(user, ext)
	}
	user, screen := strings.CutSuffix(user, screenSuffix)
	if !room.ValidName(parts[1]) {
		return streamRef{}, fmt.Errorf("%w: %q", room.ErrBadRoomName, parts[1])
	}
	if !room.ValidName(user) {
		return streamRef{}, fmt.Errorf("%w: %q", room.ErrBadUserID, user)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return streamRef{}, fmt.Errorf("%w: bad query: %v", ErrBadPath, err)
	}
	return streamRef{Room: parts[1], User: user, Sig: q.Get("sig"), Screen: screen}, nil
}

// privileges checks sig for access to ref.Room. forUser, when not empty, must be
// the token's user (a pusher publishes as itself; a viewer may watch anyone).
func (s *Server) privileges(ref streamRef, forUser string) (uint32, error) {
	if ref.Sig == "" {
		if s.opts.OpenLogin {
			return auth.PrivAll, nil
		}
		return 0, fmt.Errorf("%w: missing sig (a privateMapKey for room %s)", ErrForbidden, ref.Room)
	}
	if c, err := s.opts.Issuer.VerifyRoomKey(ref.Sig, ref.Room); err == nil {
		if forUser != "" && c.User != forUser {
			return 0, fmt.Errorf("%w: %w: key user %q, stream user %q", ErrForbidden, auth.ErrWrongUser, c.User, forUser)
		}
		if err := c.Require(auth.PrivJoin); err != nil {
			return 0, fmt.Errorf("%w: %w", ErrForbidden, err)
		}
		return c.Privileges, nil
	} else if !errors.Is(err, auth.ErrWrongKind) {
		return 0, fmt.Errorf("%w: sig: %w", ErrForbidden, err)
	}
	// A userSig proves who, not what: in open-login mode that is enough; otherwise
	// the user must already be in the room (joined with a privateMapKey), and its
	// privileges there apply.
	uc, err := s.opts.Issuer.VerifyUserSig(ref.Sig, forUser)
	if err != nil {
		return 0, fmt.Errorf("%w: sig: %w", ErrForbidden, err)
	}
	if s.opts.OpenLogin {
		return auth.PrivAll, nil
	}
	priv, err := s.opts.Rooms.Privileges(ref.Room, uc.User)
	if err != nil {
		return 0, fmt.Errorf("%w: user %s: with open_login off a userSig works only for a member of room %s; use a privateMapKey", ErrForbidden, uc.User, ref.Room)
	}
	return priv, nil
}

func (s *Server) track(c closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c closer) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// Close ends every stream and waits for the bridge's goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		_ = c.Close()
	}
	srcs := make([]*source, 0, len(s.sources))
	for _, src := range s.sources {
		srcs = append(srcs, src)
	}
	s.mu.Unlock()
	s.releaseParked()
	for _, src := range srcs {
		src.close()
	}
	s.wg.Wait()
}

// Stats is a snapshot for metrics.
type Stats struct {
	Pushers         int64 // RTMP streams publishing into rooms now
	Viewers         int64 // FLV and RTMP players now
	Sources         int   // publishers being converted for players now
	TranscodeErrors int64 // streams ended by a transcoder error, ever
	ViewerTimeouts  int64 // players cut for not taking their data within the write timeout, ever
	PreAuthRefusals int64 // RTMP connections cut for sending too much before publish/play was authorized, ever
}

// Stats reports the bridge's activity.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n := len(s.sources)
	s.mu.Unlock()
	return Stats{Pushers: s.pushers.Load(), Viewers: s.viewers.Load(), Sources: n, TranscodeErrors: s.transcodeErrors.Load(),
		ViewerTimeouts: s.viewerTimeouts.Load(), PreAuthRefusals: s.preAuthRefusals.Load()}
}
