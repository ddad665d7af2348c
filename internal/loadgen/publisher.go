package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Opus as browsers send it: one packet per 20 ms at 48 kHz.
const (
	audioInterval  = 20 * time.Millisecond
	audioTimestep  = 960
	videoClockRate = 90000
)

// publisher is a member that publishes one H.264 video (unless its profile's
// bitrate is 0) and one Opus audio track of synthetic media, answering
// keyframe requests (PLI, FIR) with a keyframe at the next frame, as an
// encoder does. Every packet carries a stamp (stamp.go).
type publisher struct {
	*Member
	conn      Publication
	profile   VideoProfile
	audioSize int

	connected      chan struct{} // closed when the publisher connection is up
	joinStart      time.Time
	connectedAfter atomic.Int64 // ns from joinStart to connected

	keyframeWanted   atomic.Bool
	videoSent        atomic.Int64 // packets
	audioSent        atomic.Int64
	keyframes        atomic.Int64
	keyframeRequests atomic.Int64 // PLI and FIR received

	stop context.CancelFunc // ends the pumps; set by start
	wg   sync.WaitGroup     // the media pumps
}

// startPublisher joins m to room through srv and publishes; media flows after start.
func startPublisher(ctx context.Context, srv Server, room string, m *Member, profile VideoProfile, audioSize int) (*publisher, error) {
	p := &publisher{Member: m, profile: profile, audioSize: audioSize, connected: make(chan struct{}), joinStart: time.Now()}
	var once sync.Once
	opts := PublishOptions{
		Video: profile.Bitrate > 0,
		Connected: func() {
			once.Do(func() {
				p.connectedAfter.Store(int64(time.Since(p.joinStart)))
				close(p.connected)
			})
		},
		KeyframeRequest: func() {
			p.keyframeRequests.Add(1)
			p.keyframeWanted.Store(true)
		},
	}
	conn, err := srv.Publish(ctx, room, m, opts)
	if err != nil {
		return nil, err
	}
	p.conn = conn
	return p, nil
}

// Publish joins as m.UserID(), publishes both tracks and returns once the
// offer is sent.
func (s *signaling) Publish(ctx context.Context, room string, m *Member, opts PublishOptions) (Publication, error) {
	pc, err := s.pubAPI.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("loadgen: publisher connection: %w", err)
	}
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		m.log.Debug("publisher connection", "state", st.String())
		if st == webrtc.PeerConnectionStateConnected {
			opts.Connected()
		}
	})
	p := &sigPublication{}
	userID := m.userID
	if opts.Video {
		vc := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: videoClockRate, SDPFmtpLine: h264Fmtp}
		if p.video, p.videoSender, err = addSendTrack(pc, vc, "video", userID); err != nil {
			_ = pc.Close()
			return nil, err
		}
	}
	ac := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	if p.audio, p.audioSender, err = addSendTrack(pc, ac, "audio", userID); err != nil {
		_ = pc.Close()
		return nil, err
	}

	if p.member, err = joinRoom(ctx, s.hc, s.pubAPI, s.baseURL, room, m, pc); err != nil {
		_ = pc.Close()
		return nil, err
	}
	offer, err := pc.CreateOffer(nil)
	var local string
	if err == nil {
		local, err = describe(pc, offer)
	}
	if err == nil {
		err = p.send(map[string]any{"type": "offer", "target": "publisher", "sdp": local})
	}
	if err != nil {
		p.member.Close()
		return nil, fmt.Errorf("loadgen: publish: %w", err)
	}
	if p.videoSender != nil {
		p.wg.Add(1)
		go p.readRTCP(p.videoSender, opts.KeyframeRequest)
	}
	p.wg.Add(1)
	go p.readRTCP(p.audioSender, nil)
	return p, nil
}

// sigPublication is a publisher on openroom's signaling.
type sigPublication struct {
	*member
	video, audio             *webrtc.TrackLocalStaticRTP
	videoSender, audioSender *webrtc.RTPSender
	wg                       sync.WaitGroup // the RTCP readers
}

func (p *sigPublication) WriteVideo(pkt *rtp.Packet) error { return p.video.WriteRTP(pkt) }
func (p *sigPublication) WriteAudio(pkt *rtp.Packet) error { return p.audio.WriteRTP(pkt) }

// AudioLevelID is the audio level extension's ID, when the server negotiated it.
func (p *sigPublication) AudioLevelID() uint8 {
	for _, e := range p.audioSender.GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			return uint8(e.ID)
		}
	}
	return 0
}

