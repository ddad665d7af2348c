package room

import (
	"errors"
	"fmt"
	"github.com/openroom/openroom/internal/fakeclock"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/sfu"
)

// fakeSession records what the room tells it.
type fakeSession struct {
	name   string
	mu     sync.Mutex
	events []Event
	kicks  []string
}

func newSession(name string) *fakeSession { return &fakeSession{name: name} }

func (s *fakeSession) Notify(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
}

func (s *fakeSession) Kick(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kicks = append(s.kicks, reason)
}

func (s *fakeSession) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

func (s *fakeSession) Kicks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.kicks...)
}

// Reset forgets what was recorded so far.
func (s *fakeSession) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events, s.kicks = nil, nil
}

// eventTypes summarises events as "type:userID[:reason]".
func eventTypes(evs []Event) []string {
	out := []string{}
	for _, ev := range evs {
		id := ev.UserID
		if ev.Member != nil {
			id = ev.Member.UserID
		}
		s := ev.Type + ":" + id
		if ev.Reason != "" {
			s += ":" + ev.Reason
		}
		out = append(out, s)
	}
	return out
}

// fakeMedia is an sfu.Member recording the tracks the router offers and takes back.
type fakeMedia struct {
	id      string
	mu      sync.Mutex
	added   []string
	removed []string
}

func (f *fakeMedia) ID() string { return f.id }

func (f *fakeMedia) AddTrack(t *sfu.Track) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.added = append(f.added, t.ID())
}

func (f *fakeMedia) RemoveTrack(t *sfu.Track) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, t.ID())
}

func (f *fakeMedia) Added() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string{}, f.added...)
}

func (f *fakeMedia) Removed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string{}, f.removed...)
}

func newManager(t *testing.T, capacity int) (*Manager, *fakeclock.Clock) {
	t.Helper()
	clock := fakeclock.New()
	return NewManager(Options{Capacity: capacity, Timeout: 20 * time.Second, Now: clock.Now}), clock
}

// enter adds userID to room (creating it) with session s, failing the test on error.
func enter(t *testing.T, m *Manager, room, userID string, s Session) []MemberInfo {
	t.Helper()
	others, err := m.Enter(EnterRequest{Room: room, UserID: userID, NickName: "nick-" + userID, Kind: KindWebRTC,
		Privileges: auth.PrivAll, Session: s, Create: true})
	if err != nil {
		t.Fatalf("Enter(%s, %s): got %v; want nil", room, userID, err)
	}
	return others
}

func memberIDs(t *testing.T, m *Manager, room string) []string {
	t.Helper()
	ms, err := m.Members(room)
	if err != nil {
		t.Fatalf("Members(%s): got %v; want nil", room, err)
	}
	out := []string{}
	for _, mi := range ms {
		out = append(out, mi.UserID)
	}
	return out
}

func videoTrack(id, owner string) *sfu.Track {
	return sfu.NewTrack(sfu.TrackOptions{ID: id, Owner: owner, Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264}})
}

func audioTrack(id, owner string) *sfu.Track {
	return sfu.NewTrack(sfu.TrackOptions{ID: id, Owner: owner, Kind: webrtc.RTPCodecTypeAudio,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}})
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{name: "digits", in: "123456", want: true},
		{name: "letters", in: "alice", want: true},
		{name: "mixed", in: "Room_1-a", want: true},
		{name: "one char", in: "a", want: true},
		{name: "64 chars", in: strings.Repeat("a", 64), want: true},
		{name: "65 chars", in: strings.Repeat("a", 65), want: false},
		{name: "empty", in: "", want: false},
		{name: "space", in: "a b", want: false},
		{name: "dot", in: "a.b", want: false},
		{name: "slash", in: "a/b", want: false},
		{name: "traversal", in: "..", want: false},
		{name: "unicode", in: "房间", want: false},
		{name: "trailing newline", in: "abc\n", want: false},
		{name: "html", in: "<b>", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidName(tc.in); got != tc.want {
				t.Errorf("ValidName(%q): got %v; want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestNewManagerDefaults(t *testing.T) {
	m := NewManager(Options{})
	if got := m.Timeout(); got != 20*time.Second {
		t.Errorf("Timeout(): got %v; want %v", got, 20*time.Second)
	}
	for i := range 16 {
		enter(t, m, "r", "u"+strconv.Itoa(i), nil)
	}
	_, err := m.Enter(EnterRequest{Room: "r", UserID: "u16", Create: true})
	if !errors.Is(err, ErrRoomFull) {
		t.Errorf("17th Enter: got %v; want %v", err, ErrRoomFull)
	}
}

func TestCreate(t *testing.T) {
	tests := []struct {
		name    string
		create  string
		wantErr error
		numeric bool
	}{
		{name: "named", create: "r1"},
		{name: "empty gets numeric", create: "", numeric: true},
		{name: "invalid", create: "bad name", wantErr: ErrBadRoomName},
		{name: "too long", create: strings.Repeat("x", 65), wantErr: ErrBadRoomName},
		{name: "duplicate", create: "taken", wantErr: ErrRoomExists},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newManager(t, 4)
			if _, err := m.Create("taken", ""); err != nil {
				t.Fatalf("Create(taken): got %v; want nil", err)
			}
			got, err := m.Create(tc.create, "info")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Create(%q): got %v; want %v", tc.create, err, tc.wantErr)
				}
				if got != "" {
					t.Errorf("name: got %q; want %q", got, "")
				}
				return
			}
			if err != nil {
				t.Fatalf("Create(%q): got %v; want nil", tc.create, err)
			}
			if tc.numeric {
				if n, err := strconv.ParseUint(got, 10, 64); err != nil || n < 100000 {
					t.Errorf("name: got %q; want a number of at least 100000", got)
				}
			} else if got != tc.create {
				t.Errorf("name: got %q; want %q", got, tc.create)
			}
			if !m.Exists(got) {
				t.Errorf("Exists(%q): got false; want true", got)
			}
			// A created room stays until someone leaves it empty.
			if ids := memberIDs(t, m, got); len(ids) != 0 {
				t.Errorf("members: got %v; want none", ids)
			}
		})
	}
}

