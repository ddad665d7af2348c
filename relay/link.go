package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

// Rooms is what a Link needs of the node's rooms (room.Manager has it).
type Rooms interface {
	Exists(name string) bool
	Create(name, info string) (string, error)
	Watch(room string, media sfu.Member) (func(), error)
	Enter(req room.EnterRequest) ([]room.MemberInfo, error)
	Publish(room, userID string, s room.Session, t *sfu.Track) error
	Unpublish(room, userID string, s room.Session, t *sfu.Track)
	Leave(room, userID string, s room.Session, reason string) error
	Touch(room, userID string, s room.Session) error
	Members(room string) ([]room.MemberInfo, error)
	Kind(room, userID string) (string, error)
	SetMuted(room, userID string, s room.Session, kind string, muted bool) error
	RemoveIfEmpty(room string) bool
	Observe(room string, o room.Session) ([]room.MemberInfo, func(), error)
	RelayChat(room string, msg room.ChatMessage) error
	RelayBoard(room, from string, op room.BoardOp) error
	SetRelayedQuality(room, userID string, s room.Session, q string) error
}

// Link timing and bounds.
const (
	pingEvery = 5 * time.Second
	// readTimeout: a peer silent this long (it pings every pingEvery) is gone.
	readTimeout  = 3 * pingEvery
	writeTimeout = 5 * time.Second
	// DefaultSatelliteIdle: a satellite's link ends once no member of its own
	// has been in the room this long (the first joins a moment after the
	// link starts).
	DefaultSatelliteIdle = 5 * time.Second
	// mediaQueue bounds the packets waiting for the socket: about 0.4 s of a
	// room with four 2.5 Mbit/s videos. Beyond it new packets are dropped
	// (counted): the far side resends none (its tracks answer NACKs from
	// what they got), so its subscribers' keyframe requests repair the gap.
	mediaQueue = 1024
	ctlQueue   = 256
	maxFrame   = 64 << 10
	maxBatch   = 32 << 10 // bytes of records in one frame (a frame may pass it by one record)
	bufSize    = 1600
)

// Options configure a Link.
type Options struct {
	Rooms Rooms
	Room  string
	// Peer is the other node's ID (logs, and the link's member ID).
	Peer string
	// Satellite is set on the end that dialed: its link ends when no member
	// of its own is left in the room.
	Satellite bool
	// SatelliteIdle overrides DefaultSatelliteIdle (tests).
	SatelliteIdle time.Duration
	Stats         *Stats // shared by the node's links; optional
	Logger        *slog.Logger
	Now           func() time.Time
}

// Link is one end of a room's relay between two nodes (see the package
// comment). It joins its room's router as a media-only member: the router
// offers it every track, and it sends the peer those it did not publish
// itself.
type Link struct {
	o   Options
	ws  *websocket.Conn
	log *slog.Logger

	ctl   chan []byte  // control frames for the writer (priority over media)
	media chan *[]byte // media frames for the writer; full: dropped
	done  chan struct{}

	wake chan struct{} // the router queued a change (cap 1)

	mu     sync.Mutex               // guards queued, events, mine, ours and outN
	queued []change                 // tracks the router offered or took back, for the loop
	events []msg                    // the room's events to tell the peer, for the loop
	mine   map[*sfu.Track]bool      // tracks this link published: never offered back
	ours   map[string]bool          // members this link entered (the peer's): their events are not sent back
	outN   map[uint16]*outTrack     // tracks offered to the peer, by number (keyframe requests)
	out    map[*sfu.Track]*outTrack // owned by the loop
	next   uint16                   // owned by the loop: the next track number
}

type change struct {
	t   *sfu.Track
	add bool
}

// outTrack is a track offered to the peer.
type outTrack struct {
	n    uint16
	t    *sfu.Track
	sink *sink
	sr   []uint64 // owned by the loop: the NTP time last reported per layer
}

// inTrack is a track the peer offered, published here.
type inTrack struct {
	t      *sfu.Track
	member *remoteMember // nil: not published (its owner is a member of this node)
}

// remoteMember is a member of the peer's room, as a member of this node's
// room. It is its own room.Session: it hears nothing (the link observes the
// room), and a kick here removes only this node's copy (its own node
// decides about the member).
type remoteMember struct{ userID string }

