// Package room keeps who is in which room: presence, heartbeats, capacity and
// kick-out, and the media router each room owns. Signaling and the mini-program
// bridge both join rooms through Manager; the SFU knows nothing of either.
package room

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/sfu"
	"github.com/openroom/openroom/sfu/quality"
	"github.com/openroom/openroom/sfu/speakers"
)

// Errors; signaling maps them to the legacy codes.
var (
	ErrNoRoom      = errors.New("no such room")
	ErrRoomFull    = errors.New("room is full")
	ErrNotMember   = errors.New("not a member of this room")
	ErrBadRoomName = errors.New("bad room: want a number or a name of 1-64 letters, digits, '_' or '-'")
	ErrBadUserID   = errors.New("bad userID: want 1-64 letters, digits, '_' or '-'")
	ErrRoomExists  = errors.New("room already exists")
)

// Member kinds.
const (
	KindWebRTC = "webrtc" // a browser over /ws
	KindRTMP   = "rtmp"   // a mini-program through the RTMP bridge
	KindHTTP   = "http"   // a legacy client that only heartbeats over HTTP so far
	KindWHIP   = "whip"   // a WHIP publisher (OBS, GStreamer, a broadcast encoder)
)

// Reasons a member leaves, as told to the others.
const (
	ReasonLeft         = "left"
	ReasonTimeout      = "timeout"
	ReasonKicked       = "kicked"
	ReasonDisconnected = "disconnected"
	ReasonElsewhere    = "logged in elsewhere"
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidName reports whether s can name a room or a user.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// Session is a member's live connection (a WebSocket, an RTMP stream). The room
// tells it what happens; both methods must not block.
type Session interface {
	Notify(Event)
	// Kick tells the session why it was removed; the session then closes itself.
	Kick(reason string)
}

// Event is a room change as sent to members; its JSON is the signaling wire form.
type Event struct {
	Type   string      `json:"type"`
	Member *MemberInfo `json:"member,omitempty"`
	UserID string      `json:"userID,omitempty"`
	Reason string      `json:"reason,omitempty"`
	*TrackInfo
	*ChatMessage
	Kind  string `json:"kind,omitempty"`
	Muted *bool  `json:"muted,omitempty"`
	// Speakers: the active speakers, loudest first (type "speakers").
	Speakers *[]SpeakerInfo `json:"speakers,omitempty"`
	// Members: connection quality of members (type "quality").
	Members *[]QualityInfo `json:"members,omitempty"`
	// BoardEntry: a whiteboard op, with its seq (type "board"; its userID is Event's).
	*BoardEntry
	// BoardState: the whole board (type "board_state"); the session marshals it itself.
	BoardState *BoardState `json:"-"`
}

// SpeakerInfo is one active speaker: level 0..1 (linear amplitude, 1 = full scale).
type SpeakerInfo struct {
	UserID string  `json:"userID"`
	Level  float64 `json:"level"`
}

// QualityInfo is one member's connection quality: excellent, good, poor or lost.
type QualityInfo struct {
	UserID  string `json:"userID"`
	Quality string `json:"quality"`
}

// MemberInfo describes a member to others.
type MemberInfo struct {
	UserID     string      `json:"userID"`
	NickName   string      `json:"nickName"`
	Kind       string      `json:"kind"`
	Tracks     []TrackInfo `json:"tracks"`
	AudioMuted bool        `json:"audioMuted"`
	VideoMuted bool        `json:"videoMuted"`
}

// TrackInfo describes a published track.
type TrackInfo struct {
	TrackID   string   `json:"trackID"`
	Kind      string   `json:"kind"`
	Codec     string   `json:"codec"`
	Simulcast bool     `json:"simulcast"`
	RIDs      []string `json:"rids"` // simulcast layers, lowest first; [] for one layer
	// Source is "camera" or "microphone", or "screen" and "screen_audio" for a
	// shared screen (the legacy aux stream, privileges 64 and 128).
	Source string `json:"source"`
}

// Options configure a Manager.
type Options struct {
	Capacity int           // most members per room
	Timeout  time.Duration // silence after which a member is removed
	Now      func() time.Time
	Logger   *slog.Logger
	// Archive, in cluster mode, keeps rooms' chat and boards beyond this
	// node (archive.go). Optional.
	Archive Archive
}

// Manager holds every room. Presence changes are rare next to media packets, so
// one mutex guards all presence state; media never takes it.
type Manager struct {
	opts Options
	log  *slog.Logger

	mu    sync.Mutex       // guards rooms and everything reachable from it, and ended
	rooms map[string]*Room // by name
	ended sfu.TrackStats   // counters of tracks no longer published
}

// Room is one room. Its fields are guarded by Manager.mu.
type Room struct {
	name    string
	info    string
	created time.Time
	router  *sfu.Router
	members map[string]*member
	chat    []ChatMessage // the last ChatHistory messages, oldest first
	chatSeq uint64        // the last message ID given
	board   board         // the shared whiteboard (board.go)
	// speakers is fed by the room's audio tracks on their packet paths (it
	// has its own synchronization); Manager.mu guards only the pointer.
	speakers *speakers.Detector
	// lastSpeakers is what the room was last told (`speakers`), for a member
	// who joins after it; guarded by Manager.mu.
	lastSpeakers []SpeakerInfo
	// observers are told what the members are, and every chat message
	// (Observe); guarded by Manager.mu.
	observers map[Session]struct{}
}

type member struct {
	userID     string
	nick       string // the display name as given (CleanNickName); "" when none was
	kind       string
	privileges uint32
	session    Session    // nil for a legacy HTTP-only member
	media      sfu.Member // nil until media is attached
	lastSeen   time.Time
	joined     time.Time
	tracks     []*sfu.Track
	audioMuted bool
	videoMuted bool
	state      string // media connection state reported by the member's transport
	quality    quality.Tracker
	// relayedQuality is the rating the member's own node gave it, for a
	// member of another node's (a room that spans nodes); "" otherwise.
	relayedQuality string
}

// name is how people see the member: its display name, else its user ID.
func (mem *member) name() string {
	if mem.nick != "" {
		return mem.nick
	}
	return mem.userID
}

// NewManager returns an empty Manager.
func NewManager(o Options) *Manager {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Capacity <= 0 {
		o.Capacity = 16
	}
	if o.Timeout <= 0 {
		o.Timeout = 20 * time.Second
	}
	return &Manager{opts: o, log: o.Logger, rooms: map[string]*Room{}}
}

// Timeout is the configured member timeout.
func (m *Manager) Timeout() time.Duration { return m.opts.Timeout }

// Create makes a room. An empty name picks a free numeric ID (as legacy create_room did).
func (m *Manager) Create(name, info string) (string, error) {
	var kept *Kept
	if name != "" && ValidName(name) {
		kept = m.loadKept(name) // before the lock: it may ask Redis
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if name == "" {
		for {
			name = strconv.FormatUint(uint64(100000+rand.Uint32N(900000000)), 10)
			if _, ok := m.rooms[name]; !ok {
				break
			}
		}
	} else if !ValidName(name) {
		return "", ErrBadRoomName
	}
	if _, ok := m.rooms[name]; ok {
		return "", fmt.Errorf("%w: %s", ErrRoomExists, name)
	}
	r := m.newRoom(name, info)
	r.restore(kept)
	m.rooms[name] = r
	return name, nil
}

func (m *Manager) newRoom(name, info string) *Room {
	m.log.Info("room created", "room", name)
	return &Room{name: name, info: info, created: m.opts.Now(), router: sfu.NewRouter(), members: map[string]*member{},
		speakers: speakers.New(speakers.Config{})}
}

// Exists reports whether the room exists.
func (m *Manager) Exists(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.rooms[name]
	return ok
}

// EnterRequest describes who enters a room.
type EnterRequest struct {
	Room, UserID, NickName string
	Kind                   string
	Privileges             uint32
	// Session is the member's connection; nil for a legacy HTTP enter_room.
	Session Session
	// Create makes the room when it does not exist (share links).
	Create bool
}

// Enter adds a member, or refreshes it. A second session for the same user
// kicks the first one, which is told "logged in elsewhere".
// It returns the other members as they are now.
func (m *Manager) Enter(req EnterRequest) ([]MemberInfo, error) {
	if !ValidName(req.Room) {
		return nil, ErrBadRoomName
	}
	if !ValidName(req.UserID) {
		return nil, ErrBadUserID
	}
	nick, err := CleanNickName(req.NickName)
	if err != nil {
		return nil, err
	}
	var kept *Kept
	if req.Create {
		kept = m.loadKept(req.Room) // before the lock: it may ask Redis
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[req.Room]
	if !ok {
		if !req.Create {
			return nil, fmt.Errorf("%w: %s", ErrNoRoom, req.Room)
		}
		r = m.newRoom(req.Room, "")
		r.restore(kept)
		m.rooms[req.Room] = r
	}
	now := m.opts.Now()
	old, exists := r.members[req.UserID]
	if !exists && len(r.members) >= m.opts.Capacity {
		return nil, fmt.Errorf("%w: %d of %d members", ErrRoomFull, len(r.members), m.opts.Capacity)
	}
	if exists && req.Session == nil {
		// A legacy re-enter: refresh, keep the live session if there is one.
		old.lastSeen = now
		return r.othersLocked(req.UserID), nil
	}
	if exists && old.session != nil {
		m.log.Info("duplicate login: kicking older session", "room", r.name, "user", req.UserID)
		old.session.Kick(ReasonElsewhere)
		m.removeMemberLocked(r, old, ReasonKicked) // the room stays: the successor joins it now
		exists = false
	}
	mem := &member{
		userID: req.UserID, nick: nick, kind: req.Kind, privileges: req.Privileges,
		session: req.Session, lastSeen: now, joined: now,
	}
	if exists { // an HTTP member now connects: same member, now with a session
		mem.joined = old.joined
		if mem.nick == "" {
			mem.nick = old.nick
		}
	}
	r.members[req.UserID] = mem
	others := r.othersLocked(req.UserID)
	if !exists {
		m.log.Info("member joined", "room", r.name, "user", req.UserID, "kind", req.Kind, "members", len(r.members))
	}
	info := mem.info()
	m.broadcastLocked(r, req.UserID, Event{Type: "member_joined", Member: &info})
	return others, nil
}

// AttachMedia connects a member's media to the room's router: it receives every
// track published by others and may publish its own.
func (m *Manager) AttachMedia(room, userID string, s Session, media sfu.Member) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, mem, err := m.lookupLocked(room, userID, s)
	if err != nil {
		return err
	}
	if mem.media != nil {
		r.router.Leave(mem.media)
	}
	mem.media = media
	r.router.Join(media)
	return nil
}

// Publish makes t available to the other members and tells them.
func (m *Manager) Publish(room, userID string, s Session, t *sfu.Track) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, mem, err := m.lookupLocked(room, userID, s)
	if err != nil {
		return err
	}
	mem.tracks = append(mem.tracks, t)
	if t.Kind() == webrtc.RTPCodecTypeAudio && !t.Source().IsScreen() { // a shared screen's sound is not its sharer speaking
		src, now := r.speakers.Add(userID), m.opts.Now
		t.SetAudioLevelObserver(func(level uint8, voice bool) { src.Observe(level, voice, now()) })
	}
	r.router.Publish(t)
	ti := trackInfo(t)
	m.broadcastLocked(r, userID, Event{Type: "track_published", UserID: userID, TrackInfo: &ti, Kind: ti.Kind})
	return nil
}

// Unpublish takes t back from the others and tells them.
func (m *Manager) Unpublish(room, userID string, s Session, t *sfu.Track) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, mem, err := m.lookupLocked(room, userID, s)
	if err != nil {
		return
	}
	m.unpublishLocked(r, mem, t)
}