func TestCreateNumericNamesDistinct(t *testing.T) {
	m, _ := newManager(t, 4)
	seen := map[string]bool{}
	for range 50 {
		name, err := m.Create("", "")
		if err != nil {
			t.Fatalf("Create: got %v; want nil", err)
		}
		if seen[name] {
			t.Fatalf("Create returned %q twice; want distinct names", name)
		}
		seen[name] = true
	}
	if got := len(m.Rooms()); got != 50 {
		t.Errorf("rooms: got %v; want %v", got, 50)
	}
}

func TestEnterCreate(t *testing.T) {
	tests := []struct {
		name      string
		precreate bool
		create    bool
		wantErr   error
	}{
		{name: "missing room without create", create: false, wantErr: ErrNoRoom},
		{name: "missing room with create", create: true},
		{name: "existing room without create", precreate: true, create: false},
		{name: "existing room with create", precreate: true, create: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newManager(t, 4)
			if tc.precreate {
				if _, err := m.Create("r1", ""); err != nil {
					t.Fatalf("Create: got %v; want nil", err)
				}
			}
			_, err := m.Enter(EnterRequest{Room: "r1", UserID: "alice", Kind: KindWebRTC, Session: newSession("a"), Create: tc.create})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Enter: got %v; want %v", err, tc.wantErr)
				}
				if m.Exists("r1") {
					t.Errorf("Exists(r1): got true; want false")
				}
				return
			}
			if err != nil {
				t.Fatalf("Enter: got %v; want nil", err)
			}
			if got, want := memberIDs(t, m, "r1"), []string{"alice"}; !reflect.DeepEqual(got, want) {
				t.Errorf("members: got %v; want %v", got, want)
			}
		})
	}
}

func TestEnterBadNames(t *testing.T) {
	tests := []struct {
		name    string
		room    string
		user    string
		wantErr error
	}{
		{name: "bad room", room: "a b", user: "alice", wantErr: ErrBadRoomName},
		{name: "empty room", room: "", user: "alice", wantErr: ErrBadRoomName},
		{name: "bad user", room: "r1", user: "al/ice", wantErr: ErrBadUserID},
		{name: "empty user", room: "r1", user: "", wantErr: ErrBadUserID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newManager(t, 4)
			_, err := m.Enter(EnterRequest{Room: tc.room, UserID: tc.user, Create: true})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Enter: got %v; want %v", err, tc.wantErr)
			}
			if got := len(m.Rooms()); got != 0 {
				t.Errorf("rooms: got %v; want %v", got, 0)
			}
		})
	}
}

func TestEnterReturnsOthersAndAnnounces(t *testing.T) {
	m, _ := newManager(t, 4)
	a, b := newSession("a"), newSession("b")
	if others := enter(t, m, "r1", "carol", a); len(others) != 0 {
		t.Errorf("first Enter others: got %v; want none", others)
	}
	enter(t, m, "r1", "alice", nil) // HTTP member: listed, never notified
	others := enter(t, m, "r1", "bob", b)
	var ids []string
	for _, o := range others {
		ids = append(ids, o.UserID)
	}
	if want := []string{"alice", "carol"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("others: got %v; want %v", ids, want)
	}
	if others[1].NickName != "nick-carol" || others[1].Kind != KindWebRTC {
		t.Errorf("carol info: got %+v; want nick-carol/webrtc", others[1])
	}
	evs := a.Events()
	if got, want := eventTypes(evs), []string{"member_joined:alice", "member_joined:bob"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("carol's events: got %v; want %v", got, want)
	}
	mi := evs[1].Member
	if mi.NickName != "nick-bob" || mi.Kind != KindWebRTC || mi.Tracks == nil || len(mi.Tracks) != 0 {
		t.Errorf("member_joined member: got %+v; want nick-bob, webrtc, no tracks", mi)
	}
	if got := eventTypes(b.Events()); len(got) != 0 {
		t.Errorf("bob's own events: got %v; want none", got)
	}
}

func TestCapacity(t *testing.T) {
	tests := []struct {
		name    string
		enter   []string // userIDs entering in order
		wantErr []error  // per enter
	}{
		{name: "two fit", enter: []string{"a", "b"}, wantErr: []error{nil, nil}},
		{name: "third distinct is refused", enter: []string{"a", "b", "c"}, wantErr: []error{nil, nil, ErrRoomFull}},
		{name: "re-enter does not count", enter: []string{"a", "b", "a", "b"}, wantErr: []error{nil, nil, nil, nil}},
		{name: "re-enter then third", enter: []string{"a", "a", "b", "c"}, wantErr: []error{nil, nil, nil, ErrRoomFull}},
	}
	for _, tc := range tests {
		for _, withSession := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/session=%v", tc.name, withSession), func(t *testing.T) {
				m, _ := newManager(t, 2)
				for i, u := range tc.enter {
					var s Session
					if withSession {
						s = newSession(u + strconv.Itoa(i))
					}
					_, err := m.Enter(EnterRequest{Room: "r1", UserID: u, Session: s, Create: true})
					if !errors.Is(err, tc.wantErr[i]) || (tc.wantErr[i] == nil && err != nil) {
						t.Fatalf("Enter #%d (%s): got %v; want %v", i, u, err, tc.wantErr[i])
					}
				}
				if got := len(memberIDs(t, m, "r1")); got > 2 {
					t.Errorf("members: got %v; want at most %v", got, 2)
				}
			})
		}
	}
}