// Close leaves the room and waits for the RTCP readers.
func (p *sigPublication) Close() {
	p.member.Close()
	p.wg.Wait()
}

// addSendTrack adds a send-only track of codec c to pc.
func addSendTrack(pc *webrtc.PeerConnection, c webrtc.RTPCodecCapability, id, streamID string) (*webrtc.TrackLocalStaticRTP, *webrtc.RTPSender, error) {
	tr, err := webrtc.NewTrackLocalStaticRTP(c, id, streamID)
	if err != nil {
		return nil, nil, err
	}
	t, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, nil, err
	}
	return tr, t.Sender(), nil
}

// readRTCP reads the server's RTCP for one sender (the interceptors need it
// read: NACKs are answered on the way) and reports keyframe requests to
// keyframe, when not nil.
func (p *sigPublication) readRTCP(s *webrtc.RTPSender, keyframe func()) {
	defer p.wg.Done()
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		if keyframe == nil {
			continue
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				keyframe()
			}
		}
	}
}

// start sends media until ctx ends. Call it once the connection is up, so the
// negotiated header extension IDs are known.
func (p *publisher) start(ctx context.Context, rng *rand.Rand) {
	ctx, p.stop = context.WithCancel(ctx)
	if p.profile.Bitrate > 0 {
		p.wg.Add(1)
		go p.pumpVideo(ctx, rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())))
	}
	p.wg.Add(1)
	go p.pumpAudio(ctx, rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())))
}

func (p *publisher) pumpVideo(ctx context.Context, rng *rand.Rand) {
	defer p.wg.Done()
	key, delta := p.profile.frameSizes()
	pz := newVideoPacketizer(p.profile.MaxPayload, key, rng)
	gop := p.profile.framesPerKeyframe()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: payloadTypeH264,
		SequenceNumber: uint16(rng.UintN(1 << 16)), Timestamp: rng.Uint32()}}
	tick := time.NewTicker(time.Second / time.Duration(p.profile.FPS))
	defer tick.Stop()
	var stamp uint32
	for n := 0; ; n++ {
		isKey := n%gop == 0
		if p.keyframeWanted.Swap(false) {
			isKey = true
		}
		size := delta
		if isKey {
			size = key
			p.keyframes.Add(1)
		}
		payloads := pz.frame(isKey, size)
		next := time.Now()
		for i, pl := range payloads {
			if gap := p.profile.packetGap(len(pl)); gap > 0 {
				if i > 0 {
					if wait := time.Until(next); wait > 0 {
						time.Sleep(wait)
					}
				}
				next = next.Add(gap)
			}
			pkt.Marker = i == len(payloads)-1
			pkt.Payload = pl
			putStamp(pl[stampAt(pl, true):], time.Now().UnixNano(), stamp)
			stamp++
			if err := p.conn.WriteVideo(pkt); err != nil {
				p.log.Debug("video write", "err", err)
			}
			pkt.SequenceNumber++
		}
		p.videoSent.Add(int64(len(payloads)))
		pkt.Timestamp += uint32(videoClockRate / p.profile.FPS)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (p *publisher) pumpAudio(ctx context.Context, rng *rand.Rand) {
	defer p.wg.Done()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: payloadTypeOpus,
		SequenceNumber: uint16(rng.UintN(1 << 16)), Timestamp: rng.Uint32()}, Payload: opusPayload(p.audioSize, rng)}
	// A speaking level (-30 dBov, voice), when the server negotiated the extension.
	if levelID := p.conn.AudioLevelID(); levelID != 0 {
		level, _ := rtp.AudioLevelExtension{Level: 30, Voice: true}.Marshal()
		if err := pkt.Header.SetExtension(levelID, level); err != nil {
			p.log.Warn("audio level extension", "err", err)
		}
	}
	tick := time.NewTicker(audioInterval)
	defer tick.Stop()
	for stamp := uint32(0); ; stamp++ {
		putStamp(pkt.Payload[1:], time.Now().UnixNano(), stamp)
		if err := p.conn.WriteAudio(pkt); err != nil {
			p.log.Debug("audio write", "err", err)
		}
		p.audioSent.Add(1)
		pkt.SequenceNumber++
		pkt.Timestamp += audioTimestep
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// close stops the media, waits for the pumps, then leaves the room.
func (p *publisher) close() {
	if p.stop != nil {
		p.stop()
	}
	p.wg.Wait()
	p.conn.Close()
}
