package room

import (
	"fmt"
	"time"

	"github.com/openroom/openroom/sfu/quality"
)

// How often speakers and connection quality are re-evaluated. Speakers: the
// detector smooths over ~300 ms and reports at most every 200 ms; a 100 ms
// tick keeps the list within a tick of that. Quality: windows of 2 s.
const (
	SpeakerInterval = 100 * time.Millisecond
	QualityInterval = 2 * time.Second
)

// SpeakerAware is a member's media that gives bandwidth to active speakers
// first (a WebRTC peer's allocator).
type SpeakerAware interface {
	SetActiveSpeakers(userIDs []string)
}

// QualityReporter is a member's media that can rate its own connection.
type QualityReporter interface {
	QualityStats() quality.Stats
}

// TickSpeakers updates every room's active speakers and, where they changed,
// tells the members (`speakers`) and their allocators.
func (m *Manager) TickSpeakers() {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.opts.Now()
	for _, r := range m.rooms {
		list, changed := r.speakers.Tick(now)
		if !changed {
			continue
		}
		infos := make([]SpeakerInfo, len(list))
		ids := make([]string, len(list))
		for i, s := range list {
			infos[i] = SpeakerInfo{UserID: s.UserID, Level: float64(int(s.Level*1000)) / 1000}
			ids[i] = s.UserID
		}
		r.lastSpeakers = infos
		m.broadcastLocked(r, "", Event{Type: "speakers", Speakers: &infos})
		for _, mem := range r.members {
			if sa, ok := mem.media.(SpeakerAware); ok {
				sa.SetActiveSpeakers(ids)
			}
		}
	}
}

// Speakers returns the room's active speakers as the room was last told
// (loudest first; empty when nobody speaks), for a member who just joined.
func (m *Manager) Speakers(room string) ([]SpeakerInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[room]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoRoom, room)
	}
	return append([]SpeakerInfo{}, r.lastSpeakers...), nil
}

// TickQuality rates every member's connection over the last window and sends
// the room's list (`quality`) when a rating changed.
func (m *Manager) TickQuality() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.rooms {
		changed := false
		for _, mem := range r.members {
			qr, ok := mem.media.(QualityReporter)
			if !ok {
				continue
			}
			if _, c := mem.quality.Update(qr.QualityStats()); c {
				changed = true
			}
		}
		if !changed {
			continue
		}
		m.broadcastQualityLocked(r)
	}
}

// broadcastQualityLocked sends the room's quality list: each member's
// rating, its own node's for a member of another node.
func (m *Manager) broadcastQualityLocked(r *Room) {
	list := make([]QualityInfo, 0, len(r.members))
	for _, mem := range r.members {
		q := string(mem.quality.Quality())
		if mem.relayedQuality != "" {
			q = mem.relayedQuality
		}
		if q != "" {
			list = append(list, QualityInfo{UserID: mem.userID, Quality: q})
		}
	}
	m.broadcastLocked(r, "", Event{Type: "quality", Members: &list})
}

// SetRelayedQuality records the rating another node gave one of its members,
// a member here through that node's relay (session s), and tells the room
// when it changed.
func (m *Manager) SetRelayedQuality(room, userID string, s Session, q string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, mem, err := m.lookupLocked(room, userID, s)
	if err != nil {
		return err
	}
	if mem.relayedQuality == q {
		return nil
	}
	mem.relayedQuality = q
	m.broadcastQualityLocked(r)
	return nil
}