func TestCapacityFreedByLeave(t *testing.T) {
	m, _ := newManager(t, 2)
	enter(t, m, "r1", "a", nil)
	enter(t, m, "r1", "b", nil)
	if err := m.Leave("r1", "a", nil, ReasonLeft); err != nil {
		t.Fatalf("Leave: got %v; want nil", err)
	}
	if _, err := m.Enter(EnterRequest{Room: "r1", UserID: "c"}); err != nil {
		t.Errorf("Enter after leave: got %v; want nil", err)
	}
}

func TestSweepTimeout(t *testing.T) {
	tests := []struct {
		name        string
		advance     time.Duration
		touchAt     time.Duration // >0: Touch bob after this much time, then advance the rest
		touchNil    bool          // touch with a nil session (legacy heartbeat)
		httpMember  bool          // bob has no session
		wantRemoved bool
	}{
		{name: "at timeout still there", advance: 20 * time.Second},
		{name: "just past timeout removed", advance: 20*time.Second + time.Millisecond, wantRemoved: true},
		{name: "touch keeps alive", advance: 30 * time.Second, touchAt: 15 * time.Second},
		{name: "nil-session touch keeps alive", advance: 30 * time.Second, touchAt: 15 * time.Second, touchNil: true},
		{name: "touch then silence removed", advance: 35*time.Second + time.Millisecond, touchAt: 15 * time.Second, wantRemoved: true},
		{name: "http member at timeout", advance: 20 * time.Second, httpMember: true},
		{name: "http member times out", advance: 20*time.Second + time.Millisecond, httpMember: true, wantRemoved: true},
		{name: "http member heartbeat keeps alive", advance: 30 * time.Second, touchAt: 15 * time.Second, httpMember: true, touchNil: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, clock := newManager(t, 4)
			alice, bob := newSession("alice"), newSession("bob")
			var bobSession Session = bob
			if tc.httpMember {
				bobSession = nil
			}
			enter(t, m, "r1", "bob", bobSession)
			enter(t, m, "r1", "alice", alice)
			alice.Reset()
			elapsed := time.Duration(0)
			if tc.touchAt > 0 {
				clock.Advance(tc.touchAt)
				elapsed = tc.touchAt
				var s Session = bobSession
				if tc.touchNil {
					s = nil
				}
				if err := m.Touch("r1", "bob", s); err != nil {
					t.Fatalf("Touch: got %v; want nil", err)
				}
			}
			// Alice stays alive throughout; only bob is silent.
			clock.Advance(tc.advance - elapsed)
			if err := m.Touch("r1", "alice", alice); err != nil {
				t.Fatalf("Touch(alice): got %v; want nil", err)
			}
			n := m.Sweep()
			wantN := 0
			want := []string{"alice", "bob"}
			if tc.wantRemoved {
				wantN, want = 1, []string{"alice"}
			}
			if n != wantN {
				t.Errorf("Sweep(): got %v; want %v", n, wantN)
			}
			if got := memberIDs(t, m, "r1"); !reflect.DeepEqual(got, want) {
				t.Errorf("members: got %v; want %v", got, want)
			}
			var wantKicks []string
			wantEvents := []string{}
			if tc.wantRemoved {
				if !tc.httpMember {
					wantKicks = []string{ReasonTimeout}
				}
				wantEvents = []string{"member_left:bob:timeout"}
			}
			if got := bob.Kicks(); !reflect.DeepEqual(got, wantKicks) {
				t.Errorf("bob's kicks: got %v; want %v", got, wantKicks)
			}
			if got := eventTypes(alice.Events()); !reflect.DeepEqual(got, wantEvents) {
				t.Errorf("alice's events: got %v; want %v", got, wantEvents)
			}
			if len(alice.Kicks()) != 0 {
				t.Errorf("alice's kicks: got %v; want none", alice.Kicks())
			}
		})
	}
}

func TestSweepRemovesWholeRoom(t *testing.T) {
	m, clock := newManager(t, 4)
	a, b := newSession("a"), newSession("b")
	enter(t, m, "r1", "a", a)
	enter(t, m, "r1", "b", b)
	enter(t, m, "r2", "c", nil)
	clock.Advance(21 * time.Second)
	if got := m.Sweep(); got != 3 {
		t.Errorf("Sweep(): got %v; want %v", got, 3)
	}
	for _, r := range []string{"r1", "r2"} {
		if m.Exists(r) {
			t.Errorf("Exists(%s): got true; want false", r)
		}
	}
	for _, s := range []*fakeSession{a, b} {
		if got, want := s.Kicks(), []string{ReasonTimeout}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s kicks: got %v; want %v", s.name, got, want)
		}
	}
	if got := m.Sweep(); got != 0 {
		t.Errorf("second Sweep(): got %v; want %v", got, 0)
	}
}

func TestTouchErrors(t *testing.T) {
	m, _ := newManager(t, 4)
	a := newSession("a")
	enter(t, m, "r1", "alice", a)
	tests := []struct {
		name    string
		room    string
		user    string
		s       Session
		wantErr error
	}{
		{name: "own session", room: "r1", user: "alice", s: a},
		{name: "nil session", room: "r1", user: "alice", s: nil},
		{name: "other session", room: "r1", user: "alice", s: newSession("x"), wantErr: ErrNotMember},
		{name: "not a member", room: "r1", user: "bob", wantErr: ErrNotMember},
		{name: "no room", room: "r9", user: "alice", wantErr: ErrNoRoom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := m.Touch(tc.room, tc.user, tc.s)
			if tc.wantErr == nil && err != nil {
				t.Fatalf("Touch: got %v; want nil", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Touch: got %v; want %v", err, tc.wantErr)
			}
		})
	}
}

