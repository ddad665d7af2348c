package signaling

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

const (
	maxFrame          = 64 << 10
	sendQueue         = 256
	writeTimeout      = 10 * time.Second
	msgRate           = 50  // messages per second per connection
	msgBurst          = 100 // messages allowed at once
	chatRate          = 10  // chat messages per second per member
	chatBurst         = 20
	boardRate         = 30 // whiteboard ops per second per member: a stroke is sent while drawn
	boardBurst        = 60
	closeKicked       = 4000
	closeJoinTimeout  = 4408 // no join or resume within join_timeout of opening
	legacyHeartbeatMs = 7000
)

// inMsg is the union of every client message's fields.
type inMsg struct {
	Type          string            `json:"type"`
	Room          roomRef           `json:"room"`
	UserSig       string            `json:"userSig"`
	PrivateMapKey string            `json:"privateMapKey"`
	NickName      string            `json:"nickName"`
	Target        string            `json:"target"`
	SDP           string            `json:"sdp"`
	Sources       map[string]string `json:"sources"` // offer: what each m-line carries, by mid ("screen"...)
	Op            json.RawMessage   `json:"op"`      // board
	Candidate     json.RawMessage   `json:"candidate"`
	Kind          string            `json:"kind"`
	Muted         *bool             `json:"muted"`
	Client        string            `json:"client"`
	Text          string            `json:"text"`
	Data          json.RawMessage   `json:"data"`
	To            string            `json:"to"`
	ClientID      string            `json:"clientID"`
	TrackID       string            `json:"trackID"`
	Visible       *bool             `json:"visible"`
	Width         int               `json:"width"`
	Height        int               `json:"height"`
	Pinned        bool              `json:"pinned"`
	ResumeToken   string            `json:"resumeToken"`
	LastSeq       uint64            `json:"lastSeq"`
}

// conn is one WebSocket. Its read goroutine (serveWS) owns every field below
// except where noted; the write goroutine owns the socket's writes. The
// member it joined (or resumed) is its session, which may outlive it.
type conn struct {
	srv        *Server
	ws         *websocket.Conn
	log        *slog.Logger
	send       chan []byte   // queued frames; never closed
	kick       chan struct{} // closed when the server ends this connection
	done       chan struct{} // closed when the read side is finished
	once       sync.Once     // guards closing kick
	kickReason string        // written before kick is closed
	closeCode  int           // written before kick is closed

	lim          *rate.Limiter
	lastLimitErr time.Time
	host         string        // the Host signaling was reached on, for stream URLs
	refresh      chan struct{} // asks the writer to resend the mini-program's userlist
	lastList     string        // owned by the writer goroutine: the userlist last sent
	sess         *session      // nil until join or resume; set before the writer may read it (refresh)
	left         bool
	entered      atomic.Bool // joined or resumed (read by the join timer)
}

// connSet tracks live connections for shutdown.
type connSet struct {
	mu sync.Mutex // guards m and wg.Add
	m  map[*conn]struct{}
	wg sync.WaitGroup
}

func (cs *connSet) add(c *conn) {
	cs.mu.Lock()
	cs.m[c] = struct{}{}
	cs.wg.Add(1)
	cs.mu.Unlock()
}

func (cs *connSet) remove(c *conn) {
	cs.mu.Lock()
	delete(cs.m, c)
	cs.mu.Unlock()
	cs.wg.Done()
}

// goClose runs f (closing a member's peer connections) on a goroutine that
// closeAll waits for.
func (cs *connSet) goClose(f func()) {
	cs.mu.Lock()
	cs.wg.Add(1)
	cs.mu.Unlock()
	go func() {
		defer cs.wg.Done()
		f()
	}()
}