func (m *Manager) unpublishLocked(r *Room, mem *member, t *sfu.Track) {
	for i, x := range mem.tracks {
		if x == t {
			mem.tracks = append(mem.tracks[:i], mem.tracks[i+1:]...)
			break
		}
	}
	if t.Kind() == webrtc.RTPCodecTypeAudio {
		t.SetAudioLevelObserver(nil)
		if !slices.ContainsFunc(mem.tracks, func(x *sfu.Track) bool { return x.Kind() == webrtc.RTPCodecTypeAudio }) {
			r.speakers.Remove(mem.userID) // its last audio track: the member is silent now
		}
	}
	if r.router.Unpublish(t) {
		m.ended = m.ended.Add(t.Stats())
		ti := trackInfo(t)
		m.broadcastLocked(r, mem.userID, Event{Type: "track_unpublished", UserID: mem.userID, TrackInfo: &ti, Kind: ti.Kind})
	}
}

// SetMuted records and announces a member's mute state for one kind.
func (m *Manager) SetMuted(room, userID string, s Session, kind string, muted bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, mem, err := m.lookupLocked(room, userID, s)
	if err != nil {
		return err
	}
	switch kind {
	case "audio":
		mem.audioMuted = muted
	case "video":
		mem.videoMuted = muted
	default:
		return fmt.Errorf(`kind %q: want "audio" or "video"`, kind)
	}
	mu := muted
	m.broadcastLocked(r, userID, Event{Type: "mute", UserID: userID, Kind: kind, Muted: &mu})
	return nil
}