func TestKickOut(t *testing.T) {
	m, _ := newManager(t, 4)
	first, second, bob := newSession("first"), newSession("second"), newSession("bob")
	enter(t, m, "r1", "alice", first)
	enter(t, m, "r1", "bob", bob)
	bob.Reset()
	first.Reset()

	others := enter(t, m, "r1", "alice", second)
	if len(others) != 1 || others[0].UserID != "bob" {
		t.Errorf("others: got %+v; want [bob]", others)
	}
	if got, want := first.Kicks(), []string{ReasonElsewhere}; !reflect.DeepEqual(got, want) {
		t.Errorf("first kicks: got %v; want %v", got, want)
	}
	if got, want := eventTypes(bob.Events()), []string{"member_left:alice:kicked", "member_joined:alice"}; !reflect.DeepEqual(got, want) {
		t.Errorf("bob's events: got %v; want %v", got, want)
	}
	if got := eventTypes(first.Events()); len(got) != 0 {
		t.Errorf("first's events: got %v; want none", got)
	}
	if got := second.Kicks(); len(got) != 0 {
		t.Errorf("second kicks: got %v; want none", got)
	}

	// The kicked session leaving late must not remove its successor.
	bob.Reset()
	if err := m.Leave("r1", "alice", first, ReasonDisconnected); !errors.Is(err, ErrNotMember) {
		t.Errorf("Leave(first): got %v; want %v", err, ErrNotMember)
	}
	if err := m.Touch("r1", "alice", first); !errors.Is(err, ErrNotMember) {
		t.Errorf("Touch(first): got %v; want %v", err, ErrNotMember)
	}
	if got, want := memberIDs(t, m, "r1"), []string{"alice", "bob"}; !reflect.DeepEqual(got, want) {
		t.Errorf("members: got %v; want %v", got, want)
	}
	if got := eventTypes(bob.Events()); len(got) != 0 {
		t.Errorf("bob's events after stale leave: got %v; want none", got)
	}
	if err := m.Touch("r1", "alice", second); err != nil {
		t.Errorf("Touch(second): got %v; want nil", err)
	}
	if err := m.Leave("r1", "alice", second, ReasonLeft); err != nil {
		t.Errorf("Leave(second): got %v; want nil", err)
	}
	if got, want := eventTypes(bob.Events()), []string{"member_left:alice:left"}; !reflect.DeepEqual(got, want) {
		t.Errorf("bob's events after leave: got %v; want %v", got, want)
	}
}

// A user alone in a room who reconnects (page reload) kicks the old session; the
// room must survive with the new session in it.
func TestKickOutAloneKeepsRoom(t *testing.T) {
	m, clock := newManager(t, 4)
	if _, err := m.Create("r1", "the info"); err != nil {
		t.Fatalf("Create: got %v; want nil", err)
	}
	created := clock.Now()
	clock.Advance(time.Minute)
	first, second := newSession("first"), newSession("second")
	enter(t, m, "r1", "alice", first)
	enter(t, m, "r1", "alice", second)
	if got, want := first.Kicks(), []string{ReasonElsewhere}; !reflect.DeepEqual(got, want) {
		t.Errorf("first kicks: got %v; want %v", got, want)
	}
	if !m.Exists("r1") {
		t.Fatalf("Exists(r1): got false; want true")
	}
	if got, want := memberIDs(t, m, "r1"), []string{"alice"}; !reflect.DeepEqual(got, want) {
		t.Errorf("members: got %v; want %v", got, want)
	}
	if err := m.Touch("r1", "alice", second); err != nil {
		t.Errorf("Touch(second): got %v; want nil", err)
	}
	rooms := m.Rooms()
	if len(rooms) != 1 || rooms[0].Info != "the info" || !rooms[0].Created.Equal(created) || rooms[0].Members != 1 {
		t.Errorf("Rooms(): got %+v; want r1 with its info, creation time %v and 1 member", rooms, created)
	}
	// Someone else joining now sees alice and is seen by her.
	bob := newSession("bob")
	if others := enter(t, m, "r1", "bob", bob); len(others) != 1 || others[0].UserID != "alice" {
		t.Errorf("bob's others: got %+v; want [alice]", others)
	}
	if got, want := eventTypes(second.Events()), []string{"member_joined:bob"}; !reflect.DeepEqual(got, want) {
		t.Errorf("second's events: got %v; want %v", got, want)
	}
}

func TestHTTPMemberThenSession(t *testing.T) {
	m, clock := newManager(t, 2)
	bob := newSession("bob")
	enter(t, m, "r1", "bob", bob)
	if _, err := m.Enter(EnterRequest{Room: "r1", UserID: "alice", NickName: "Alice", Kind: KindHTTP}); err != nil {
		t.Fatalf("HTTP Enter: got %v; want nil", err)
	}
	bob.Reset()
	clock.Advance(15 * time.Second)

	s := newSession("alice")
	// A full room still lets the existing HTTP member connect.
	if _, err := m.Enter(EnterRequest{Room: "r1", UserID: "alice", Kind: KindWebRTC, Session: s}); err != nil {
		t.Fatalf("session Enter: got %v; want nil", err)
	}
	if got := s.Kicks(); len(got) != 0 {
		t.Errorf("alice kicks: got %v; want none", got)
	}
	if got := bob.Kicks(); len(got) != 0 {
		t.Errorf("bob kicks: got %v; want none", got)
	}
	evs := bob.Events()
	if got, want := eventTypes(evs), []string{"member_joined:alice"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("bob's events: got %v; want %v", got, want)
	}
	if evs[0].Member.NickName != "Alice" {
		t.Errorf("nick kept: got %q; want %q", evs[0].Member.NickName, "Alice")
	}
	if evs[0].Member.Kind != KindWebRTC {
		t.Errorf("kind: got %q; want %q", evs[0].Member.Kind, KindWebRTC)
	}
	if got, want := memberIDs(t, m, "r1"), []string{"alice", "bob"}; !reflect.DeepEqual(got, want) {
		t.Errorf("members: got %v; want %v", got, want)
	}
	// The session is now the member's: a stranger's session cannot touch it.
	if err := m.Touch("r1", "alice", newSession("x")); !errors.Is(err, ErrNotMember) {
		t.Errorf("Touch(other session): got %v; want %v", err, ErrNotMember)
	}
	// Entering refreshed lastSeen: 15s+6s after the HTTP enter it is still alive.
	clock.Advance(6 * time.Second)
	if err := m.Touch("r1", "bob", bob); err != nil {
		t.Fatalf("Touch(bob): got %v; want nil", err)
	}
	if n := m.Sweep(); n != 0 {
		t.Errorf("Sweep(): got %v; want %v", n, 0)
	}
}