func (cs *connSet) closeAll() {
	cs.mu.Lock()
	for c := range cs.m {
		c.goAway()
	}
	cs.mu.Unlock()
	cs.wg.Wait()
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{
		ReadBufferSize: 4096, WriteBufferSize: 4096,
		CheckOrigin: s.OriginAllowed,
	}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader already answered with the reason
	}
	c := &conn{
		srv: s, ws: ws, log: s.log.With("remote", r.RemoteAddr),
		send: make(chan []byte, sendQueue), kick: make(chan struct{}), done: make(chan struct{}),
		lim: rate.NewLimiter(msgRate, msgBurst), host: r.Host, refresh: make(chan struct{}, 1),
	}
	s.conns.add(c)
	defer s.conns.remove(c)
	c.serve()
}

func (c *conn) serve() {
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	c.ws.SetReadLimit(maxFrame) // gorilla closes with 1009 past this
	c.extendDeadline()
	c.ws.SetPongHandler(func(string) error {
		c.alive()
		return nil
	})
	// A socket that never joins holds a goroutine pair and a buffer: it gets
	// join_timeout to send join or resume.
	joinTimer := time.AfterFunc(c.srv.cfg.JoinTimeout, func() {
		if c.entered.Load() {
			return
		}
		c.srv.stats.joinTimeout()
		c.closeWith(closeJoinTimeout, fmt.Sprintf("no join within %v of opening: send join (or resume) first", c.srv.cfg.JoinTimeout))
	})
	defer joinTimer.Stop()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			break
		}
		c.alive()
		c.handle(data)
		if c.left {
			break
		}
	}
	c.cleanup()
	close(c.done)
	<-writerDone
	_ = c.ws.Close()
}

func (c *conn) extendDeadline() {
	_ = c.ws.SetReadDeadline(time.Now().Add(c.srv.cfg.MemberTimeout + c.srv.cfg.PingInterval))
}

// alive marks the member alive: any frame or pong counts.
func (c *conn) alive() {
	c.extendDeadline()
	if s := c.sess; s != nil {
		_ = c.srv.rooms.Touch(s.room, s.userID, s)
	}
}

// cleanup runs when the socket ends. A member that left is removed; one whose
// socket merely dropped stays until it resumes or the room's timeout removes it.
func (c *conn) cleanup() {
	s := c.sess
	if s == nil {
		return
	}
	if !c.left {
		s.detach(c)
		return
	}
	_ = c.srv.rooms.Leave(s.room, s.userID, s, room.ReasonLeft)
	s.end()
	s.close()
}