func (r *remoteMember) Notify(room.Event) {}
func (r *remoteMember) Kick(string)       {}

// NewLink returns a link over ws, an open WebSocket to the peer node. Run it.
func NewLink(ws *websocket.Conn, o Options) *Link {
	o.Logger, o.Now, o.Stats = common(o.Logger, o.Now, o.Stats)
	if o.SatelliteIdle <= 0 {
		o.SatelliteIdle = DefaultSatelliteIdle
	}
	return &Link{
		o: o, ws: ws, log: o.Logger.With("part", "relay", "room", o.Room, "peer", o.Peer),
		ctl: make(chan []byte, ctlQueue), media: make(chan *[]byte, mediaQueue), done: make(chan struct{}),
		wake: make(chan struct{}, 1), mine: map[*sfu.Track]bool{}, ours: map[string]bool{}, outN: map[uint16]*outTrack{},
		out: map[*sfu.Track]*outTrack{}, next: 1,
	}
}

// ID is the link's member ID in the router.
func (l *Link) ID() string { return "relay:" + l.o.Peer }

// AddTrack queues t for the loop (the router calls it with its lock held).
func (l *Link) AddTrack(t *sfu.Track) { l.queue(change{t, true}) }

// RemoveTrack queues t's removal.
func (l *Link) RemoveTrack(t *sfu.Track) { l.queue(change{t, false}) }

func (l *Link) queue(c change) {
	l.mu.Lock()
	if l.mine[c.t] {
		l.mu.Unlock()
		return // the peer's own track, published here by this link
	}
	l.queued = append(l.queued, c)
	l.mu.Unlock()
	l.poke()
}