func TestLegacyReEnterKeepsSession(t *testing.T) {
	m, clock := newManager(t, 4)
	s := newSession("alice")
	enter(t, m, "r1", "alice", s)
	clock.Advance(15 * time.Second)
	// An HTTP enter_room for a member with a live session refreshes it and kicks nobody.
	if _, err := m.Enter(EnterRequest{Room: "r1", UserID: "alice"}); err != nil {
		t.Fatalf("HTTP re-Enter: got %v; want nil", err)
	}
	if got := s.Kicks(); len(got) != 0 {
		t.Errorf("kicks: got %v; want none", got)
	}
	if err := m.Touch("r1", "alice", s); err != nil {
		t.Errorf("Touch(session): got %v; want nil", err)
	}
	clock.Advance(10 * time.Second)
	if n := m.Sweep(); n != 0 {
		t.Errorf("Sweep(): got %v; want %v", n, 0)
	}
}

func TestLeave(t *testing.T) {
	tests := []struct {
		name       string
		leaver     string
		useSession bool // leave with the member's own session (else nil: HTTP quit_room)
		wantKick   []string
	}{
		{name: "own session", leaver: "alice", useSession: true},
		{name: "http quit ends live session", leaver: "alice", useSession: false, wantKick: []string{ReasonLeft}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newManager(t, 4)
			alice, bob := newSession("alice"), newSession("bob")
			enter(t, m, "r1", "alice", alice)
			enter(t, m, "r1", "bob", bob)
			bob.Reset()
			var s Session
			if tc.useSession {
				s = alice
			}
			if err := m.Leave("r1", "alice", s, ReasonLeft); err != nil {
				t.Fatalf("Leave: got %v; want nil", err)
			}
			if got := alice.Kicks(); !reflect.DeepEqual(got, tc.wantKick) {
				t.Errorf("alice kicks: got %v; want %v", got, tc.wantKick)
			}
			if got, want := eventTypes(bob.Events()), []string{"member_left:alice:left"}; !reflect.DeepEqual(got, want) {
				t.Errorf("bob's events: got %v; want %v", got, want)
			}
			if err := m.Leave("r1", "alice", s, ReasonLeft); !errors.Is(err, ErrNotMember) {
				t.Errorf("second Leave: got %v; want %v", err, ErrNotMember)
			}
		})
	}
}

func TestLastMemberLeavingDeletesRoom(t *testing.T) {
	m, _ := newManager(t, 4)
	a, b := newSession("a"), newSession("b")
	enter(t, m, "r1", "a", a)
	enter(t, m, "r1", "b", b)
	steps := []struct {
		name       string
		user       string
		s          Session
		wantExists bool
	}{
		{name: "first leaves", user: "a", s: a, wantExists: true},
		{name: "last leaves", user: "b", s: b, wantExists: false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := m.Leave("r1", st.user, st.s, ReasonLeft); err != nil {
				t.Fatalf("Leave: got %v; want nil", err)
			}
			if got := m.Exists("r1"); got != st.wantExists {
				t.Errorf("Exists(r1): got %v; want %v", got, st.wantExists)
			}
		})
	}
	if _, err := m.Members("r1"); !errors.Is(err, ErrNoRoom) {
		t.Errorf("Members(r1): got %v; want %v", err, ErrNoRoom)
	}
	if err := m.Leave("r1", "a", nil, ReasonLeft); !errors.Is(err, ErrNoRoom) {
		t.Errorf("Leave in deleted room: got %v; want %v", err, ErrNoRoom)
	}
	if _, err := m.Create("r1", ""); err != nil {
		t.Errorf("Create(r1) again: got %v; want nil", err)
	}
}

