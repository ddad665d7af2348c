package room

import "github.com/openroom/openroom/sfu"

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
