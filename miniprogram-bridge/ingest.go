package bridge

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/pion/rtp"
	pioncodecs "github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

const (
	rtmpTimeout = 10 * time.Second
	rtpMTU      = 1200
	opusFrame   = 960 // samples per 20 ms at 48 kHz
)

// Codecs the bridge publishes into rooms.
var (
	h264Capability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: sfu.H264Fmtp}
	opusCapability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}
)

// ServeRTMP accepts RTMP connections from ln until ln is closed.
func (s *Server) ServeRTMP(ln net.Listener) error {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if !s.track(conn) {
			_ = conn.Close()
			continue
		}
		go func() {
			defer s.untrack(conn)
			defer conn.Close()
			s.handleRTMP(conn)
		}()
	}
}

func (s *Server) handleRTMP(conn net.Conn) {
	log := s.log.With("remote", conn.RemoteAddr().String())
	defer func() {
		if r := recover(); r != nil { // a hostile stream must cost one connection, not the server
			log.Error("rtmp: panic", "panic", r)
		}
	}()
	_ = conn.SetDeadline(time.Now().Add(rtmpTimeout))
	sc := &gortmplib.ServerConn{RW: conn}
	if err := sc.Initialize(); err != nil {
		log.Info("rtmp: handshake failed", "err", err)
		return
	}
	if err := sc.AcceptConn(); err != nil {
		log.Info("rtmp: connect failed", "err", err)
		return
	}
	ref, err := parseStreamPath(sc.URL.Path, sc.URL.RawQuery, "")
	if err != nil {
		log.Warn("rtmp: refused", "url", sc.URL.Path, "reason", err)
		_ = sc.RejectAction()
		return
	}
	log = log.With("room", ref.Room, "user", ref.User)
	if sc.Publish {
		err = s.ingest(conn, sc, ref, log)
	} else {
		err = s.playRTMP(conn, sc, ref, log)
	}
	if err != nil {
		log.Warn("rtmp: stream ended", "publish", sc.Publish, "reason", err)
	} else {
		log.Info("rtmp: stream ended", "publish", sc.Publish)
	}
}

// pusher is an RTMP publisher's session in the room: the room can only end it.
type pusher struct{ conn net.Conn }

func (p *pusher) Notify(room.Event) {}
func (p *pusher) Kick(string)       { _ = p.conn.Close() }

// ingest makes an RTMP push a room member whose tracks every browser receives.
func (s *Server) ingest(conn net.Conn, sc *gortmplib.ServerConn, ref streamRef, log *slog.Logger) error {
	priv, err := s.privileges(ref, ref.User)
	if err == nil && priv&(auth.PrivSendVideo|auth.PrivSendAudio) == 0 {
		err = fmt.Errorf("%w: no send audio or send video privilege (privileges %d)", ErrForbidden, priv)
	}
	if err != nil {
		_ = sc.RejectAction()
		return fmt.Errorf("publish refused: %w", err)
	}
	r := &gortmplib.Reader{Conn: sc}
	if err := r.Initialize(); err != nil {
		return fmt.Errorf("reading stream header: %w", err)
	}
	var video, audio *gortmplib.Track
	for _, t := range r.Tracks() {
		switch t.Codec.(type) {
		case *codecs.H264:
			if video == nil {
				video = t
			}
		case *codecs.MPEG4Audio:
			if audio == nil {
				audio = t
			}
		default:
			log.Warn("rtmp: ignoring track: the bridge takes H.264 video and AAC audio", "codec", fmt.Sprintf("%T", t.Codec))
		}
	}
	if video != nil && priv&auth.PrivSendVideo == 0 {
		log.Warn("rtmp: dropping video: no send video privilege")
		video = nil
	}
	if audio != nil && priv&auth.PrivSendAudio == 0 {
		log.Warn("rtmp: dropping audio: no send audio privilege")
		audio = nil
	}
	if video == nil && audio == nil {
		return fmt.Errorf("%w: no H.264 video or AAC audio to publish", ErrUnsupported)
	}

	// A mini-program that joined over signaling publishes under its member; a
	// bare pusher (ffmpeg, OBS) becomes a member of its own.
	var sess room.Session
	if _, err := s.opts.Rooms.Kind(ref.Room, ref.User); err != nil {
		p := &pusher{conn: conn}
		if _, err := s.opts.Rooms.Enter(room.EnterRequest{Room: ref.Room, UserID: ref.User, Kind: room.KindRTMP,
			Privileges: priv, Session: p, Create: s.opts.OpenLogin || priv&auth.PrivCreate != 0}); err != nil {
			return fmt.Errorf("enter room: %w", err)
		}
		sess = p
		defer func() { _ = s.opts.Rooms.Leave(ref.Room, ref.User, p, room.ReasonLeft) }()
	}
	log.Info("rtmp: publishing", "video", video != nil, "audio", audio != nil)
	fail := make(chan error, 1)
	stop := func(err error) {
		select {
		case fail <- err:
		default:
		}
		_ = conn.Close()
	}
	if video != nil {
		t, err := s.publishVideo(r, video, ref, sess, stop)
		if err != nil {
			return err
		}
		defer s.opts.Rooms.Unpublish(ref.Room, ref.User, sess, t)
	}
	if audio != nil {
		t, closeAudio, err := s.publishAudio(r, audio, ref, sess, stop, log)
		if err != nil {
			return err
		}
		defer closeAudio()
		defer s.opts.Rooms.Unpublish(ref.Room, ref.User, sess, t)
	}
	for {
		_ = conn.SetReadDeadline(time.Now().Add(rtmpTimeout))
		if err := r.Read(); err != nil {
			select {
			case ferr := <-fail:
				return ferr
			default:
			}
			return nil // the pusher stopped or went away
		}
	}
}