func (l *Link) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Notify queues what the peer must hear of a room event (the room calls it
// with its lock held: the link observes the room). Events of the members
// this link entered came from the peer: they are not sent back.
func (l *Link) Notify(ev room.Event) {
	var m msg
	var subject string
	switch ev.Type {
	case "member_joined":
		if ev.Member == nil {
			return
		}
		subject = ev.Member.UserID
		m = msg{Type: msgMember, UserID: subject, Nick: ev.Member.NickName, MemberKind: ev.Member.Kind}
	case "member_left":
		subject = ev.UserID
		m = msg{Type: msgLeave, UserID: subject}
	case "mute":
		if ev.Muted == nil {
			return
		}
		subject = ev.UserID
		m = msg{Type: msgMute, UserID: subject, Kind: ev.Kind, Muted: *ev.Muted}
	case "chat":
		if ev.ChatMessage == nil {
			return
		}
		c := *ev.ChatMessage
		c.ClientID = ""
		subject = c.From // "" for an operator's message: sent on
		m = msg{Type: msgChat, Chat: &c}
	case "board":
		if ev.BoardEntry == nil {
			return
		}
		subject = ev.UserID
		op := ev.BoardEntry.Op
		if op.Kind == "undo" { // the peer erases the stroke undone here (its own undo list differs)
			op.Kind = "erase"
		}
		m = msg{Type: msgBoard, UserID: subject, Op: &op}
	case "quality":
		if ev.Members == nil {
			return
		}
		// The ratings of the members the peer does not rate itself.
		l.mu.Lock()
		var list []room.QualityInfo
		for _, q := range *ev.Members {
			if !l.ours[q.UserID] {
				list = append(list, q)
			}
		}
		if len(list) > 0 {
			l.events = append(l.events, msg{Type: msgQuality, Quality: list})
		}
		l.mu.Unlock()
		l.poke()
		return
	default:
		return
	}
	l.mu.Lock()
	if subject != "" && l.ours[subject] {
		l.mu.Unlock()
		return
	}
	l.events = append(l.events, m)
	l.mu.Unlock()
	l.poke()
}

// Kick is never called: the link observes the room, it is no member.
func (l *Link) Kick(string) {}

// ErrRoomGone ends a link whose room closed on this node.
var ErrRoomGone = errors.New("relay: the room is no longer open on this node")

// Run relays until ctx ends, the peer goes, or the room has no use for the
// link any more; then it takes back everything it published and closes ws.
func (l *Link) Run(ctx context.Context) error {
	l.o.Stats.Links.Add(1)
	defer l.o.Stats.Links.Add(-1)
	present, unobserve, err := l.o.Rooms.Observe(l.o.Room, l)
	if err != nil {
		_ = l.ws.Close()
		return fmt.Errorf("%w: %v", ErrRoomGone, err)
	}
	defer unobserve()
	// The members first (the events observed since follow them in the
	// queue), then the tracks, which name them.
	l.mu.Lock()
	snapshot := make([]msg, 0, len(present))
	for _, mi := range present {
		snapshot = append(snapshot, msg{Type: msgMember, UserID: mi.UserID, Nick: mi.NickName, MemberKind: mi.Kind})
		for _, kind := range []string{"audio", "video"} {
			if muted := (kind == "audio" && mi.AudioMuted) || (kind == "video" && mi.VideoMuted); muted {
				snapshot = append(snapshot, msg{Type: msgMute, UserID: mi.UserID, Kind: kind, Muted: true})
			}
		}
	}
	l.events = append(snapshot, l.events...)
	l.mu.Unlock()
	l.flushEvents()
	unwatch, err := l.o.Rooms.Watch(l.o.Room, l)
	if err != nil {
		_ = l.ws.Close()
		return fmt.Errorf("%w: %v", ErrRoomGone, err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	readErr := make(chan error, 1)
	in := map[uint16]*inTrack{}
	members := map[string]*remoteMember{}
	go func() {
		defer wg.Done()
		readErr <- l.read(in, members)
	}()
	go func() {
		defer wg.Done()
		l.write()
	}()
	l.log.Info("relay link up", "satellite", l.o.Satellite)
	err = l.loop(ctx, readErr)
	close(l.done)
	// Say goodbye (the peer logs no abnormal closure), then close.
	_ = l.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), l.o.Now().Add(time.Second))
	_ = l.ws.Close()
	unwatch()
	wg.Wait()
	for _, o := range l.out {
		o.t.RemoveSink(o.sink)
	}
	for _, it := range in {
		if it.member != nil {
			l.o.Rooms.Unpublish(l.o.Room, it.member.userID, it.member, it.t)
		}
		it.t.Close()
	}
	for _, m := range members {
		l.leave(m, members, room.ReasonDisconnected)
	}
	l.log.Info("relay link down", "err", err)
	return err
}

// loop offers and takes back tracks as the router tells, reports sender
// reports, pings, and decides when the link has no more use.
func (l *Link) loop(ctx context.Context, readErr <-chan error) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastPing := l.o.Now()
	idleSince := l.o.Now()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-readErr:
			return err
		case <-l.wake:
			l.flushEvents()
			l.applyQueued()
		case <-tick.C:
			now := l.o.Now()
			if !l.o.Rooms.Exists(l.o.Room) {
				return ErrRoomGone
			}
			if l.o.Satellite {
				ms, _ := l.o.Rooms.Members(l.o.Room)
				l.mu.Lock()
				remotes := len(l.ours)
				l.mu.Unlock()
				if len(ms) > remotes {
					idleSince = now
				} else if now.Sub(idleSince) >= l.o.SatelliteIdle {
					return nil // nobody of this node is left in the room
				}
			}
			l.sendSenderReports()
			if now.Sub(lastPing) >= pingEvery {
				lastPing = now
				l.sendCtl(msg{Type: msgPing})
			}
		}
	}
}

// nextNumber is a track number no live track of the link has (0 is none).
func (l *Link) nextNumber() uint16 {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		n := l.next
		l.next++
		if n != 0 && l.outN[n] == nil {
			return n
		}
	}
}

// flushEvents sends the queued room events to the peer.
func (l *Link) flushEvents() {
	l.mu.Lock()
	evs := l.events
	l.events = nil
	l.mu.Unlock()
	for _, m := range evs {
		l.sendCtl(m)
	}
}