func (c *conn) writeLoop() {
	ping := time.NewTicker(c.srv.cfg.PingInterval)
	defer ping.Stop()
	write := func(b []byte) bool {
		_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
		return c.ws.WriteMessage(websocket.TextMessage, b) == nil
	}
	flush := func() {
		for {
			select {
			case b := <-c.send:
				if !write(b) {
					return
				}
			default:
				return
			}
		}
	}
	for {
		select {
		case b := <-c.send:
			if !write(b) {
				_ = c.ws.Close() // unblocks the reader
				return
			}
		case <-c.refresh:
			// select picks among ready cases at random: what was queued
			// before the refresh (joined, above all) goes first, or a
			// mini-program would get its userlist before it is in the room.
			flush()
			c.sendUserlist(write)
		case <-ping.C:
			_ = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout))
		case <-c.kick:
			flush()
			msg := websocket.FormatCloseMessage(c.closeCode, truncate(c.kickReason, 120))
			_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			_ = c.ws.Close()
			return
		case <-c.done:
			flush()
			_ = c.ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			return
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// marshalOut marshals a message to a client, counting the errors sent.
func marshalOut(srv *Server, v any) ([]byte, error) {
	if m, ok := v.(map[string]any); ok && m["type"] == "error" {
		code, _ := m["code"].(int)
		srv.stats.error(code)
	}
	return json.Marshal(v)
}

// out queues a reply to this socket only (not replayed on resume).
func (c *conn) out(v any) {
	b, err := marshalOut(c.srv, v)
	if err != nil {
		c.log.Error("marshal", "err", err)
		return
	}
	c.enqueue(b)
}

// enqueue queues a frame without blocking. A client too slow to take its
// messages is disconnected rather than allowed to stall the room.
func (c *conn) enqueue(b []byte) {
	select {
	case c.send <- b:
	default:
		c.log.Warn("client too slow: send queue full, disconnecting")
		c.Kick("too slow: send queue full")
	}
}

func (c *conn) refreshUserlist() {
	select {
	case c.refresh <- struct{}{}:
	default:
	}
}

// sendUserlist tells a mini-program whom it can play, as the legacy pusher
// event 1020 did. It runs on the writer goroutine, holding no room lock.
func (c *conn) sendUserlist(write func([]byte) bool) {
	s := c.sess
	members, err := c.srv.rooms.Members(s.room)
	if err != nil || c.srv.urls == nil {
		return
	}
	list := []map[string]any{}
	for _, m := range members {
		if m.UserID == s.userID {
			continue
		}
		camera, screen := false, false
		for _, t := range m.Tracks {
			switch t.Source {
			case string(sfu.SourceScreen):
				screen = true
			case string(sfu.SourceScreenAudio):
			default:
				camera = true
			}
		}
		if camera {
			flv, rtmp := c.srv.urls.PlayURLs(c.host, s.room, m.UserID, s.roomKey)
			list = append(list, map[string]any{"userID": m.UserID, "nickName": m.NickName, "kind": m.Kind,
				"playURL": flv, "rtmpURL": rtmp})
		}
		if screen { // its own stream, after the sharer's camera
			flv, rtmp := c.srv.urls.ScreenPlayURLs(c.host, s.room, m.UserID, s.roomKey)
			list = append(list, map[string]any{"userID": m.UserID, "nickName": m.NickName, "kind": m.Kind,
				"source": string(sfu.SourceScreen), "playURL": flv, "rtmpURL": rtmp})
		}
	}
	b := mustJSON(map[string]any{"type": "userlist", "userlist": list})
	if string(b) == c.lastList {
		return
	}
	c.lastList = string(b)
	write(b)
}

// Kick tells the client why, then closes the socket (close code 4000: the
// SDK does not come back).
func (c *conn) Kick(reason string) {
	c.once.Do(func() {
		c.kickReason, c.closeCode = reason, closeKicked
		select {
		case c.send <- mustJSON(map[string]any{"type": "kicked", "reason": reason, "code": closeKicked}):
		default:
		}
		close(c.kick)
	})
}

// closeWith closes the socket with code and reason (no message before it).
func (c *conn) closeWith(code int, reason string) {
	c.once.Do(func() {
		c.kickReason, c.closeCode = reason, code
		close(c.kick)
	})
}

// goAway closes the socket because the server stops (close code 1012,
// service restart): the member is not removed from anything a client could
// resume, and the SDK reconnects and joins again once a server is back.
func (c *conn) goAway() {
	c.once.Do(func() {
		c.kickReason, c.closeCode = "server restarting", websocket.CloseServiceRestart
		close(c.kick)
	})
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func (c *conn) fail(ref string, err error) {
	code := codeOf(err)
	if code == CodeInternal {
		c.log.Error("request failed", "type", ref, "err", err)
	} else {
		c.log.Info("request refused", "type", ref, "code", code, "err", err) // c.log names room and user once joined
	}
	c.out(map[string]any{"type": "error", "code": code, "message": err.Error(), "ref": ref})
}

func (c *conn) handle(data []byte) {
	defer func() {
		if r := recover(); r != nil { // a bug must cost one message, not the process
			c.log.Error("panic handling message", "panic", r)
			c.fail("", fmt.Errorf("internal error"))
		}
	}()
	if !c.lim.Allow() {
		if time.Since(c.lastLimitErr) > time.Second {
			c.lastLimitErr = time.Now()
			c.out(map[string]any{"type": "error", "code": CodeRateLimited,
				"message": fmt.Sprintf("too many messages: the limit is %d per second (burst %d); message dropped", msgRate, msgBurst)})
		}
		return
	}
	var m inMsg
	defer func() { c.srv.stats.message(m.Type) }()
	if err := json.Unmarshal(data, &m); err != nil {
		c.fail("", fmt.Errorf("%w: %v", ErrBadMessage, err))
		return
	}
	if m.Type == "" {
		c.fail("", missing("type"))
		return
	}
	if m.Type != "join" && m.Type != "resume" && m.Type != "heartbeat" && c.sess == nil {
		if known(m.Type) {
			c.out(map[string]any{"type": "error", "code": CodeNotJoined, "ref": m.Type,
				"message": "not joined: send join first"})
		} else {
			c.unknown(m.Type)
		}
		return
	}
	switch m.Type {
	case "join":
		c.join(&m)
	case "resume":
		c.resume(&m)
	case "offer":
		c.offer(&m)
	case "answer":
		c.answer(&m)
	case "candidate":
		c.candidate(&m)
	case "mute":
		c.mute(&m)
	case "chat":
		c.chat(&m)
	case "board":
		c.board(&m)
	case "track_settings":
		c.trackSettings(&m)
	case "ice_restart":
		c.iceRestart(&m)
	case "heartbeat":
		c.out(map[string]any{"type": "heartbeat", "time": c.srv.now().UnixMilli()})
	case "leave":
		c.left = true
	default:
		c.unknown(m.Type)
	}
}

func known(t string) bool {
	switch t {
	case "join", "resume", "offer", "answer", "candidate", "mute", "heartbeat", "leave", "chat", "board", "track_settings", "ice_restart":
		return true
	}
	return false
}

func (c *conn) unknown(t string) {
	c.out(map[string]any{"type": "error", "code": CodeUnknownType, "ref": t,
		"message": fmt.Sprintf("unknown message type %q: see docs/protocol.md", t)})
}

func (c *conn) join(m *inMsg) {
	if c.sess != nil {
		c.out(map[string]any{"type": "error", "code": CodeNotJoined, "ref": "join", "message": "already joined: open another socket for another room"})
		return
	}
	s := c.srv
	if s.Draining() {
		c.out(map[string]any{"type": "error", "code": CodeShuttingDown, "ref": "join",
			"message": "server is shutting down: join again in a moment (another instance, or this one after its restart)"})
		return
	}
	roomName := string(m.Room)
	if roomName == "" {
		c.fail("join", missing("room"))
		return
	}
	if !room.ValidName(roomName) {
		c.fail("join", fmt.Errorf("%w: %q", room.ErrBadRoomName, roomName))
		return
	}
	if m.UserSig == "" {
		c.fail("join", missing("userSig (get one from get_login_info)"))
		return
	}
	uc, err := s.issuer.VerifyUserSig(m.UserSig, "")
	if err != nil {
		c.fail("join", fmt.Errorf("userSig: %w", err))
		return
	}
	userID := uc.User
	privileges, create := auth.PrivAll, s.cfg.OpenLogin
	switch {
	case m.PrivateMapKey != "":
		rc, err := s.issuer.VerifyPrivateMapKey(m.PrivateMapKey, userID, roomName)
		if err != nil {
			c.fail("join", fmt.Errorf("privateMapKey: %w", err))
			return
		}
		if err := rc.Require(auth.PrivJoin); err != nil {
			c.fail("join", err)
			return
		}
		privileges = rc.Privileges
		create = create || rc.Has(auth.PrivCreate)
	case !s.cfg.OpenLogin:
		c.fail("join", missing("privateMapKey (open_login is off)"))
		return
	}
	kind := room.KindWebRTC
	switch m.Client {
	case "", "web":
	case "miniprogram":
		if s.urls == nil {
			c.fail("join", fmt.Errorf("%w: this server runs without the mini-program bridge (rtmp is off)", ErrBadMessage))
			return
		}
		kind = room.KindRTMP
	default:
		c.fail("join", fmt.Errorf("%w: client %q: want \"web\" or \"miniprogram\"", ErrBadMessage, m.Client))
		return
	}
	// In cluster mode a room lives on one node: a member that reached
	// another is sent there (the SDK, the legacy shim and the mini-program
	// component follow it). Asked once the member has proven who it is, so
	// the cluster's layout is not shown to anyone.
	if home, err := s.homeOf(roomName); err != nil {
		c.fail("join", err)
		return
	} else if home != "" {
		c.log.Info("member sent to the room's node", "room", roomName, "user", userID, "url", home)
		c.out(map[string]any{"type": "redirect", "url": home, "room": roomName})
		return
	}
	roomKey := m.PrivateMapKey
	if roomKey == "" {
		if roomKey, err = s.issuer.PrivateMapKey(userID, roomName, privileges, s.cfg.TokenTTL); err != nil {
			c.fail("join", err)
			return
		}
	}
	token, err := newToken()
	if err != nil {
		c.fail("join", err)
		return
	}
	sess := &session{srv: s, log: c.log.With("room", roomName, "user", userID), room: roomName, userID: userID,
		mini: kind == room.KindRTMP, roomKey: roomKey, host: c.host, chatLim: rate.NewLimiter(chatRate, chatBurst),
		boardLim: rate.NewLimiter(boardRate, boardBurst), privileges: privileges,
		conn: c, token: token, ready: make(chan struct{})}
	defer close(sess.ready)
	// Set before Enter: from Enter on, other goroutines may use it (userlist refresh, room events).
	c.sess = sess
	others, err := s.rooms.Enter(room.EnterRequest{Room: roomName, UserID: userID, NickName: m.NickName,
		Kind: kind, Privileges: privileges, Session: sess, Create: create})
	if err != nil {
		c.sess = nil
		c.fail("join", err)
		return
	}
	c.log = sess.log
	c.entered.Store(true)
	joined := map[string]any{
		"type": "joined", "room": roomName, "roomID": roomIDValue(roomName), "userID": userID,
		"privileges": privileges, "members": others, "iceServers": s.ICEServers(c.host, userID),
		"heartbeatInterval": legacyHeartbeatMs, "memberTimeout": s.cfg.MemberTimeout.Milliseconds(),
		"resumeToken": token,
	}
	if sess.mini {
		joined["pushURL"] = s.urls.PushURL(c.host, roomName, userID, roomKey)
	}
	sess.register() // before joined is sent: a client may drop and resume at once
	sess.out(joined)
	if history, err := s.rooms.History(roomName, userID); err == nil {
		sess.out(map[string]any{"type": "chat_history", "messages": history})
	}
	_ = s.rooms.SendBoard(roomName, userID, sess)
	// Someone already speaking is not news to the room, so no `speakers` would
	// come until the list changes: the newcomer gets it now.
	if list, err := s.rooms.Speakers(roomName); err == nil && len(list) > 0 {
		sess.Notify(room.Event{Type: "speakers", Speakers: &list}) // as the room's own broadcast
	}
	if sess.mini {
		c.refreshUserlist()
		return // a mini-program's media goes through the RTMP bridge, not WebRTC
	}
	if s.engine == nil {
		return // signaling only: WebRTC is disabled
	}
	peer, err := s.engine.NewPeer(sess.peerConfig(privileges))
	if err != nil {
		c.fail("join", err)
		return
	}
	sess.peer = peer
	if err := s.rooms.AttachMedia(roomName, userID, sess, peer); err != nil {
		c.log.Info("attach media", "err", err)
	}
}

// resume takes over the session of a member whose socket dropped.
func (c *conn) resume(m *inMsg) {
	if c.sess != nil {
		c.out(map[string]any{"type": "error", "code": CodeNotJoined, "ref": "resume", "message": "already joined: a socket resumes before it joins"})
		return
	}
	if m.ResumeToken == "" {
		c.fail("resume", missing("resumeToken (from joined or resumed)"))
		return
	}
	if c.srv.Draining() { // the session ends with this process: resume on the next one (which will say 4011)
		c.out(map[string]any{"type": "error", "code": CodeShuttingDown, "ref": "resume",
			"message": "server is shutting down: resume again in a moment (another instance, or this one after its restart)"})
		return
	}
	fail := func(err error) {
		c.out(map[string]any{"type": "error", "code": CodeResumeFailed, "ref": "resume",
			"message": fmt.Sprintf("%v: join again", err)})
	}
	sess := c.srv.sessions.find(m.ResumeToken)
	if sess == nil {
		fail(fmt.Errorf("%w: the resume token is unknown, already used, or its member timed out", ErrResume))
		return
	}
	if r := string(m.Room); r != "" && r != sess.room {
		fail(fmt.Errorf("%w: the resume token is for another room", ErrResume))
		return
	}
	select { // a resume right after joined waits for the join to finish
	case <-sess.ready:
	case <-time.After(5 * time.Second):
		fail(fmt.Errorf("%w: the member is still joining", ErrResume))
		return
	}
	c.sess = sess // before attach: from attach on, the writer may read it
	old, err := sess.attach(c, m.ResumeToken, m.LastSeq)
	if err != nil {
		c.sess = nil
		fail(err)
		return
	}
	c.log = c.log.With("room", sess.room, "user", sess.userID)
	c.entered.Store(true)
	_ = c.srv.rooms.Touch(sess.room, sess.userID, sess)
	if old != nil {
		old.Kick("resumed on another connection")
	}
	if sess.mini {
		c.refreshUserlist()
	}
	_ = c.srv.rooms.SendBoard(sess.room, sess.userID, sess) // board ops are not replayed: the whole board is
	c.log.Info("member resumed", "lastSeq", m.LastSeq)
}

func (c *session) peerConfig(p uint32) sfu.PeerConfig {
	has := func(bit uint32) bool { return p&bit != 0 }
	room, user, rooms := c.room, c.userID, c.srv.rooms
	return sfu.PeerConfig{
		ID: user,
		Permissions: sfu.Permissions{
			SendAudio: has(auth.PrivSendAudio), SendVideo: has(auth.PrivSendVideo),
			ReceiveAudio: has(auth.PrivReceiveAudio), ReceiveVideo: has(auth.PrivReceiveVideo),
			SendAux: has(auth.PrivSendAux), ReceiveAux: has(auth.PrivReceiveAux),
		},
		Logger:       c.log,
		OnTrack:      func(t *sfu.Track) { _ = rooms.Publish(room, user, c, t) },
		OnTrackEnded: func(t *sfu.Track) { rooms.Unpublish(room, user, c, t) },
		OnOffer: func(sdp string) {
			c.out(map[string]any{"type": "offer", "target": sfu.TargetSubscriber, "sdp": sdp})
		},
		OnCandidate: func(target string, ci webrtc.ICECandidateInit) {
			c.out(map[string]any{"type": "candidate", "target": target, "candidate": ci})
		},
		OnState: c.mediaState,
		OnPublishLayers: func(trackID, mid string, rids []string) {
			c.log.Debug("asking the publisher to send only some layers (dynacast)", "track", trackID, "rids", rids)
			c.out(map[string]any{"type": "publish_layers", "trackID": trackID, "mid": mid, "rids": append([]string{}, rids...)})
		},
	}
}

// maxRenderSize bounds reported video sizes (8K and then some).
const maxRenderSize = 16384

// trackSettings applies what the client reports about a remote video (adaptive stream).
func (c *conn) trackSettings(m *inMsg) {
	if m.TrackID == "" {
		c.fail("track_settings", missing("trackID"))
		return
	}
	if m.Width < 0 || m.Height < 0 || m.Width > maxRenderSize || m.Height > maxRenderSize {
		c.fail("track_settings", fmt.Errorf("%w: width and height must be 0..%d device pixels", ErrBadMessage, maxRenderSize))
		return
	}
	if !c.needPeer("track_settings") {
		return
	}
	visible := m.Visible == nil || *m.Visible
	err := c.sess.peer.SetTrackSettings(m.TrackID, sfu.TrackSettings{Visible: visible, Width: m.Width, Height: m.Height, Pinned: m.Pinned})
	if errors.Is(err, sfu.ErrUnknownTrack) {
		err = fmt.Errorf("%w: %v %q (use a trackID from track_published)", ErrBadMessage, err, m.TrackID)
	}
	if err != nil {
		c.fail("track_settings", err)
	}
}

// iceRestart asks for a subscriber offer with new ICE credentials (the
// publisher side restarts from the client's own offer).
func (c *conn) iceRestart(m *inMsg) {
	if m.Target != sfu.TargetSubscriber {
		c.fail("ice_restart", fmt.Errorf("%w: ice_restart is for target \"subscriber\" (restart the publisher with an offer)", sfu.ErrBadTarget))
		return
	}
	if !c.needPeer("ice_restart") {
		return
	}
	c.sess.peer.RestartICE()
}

func (c *conn) needPeer(ref string) bool {
	if c.sess.peer == nil {
		c.fail(ref, errors.New("WebRTC is disabled on this server (rtc port 0)"))
		return false
	}
	return true
}

// checkSDP refuses an SDP over max_sdp_bytes or with more than max_sdp_media
// media sections, before the SFU parses it.
func (s *Server) checkSDP(sdp string) error {
	if len(sdp) > s.cfg.MaxSDPBytes {
		return fmt.Errorf("%w: %d bytes; at most %d (max_sdp_bytes)", sfu.ErrBadSDP, len(sdp), s.cfg.MaxSDPBytes)
	}
	media := strings.Count(sdp, "\nm=")
	if strings.HasPrefix(sdp, "m=") {
		media++
	}
	if media > s.cfg.MaxSDPMedia {
		return fmt.Errorf("%w: %d media sections (m= lines); at most %d (max_sdp_media)", sfu.ErrBadSDP, media, s.cfg.MaxSDPMedia)
	}
	return nil
}

func (c *conn) offer(m *inMsg) {
	if m.Target != sfu.TargetPublisher {
		c.fail("offer", fmt.Errorf("%w: offers go to target \"publisher\"", sfu.ErrBadTarget))
		return
	}
	if m.SDP == "" {
		c.fail("offer", missing("sdp"))
		return
	}
	if err := c.srv.checkSDP(m.SDP); err != nil {
		c.fail("offer", err)
		return
	}
	if !c.needPeer("offer") {
		return
	}
	sources := make(map[string]sfu.Source, len(m.Sources))
	for mid, name := range m.Sources {
		src, err := sfu.ParseSource(name)
		if err != nil {
			c.fail("offer", fmt.Errorf("%w: sources[%q]: %v", ErrBadMessage, mid, err))
			return
		}
		sources[mid] = src
	}
	answer, err := c.sess.peer.HandleOffer(m.SDP, sources)
	if err != nil {
		c.fail("offer", err)
		return
	}
	c.out(map[string]any{"type": "answer", "target": sfu.TargetPublisher, "sdp": answer})
}

func (c *conn) answer(m *inMsg) {
	if m.Target != sfu.TargetSubscriber {
		c.fail("answer", fmt.Errorf("%w: answers go to target \"subscriber\"", sfu.ErrBadTarget))
		return
	}
	if m.SDP == "" {
		c.fail("answer", missing("sdp"))
		return
	}
	if err := c.srv.checkSDP(m.SDP); err != nil {
		c.fail("answer", err)
		return
	}
	if !c.needPeer("answer") {
		return
	}
	if err := c.sess.peer.HandleAnswer(m.SDP); err != nil {
		c.fail("answer", err)
	}
}

func (c *conn) candidate(m *inMsg) {
	var ci webrtc.ICECandidateInit
	switch s := strings.TrimSpace(string(m.Candidate)); {
	case s == "" || s == "null" || s == `""`:
		return // end of candidates
	case s[0] == '"': // a bare candidate line
		if err := json.Unmarshal(m.Candidate, &ci.Candidate); err != nil {
			c.fail("candidate", fmt.Errorf("%w: candidate: %v", ErrBadMessage, err))
			return
		}
	default:
		if err := json.Unmarshal(m.Candidate, &ci); err != nil {
			c.fail("candidate", fmt.Errorf("%w: candidate must be {candidate, sdpMid, sdpMLineIndex}: %v", ErrBadMessage, err))
			return
		}
	}
	if !c.needPeer("candidate") {
		return
	}
	if err := c.sess.peer.AddCandidate(m.Target, ci); err != nil {
		c.fail("candidate", err)
	}
}

func (c *conn) mute(m *inMsg) {
	if m.Muted == nil {
		c.fail("mute", missing("muted"))
		return
	}
	if err := c.srv.rooms.SetMuted(c.sess.room, c.sess.userID, c.sess, m.Kind, *m.Muted); err != nil {
		c.fail("mute", fmt.Errorf("%w: %v", ErrBadMessage, err))
	}
}

func (c *conn) chat(m *inMsg) {
	fail := func(err error) {
		c.out(map[string]any{"type": "error", "code": codeOf(err), "message": err.Error(), "ref": "chat", "clientID": m.ClientID})
	}
	if !c.sess.chatLim.Allow() {
		fail(fmt.Errorf("%w: the limit is %d per second (burst %d)", ErrRateLimited, chatRate, chatBurst))
		return
	}
	data := m.Data
	if string(data) == "null" {
		data = nil
	}
	if _, err := c.srv.rooms.Chat(c.sess.room, c.sess.userID, c.sess, m.To, m.Text, data, m.ClientID); err != nil {
		fail(err)
	}
}

// board applies a whiteboard op: members who may send video (16) or aux (64)
// draw; everyone receives the board.
func (c *conn) board(m *inMsg) {
	var err error
	if priv := c.sess.privileges; priv&(auth.PrivSendVideo|auth.PrivSendAux) == 0 {
		err = fmt.Errorf("%w: drawing needs send video (16) or send aux (64); privileges %d", auth.ErrMissingPrivilege, priv)
	}
	if err == nil && !c.sess.boardLim.Allow() {
		err = fmt.Errorf("%w: board ops: the limit is %d per second (burst %d)", ErrRateLimited, boardRate, boardBurst)
	}
	var op room.BoardOp
	if err == nil {
		op, err = room.ParseBoardOp(m.Op)
	}
	if err == nil {
		_, err = c.srv.rooms.Board(c.sess.room, c.sess.userID, c.sess, op)
	}
	if err != nil {
		c.fail("board", err)
	}
}

// mediaState folds the two peer connections' states into one for the admin page.
func (c *session) mediaState(target string, s webrtc.PeerConnectionState) {
	c.stateMu.Lock()
	if c.states == nil {
		c.states = map[string]webrtc.PeerConnectionState{}
	}
	c.states[target] = s
	worst := "connected"
	for _, st := range []webrtc.PeerConnectionState{c.states[sfu.TargetPublisher], c.states[sfu.TargetSubscriber]} {
		switch st {
		case webrtc.PeerConnectionStateFailed:
			worst = "failed"
		case webrtc.PeerConnectionStateDisconnected:
			if worst != "failed" {
				worst = "disconnected"
			}
		case webrtc.PeerConnectionStateConnected:
		default:
			if worst == "connected" {
				worst = "connecting"
			}
		}
	}
	c.stateMu.Unlock()
	c.srv.rooms.SetState(c.room, c.userID, c, worst)
	if s == webrtc.PeerConnectionStateDisconnected || s == webrtc.PeerConnectionStateFailed {
		// Consent failed on our side (the client's uplink may be gone while its
		// downlink works): the client restarts ICE on that connection.
		c.out(map[string]any{"type": "media_lost", "target": target, "state": s.String()})
	}
}
