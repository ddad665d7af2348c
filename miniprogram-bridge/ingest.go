package bridge

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/pion/rtp"
	pioncodecs "github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/internal/h264"
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
	// Until its publish or play is authorized the client may send only a small
	// budget (see rtmpGuard): anonymous connections cannot make us buffer.
	guard := newRTMPGuard(conn)
	sc := &gortmplib.ServerConn{RW: guardedConn{Reader: guard, Writer: conn}}
	preAuth := func(stage string, err error) {
		if errors.Is(err, ErrRTMPBudget) {
			s.preAuthRefusals.Add(1)
			log.Warn("rtmp: refused before publish or play", "stage", stage, "reason", err)
			return
		}
		log.Info("rtmp: "+stage+" failed", "err", err)
	}
	if err := sc.Initialize(); err != nil {
		preAuth("handshake", err)
		return
	}
	if err := sc.AcceptConn(); err != nil {
		preAuth("connect", err)
		return
	}
	ref, err := parseStreamPath(sc.URL.Path, sc.URL.RawQuery, "")
	if err != nil {
		log.Warn("rtmp: refused", "url", sc.URL.Path, "reason", err)
		_ = sc.RejectAction()
		return
	}
	log = log.With("room", ref.Room, "user", ref.User)
	if sc.Publish && ref.Screen {
		log.Warn("rtmp: refused", "url", sc.URL.Path, "reason", "a pusher publishes to /live/{room}/{user}; .screen streams are for playing")
		_ = sc.RejectAction()
		return
	}
	if addr := s.roomNode(ref.Room); addr != "" {
		err = s.relayRTMP(conn, sc, addr, log, guard.authorized)
	} else if sc.Publish {
		err = s.ingest(conn, sc, ref, log, guard.authorized)
	} else {
		err = s.playRTMP(conn, sc, ref, log, guard.authorized)
	}
	if err != nil {
		log.Warn("rtmp: stream ended", "publish", sc.Publish, "reason", err)
	} else {
		log.Info("rtmp: stream ended", "publish", sc.Publish)
	}
}

// pusher is an RTMP publisher's session in the room: the room can only end it.
// Its connection changes when it reconnects within the grace period.
type pusher struct {
	mu   sync.Mutex // guards conn
	conn net.Conn
}

func (p *pusher) Notify(room.Event) {}

func (p *pusher) Kick(string) {
	p.mu.Lock()
	c := p.conn
	p.mu.Unlock()
	_ = c.Close()
}

func (p *pusher) setConn(c net.Conn) {
	p.mu.Lock()
	p.conn = c
	p.mu.Unlock()
}

// ingest makes an RTMP push a room member whose tracks every browser receives.
// It reads RTMP messages itself rather than through gortmplib's Reader, which
// buffers two seconds of media to discover tracks: a track is published as
// soon as its sequence header arrives, so browsers see the pusher at once.
func (s *Server) ingest(conn net.Conn, sc *gortmplib.ServerConn, ref streamRef, log *slog.Logger, authorized func()) error {
	priv, err := s.privileges(ref, ref.User)
	if err == nil && priv&(auth.PrivSendVideo|auth.PrivSendAudio) == 0 {
		err = fmt.Errorf("%w: no send audio or send video privilege (privileges %d)", ErrForbidden, priv)
	}
	if err != nil {
		_ = sc.RejectAction()
		return fmt.Errorf("publish refused: %w", err)
	}
	authorized()
	// A push that reconnects within the grace period continues the member and
	// tracks of the one that ended. Otherwise a mini-program that joined over
	// signaling publishes under its member, and a bare pusher (ffmpeg, OBS)
	// becomes a member of its own.
	var sess room.Session
	var p *pusher
	var in *ingestStream
	if pp := s.unpark(ref); pp != nil {
		in, p, sess = pp.in, pp.p, pp.in.sess
		if p != nil {
			p.setConn(conn)
		}
		in.log, in.priv = log, priv
		in.rebase(time.Since(pp.at))
		log.Info("rtmp: the pusher is back: its member and tracks continue", "after", time.Since(pp.at).Round(time.Millisecond))
	} else if _, err := s.opts.Rooms.Kind(ref.Room, ref.User); err != nil {
		p = &pusher{conn: conn}
		if _, err := s.opts.Rooms.Enter(room.EnterRequest{Room: ref.Room, UserID: ref.User, Kind: room.KindRTMP,
			Privileges: priv, Session: p, Create: s.opts.OpenLogin || priv&auth.PrivCreate != 0}); err != nil {
			_ = sc.RejectAction()
			return fmt.Errorf("enter room: %w", err)
		}
		sess = p
	}
	if in == nil {
		in = &ingestStream{s: s, ref: ref, sess: sess, log: log, priv: priv, warned: map[string]bool{}}
	}
	// However it ends, the member and tracks wait out the grace period.
	defer s.park(ref, in, p)
	if err := sc.AcceptAction(); err != nil {
		return fmt.Errorf("accept publish: %w", err)
	}
	log.Info("rtmp: publishing")
	s.pushers.Add(1)
	defer s.pushers.Add(-1)
	lastTouch := time.Now()
	for {
		if time.Since(lastTouch) > time.Second {
			// A pusher is alive while it streams: keep its membership from timing out.
			_ = s.opts.Rooms.Touch(ref.Room, ref.User, nil)
			lastTouch = time.Now()
		}
		_ = conn.SetReadDeadline(time.Now().Add(rtmpTimeout))
		msg, err := sc.Read()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil // the pusher stopped
			}
			return fmt.Errorf("reading stream: %w", err)
		}
		if err := in.handle(msg); err != nil {
			return err
		}
	}
}

