// Package livekit joins the load generator's members (internal/loadgen) to a
// LiveKit server through LiveKit's Go client SDK, for the side-by-side
// benchmark (scripts/bench-livekit.sh). The members join with access tokens
// made from the server's API key and secret; the SDK's connections keep its
// default interceptors (NACK generator and responder, RTCP reports,
// transport-cc feedback), as a client of LiveKit would have them.
//
// This module (bench/) is separate from openroom's, so that the product never
// links LiveKit's SDK.
package livekit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/auth"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/internal/loadgen"
)

// h264Fmtp is the H.264 the load generator packetizes: constrained baseline, packetization mode 1.
const h264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

// Server is a LiveKit server, for loadgen.Config.Server.
type Server struct {
	URL       string // the server's signaling URL, ws://host:7880
	APIKey    string
	APISecret string
	// ConnectTimeout bounds a member's join (signaling and connections up); 0: 15 s.
	ConnectTimeout time.Duration
}

var _ loadgen.Server = (*Server)(nil)

// token is an access token that lets identity join room.
func (s *Server) token(room, identity string) (string, error) {
	return auth.NewAccessToken(s.APIKey, s.APISecret).
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: room}).
		SetIdentity(identity).
		SetValidFor(24 * time.Hour).
		ToJWT()
}

// conn is one member's room: it hands every subscribed track to the member.
type conn struct {
	m    *loadgen.Member
	room *lksdk.Room

	mu     sync.Mutex // guards closed and the readers' Add
	closed bool
	wg     sync.WaitGroup // the track readers
	once   sync.Once
}

// join connects m to room; tracks other members publish are read into m.
func (s *Server) join(ctx context.Context, room string, m *loadgen.Member) (*conn, error) {
	tok, err := s.token(room, m.UserID())
	if err != nil {
		return nil, fmt.Errorf("livekit: %s: token: %w", m.UserID(), err)
	}
	c := &conn{m: m}
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
		c.read(track)
	}
	timeout := s.ConnectTimeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	c.room = lksdk.NewRoom(cb)
	// The SDK reads the receivers' RTCP itself (its RemoteTrackPublication).
	err = c.room.JoinWithContextAndToken(ctx, s.URL, tok, lksdk.WithAutoSubscribe(true), lksdk.WithConnectTimeout(timeout))
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("livekit: %s: join %s: %w", m.UserID(), s.URL, err)
	}
	m.Joined()
	return c, nil
}

// read hands track to the member until its connection closes.
func (c *conn) read(track *webrtc.TrackRemote) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.m.Receive(track.Kind() == webrtc.RTPCodecTypeVideo, func(b []byte) (int, error) {
			n, _, err := track.Read(b)
			return n, err
		})
	}()
}

// Close leaves the room and waits for the track readers (they end when the
// SDK has closed the connections).
func (c *conn) Close() {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.room.Disconnect()
		c.wg.Wait()
	})
}

// Subscribe joins m as a member that only receives.
func (s *Server) Subscribe(ctx context.Context, room string, m *loadgen.Member) (loadgen.Conn, error) {
	return s.join(ctx, room, m)
}

// publication is a publisher's room and its local tracks.
type publication struct {
	*conn
	video, audio *lksdk.LocalTrack
	level        lksdk.SampleWriteOptions
}

// Publish joins m and publishes an H.264 video (if opts.Video) and an Opus
// audio track, one after the other. The publisher counts as connected once
// each track is bound to the publishing connection (negotiated, and that
// connection up), when its packets start to leave.
func (s *Server) Publish(ctx context.Context, room string, m *loadgen.Member, opts loadgen.PublishOptions) (loadgen.Publication, error) {
	c, err := s.join(ctx, room, m)
	if err != nil {
		return nil, err
	}
	level := uint8(30) // -30 dBov, as the openroom publisher sends
	p := &publication{conn: c, level: lksdk.SampleWriteOptions{AudioLevel: &level}}
	var tracks []*lksdk.LocalTrack
	if opts.Video {
		keyframe := func(pkt rtcp.Packet) {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				opts.KeyframeRequest()
			}
		}
		if p.video, err = lksdk.NewLocalTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: h264Fmtp},
			lksdk.WithRTCPHandler(keyframe)); err != nil {
			c.Close()
			return nil, fmt.Errorf("livekit: video track: %w", err)
		}
		tracks = append(tracks, p.video)
	}
	if p.audio, err = lksdk.NewLocalTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}); err != nil {
		c.Close()
		return nil, fmt.Errorf("livekit: audio track: %w", err)
	}
	tracks = append(tracks, p.audio)
	var pending atomic.Int32 // tracks not bound yet
	pending.Store(int32(len(tracks)))
	for _, t := range tracks {
		var once sync.Once
		t.OnBind(func() {
			once.Do(func() {
				if pending.Add(-1) == 0 {
					opts.Connected()
				}
			})
		})
	}
	for _, t := range tracks {
		o := &lksdk.TrackPublicationOptions{Name: "audio"}
		if t == p.video {
			o = &lksdk.TrackPublicationOptions{Name: "video", VideoWidth: 640, VideoHeight: 360}
		}
		if _, err := c.room.LocalParticipant.PublishTrack(t, o); err != nil {
			c.Close()
			return nil, fmt.Errorf("livekit: %s: publish %s: %w", m.UserID(), o.Name, err)
		}
	}
	return p, nil
}

func (p *publication) WriteVideo(pkt *rtp.Packet) error {
	if p.video == nil {
		return errors.New("livekit: no video track")
	}
	return p.video.WriteRTP(pkt, nil)
}

// WriteAudio sends one Opus packet with an audio level, through the SDK,
// which knows the negotiated extension ID.
func (p *publication) WriteAudio(pkt *rtp.Packet) error { return p.audio.WriteRTP(pkt, &p.level) }

// AudioLevelID is 0: WriteAudio sets the level.
func (p *publication) AudioLevelID() uint8 { return 0 }
