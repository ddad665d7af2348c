package signaling

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"strconv"
	"sync"

	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

// A member outlives its WebSocket: when the socket drops, its session keeps
// the membership, tracks and peer connections until the room's member timeout
// removes it, and a new socket may take it over with the resume token the
// session last issued. Every message the session sends carries a sequence
// number (seq) and the last replayBacklog of them are kept, so a resumed
// socket is sent exactly what the member missed and the others see nothing.
const (
	replayBacklog      = 512       // messages kept for a resume
	replayBacklogBytes = 512 << 10 // ... and at most this many bytes of them
)

// ErrResume is returned for a resume that cannot be honoured.
var ErrResume = errors.New("cannot resume")

// session is one member's membership (room.Session) across sockets.
type session struct {
	srv *Server
	log *slog.Logger

	// Set at join before the session can be found by token, then read-only.
	room, userID string
	mini         bool          // a mini-program: no WebRTC, RTMP/FLV URLs instead
	roomKey      string        // the member's privateMapKey (given or minted), signs its play URLs
	host         string        // the Host signaling was reached on, for stream URLs
	peer         *sfu.Peer     // set by the join before ready is closed
	ready        chan struct{} // closed when the join has set the session up
	chatLim      *rate.Limiter // chat messages of this member (safe for concurrent use)
	boardLim     *rate.Limiter // whiteboard ops of this member (safe for concurrent use)
	privileges   uint32        // the member's privilege bits, fixed by its token for the session

	stateMu sync.Mutex                            // guards states
	states  map[string]webrtc.PeerConnectionState // by target, from pion's goroutines
	closed  sync.Once                             // guards closing peer

	mu      sync.Mutex // guards every field below
	conn    *conn      // the socket attached now; nil while detached
	seq     uint64     // the last sequence number given
	backlog []sentMsg  // the last messages sent, oldest first
	bytes   int        // in backlog
	token   string     // the resume token in force ("" once ended)
	ended   bool       // removed from its room: no resume
}

// sentMsg is a message kept for a resume: its body as marshaled, without
// its seq. A room event's body is shared by every member's backlog
// (eventMemo); the seq is put in only as it is sent.
type sentMsg struct {
	seq uint64
	b   []byte
}

// send gives b the next sequence number, keeps it for a resume and queues it
// on the attached socket, if any. Under mu: the order of seq is the order sent.
// b is kept as it is, never changed: it may be shared with other sessions.
func (s *session) send(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	s.seq++
	s.backlog = append(s.backlog, sentMsg{seq: s.seq, b: b})
	s.bytes += len(b)
	drop := 0
	for len(s.backlog)-drop > replayBacklog || s.bytes > replayBacklogBytes {
		s.bytes -= len(s.backlog[drop].b)
		drop++
	}
	if drop > 0 {
		s.backlog = append(s.backlog[:0], s.backlog[drop:]...)
	}
	if s.conn != nil {
		s.conn.enqueue(withSeq(b, s.seq))
	}
}

// sendLive queues b on the attached socket, if any, without a sequence
// number and without keeping it for a resume.
func (s *session) sendLive(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended && s.conn != nil {
		s.conn.enqueue(b)
	}
}

// withSeq puts "seq":n first in the JSON object b.
func withSeq(b []byte, n uint64) []byte {
	if len(b) < 2 || b[0] != '{' {
		return b
	}
	out := make([]byte, 0, len(b)+24)
	out = append(out, `{"seq":`...)
	out = strconv.AppendUint(out, n, 10)
	if b[1] != '}' {
		out = append(out, ',')
	}
	return append(out, b[1:]...)
}

// out sends v as a replayable message.
func (s *session) out(v any) {
	b, err := marshalOut(s.srv, v)
	if err != nil {
		s.log.Error("marshal", "err", err)
		return
	}
	s.send(b)
}