// ingestStream turns one pusher's RTMP messages into RTP on its tracks.
type ingestStream struct {
	s      *Server
	ref    streamRef
	sess   room.Session
	log    *slog.Logger
	priv   uint32
	warned map[string]bool

	video  *sfu.Track
	params h264.ParameterSets
	pay    pioncodecs.H264Payloader
	vpkt   rtp.Packet

	audio   *sfu.Track
	tc      AACToOpus
	asc     []byte // the AudioSpecificConfig tc was made for
	apkt    rtp.Packet
	started bool

	// After a reconnect the new stream's times start again: both tracks
	// continue from where they stopped, advanced by the time in between.
	gap              time.Duration
	vRebase, aRebase bool
	vOffset          uint32 // added to the stream's video times (90 kHz)
}

// rebase makes the next frames continue the tracks gap after their last.
func (in *ingestStream) rebase(gap time.Duration) {
	in.gap = gap
	in.vRebase, in.aRebase = in.video != nil, in.started
}

func (in *ingestStream) warnOnce(key, msg string, args ...any) {
	if !in.warned[key] {
		in.warned[key] = true
		in.log.Warn(msg, args...)
	}
}

func (in *ingestStream) close() {
	if in.video != nil {
		in.s.opts.Rooms.Unpublish(in.ref.Room, in.ref.User, in.sess, in.video)
	}
	if in.audio != nil {
		in.s.opts.Rooms.Unpublish(in.ref.Room, in.ref.User, in.sess, in.audio)
	}
	if in.tc != nil {
		in.tc.Close()
	}
}

func (in *ingestStream) handle(msg message.Message) error {
	switch m := msg.(type) {
	case *message.Video:
		if m.Codec != message.CodecH264 {
			in.warnOnce("vcodec", "rtmp: ignoring video: the bridge takes H.264", "codec", m.Codec)
			return nil
		}
		if in.priv&auth.PrivSendVideo == 0 {
			in.warnOnce("vpriv", "rtmp: dropping video: no send video privilege")
			return nil
		}
		return in.handleVideo(m)
	case *message.Audio:
		if m.Codec != message.CodecMPEG4Audio {
			in.warnOnce("acodec", "rtmp: ignoring audio: the bridge takes AAC", "codec", m.Codec)
			return nil
		}
		if in.priv&auth.PrivSendAudio == 0 {
			in.warnOnce("apriv", "rtmp: dropping audio: no send audio privilege")
			return nil
		}
		return in.handleAudio(m)
	}
	return nil // metadata, control and enhanced-RTMP messages carry nothing we need
}

func (in *ingestStream) publish(kind webrtc.RTPCodecType, c webrtc.RTPCodecCapability) (*sfu.Track, error) {
	name := "audio"
	if kind == webrtc.RTPCodecTypeVideo {
		name = "video"
	}
	// RTMP cannot be asked for a keyframe: a browser that needs one is sent
	// the GOP since the last from the track's cache.
	t := sfu.NewTrack(sfu.TrackOptions{ID: in.s.newTrackID(in.ref.User, name), Owner: in.ref.User, Kind: kind, Codec: c,
		ReplayGOP: kind == webrtc.RTPCodecTypeVideo, Spreader: in.s.opts.Spreader})
	if err := in.s.opts.Rooms.Publish(in.ref.Room, in.ref.User, in.sess, t); err != nil {
		return nil, fmt.Errorf("publish %s: %w", name, err)
	}
	return t, nil
}