func (l *Link) applyQueued() {
	l.mu.Lock()
	q := l.queued
	l.queued = nil
	l.mu.Unlock()
	for _, c := range q {
		if !c.add {
			if o := l.out[c.t]; o != nil {
				o.t.RemoveSink(o.sink)
				delete(l.out, c.t)
				l.mu.Lock()
				delete(l.outN, o.n)
				l.mu.Unlock()
				l.sendCtl(msg{Type: msgUntrack, N: o.n})
			}
			continue
		}
		if l.out[c.t] != nil {
			continue
		}
		l.offer(c.t)
	}
}

// offer announces t to the peer and starts sending its packets. Its owner
// was named to the peer before (member: the room's events go first).
func (l *Link) offer(t *sfu.Track) {
	o := &outTrack{n: l.nextNumber(), t: t, sr: make([]uint64, t.Layers())}
	o.sink = &sink{l: l, n: o.n}
	m := msg{Type: msgTrack, N: o.n, ID: t.ID(), Owner: t.Owner(), Kind: t.Kind().String(),
		Mime: t.Codec().MimeType, ClockRate: t.Codec().ClockRate, Channels: t.Codec().Channels, Fmtp: t.Codec().SDPFmtpLine,
		Source: string(t.Source()), RIDs: t.RIDs(), AudioLevel: t.AudioLevelExtension(), ReplayGOP: t.ReplaysGOP()}
	l.out[t] = o
	l.mu.Lock()
	l.outN[o.n] = o
	l.mu.Unlock()
	l.sendCtl(m)
	l.o.Stats.TracksOut.Add(1)
	t.AddSink(o.sink)
	if t.Kind() == webrtc.RTPCodecTypeVideo {
		t.RequestKeyframe() // the peer's subscribers start from one
	}
}

func (l *Link) sendSenderReports() {
	for _, o := range l.out {
		for i := range o.sr {
			ntp, ts, ok := o.t.SenderReport(i)
			if ok && ntp != o.sr[i] {
				o.sr[i] = ntp
				l.sendCtl(msg{Type: msgSR, N: o.n, Layer: i, NTP: ntp, RTP: ts})
			}
		}
	}
}

// sendCtl queues a control message; it never blocks. A full queue, which
// only a stalled peer fills, ends the link rather than leave the two ends
// out of step (a track, a member or a chat message lost): the satellite
// dials again and both start over. A keyframe request (droppable) is dropped
// instead.
func (l *Link) sendCtl(m msg) {
	b, _ := json.Marshal(m)
	select {
	case l.ctl <- b:
	default:
		l.o.Stats.Dropped.Add(1)
		if m.Type != msgKeyframe {
			l.log.Warn("relay: the peer is too slow to take the room's events; starting the link over")
			_ = l.ws.Close() // the reader fails and the link ends
		}
	}
}

// write sends the queued frames, control first, until the link ends.
func (l *Link) write() {
	batch := make([]byte, 0, maxBatch+bufSize)
	for {
		select {
		case b := <-l.ctl: // first, when both wait
			if !l.writeFrame(websocket.TextMessage, b) {
				return
			}
			continue
		default:
		}
		select {
		case <-l.done:
			return
		case b := <-l.ctl:
			if !l.writeFrame(websocket.TextMessage, b) {
				return
			}
		case bp := <-l.media:
			// The records waiting go in one frame: one write for a burst.
			batch = append(batch[:0], *bp...)
			putBuf(bp)
			records := 1
		more:
			for len(batch) < maxBatch {
				select {
				case bp := <-l.media:
					batch = append(batch, *bp...)
					putBuf(bp)
					records++
				default:
					break more
				}
			}
			if !l.writeFrame(websocket.BinaryMessage, batch) {
				return
			}
			l.o.Stats.PacketsOut.Add(uint64(records))
			l.o.Stats.BytesOut.Add(uint64(len(batch)))
		}
	}
}

func (l *Link) writeFrame(typ int, b []byte) bool {
	_ = l.ws.SetWriteDeadline(l.o.Now().Add(writeTimeout))
	if err := l.ws.WriteMessage(typ, b); err != nil {
		_ = l.ws.Close() // the reader sees it and ends the link
		return false
	}
	return true
}

