package room

import (
	"fmt"
	"sort"

	"github.com/openroom/openroom/sfu"
)

// Stats is a snapshot for metrics and the admin page.
type Stats struct {
	Rooms         int
	MembersByKind map[string]int
	Tracks        int
	Media         sfu.TrackStats // all tracks ever published, live and ended
}

// Stats counts rooms, members and tracks, and sums media counters.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := Stats{Rooms: len(m.rooms), MembersByKind: map[string]int{KindWebRTC: 0, KindRTMP: 0, KindHTTP: 0}, Media: m.ended}
	for _, r := range m.rooms {
		for _, mem := range r.members {
			st.MembersByKind[mem.kind]++
			st.Tracks += len(mem.tracks)
			for _, t := range mem.tracks {
				st.Media = st.Media.Add(t.Stats())
			}
		}
	}
	return st
}

// MemberDetail is one member as the admin page shows it.
type MemberDetail struct {
	MemberInfo
	State    string           `json:"state"` // media connection state, "" when none
	Joined   int64            `json:"joined"`
	LastSeen int64            `json:"lastSeen"`
	Stats    []TrackStatsInfo `json:"trackStats"`
}

// TrackStatsInfo pairs a track with its counters.
type TrackStatsInfo struct {
	TrackInfo
	sfu.TrackStats
}

// RoomDetail is one room as the admin page shows it.
type RoomDetail struct {
	Name    string         `json:"room"`
	Info    string         `json:"roomInfo"`
	Created int64          `json:"created"`
	Members []MemberDetail `json:"members"`
}

// Details lists every room with its members and their tracks' counters.
func (m *Manager) Details() []RoomDetail {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []RoomDetail{}
	for _, r := range m.rooms {
		rd := RoomDetail{Name: r.name, Info: r.info, Created: r.created.UnixMilli(), Members: []MemberDetail{}}
		for _, mem := range r.members {
			md := MemberDetail{MemberInfo: mem.info(), State: mem.state, Joined: mem.joined.UnixMilli(),
				LastSeen: mem.lastSeen.UnixMilli(), Stats: []TrackStatsInfo{}}
			for _, t := range mem.tracks {
				md.Stats = append(md.Stats, TrackStatsInfo{TrackInfo: trackInfo(t), TrackStats: t.Stats()})
			}
			rd.Members = append(rd.Members, md)
		}
		sort.Slice(rd.Members, func(i, j int) bool { return rd.Members[i].UserID < rd.Members[j].UserID })
		out = append(out, rd)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SetState records a member's media connection state (for the admin page).
func (m *Manager) SetState(room, userID string, s Session, state string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, mem, err := m.lookupLocked(room, userID, s); err == nil {
		mem.state = state
	}
}

// Kick removes a member on an operator's order; its session is told why.
func (m *Manager) Kick(room, userID, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, mem, err := m.lookupLocked(room, userID, nil)
	if err != nil {
		return err
	}
	if mem.session != nil {
		mem.session.Kick(reason)
	}
	m.removeLocked(r, mem, ReasonKicked)
	return nil
}

// CloseRoom removes every member of a room (each told why) and the room.
func (m *Manager) CloseRoom(room, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[room]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoRoom, room)
	}
	for _, mem := range r.members {
		if mem.session != nil {
			mem.session.Kick(reason)
		}
		m.removeLocked(r, mem, ReasonKicked)
	}
	delete(m.rooms, room)
	if m.opts.Archive != nil {
		m.opts.Archive.Forget(room) // closed on purpose: its chat and board go too
	}
	return nil
}

// RemoveIfEmpty removes a room nobody is in (a node that relayed it from
// another is done with it), keeping what the archive holds of it: the room
// goes on elsewhere. It reports whether it removed the room.
func (m *Manager) RemoveIfEmpty(room string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[room]
	if !ok || len(r.members) > 0 {
		return false
	}
	delete(m.rooms, room)
	m.log.Info("room closed", "room", room)
	return true
}