func (in *ingestStream) handleVideo(m *message.Video) error {
	if in.video == nil {
		t, err := in.publish(webrtc.RTPCodecTypeVideo, h264Capability)
		if err != nil {
			return err
		}
		in.video = t
		in.vpkt = rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: sfu.PayloadTypeH264, SSRC: rand.Uint32(),
			SequenceNumber: uint16(rand.Uint32())}}
	}
	switch m.Type {
	case message.VideoTypeConfig:
		if c := m.AVCConfig; c != nil && len(c.SequenceParameterSets) > 0 && len(c.PictureParameterSets) > 0 {
			in.params.SPS = c.SequenceParameterSets[0].NALUnit
			in.params.PPS = c.PictureParameterSets[0].NALUnit
		}
		return nil
	case message.VideoTypeAU:
	default:
		return nil
	}
	if m.PTSDelta != 0 {
		return ErrBFrames
	}
	au, err := h264.SplitAVCC(m.AU)
	if err != nil {
		in.warnOnce("avcc", "rtmp: skipping a malformed video frame", "err", err)
		return nil
	}
	if !in.params.Update(au) {
		return nil
	}
	payloads := in.pay.Payload(rtpMTU, h264.AnnexB(h264.WithParameterSets(au, in.params.SPS, in.params.PPS)))
	ts := uint32(int64(m.DTS) * 90000 / int64(time.Second))
	if in.vRebase {
		in.vOffset = in.vpkt.Timestamp + uint32(in.gap*90000/time.Second) - ts
		in.vRebase = false
	}
	in.vpkt.Timestamp = ts + in.vOffset
	for i, p := range payloads {
		in.vpkt.SequenceNumber++
		in.vpkt.Marker = i == len(payloads)-1
		in.vpkt.Payload = p
		in.video.WriteRTP(&in.vpkt)
	}
	return nil
}

func (in *ingestStream) handleAudio(m *message.Audio) error {
	if m.AACType == message.AudioAACTypeConfig {
		if m.AACConfig == nil {
			return nil
		}
		asc, err := m.AACConfig.Marshal()
		if err != nil {
			return fmt.Errorf("%w: AudioSpecificConfig: %v", ErrUnsupported, err)
		}
		if in.tc != nil && bytes.Equal(asc, in.asc) {
			return nil // a repeated sequence header (or the same after a reconnect)
		}
		if in.tc != nil { // a reconnect with other audio: a new decoder, the same track
			in.tc.Close()
			in.tc = nil
		}
		if in.tc, err = in.s.opts.Transcoders.NewAACToOpus(asc); err != nil {
			return fmt.Errorf("audio transcoder: %w", err)
		}
		in.asc = asc
		in.log.Info("rtmp: audio", "rate", m.AACConfig.SampleRate, "channels", m.AACConfig.ChannelCount)
		if in.audio != nil {
			return nil
		}
		if in.audio, err = in.publish(webrtc.RTPCodecTypeAudio, opusCapability); err != nil {
			return err
		}
		in.apkt = rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: sfu.PayloadTypeOpus, SSRC: rand.Uint32(),
			SequenceNumber: uint16(rand.Uint32())}}
		return nil
	}
	if in.tc == nil {
		in.warnOnce("noasc", "rtmp: dropping AAC frames sent before the AAC sequence header")
		return nil
	}
	if !in.started { // Opus timestamps count samples from the first AAC frame's time
		in.apkt.Timestamp = uint32(int64(m.DTS)*48000/int64(time.Second)) - opusFrame
		in.started = true
	}
	if in.aRebase {
		in.apkt.Timestamp += uint32(in.gap * 48000 / time.Second)
		in.aRebase = false
	}
	out, err := in.tc.Convert(m.AU)
	if err != nil {
		in.s.transcodeErrors.Add(1)
		return fmt.Errorf("audio transcoder: %w", err)
	}
	for _, p := range out {
		in.apkt.SequenceNumber++
		in.apkt.Timestamp += opusFrame
		in.apkt.Payload = p
		in.audio.WriteRTP(&in.apkt)
	}
	return nil
}

func (s *Server) newTrackID(user, kind string) string {
	return fmt.Sprintf("%s-%s-rtmp%d", user, kind, s.ids.Add(1))
}

// guardedConn reads through the RTMP guard and writes to the connection.
type guardedConn struct {
	io.Reader
	io.Writer
}
