package admin

import (
	"math"
	"sync"
	"time"

	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

// minWindow is the shortest interval a bitrate is measured over. A listing
// sooner than that after the last sample (a second admin tab, a quick reload)
// reports the previous rate: track counters are flushed in batches, so a short
// window would show bursts and gaps instead of a rate.
const minWindow = 500 * time.Millisecond

// rates turns the byte counters of successive listings into kbit/s per track.
type rates struct {
	now  func() time.Time
	mu   sync.Mutex
	last map[trackKey]*sample // the last sample of every track of the last listing
}

// trackKey names a track across rooms (track IDs are unique only within a room).
type trackKey struct{ room, owner, track string }

type sample struct {
	at                time.Time
	bytesIn, bytesOut uint64
	kbpsIn, kbpsOut   float64 // measured over the window that ended at `at`
}

func newRates(now func() time.Time) *rates {
	return &rates{now: now, last: map[trackKey]*sample{}}
}

// The listing as the API answers it.
type listingView struct {
	Now   int64      `json:"now"` // server clock, Unix ms (joined and lastSeen are on it)
	Rooms []roomView `json:"rooms"`
	Stats statsView  `json:"stats"` // this node's
	// Cluster mode only (cluster.go): this node's ID, the live nodes, and why
	// the other nodes' rooms are missing when Redis could not be read.
	Node         string     `json:"node,omitempty"`
	Nodes        []nodeView `json:"nodes,omitempty"`
	ClusterError string     `json:"clusterError,omitempty"`
}

type roomView struct {
	Name    string       `json:"room"`
	Info    string       `json:"roomInfo"`
	Created int64        `json:"created"`
	Members []memberView `json:"members"`
	// Recording is whether the room records now; absent (nil) when recording
	// is off, which tells the page to show no recording controls.
	Recording *bool `json:"recording,omitempty"`
	// Node is the node the room lives on; cluster mode only.
	Node string `json:"node,omitempty"`
}

type memberView struct {
	UserID     string      `json:"userID"`
	NickName   string      `json:"nickName"`
	Kind       string      `json:"kind"` // webrtc | rtmp | http | whip
	AudioMuted bool        `json:"audioMuted"`
	VideoMuted bool        `json:"videoMuted"`
	State      string      `json:"state"`
	Joined     int64       `json:"joined"`
	LastSeen   int64       `json:"lastSeen"`
	Tracks     []trackView `json:"tracks"`
}

type trackView struct {
	TrackID string `json:"trackID"`
	Kind    string `json:"kind"`
	Source  string `json:"source"` // camera, microphone, screen or screen_audio
	Codec   string `json:"codec"`
	mediaView
	KbpsIn  float64 `json:"kbpsIn"`  // from the publisher
	KbpsOut float64 `json:"kbpsOut"` // to all subscribers together
}

type mediaView struct {
	PacketsIn        uint64 `json:"packetsIn"`
	BytesIn          uint64 `json:"bytesIn"`
	PacketsOut       uint64 `json:"packetsOut"`
	BytesOut         uint64 `json:"bytesOut"`
	NACKs            uint64 `json:"nacks"`
	KeyframeRequests uint64 `json:"keyframeRequests"`
}

type statsView struct {
	Rooms         int            `json:"rooms"`
	Members       int            `json:"members"`
	MembersByKind map[string]int `json:"membersByKind"`
	Tracks        int            `json:"tracks"`
	Media         mediaView      `json:"media"`   // every track ever published, live and ended
	KbpsIn        float64        `json:"kbpsIn"`  // live tracks together
	KbpsOut       float64        `json:"kbpsOut"` // live tracks together
}

func media(s sfu.TrackStats) mediaView {
	return mediaView{s.PacketsIn, s.BytesIn, s.PacketsOut, s.BytesOut, s.NACKs, s.KeyframeRequests}
}

// listing builds the API answer from the rooms' details and stats, measuring
// each track's bitrate against its previous sample. A track seen for the first
// time reports 0. Tracks gone from the listing lose their samples.
func (rt *rates) listing(details []room.RoomDetail, st room.Stats) listingView {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	now := rt.now()
	out := listingView{Now: now.UnixMilli(), Rooms: make([]roomView, 0, len(details)), Stats: statsView{
		Rooms: st.Rooms, MembersByKind: st.MembersByKind, Tracks: st.Tracks, Media: media(st.Media),
	}}
	for _, n := range st.MembersByKind {
		out.Stats.Members += n
	}
	seen := make(map[trackKey]bool)
	for _, rd := range details {
		rv := roomView{Name: rd.Name, Info: rd.Info, Created: rd.Created, Members: make([]memberView, 0, len(rd.Members))}
		for _, md := range rd.Members {
			mv := memberView{UserID: md.UserID, NickName: md.NickName, Kind: md.Kind, AudioMuted: md.AudioMuted,
				VideoMuted: md.VideoMuted, State: md.State, Joined: md.Joined, LastSeen: md.LastSeen,
				Tracks: make([]trackView, 0, len(md.Stats))}
			for _, ts := range md.Stats {
				key := trackKey{rd.Name, md.UserID, ts.TrackID}
				seen[key] = true
				in, outKbps := rt.measure(key, now, ts.BytesIn, ts.BytesOut)
				mv.Tracks = append(mv.Tracks, trackView{TrackID: ts.TrackID, Kind: ts.Kind, Source: ts.Source, Codec: ts.Codec,
					mediaView: media(ts.TrackStats), KbpsIn: in, KbpsOut: outKbps})
				out.Stats.KbpsIn += in
				out.Stats.KbpsOut += outKbps
			}
			rv.Members = append(rv.Members, mv)
		}
		out.Rooms = append(out.Rooms, rv)
	}
	for key := range rt.last {
		if !seen[key] {
			delete(rt.last, key)
		}
	}
	out.Stats.KbpsIn = round1(out.Stats.KbpsIn)
	out.Stats.KbpsOut = round1(out.Stats.KbpsOut)
	return out
}

// measure returns a track's kbit/s in and out since its last sample, and
// records the new sample. Called with rt.mu held.
func (rt *rates) measure(key trackKey, now time.Time, bytesIn, bytesOut uint64) (float64, float64) {
	prev, ok := rt.last[key]
	if !ok || bytesIn < prev.bytesIn || bytesOut < prev.bytesOut || now.Before(prev.at) {
		// New track (or a new track under a reused ID, or a clock step back): start over.
		rt.last[key] = &sample{at: now, bytesIn: bytesIn, bytesOut: bytesOut}
		return 0, 0
	}
	dt := now.Sub(prev.at)
	if dt < minWindow {
		return prev.kbpsIn, prev.kbpsOut
	}
	s := &sample{at: now, bytesIn: bytesIn, bytesOut: bytesOut,
		kbpsIn: kbps(bytesIn-prev.bytesIn, dt), kbpsOut: kbps(bytesOut-prev.bytesOut, dt)}
	rt.last[key] = s
	return s.kbpsIn, s.kbpsOut
}

func kbps(bytes uint64, dt time.Duration) float64 {
	return round1(float64(bytes) * 8 / 1000 / dt.Seconds())
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