func TestPublishUnpublish(t *testing.T) {
	tests := []struct {
		name      string
		track     *sfu.Track
		wantKind  string
		wantCodec string
		wantSrc   string
	}{
		{name: "video", track: videoTrack("t1", "alice"), wantKind: "video", wantCodec: webrtc.MimeTypeH264, wantSrc: "camera"},
		{name: "audio", track: audioTrack("a1", "alice"), wantKind: "audio", wantCodec: webrtc.MimeTypeOpus, wantSrc: "microphone"},
		{name: "screen", wantKind: "video", wantCodec: webrtc.MimeTypeH264, wantSrc: "screen", track: sfu.NewTrack(sfu.TrackOptions{
			ID: "s1", Owner: "alice", Kind: webrtc.RTPCodecTypeVideo, Source: sfu.SourceScreen,
			Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newManager(t, 4)
			alice, bob := newSession("alice"), newSession("bob")
			enter(t, m, "r1", "alice", alice)
			enter(t, m, "r1", "bob", bob)
			alice.Reset()
			bob.Reset()

			if err := m.Publish("r1", "alice", alice, tc.track); err != nil {
				t.Fatalf("Publish: got %v; want nil", err)
			}
			evs := bob.Events()
			if len(evs) != 1 {
				t.Fatalf("bob's events: got %v; want 1 track_published", eventTypes(evs))
			}
			ev := evs[0]
			if ev.Type != "track_published" || ev.UserID != "alice" || ev.TrackInfo == nil {
				t.Fatalf("event: got %+v; want track_published by alice with track info", ev)
			}
			if ev.TrackID != tc.track.ID() || ev.Kind != tc.wantKind || ev.TrackInfo.Kind != tc.wantKind || ev.Codec != tc.wantCodec {
				t.Errorf("track info: got %v/%v/%v/%v; want %v/%v/%v/%v", ev.TrackID, ev.Kind, ev.TrackInfo.Kind, ev.Codec,
					tc.track.ID(), tc.wantKind, tc.wantKind, tc.wantCodec)
			}
			if got := alice.Events(); len(got) != 0 {
				t.Errorf("publisher's events: got %v; want none", eventTypes(got))
			}
			ms, err := m.Members("r1")
			if err != nil {
				t.Fatalf("Members: got %v; want nil", err)
			}
			wantTracks := []TrackInfo{{TrackID: tc.track.ID(), Kind: tc.wantKind, Codec: tc.wantCodec, RIDs: []string{}, Source: tc.wantSrc}}
			if !reflect.DeepEqual(ms[0].Tracks, wantTracks) {
				t.Errorf("alice's tracks: got %+v; want %+v", ms[0].Tracks, wantTracks)
			}
			// A newcomer learns of the track from Enter.
			others := enter(t, m, "r1", "carol", newSession("carol"))
			if !reflect.DeepEqual(others[0].Tracks, wantTracks) {
				t.Errorf("newcomer sees tracks: got %+v; want %+v", others[0].Tracks, wantTracks)
			}

			bob.Reset()
			m.Unpublish("r1", "alice", alice, tc.track)
			evs = bob.Events()
			if len(evs) != 1 || evs[0].Type != "track_unpublished" || evs[0].UserID != "alice" || evs[0].TrackInfo == nil ||
				evs[0].TrackID != tc.track.ID() || evs[0].Kind != tc.wantKind || evs[0].Codec != tc.wantCodec {
				t.Errorf("bob's events: got %+v; want one track_unpublished of %s", evs, tc.track.ID())
			}
			select {
			case <-tc.track.Done():
			default:
				t.Errorf("track done after Unpublish: got open; want closed")
			}
			// Unpublishing again tells nobody.
			bob.Reset()
			m.Unpublish("r1", "alice", alice, tc.track)
			if got := bob.Events(); len(got) != 0 {
				t.Errorf("bob's events after second Unpublish: got %v; want none", eventTypes(got))
			}
			ms, _ = m.Members("r1")
			if len(ms[0].Tracks) != 0 {
				t.Errorf("alice's tracks after Unpublish: got %+v; want none", ms[0].Tracks)
			}
		})
	}
}

func TestPublishNotMember(t *testing.T) {
	m, _ := newManager(t, 4)
	alice := newSession("alice")
	enter(t, m, "r1", "alice", alice)
	tests := []struct {
		name    string
		room    string
		user    string
		s       Session
		wantErr error
	}{
		{name: "no room", room: "r9", user: "alice", s: alice, wantErr: ErrNoRoom},
		{name: "not member", room: "r1", user: "bob", s: newSession("bob"), wantErr: ErrNotMember},
		{name: "stale session", room: "r1", user: "alice", s: newSession("old"), wantErr: ErrNotMember},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := m.Publish(tc.room, tc.user, tc.s, videoTrack("t", tc.user)); !errors.Is(err, tc.wantErr) {
				t.Errorf("Publish: got %v; want %v", err, tc.wantErr)
			}
			if err := m.SetMuted(tc.room, tc.user, tc.s, "audio", true); !errors.Is(err, tc.wantErr) {
				t.Errorf("SetMuted: got %v; want %v", err, tc.wantErr)
			}
			if err := m.AttachMedia(tc.room, tc.user, tc.s, &fakeMedia{id: tc.user}); !errors.Is(err, tc.wantErr) {
				t.Errorf("AttachMedia: got %v; want %v", err, tc.wantErr)
			}
		})
	}
}

func TestLeaveUnpublishesTracks(t *testing.T) {
	tests := []struct {
		name  string
		leave func(m *Manager, clock *fakeclock.Clock, alice Session)
		why   string
	}{
		{name: "leave", leave: func(m *Manager, _ *fakeclock.Clock, alice Session) { _ = m.Leave("r1", "alice", alice, ReasonLeft) }, why: ReasonLeft},
		{name: "timeout", leave: func(m *Manager, clock *fakeclock.Clock, _ Session) {
			clock.Advance(20*time.Second + time.Millisecond)
			_ = m.Touch("r1", "bob", nil)
			m.Sweep()
		}, why: ReasonTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, clock := newManager(t, 4)
			alice, bob := newSession("alice"), newSession("bob")
			enter(t, m, "r1", "alice", alice)
			enter(t, m, "r1", "bob", bob)
			v, a := videoTrack("v1", "alice"), audioTrack("a1", "alice")
			for _, tr := range []*sfu.Track{v, a} {
				if err := m.Publish("r1", "alice", alice, tr); err != nil {
					t.Fatalf("Publish: got %v; want nil", err)
				}
			}
			bob.Reset()
			tc.leave(m, clock, alice)
			want := []string{"track_unpublished:alice", "track_unpublished:alice", "member_left:alice:" + tc.why}
			evs := bob.Events()
			if got := eventTypes(evs); !reflect.DeepEqual(got, want) {
				t.Fatalf("bob's events: got %v; want %v", got, want)
			}
			ids := []string{evs[0].TrackID, evs[1].TrackID}
			if want := []string{"a1", "v1"}; !reflect.DeepEqual(ids, want) {
				t.Errorf("unpublished tracks: got %v; want %v", ids, want)
			}
			for _, tr := range []*sfu.Track{v, a} {
				select {
				case <-tr.Done():
				default:
					t.Errorf("track %s done: got open; want closed", tr.ID())
				}
			}
		})
	}
}