// Touch marks a member alive (heartbeat, pong, any message). A nil session
// touches the member whatever its session (legacy HTTP heartbeat).
func (m *Manager) Touch(room, userID string, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, mem, err := m.lookupLocked(room, userID, s)
	if err != nil {
		return err
	}
	mem.lastSeen = m.opts.Now()
	return nil
}

// Leave removes a member. With a session, only that session's membership is
// removed (a kicked session leaving must not remove its successor).
func (m *Manager) Leave(room, userID string, s Session, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, mem, err := m.lookupLocked(room, userID, s)
	if err != nil {
		return err
	}
	if s == nil && mem.session != nil {
		mem.session.Kick(reason) // quit_room over HTTP ends the member's live session too
	}
	m.removeLocked(r, mem, reason)
	return nil
}

func (m *Manager) lookupLocked(room, userID string, s Session) (*Room, *member, error) {
	r, ok := m.rooms[room]
	if !ok {
		return nil, nil, fmt.Errorf("%w: %s", ErrNoRoom, room)
	}
	mem, ok := r.members[userID]
	if !ok || (s != nil && mem.session != s) {
		return nil, nil, fmt.Errorf("%w: %s in %s", ErrNotMember, userID, room)
	}
	return r, mem, nil
}

func (m *Manager) removeLocked(r *Room, mem *member, reason string) {
	m.removeMemberLocked(r, mem, reason)
	if len(r.members) == 0 {
		delete(m.rooms, r.name)
		m.log.Info("room closed", "room", r.name)
	}
}