// Notify implements room.Session.
func (s *session) Notify(ev room.Event) {
	switch ev.Type {
	case "board", "board_state":
		// Board messages carry the board's own seq: they are not numbered for a
		// resume (a resume gets the whole board instead).
		var b []byte
		var err error
		if ev.Type == "board" {
			b, err = s.srv.events.marshal(s.srv, ev)
		} else {
			b, err = ev.BoardState.Message()
		}
		if err != nil {
			s.log.Error("marshal", "type", ev.Type, "err", err)
			return
		}
		s.sendLive(b)
		return
	}
	b, err := s.srv.events.marshal(s.srv, ev)
	if err != nil {
		s.log.Error("marshal", "err", err)
		return
	}
	s.send(b)
	if s.mini {
		switch ev.Type {
		case "track_published", "track_unpublished", "member_left":
			s.mu.Lock()
			c := s.conn
			s.mu.Unlock()
			if c != nil {
				c.refreshUserlist()
			}
		}
	}
}

// Kick implements room.Session: the room removed the member. The socket, if
// any, is told why and closed; the peer connections close (not here: Kick
// runs under the room's lock, and closing a peer unpublishes its tracks).
func (s *session) Kick(reason string) {
	c := s.end()
	if c != nil {
		c.Kick(reason)
	}
	s.srv.conns.goClose(s.close)
}

// end marks the session ended, forgets its token and returns the socket
// attached, if any.
func (s *session) end() *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.ended = true
		s.srv.sessions.forget(s.token)
		s.token = ""
		s.backlog, s.bytes = nil, 0
	}
	c := s.conn
	s.conn = nil
	return c
}

// register makes the session resumable with its token (unless it has ended);
// a resume waits for ready.
func (s *session) register() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.srv.sessions.add(s.token, s)
	}
}

// close closes the member's peer connections (once).
func (s *session) close() {
	s.closed.Do(func() {
		if s.peer != nil {
			s.peer.Close()
		}
	})
}

// detach is called when socket c ends without the member leaving: the
// session waits for a resume; the room's sweep ends it after the timeout.
func (s *session) detach(c *conn) {
	s.mu.Lock()
	if s.conn == c {
		s.conn = nil
	}
	s.mu.Unlock()
}

// attach makes c the session's socket for a resume with the given token
// after lastSeq. It sends resumed (with a new token) and then every message
// after lastSeq, and returns the socket it replaces, if any.
func (s *session) attach(c *conn, token string, lastSeq uint64) (*conn, error) {
	next, err := newToken()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.ended || s.token != token:
		return nil, ErrResume
	case lastSeq > s.seq:
		return nil, errors.Join(ErrResume, errors.New("lastSeq is ahead of the server: join again"))
	}
	first := s.seq + 1 // the oldest seq kept
	if len(s.backlog) > 0 {
		first = s.backlog[0].seq
	}
	if lastSeq+1 < first {
		return nil, errors.Join(ErrResume, errors.New("missed more messages than the server keeps: join again"))
	}
	old := s.conn
	s.srv.sessions.forget(s.token)
	s.token = next
	s.srv.sessions.add(next, s)
	s.conn = c
	resumed, _ := marshalOut(s.srv, map[string]any{"type": "resumed", "room": s.room, "userID": s.userID,
		"resumeToken": next, "lastSeq": s.seq})
	c.enqueue(resumed)
	for _, m := range s.backlog {
		if m.seq > lastSeq {
			c.enqueue(withSeq(m.b, m.seq))
		}
	}
	return old, nil
}

// sessionTable finds sessions by resume token.
type sessionTable struct {
	mu sync.Mutex // guards m
	m  map[string]*session
}

func (t *sessionTable) add(token string, s *session) {
	t.mu.Lock()
	if t.m == nil {
		t.m = map[string]*session{}
	}
	t.m[token] = s
	t.mu.Unlock()
}

func (t *sessionTable) forget(token string) {
	if token == "" {
		return
	}
	t.mu.Lock()
	delete(t.m, token)
	t.mu.Unlock()
}

func (t *sessionTable) find(token string) *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[token]
}

func (t *sessionTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

func (t *sessionTable) all() []*session {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*session, 0, len(t.m))
	for _, s := range t.m {
		out = append(out, s)
	}
	return out
}

// newToken returns 128 random bits, URL-safe.
func newToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