func TestSetMuted(t *testing.T) {
	tests := []struct {
		name      string
		kind      string
		muted     bool
		wantErr   bool
		wantAudio bool
		wantVideo bool
	}{
		{name: "mute audio", kind: "audio", muted: true, wantAudio: true},
		{name: "mute video", kind: "video", muted: true, wantVideo: true},
		{name: "unmute video", kind: "video", muted: false},
		{name: "bad kind", kind: "screen", muted: true, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newManager(t, 4)
			alice, bob := newSession("alice"), newSession("bob")
			enter(t, m, "r1", "alice", alice)
			enter(t, m, "r1", "bob", bob)
			alice.Reset()
			bob.Reset()
			err := m.SetMuted("r1", "alice", alice, tc.kind, tc.muted)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), tc.kind) {
					t.Fatalf("SetMuted: got %v; want an error naming %q", err, tc.kind)
				}
				if got := bob.Events(); len(got) != 0 {
					t.Errorf("bob's events: got %v; want none", eventTypes(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("SetMuted: got %v; want nil", err)
			}
			evs := bob.Events()
			if len(evs) != 1 {
				t.Fatalf("bob's events: got %v; want one mute", eventTypes(evs))
			}
			ev := evs[0]
			if ev.Type != "mute" || ev.UserID != "alice" || ev.Kind != tc.kind {
				t.Errorf("event: got %+v; want mute of alice's %s", ev, tc.kind)
			}
			if ev.Muted == nil || *ev.Muted != tc.muted {
				t.Errorf("Muted: got %v; want pointer to %v", ev.Muted, tc.muted)
			}
			if got := alice.Events(); len(got) != 0 {
				t.Errorf("alice's events: got %v; want none", eventTypes(got))
			}
			ms, _ := m.Members("r1")
			if ms[0].AudioMuted != tc.wantAudio || ms[0].VideoMuted != tc.wantVideo {
				t.Errorf("alice muted audio/video: got %v/%v; want %v/%v", ms[0].AudioMuted, ms[0].VideoMuted, tc.wantAudio, tc.wantVideo)
			}
		})
	}
}

func TestMutedPointerNotShared(t *testing.T) {
	m, _ := newManager(t, 4)
	alice, bob := newSession("alice"), newSession("bob")
	enter(t, m, "r1", "alice", alice)
	enter(t, m, "r1", "bob", bob)
	bob.Reset()
	if err := m.SetMuted("r1", "alice", alice, "audio", true); err != nil {
		t.Fatal(err)
	}
	if err := m.SetMuted("r1", "alice", alice, "audio", false); err != nil {
		t.Fatal(err)
	}
	evs := bob.Events()
	if len(evs) != 2 || *evs[0].Muted != true || *evs[1].Muted != false {
		t.Errorf("muted values: got %v then %v; want true then false", *evs[0].Muted, *evs[1].Muted)
	}
}

func TestRoomsOrdering(t *testing.T) {
	m, clock := newManager(t, 4)
	// Creation order by time: zeta, then beta and alpha at the same instant (name order).
	if _, err := m.Create("zeta", "z"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	enter(t, m, "beta", "u1", nil)
	enter(t, m, "alpha", "u2", nil)
	enter(t, m, "alpha", "u3", nil)
	clock.Advance(time.Second)
	if _, err := m.Create("gamma", ""); err != nil {
		t.Fatal(err)
	}
	got := m.Rooms()
	var names []string
	var counts []int
	for _, r := range got {
		names = append(names, r.Name)
		counts = append(counts, r.Members)
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "names", got: names, want: []string{"zeta", "alpha", "beta", "gamma"}},
		{name: "members", got: counts, want: []int{0, 2, 1, 0}},
		{name: "info", got: got[0].Info, want: "z"},
		{name: "created", got: got[3].Created, want: clock.Now()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("got %v; want %v", tc.got, tc.want)
			}
		})
	}
	if empty := NewManager(Options{}).Rooms(); empty == nil || len(empty) != 0 {
		t.Errorf("empty Rooms(): got %#v; want an empty non-nil slice", empty)
	}
}

func TestMembersOrdering(t *testing.T) {
	m, _ := newManager(t, 8)
	for _, u := range []string{"zed", "Bob", "alice", "10", "2"} {
		enter(t, m, "r1", u, nil)
	}
	// Byte order: digits, then upper case, then lower case.
	if got, want := memberIDs(t, m, "r1"), []string{"10", "2", "Bob", "alice", "zed"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Members: got %v; want %v", got, want)
	}
	if _, err := m.Members("nope"); !errors.Is(err, ErrNoRoom) {
		t.Errorf("Members(nope): got %v; want %v", err, ErrNoRoom)
	}
}

func TestPrivileges(t *testing.T) {
	m, _ := newManager(t, 4)
	if _, err := m.Enter(EnterRequest{Room: "r1", UserID: "viewer", Privileges: 42, Create: true}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		user    string
		want    uint32
		wantErr error
	}{
		{name: "viewer", user: "viewer", want: 42},
		{name: "stranger", user: "x", wantErr: ErrNotMember},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := m.Privileges("r1", tc.user)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Privileges: got %v; want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Privileges: got %v, %v; want %v, nil", got, err, tc.want)
			}
		})
	}
}