// read handles the peer's frames until the socket fails. It owns in and
// members.
func (l *Link) read(in map[uint16]*inTrack, members map[string]*remoteMember) error {
	l.ws.SetReadLimit(maxFrame)
	var buf bytes.Buffer
	var pkt rtp.Packet
	lastTouch := time.Time{}
	for {
		_ = l.ws.SetReadDeadline(l.o.Now().Add(readTimeout))
		typ, r, err := l.ws.NextReader()
		if err != nil {
			return fmt.Errorf("relay: the peer's socket: %w", err)
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return fmt.Errorf("relay: the peer's socket: %w", err)
		}
		if now := l.o.Now(); now.Sub(lastTouch) >= time.Second {
			lastTouch = now
			for _, m := range members {
				_ = l.o.Rooms.Touch(l.o.Room, m.userID, m)
			}
		}
		if typ == websocket.BinaryMessage {
			for rest := buf.Bytes(); len(rest) > 0; {
				n, layer, b, next, err := nextRecord(rest)
				if err != nil {
					break // the rest of the frame cannot be read
				}
				l.o.Stats.PacketsIn.Add(1)
				l.o.Stats.BytesIn.Add(uint64(len(rest) - len(next)))
				rest = next
				if it := in[n]; it != nil && it.member != nil && pkt.Unmarshal(b) == nil {
					it.t.WriteLayerRTP(layer, &pkt) // else a track just ended, or one not published here
				}
			}
			continue
		}
		var m msg
		if json.Unmarshal(buf.Bytes(), &m) != nil {
			return fmt.Errorf("relay: the peer sent a control frame that is not JSON: %.80q", buf.String())
		}
		l.handle(m, in, members)
	}
}

// handle applies one control message of the peer's.
func (l *Link) handle(m msg, in map[uint16]*inTrack, members map[string]*remoteMember) {
	switch m.Type {
	case msgMember:
		l.enter(m.UserID, m.Nick, m.MemberKind, members)
	case msgLeave:
		if rm := members[m.UserID]; rm != nil {
			l.leave(rm, members, room.ReasonLeft)
		}
	case msgMute:
		if rm := members[m.UserID]; rm != nil {
			_ = l.o.Rooms.SetMuted(l.o.Room, rm.userID, rm, m.Kind, m.Muted)
		}
	case msgChat:
		if m.Chat != nil && (m.Chat.From == "" || members[m.Chat.From] != nil) {
			if err := l.o.Rooms.RelayChat(l.o.Room, *m.Chat); err != nil {
				l.log.Debug("relay: a chat message of the peer's was not delivered", "err", err)
			}
		}
	case msgBoard:
		if m.Op != nil && members[m.UserID] != nil {
			if err := l.o.Rooms.RelayBoard(l.o.Room, m.UserID, *m.Op); err != nil {
				l.log.Debug("relay: a board op of the peer's was not applied", "err", err)
			}
		}
	case msgQuality:
		for _, q := range m.Quality {
			if rm := members[q.UserID]; rm != nil {
				_ = l.o.Rooms.SetRelayedQuality(l.o.Room, rm.userID, rm, q.Quality)
			}
		}
	case msgTrack:
		if in[m.N] == nil {
			in[m.N] = l.publish(m, members)
		}
	case msgUntrack:
		it := in[m.N]
		if it == nil {
			return
		}
		delete(in, m.N)
		if it.member != nil {
			l.o.Rooms.Unpublish(l.o.Room, it.member.userID, it.member, it.t)
		}
		it.t.Close()
	case msgKeyframe:
		l.mu.Lock()
		o := l.outN[m.N]
		l.mu.Unlock()
		if o != nil {
			o.t.RequestLayerKeyframe(m.Layer)
		}
	case msgSR:
		if it := in[m.N]; it != nil {
			it.t.SetSenderReport(m.Layer, m.NTP, m.RTP)
		}
	}
}

