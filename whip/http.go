package whip

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

const (
	typeSDP      = "application/sdp"
	typeSDPFrag  = "application/trickle-ice-sdpfrag"
	maxFragBytes = 16 << 10
)

// statusOf maps an error to its HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden), errors.Is(err, sfu.ErrNotAllowed):
		return http.StatusForbidden
	case errors.Is(err, ErrNotFound), errors.Is(err, room.ErrNoRoom), errors.Is(err, room.ErrNotMember):
		return http.StatusNotFound
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrUnsupported):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, ErrTooMany):
		return http.StatusTooManyRequests
	case errors.Is(err, ErrUnavailable), errors.Is(err, room.ErrRoomFull):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrICERestart):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrPrecondition):
		return http.StatusPreconditionFailed
	case errors.Is(err, ErrBadOffer), errors.Is(err, sfu.ErrBadSDP), errors.Is(err, sfu.ErrBadSource),
		errors.Is(err, room.ErrBadRoomName), errors.Is(err, room.ErrBadUserID), errors.Is(err, sfu.ErrAnswered):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	switch code {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="openroom"`)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	}
	if code == http.StatusInternalServerError {
		s.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		s.log.Info("request refused", "method", r.Method, "path", r.URL.Path, "status", code, "err", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = fmt.Fprintln(w, err.Error())
}

// cors lets browser clients on other origins call and read the headers a
// WHIP client needs. Tokens travel in Authorization, never in cookies.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if s.opts.OriginAllowed != nil && !s.opts.OriginAllowed(r) {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", "Location, Link, ETag, Accept-Patch, Accept-Post")
	return true
}

func (s *Server) handleOptions(w http.ResponseWriter, r *http.Request) {
	s.cors(w, r)
	h := w.Header()
	if r.PathValue("id") != "" {
		h.Set("Allow", "PATCH, DELETE, OPTIONS")
		h.Set("Accept-Patch", typeSDPFrag)
	} else {
		h.Set("Allow", "POST, OPTIONS")
		h.Set("Accept-Post", typeSDP)
	}
	if r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", h.Get("Allow"))
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
		h.Set("Access-Control-Max-Age", "600")
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleOther(w http.ResponseWriter, r *http.Request) {
	s.cors(w, r)
	w.Header().Set("Allow", "POST, OPTIONS (on /{room}/{userID}); PATCH, DELETE (on the session URL)")
	http.Error(w, fmt.Sprintf("%s %s: WHIP and WHEP take POST /whip|whep/{room}/{userID} with an SDP offer, then PATCH or DELETE the Location it returns", r.Method, r.URL.Path), http.StatusMethodNotAllowed)
}

// bearer returns the request's bearer token, "" when there is none.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// contentType checks the request's media type.
func contentType(r *http.Request, want string) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !strings.EqualFold(mt, want) {
		return fmt.Errorf("%w: Content-Type %q; want %s", ErrUnsupported, ct, want)
	}
	return nil
}

func readBody(r *http.Request, limit int) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return "", fmt.Errorf("%w: reading the body: %v", ErrBadOffer, err)
	}
	if len(b) > limit {
		return "", fmt.Errorf("%w: body over %d bytes", ErrBadOffer, limit)
	}
	return string(b), nil
}

func (s *Server) handlePost(w http.ResponseWriter, r *http.Request) {
	if !s.cors(w, r) {
		s.fail(w, r, fmt.Errorf("%w: origin %q is not in allowed_origins", ErrForbidden, r.Header.Get("Origin")))
		return
	}
	whep := strings.HasPrefix(r.URL.Path, "/whep/")
	ss, answer, err := s.post(r, whep, r.PathValue("room"), r.PathValue("user"))
	if err != nil {
		s.mu.Lock()
		s.refused[statusOf(err)]++
		s.mu.Unlock()
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	for _, l := range s.links(r.Host, ss.viewerOrUser()) {
		h.Add("Link", l)
	}
	h.Set("Location", ss.location())
	h.Set("ETag", ss.etag)
	h.Set("Accept-Patch", typeSDPFrag)
	h.Set("Content-Type", typeSDP)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

func (ss *session) location() string {
	p := "whip"
	if ss.whep {
		p = "whep"
	}
	return "/" + p + "/" + ss.room + "/" + ss.user + "/" + ss.id
}

func (ss *session) viewerOrUser() string {
	if ss.whep {
		return ss.viewer
	}
	return ss.user
}

// links are the Link headers that hand the client the server's ICE servers.
func (s *Server) links(host, user string) []string {
	if s.opts.ICEServers == nil {
		return nil
	}
	var out []string
	for _, is := range s.opts.ICEServers(host, user) {
		for _, u := range is.URLs {
			l := "<" + u + `>; rel="ice-server"`
			if is.Username != "" {
				l += fmt.Sprintf(`; username=%q; credential=%q; credential-type="password"`, is.Username, is.Credential)
			}
			out = append(out, l)
		}
	}
	return out
}

// session finds the session a PATCH or DELETE names.
func (s *Server) session(r *http.Request) (*session, error) {
	s.mu.Lock()
	ss := s.sessions[r.PathValue("id")]
	s.mu.Unlock()
	if ss == nil || ss.room != r.PathValue("room") || ss.user != r.PathValue("user") || ss.whep != strings.HasPrefix(r.URL.Path, "/whep/") {
		return nil, fmt.Errorf("%w: no session %s (it ended, or never was)", ErrNotFound, r.URL.Path)
	}
	return ss, nil
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	s.cors(w, r)
	ss, err := s.session(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ss.end("ended by the client (DELETE)")
	w.WriteHeader(http.StatusOK)
}

// handlePatch adds trickled candidates (RFC 9725 4.3). ICE restarts are
// refused: the client POSTs a new offer instead.
func (s *Server) handlePatch(w http.ResponseWriter, r *http.Request) {
	s.cors(w, r)
	ss, err := s.session(r)
	if err == nil {
		err = contentType(r, typeSDPFrag)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	match := r.Header.Get("If-Match")
	if match == "*" {
		s.fail(w, r, ErrICERestart)
		return
	}
	if match != "" && match != ss.etag {
		s.fail(w, r, fmt.Errorf("%w: If-Match %s; the session's ETag is %s", ErrPrecondition, match, ss.etag))
		return
	}
	body, err := readBody(r, maxFragBytes)
	var f *fragment
	if err == nil {
		f, err = parseFragment(body)
	}
	if err == nil && f.ufrag != "" && f.ufrag != ss.ufrag {
		err = ErrICERestart
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	target := sfu.TargetPublisher
	if ss.whep {
		target = sfu.TargetSubscriber
	}
	for _, c := range f.candidates {
		mid := c.mid
		if err := ss.peer.AddCandidate(target, webrtc.ICECandidateInit{Candidate: c.candidate, SDPMid: &mid}); err != nil {
			s.fail(w, r, fmt.Errorf("%w: %v", ErrBadOffer, err))
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// authorize checks the bearer token for room and returns the privileges it
// grants and whom it names. publisher is the user a WHIP token must name ("" for WHEP).
func (s *Server) authorize(r *http.Request, roomName, publisher string) (uint32, string, error) {
	token := bearer(r)
	if token == "" {
		if s.opts.OpenLogin {
			return auth.PrivAll, publisher, nil
		}
		return 0, "", fmt.Errorf("%w: missing Authorization: Bearer <privateMapKey for room %s>", ErrUnauthorized, roomName)
	}
	c, err := s.opts.Issuer.VerifyRoomKey(token, roomName)
	switch {
	case err == nil:
		if publisher != "" && c.User != publisher {
			return 0, "", fmt.Errorf("%w: %w: the token is for %q, the URL publishes %q", ErrForbidden, auth.ErrWrongUser, c.User, publisher)
		}
		if err := c.Require(auth.PrivJoin); err != nil {
			return 0, "", fmt.Errorf("%w: %w", ErrForbidden, err)
		}
		return c.Privileges, c.User, nil
	case errors.Is(err, auth.ErrWrongRoom):
		return 0, "", fmt.Errorf("%w: %w", ErrForbidden, err)
	case !errors.Is(err, auth.ErrWrongKind):
		return 0, "", fmt.Errorf("%w: token: %w", ErrUnauthorized, err)
	}
	// A userSig proves who, not what: enough in open-login mode; otherwise
	// only for a member of the room, with its privileges there.
	uc, err := s.opts.Issuer.VerifyUserSig(token, publisher)
	switch {
	case errors.Is(err, auth.ErrWrongUser):
		return 0, "", fmt.Errorf("%w: %w", ErrForbidden, err)
	case err != nil:
		return 0, "", fmt.Errorf("%w: token: %w", ErrUnauthorized, err)
	case s.opts.OpenLogin:
		return auth.PrivAll, uc.User, nil
	}
	priv, err := s.opts.Rooms.Privileges(roomName, uc.User)
	if err != nil {
		return 0, "", fmt.Errorf("%w: with open_login off a userSig works only for a member of room %s; use a privateMapKey", ErrForbidden, roomName)
	}
	return priv, uc.User, nil
}

// post starts a WHIP or WHEP session from the request's offer.
func (s *Server) post(r *http.Request, whep bool, roomName, user string) (*session, string, error) {
	if !room.ValidName(roomName) {
		return nil, "", room.ErrBadRoomName
	}
	if !room.ValidName(user) {
		return nil, "", room.ErrBadUserID
	}
	if err := contentType(r, typeSDP); err != nil {
		return nil, "", err
	}
	if s.opts.Engine == nil {
		return nil, "", fmt.Errorf("%w: WebRTC is off on this server (rtc_port 0)", ErrUnavailable)
	}
	if !s.offers.Allow() {
		return nil, "", fmt.Errorf("%w: too many offers at once; retry in a second", ErrTooMany)
	}
	publisher := user
	if whep {
		publisher = ""
	}
	priv, who, err := s.authorize(r, roomName, publisher)
	if err != nil {
		return nil, "", err
	}
	if who == "" {
		who = "whep-viewer" // open login without a token
	}
	body, err := readBody(r, s.opts.MaxSDPBytes)
	if err != nil {
		return nil, "", err
	}
	o, err := parseOffer(body, s.opts.MaxSDPBytes, s.opts.MaxSDPMedia)
	if err != nil {
		return nil, "", err
	}
	ss := &session{srv: s, id: newID(), whep: whep, room: roomName, user: user, viewer: who, ufrag: o.ufrag,
		done: make(chan struct{}), created: s.opts.Now()}
	ss.etag = `"` + newID()[:16] + `"`
	if err := s.reserve(ss); err != nil {
		return nil, "", err
	}
	var answer string
	if whep {
		answer, err = s.play(ss, o, priv)
	} else {
		answer, err = s.publish(ss, o, priv)
	}
	if err != nil {
		s.release(ss)
		return nil, "", err
	}
	s.mu.Lock()
	if s.closed { // Close ran while we answered: it waits for no session it has not seen
		s.mu.Unlock()
		ss.end("server shutting down")
		ss.cleanup()
		return nil, "", fmt.Errorf("%w: server shutting down", ErrUnavailable)
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go ss.run()
	ss.log.Info("session started", "location", ss.location())
	return ss, answer, nil
}

// reserve counts ss against MaxSessions.
func (s *Server) reserve(ss *session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return fmt.Errorf("%w: server shutting down", ErrUnavailable)
	case len(s.sessions) >= s.opts.MaxSessions:
		return fmt.Errorf("%w: %d WHIP/WHEP sessions, the most this server takes", ErrUnavailable, len(s.sessions))
	}
	s.sessions[ss.id] = ss
	return nil
}

func (s *Server) release(ss *session) {
	s.mu.Lock()
	if s.sessions[ss.id] == ss {
		delete(s.sessions, ss.id)
	}
	s.mu.Unlock()
}