func TestAttachMedia(t *testing.T) {
	m, _ := newManager(t, 4)
	alice, bob := newSession("alice"), newSession("bob")
	enter(t, m, "r1", "alice", alice)
	enter(t, m, "r1", "bob", bob)

	// Alice publishes before bob attaches: bob gets it on attach.
	early := videoTrack("early", "alice")
	if err := m.Publish("r1", "alice", alice, early); err != nil {
		t.Fatal(err)
	}
	aliceMedia, bobMedia := &fakeMedia{id: "alice"}, &fakeMedia{id: "bob"}
	if err := m.AttachMedia("r1", "alice", alice, aliceMedia); err != nil {
		t.Fatalf("AttachMedia(alice): got %v; want nil", err)
	}
	if err := m.AttachMedia("r1", "bob", bob, bobMedia); err != nil {
		t.Fatalf("AttachMedia(bob): got %v; want nil", err)
	}
	steps := []struct {
		name        string
		do          func(t *testing.T)
		wantAlice   []string // added to alice's media
		wantBob     []string // added to bob's media
		wantBobGone []string // removed from bob's media
	}{
		{
			name:      "attach offers earlier tracks of others only",
			do:        func(*testing.T) {},
			wantAlice: []string{},
			wantBob:   []string{"early"},
		},
		{
			name: "own publish is not offered back",
			do: func(t *testing.T) {
				if err := m.Publish("r1", "alice", alice, audioTrack("a1", "alice")); err != nil {
					t.Fatal(err)
				}
			},
			wantAlice: []string{},
			wantBob:   []string{"early", "a1"},
		},
		{
			name: "bob's publish goes to alice",
			do: func(t *testing.T) {
				if err := m.Publish("r1", "bob", bob, videoTrack("b1", "bob")); err != nil {
					t.Fatal(err)
				}
			},
			wantAlice: []string{"b1"},
			wantBob:   []string{"early", "a1"},
		},
		{
			name: "unpublish takes it back",
			do: func(*testing.T) {
				m.Unpublish("r1", "alice", alice, early)
			},
			wantAlice:   []string{"b1"},
			wantBob:     []string{"early", "a1"},
			wantBobGone: []string{"early"},
		},
		{
			name: "alice leaving takes back her tracks",
			do: func(t *testing.T) {
				if err := m.Leave("r1", "alice", alice, ReasonLeft); err != nil {
					t.Fatal(err)
				}
			},
			wantAlice:   []string{"b1"},
			wantBob:     []string{"early", "a1"},
			wantBobGone: []string{"early", "a1"},
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do(t)
			if got := aliceMedia.Added(); !reflect.DeepEqual(got, st.wantAlice) {
				t.Errorf("alice added: got %v; want %v", got, st.wantAlice)
			}
			if got := bobMedia.Added(); !reflect.DeepEqual(got, st.wantBob) {
				t.Errorf("bob added: got %v; want %v", got, st.wantBob)
			}
			want := st.wantBobGone
			if want == nil {
				want = []string{}
			}
			if got := bobMedia.Removed(); !reflect.DeepEqual(got, want) {
				t.Errorf("bob removed: got %v; want %v", got, want)
			}
		})
	}
}

func TestAttachMediaReplaces(t *testing.T) {
	m, _ := newManager(t, 4)
	alice, bob := newSession("alice"), newSession("bob")
	enter(t, m, "r1", "alice", alice)
	enter(t, m, "r1", "bob", bob)
	old, repl := &fakeMedia{id: "bob"}, &fakeMedia{id: "bob"}
	if err := m.AttachMedia("r1", "bob", bob, old); err != nil {
		t.Fatal(err)
	}
	if err := m.AttachMedia("r1", "bob", bob, repl); err != nil {
		t.Fatal(err)
	}
	if err := m.Publish("r1", "alice", alice, videoTrack("v", "alice")); err != nil {
		t.Fatal(err)
	}
	if got := old.Added(); len(got) != 0 {
		t.Errorf("old media added: got %v; want none", got)
	}
	if got, want := repl.Added(), []string{"v"}; !reflect.DeepEqual(got, want) {
		t.Errorf("new media added: got %v; want %v", got, want)
	}
}

func TestConcurrentUse(t *testing.T) {
	m, clock := newManager(t, 64)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := "u" + strconv.Itoa(i)
			s := newSession(u)
			for j := range 20 {
				r := "r" + strconv.Itoa(j%3)
				if _, err := m.Enter(EnterRequest{Room: r, UserID: u, Session: s, Create: true}); err != nil {
					t.Errorf("Enter: got %v; want nil", err)
					return
				}
				tr := videoTrack(fmt.Sprintf("%s-%d", u, j), u)
				_ = m.Publish(r, u, s, tr)
				_ = m.SetMuted(r, u, s, "audio", j%2 == 0)
				_ = m.Touch(r, u, s)
				m.Rooms()
				_, _ = m.Members(r)
				m.Sweep()
				_ = m.Leave(r, u, s, ReasonLeft)
			}
		}()
	}
	wg.Wait()
	clock.Advance(time.Hour)
	m.Sweep()
	if got := m.Rooms(); len(got) != 0 {
		t.Errorf("rooms after everyone left: got %+v; want none", got)
	}
}

// TestSpeakersForANewcomer: the room's active speakers are kept as last
// told, so a member who joins while someone speaks can be told at once
// (the room hears nothing new until the list changes).
func TestSpeakersForANewcomer(t *testing.T) {
	m, clock := newManager(t, 0)
	enter(t, m, "r1", "alice", &fakeSession{})
	if got, err := m.Speakers("r1"); err != nil || len(got) != 0 {
		t.Fatalf("Speakers before anyone speaks: got (%v, %v); want ([], nil)", got, err)
	}
	m.mu.Lock()
	src := m.rooms["r1"].speakers.Add("alice")
	m.mu.Unlock()
	for range 20 { // 400 ms of loud voice, 20 ms frames
		clock.Advance(20 * time.Millisecond)
		src.Observe(10, true, clock.Now())
		m.TickSpeakers()
	}
	got, err := m.Speakers("r1")
	if err != nil || len(got) != 1 || got[0].UserID != "alice" || got[0].Level <= 0 {
		t.Fatalf("Speakers while alice speaks: got (%+v, %v); want alice with a level", got, err)
	}
	enter(t, m, "r1", "bob", &fakeSession{})
	if again, _ := m.Speakers("r1"); len(again) != 1 || again[0] != got[0] {
		t.Errorf("Speakers for bob, who just joined: got %+v; want %+v", again, got)
	}
	if _, err := m.Speakers("nope"); !errors.Is(err, ErrNoRoom) {
		t.Errorf("Speakers of no room: got %v; want ErrNoRoom", err)
	}
}