// enter makes a member of the peer's room a member here, with a session of
// the link's; nil when it cannot be (a bad name, the same user joined here
// too, the room full).
func (l *Link) enter(userID, nick, kind string, members map[string]*remoteMember) *remoteMember {
	if rm := members[userID]; rm != nil {
		return rm
	}
	if !room.ValidName(userID) {
		l.log.Warn("relay: the peer named a member by an invalid name", "user", userID)
		return nil
	}
	if _, err := l.o.Rooms.Kind(l.o.Room, userID); err == nil {
		// The same user is a member here too (joined twice): its own
		// session wins; the peer's copy is not shown.
		l.log.Warn("relay: a member of the peer's is also a member here; the peer's copy is not shown", "user", userID)
		return nil
	}
	if kind == "" {
		kind = "webrtc"
	}
	rm := &remoteMember{userID: userID}
	l.mu.Lock()
	l.ours[userID] = true // before Enter: its member_joined is not sent back
	l.mu.Unlock()
	if _, err := l.o.Rooms.Enter(room.EnterRequest{Room: l.o.Room, UserID: userID, NickName: nick, Kind: kind,
		Privileges: auth.PrivAll, Session: rm}); err != nil {
		l.mu.Lock()
		delete(l.ours, userID)
		l.mu.Unlock()
		l.log.Warn("relay: a member of the peer's cannot enter the room here", "user", userID, "err", err)
		return nil
	}
	members[userID] = rm
	l.o.Stats.Members.Add(1)
	return rm
}

// leave takes a member of the peer's out of the room here.
func (l *Link) leave(rm *remoteMember, members map[string]*remoteMember, reason string) {
	_ = l.o.Rooms.Leave(l.o.Room, rm.userID, rm, reason)
	delete(members, rm.userID)
	l.mu.Lock()
	delete(l.ours, rm.userID) // after Leave: its member_left is not sent back
	l.mu.Unlock()
	l.o.Stats.Members.Add(-1)
}

// publish makes the peer's track m a track of this node's room, owned by the
// member of its publisher's name (entered now if the peer did not name it).
func (l *Link) publish(m msg, members map[string]*remoteMember) *inTrack {
	kind := webrtc.NewRTPCodecType(m.Kind)
	n := m.N
	t := sfu.NewTrack(sfu.TrackOptions{
		ID: m.ID, Owner: m.Owner, Kind: kind, Source: sfu.Source(m.Source), RIDs: m.RIDs,
		Codec:               webrtc.RTPCodecCapability{MimeType: m.Mime, ClockRate: m.ClockRate, Channels: m.Channels, SDPFmtpLine: m.Fmtp},
		AudioLevelExtension: m.AudioLevel, ReplayGOP: m.ReplayGOP, Now: l.o.Now,
		RequestLayerKeyframe: func(layer int) {
			l.sendCtl(msg{Type: msgKeyframe, N: n, Layer: layer})
		},
	})
	it := &inTrack{t: t}
	if kind == 0 {
		l.log.Warn("relay: the peer offered a track of no known kind", "track", m.ID, "kind", m.Kind)
		return it
	}
	rm := l.enter(m.Owner, "", "", members) // entered by its member message; bare if that never came
	if rm == nil {
		return it
	}
	l.mu.Lock()
	l.mine[t] = true
	l.mu.Unlock()
	if err := l.o.Rooms.Publish(l.o.Room, m.Owner, rm, t); err != nil {
		l.log.Warn("relay: cannot publish the peer's track", "user", m.Owner, "track", m.ID, "err", err)
		return it
	}
	it.member = rm
	l.o.Stats.TracksIn.Add(1)
	return it
}

// sink sends a track's packets to the peer.
type sink struct {
	l *Link
	n uint16
}

func (s *sink) WriteRTP(p *sfu.ExtPacket) error {
	size := mediaHeader + p.MarshalSize()
	bp := getBuf(size)
	b := (*bp)[:size]
	putMediaHeader(b, s.n, p.Layer, size-mediaHeader)
	if _, err := p.MarshalTo(b[mediaHeader:]); err != nil {
		putBuf(bp)
		return nil
	}
	*bp = b
	select {
	case s.l.media <- bp:
	default:
		putBuf(bp)
		s.l.o.Stats.Dropped.Add(1)
	}
	return nil
}

var bufs = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

func getBuf(size int) *[]byte {
	if size > bufSize {
		b := make([]byte, size)
		return &b
	}
	bp := bufs.Get().(*[]byte)
	*bp = (*bp)[:cap(*bp)]
	return bp
}

func putBuf(bp *[]byte) {
	if cap(*bp) == bufSize {
		bufs.Put(bp)
	}
}