func (s *Server) newTrackID(user, kind string) string {
	return fmt.Sprintf("%s-%s-rtmp%d", user, kind, s.ids.Add(1))
}

func (s *Server) publishVideo(r *gortmplib.Reader, t *gortmplib.Track, ref streamRef, sess room.Session, stop func(error)) (*sfu.Track, error) {
	h := t.Codec.(*codecs.H264)
	sps, pps := h.SPS, h.PPS
	track := sfu.NewTrack(sfu.TrackOptions{ID: s.newTrackID(ref.User, "video"), Owner: ref.User,
		Kind: webrtc.RTPCodecTypeVideo, Codec: h264Capability})
	var pay pioncodecs.H264Payloader
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: sfu.PayloadTypeH264, SSRC: rand.Uint32(),
		SequenceNumber: uint16(rand.Uint32())}}
	r.OnDataH264(t, func(pts, dts time.Duration, au [][]byte) {
		if pts != dts {
			stop(ErrBFrames)
			return
		}
		slices := false
		for _, n := range au {
			switch naluType(n) {
			case naluSPS:
				sps = n
			case naluPPS:
				pps = n
			case naluIDR, naluNonIDR:
				slices = true
			}
		}
		if !slices {
			return // a sequence header: parameter sets only
		}
		payloads := pay.Payload(rtpMTU, annexB(withParameterSets(au, sps, pps)))
		pkt.Timestamp = uint32(int64(dts) * 90000 / int64(time.Second))
		for i, p := range payloads {
			pkt.SequenceNumber++
			pkt.Marker = i == len(payloads)-1
			pkt.Payload = p
			track.WriteRTP(&pkt)
		}
	})
	if err := s.opts.Rooms.Publish(ref.Room, ref.User, sess, track); err != nil {
		return nil, fmt.Errorf("publish video: %w", err)
	}
	return track, nil
}

func (s *Server) publishAudio(r *gortmplib.Reader, t *gortmplib.Track, ref streamRef, sess room.Session, stop func(error), log *slog.Logger) (*sfu.Track, func(), error) {
	cfg := t.Codec.(*codecs.MPEG4Audio).Config
	if cfg == nil {
		return nil, nil, fmt.Errorf("%w: AAC track without AudioSpecificConfig", ErrUnsupported)
	}
	asc, err := cfg.Marshal()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: AudioSpecificConfig: %v", ErrUnsupported, err)
	}
	tc, err := s.opts.Transcoders.NewAACToOpus(asc)
	if err != nil {
		return nil, nil, fmt.Errorf("audio transcoder: %w", err)
	}
	log.Info("rtmp: audio", "rate", cfg.SampleRate, "channels", cfg.ChannelCount)
	track := sfu.NewTrack(sfu.TrackOptions{ID: s.newTrackID(ref.User, "audio"), Owner: ref.User,
		Kind: webrtc.RTPCodecTypeAudio, Codec: opusCapability})
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: sfu.PayloadTypeOpus, SSRC: rand.Uint32(),
		SequenceNumber: uint16(rand.Uint32())}}
	started := false
	r.OnDataMPEG4Audio(t, func(pts time.Duration, au []byte) {
		if !started { // Opus timestamps count samples from the first AAC frame's time
			pkt.Timestamp = uint32(int64(pts)*48000/int64(time.Second)) - opusFrame
			started = true
		}
		out, err := tc.Convert(au)
		if err != nil {
			stop(fmt.Errorf("audio transcoder: %w", err))
			return
		}
		for _, p := range out {
			pkt.SequenceNumber++
			pkt.Timestamp += opusFrame
			pkt.Payload = p
			track.WriteRTP(&pkt)
		}
	})
	if err := s.opts.Rooms.Publish(ref.Room, ref.User, sess, track); err != nil {
		tc.Close()
		return nil, nil, fmt.Errorf("publish audio: %w", err)
	}
	return track, tc.Close, nil
}
