package loadgen

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/openroom/openroom/sfu/twcc"
)

// Server is how the members join the server under test. The default
// (Config.Server nil) is openroom's public signaling at Config.URL
// (docs/protocol.md); the side-by-side benchmark (bench/) plugs in another
// SFU's client, so that both servers get the same load and the same accounting.
type Server interface {
	// Subscribe joins m to room as a member that only receives. It hands every
	// track it receives to m.Receive, calls m.Joined when the server has
	// accepted the join, and returns then.
	Subscribe(ctx context.Context, room string, m *Member) (Conn, error)
	// Publish joins m to room and publishes an Opus audio track and, if
	// opts.Video, an H.264 video track; it returns once the publication is
	// under way (the media flows after opts.Connected). The publisher also
	// receives what the other publishers send, through m.Receive.
	Publish(ctx context.Context, room string, m *Member, opts PublishOptions) (Publication, error)
}

// Conn is a member's presence on the server.
type Conn interface {
	// Close leaves the room, closes the member's connections and waits for the
	// goroutines that read them (the readers end when their connection closes).
	Close()
}

// PublishOptions are what a publisher wants, and the events it needs to hear of.
type PublishOptions struct {
	Video bool // H.264 video as well as the Opus audio
	// Connected is called once the publishing connection is up (every track
	// can be sent); it may be called more than once.
	Connected func()
	// KeyframeRequest is called for every PLI or FIR that reaches the video.
	KeyframeRequest func()
}

// Publication is a publisher's presence on the server: the writers of its
// synthetic media. The payload type and SSRC of a written packet are the
// connection's: the writer sets them.
type Publication interface {
	Conn
	WriteVideo(*rtp.Packet) error
	WriteAudio(*rtp.Packet) error
	// AudioLevelID is the negotiated ID of the audio level header extension,
	// for the writer of the audio to set (0: the extension is not negotiated,
	// or WriteAudio sets it itself). Asked once the publisher is connected.
	AudioLevelID() uint8
}

// Member is the load generator's side of one room member, whatever server it
// joins: when it joined and what it received. The Server feeds it (Joined,
// Receive); the run reads it. Received media is read and discarded; packets
// are counted, and their stamps (stamp.go) give the one-way delay and the loss.
type Member struct {
	userID string
	log    *slog.Logger
	delays *delayHist // shared by every member of the run
	// arrivals, when not nil, has when received packets reached the member's
	// socket (shared by the run's members); else a packet arrives when read.
	arrivals *twcc.ArrivalTable
	conn     Conn // a subscriber's, set by the run once it has joined

	gotMedia     chan struct{} // closed at the first received media packet
	mediaOnce    sync.Once
	videoPackets atomic.Int64
	audioPackets atomic.Int64
	// paddingPackets are padding-only packets (bandwidth probes), counted apart.
	paddingPackets atomic.Int64

	dialAt     time.Time    // when the join began
	joinedAt   atomic.Int64 // unix ns of the join's acceptance (0: not yet)
	firstMedia atomic.Int64 // unix ns of the first media packet (0: none yet)

	rxMu sync.Mutex  // guards rx
	rx   []*rxStream // one per received track
}

func newMember(userID string, log *slog.Logger, delays *delayHist, arrivals *twcc.ArrivalTable) *Member {
	return &Member{userID: userID, log: log.With("member", userID), delays: delays, arrivals: arrivals,
		gotMedia: make(chan struct{}), dialAt: time.Now()}
}

// UserID is the member's identity in the room.
func (m *Member) UserID() string { return m.userID }

// Log is the member's logger.
func (m *Member) Log() *slog.Logger { return m.log }

// Joined records that the server accepted the join (the first call counts).
func (m *Member) Joined() {
	m.joinedAt.CompareAndSwap(0, time.Now().UnixNano())
}

// Receive reads one received track with read (one RTP packet per call, as
// pion's TrackRemote.Read) until read fails, counting its packets: video
// says whether the track is H.264 (else Opus). The caller reads the track's
// RTCP, if its client needs that.
func (m *Member) Receive(video bool, read func([]byte) (int, error)) {
	counter := &m.audioPackets
	if video {
		counter = &m.videoPackets
	}
	rx := &rxStream{}
	m.rxMu.Lock()
	m.rx = append(m.rx, rx)
	m.rxMu.Unlock()
	buf := make([]byte, 1500)
	for {
		n, err := read(buf)
		if err != nil {
			return
		}
		if paddingOnly(buf[:n]) {
			m.paddingPackets.Add(1)
			continue
		}
		now := time.Now().UnixNano()
		if m.arrivals != nil {
			if at, ok := m.arrivals.LookupPacket(buf[:n]); ok {
				now = at
			}
		}
		if payload, ok := rtpPayload(buf[:n]); ok {
			if sent, num, ok := readStamp(payload, video); ok {
				if m.delays != nil {
					m.delays.add(now - sent)
				}
				rx.note(num)
			}
		}
		m.mediaOnce.Do(func() {
			m.firstMedia.Store(now)
			close(m.gotMedia)
		})
		counter.Add(1)
	}
}

// rxTotals sums what the member received of every stream: distinct stamped
// packets, and how many were sent from each stream's first to its newest.
func (m *Member) rxTotals() (received, expected int64) {
	m.rxMu.Lock()
	defer m.rxMu.Unlock()
	for _, s := range m.rx {
		received += s.received.Load()
		expected += s.expected.Load()
	}
	return received, expected
}

// joinTimes returns how long the join took (dial to joined) and how long from
// joined to the first media packet; 0 when it has not happened.
func (m *Member) joinTimes() (join, firstPacket time.Duration) {
	j, f := m.joinedAt.Load(), m.firstMedia.Load()
	if j != 0 {
		join = time.Duration(j - m.dialAt.UnixNano())
		if f != 0 {
			firstPacket = max(time.Duration(f-j), 0)
		}
	}
	return join, firstPacket
}