// removeMemberLocked removes a member but keeps its room even when empty (a
// re-login replaces the member at once).
func (m *Manager) removeMemberLocked(r *Room, mem *member, reason string) {
	for len(mem.tracks) > 0 {
		m.unpublishLocked(r, mem, mem.tracks[len(mem.tracks)-1])
	}
	if mem.media != nil {
		r.router.Leave(mem.media)
		mem.media = nil
	}
	delete(r.members, mem.userID)
	m.log.Info("member left", "room", r.name, "user", mem.userID, "reason", reason, "members", len(r.members))
	m.broadcastLocked(r, mem.userID, Event{Type: "member_left", UserID: mem.userID, Reason: reason})
}

// Sweep removes every member silent for longer than the timeout and returns how
// many it removed. The server calls it every second; tests call it with a fake clock.
func (m *Manager) Sweep() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.opts.Now()
	n := 0
	for _, r := range m.rooms {
		for _, mem := range r.members {
			if now.Sub(mem.lastSeen) <= m.opts.Timeout {
				continue
			}
			if mem.session != nil {
				mem.session.Kick(ReasonTimeout)
			}
			m.removeLocked(r, mem, ReasonTimeout)
			n++
		}
	}
	return n
}

func (m *Manager) broadcastLocked(r *Room, except string, ev Event) {
	for id, mem := range r.members {
		if id != except && mem.session != nil {
			mem.session.Notify(ev)
		}
	}
	r.notifyObserversLocked(ev)
}

