package loadgen

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
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
	*member
	log       *slog.Logger
	profile   VideoProfile
	audioSize int

	video, audio             *webrtc.TrackLocalStaticRTP
	videoSender, audioSender *webrtc.RTPSender
	connected                chan struct{} // closed when the publisher connection is up
	joinStart                time.Time
	connectedAfter           atomic.Int64 // ns from joinStart to connected

	keyframeWanted   atomic.Bool
	videoSent        atomic.Int64 // packets
	audioSent        atomic.Int64
	keyframes        atomic.Int64
	keyframeRequests atomic.Int64 // PLI and FIR received

	stop context.CancelFunc // ends the pumps; set by start
	wg   sync.WaitGroup     // the media pumps and RTCP readers
}

// startPublisher joins as userID, publishes both tracks and returns once the
// offer is sent; media flows after start.
func startPublisher(ctx context.Context, hc *http.Client, api *webrtc.API, baseURL, room, userID string,
	profile VideoProfile, audioSize int, delays *delayHist, log *slog.Logger) (*publisher, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("loadgen: publisher connection: %w", err)
	}
	p := &publisher{log: log.With("member", userID), profile: profile, audioSize: audioSize, connected: make(chan struct{}),
		joinStart: time.Now()}
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.log.Debug("publisher connection", "state", s.String())
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() {
				p.connectedAfter.Store(int64(time.Since(p.joinStart)))
				close(p.connected)
			})
		}
	})
	if profile.Bitrate > 0 {
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

	if p.member, err = joinRoom(ctx, hc, api, baseURL, room, userID, pc, delays, log); err != nil {
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
		p.member.close()
		return nil, fmt.Errorf("loadgen: publish: %w", err)
	}
	if p.videoSender != nil {
		p.wg.Add(1)
		go p.readRTCP(p.videoSender, true)
	}
	p.wg.Add(1)
	go p.readRTCP(p.audioSender, false)
	return p, nil
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
// read: NACKs are answered on the way) and notes keyframe requests.
func (p *publisher) readRTCP(s *webrtc.RTPSender, video bool) {
	defer p.wg.Done()
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		if !video {
			continue
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.keyframeRequests.Add(1)
				p.keyframeWanted.Store(true)
			}
		}
	}
}

// start sends media until ctx ends. Call it once the connection is up, so the
// negotiated header extension IDs are known.
func (p *publisher) start(ctx context.Context, rng *rand.Rand) {
	ctx, p.stop = context.WithCancel(ctx)
	if p.video != nil {
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
		for i, pl := range payloads {
			pkt.Marker = i == len(payloads)-1
			pkt.Payload = pl
			putStamp(pl[stampAt(pl, true):], time.Now().UnixNano(), stamp)
			stamp++
			if err := p.video.WriteRTP(pkt); err != nil {
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
	var levelID uint8
	for _, e := range p.audioSender.GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			levelID = uint8(e.ID)
		}
	}
	if levelID != 0 {
		level, _ := rtp.AudioLevelExtension{Level: 30, Voice: true}.Marshal()
		if err := pkt.Header.SetExtension(levelID, level); err != nil {
			p.log.Warn("audio level extension", "err", err)
		}
	}
	tick := time.NewTicker(audioInterval)
	defer tick.Stop()
	for stamp := uint32(0); ; stamp++ {
		putStamp(pkt.Payload[1:], time.Now().UnixNano(), stamp)
		if err := p.audio.WriteRTP(pkt); err != nil {
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

// close stops the media, leaves the room and waits for the publisher's goroutines.
func (p *publisher) close() {
	if p.stop != nil {
		p.stop()
	}
	p.member.close()
	p.wg.Wait()
}