func (r *Room) othersLocked(except string) []MemberInfo {
	out := []MemberInfo{}
	for id, mem := range r.members {
		if id != except {
			out = append(out, mem.info())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out
}

func (mem *member) info() MemberInfo {
	mi := MemberInfo{UserID: mem.userID, NickName: mem.name(), Kind: mem.kind, Tracks: []TrackInfo{},
		AudioMuted: mem.audioMuted, VideoMuted: mem.videoMuted}
	for _, t := range mem.tracks {
		mi.Tracks = append(mi.Tracks, trackInfo(t))
	}
	return mi
}

func trackInfo(t *sfu.Track) TrackInfo {
	rids := t.RIDs()
	if rids == nil {
		rids = []string{}
	}
	return TrackInfo{TrackID: t.ID(), Kind: t.Kind().String(), Codec: t.Codec().MimeType,
		Simulcast: len(rids) > 1, RIDs: rids, Source: string(t.Source())}
}

// RoomInfo summarises a room for listings.
type RoomInfo struct {
	Name    string
	Info    string
	Members int
	Created time.Time
}

// Rooms lists rooms ordered by creation time.
func (m *Manager) Rooms() []RoomInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]RoomInfo, 0, len(m.rooms))
	for _, r := range m.rooms {
		out = append(out, RoomInfo{Name: r.name, Info: r.info, Members: len(r.members), Created: r.created})
	}
	sort.Slice(out, func(i, j int) bool { return ListingOrder(out[i].Created, out[i].Name, out[j].Created, out[j].Name) < 0 })
	return out
}

// ListingOrder is the order rooms are listed in: oldest first, then by name
// (Rooms here; a cluster's directory across nodes). It returns -1, 0 or +1.
func ListingOrder(createdA time.Time, nameA string, createdB time.Time, nameB string) int {
	if c := createdA.Compare(createdB); c != 0 {
		return c
	}
	return strings.Compare(nameA, nameB)
}

// Members lists a room's members ordered by user ID.
func (m *Manager) Members(room string) ([]MemberInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[room]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoRoom, room)
	}
	return r.othersLocked(""), nil
}

// Privileges returns a member's privilege bits.
func (m *Manager) Privileges(room, userID string) (uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, mem, err := m.lookupLocked(room, userID, nil)
	if err != nil {
		return 0, err
	}
	return mem.privileges, nil
}

// Run sweeps for silent members every interval, and updates active speakers
// and connection quality, until ctx ends.
func (m *Manager) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	sp := time.NewTicker(SpeakerInterval)
	defer sp.Stop()
	q := time.NewTicker(QualityInterval)
	defer q.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.Sweep()
		case <-sp.C:
			m.TickSpeakers()
		case <-q.C:
			m.TickQuality()
		}
	}
}

// Watch connects a media-only member (an FLV or RTMP viewer) to a room's router
// without making it a room member: it is offered every track, counts toward no
// capacity and appears in no member list. The returned func detaches it.
func (m *Manager) Watch(room string, media sfu.Member) (func(), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[room]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoRoom, room)
	}
	r.router.Join(media)
	return func() { r.router.Leave(media) }, nil
}

// Tracks lists the tracks a member publishes now.
func (m *Manager) Tracks(room, userID string) ([]*sfu.Track, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, mem, err := m.lookupLocked(room, userID, nil)
	if err != nil {
		return nil, err
	}
	return append([]*sfu.Track(nil), mem.tracks...), nil
}

// Kind reports a member's kind.
func (m *Manager) Kind(room, userID string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, mem, err := m.lookupLocked(room, userID, nil)
	if err != nil {
		return "", err
	}
	return mem.kind, nil
}
