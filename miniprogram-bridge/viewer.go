package bridge

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/internal/h264"
	"github.com/openroom/openroom/room"
)

// viewer is one FLV or RTMP player of a source.
type viewer struct {
	audioOnly bool // set at attach: the publisher sends no video
	hasAudio  bool // set at attach: the publisher sends audio
	ch        chan unit
	done      chan struct{}
	once      sync.Once
}

func newViewer() *viewer { return &viewer{ch: make(chan unit, viewerQueue), done: make(chan struct{})} }

// send queues u; a full queue ends the viewer (it cannot keep up).
func (v *viewer) send(u unit) bool {
	select {
	case v.ch <- u:
		return true
	default:
		v.end()
		return false
	}
}

func (v *viewer) end() { v.once.Do(func() { close(v.done) }) }

// Close lets Server.Close end the viewer.
func (v *viewer) Close() error {
	v.end()
	return nil
}

// clock turns source milliseconds into stream milliseconds starting at 0.
type clock struct {
	set  bool
	base uint32
}

func (c *clock) ms(src uint32) uint32 {
	if !c.set {
		c.set, c.base = true, src
	}
	if src < c.base {
		return 0
	}
	return src - c.base
}

// open checks access and finds the publisher's source: shared by FLV and RTMP play.
func (s *Server) open(ref streamRef) (*source, int, error) {
	priv, err := s.privileges(ref, "")
	if err != nil {
		return nil, http.StatusForbidden, err
	}
	if ref.Screen && priv&auth.PrivReceiveAux == 0 {
		return nil, http.StatusForbidden, fmt.Errorf("%w: missing privilege: receive aux video (a shared screen; privileges %d)", ErrForbidden, priv)
	}
	if !ref.Screen && priv&(auth.PrivReceiveVideo|auth.PrivReceiveAudio) == 0 {
		return nil, http.StatusForbidden, fmt.Errorf("%w: missing privilege: receive video (privileges %d)", ErrForbidden, priv)
	}
	if _, err := s.opts.Rooms.Tracks(ref.Room, ref.User); err != nil {
		return nil, http.StatusNotFound, fmt.Errorf("%w: %s is not in room %s", ErrNotFound, ref.User, ref.Room)
	}
	src, err := s.getSource(ref)
	if err != nil {
		if errors.Is(err, room.ErrNoRoom) {
			return nil, http.StatusNotFound, err
		}
		return nil, http.StatusInternalServerError, err
	}
	if err := src.status(); err != nil {
		if errors.Is(err, ErrUnsupported) {
			return nil, http.StatusUnsupportedMediaType, err
		}
		return nil, http.StatusNotFound, err
	}
	return src, http.StatusOK, nil
}

// ServeHTTP serves GET /live/{room}/{userID}.flv?sig=... (the member's camera and
// microphone) and /live/{room}/{userID}.screen.flv (its shared screen) as chunked HTTP-FLV.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ref, err := parseStreamPath(r.URL.Path, r.URL.RawQuery, ".flv")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	log := s.log.With("room", ref.Room, "publisher", ref.User, "remote", r.RemoteAddr)
	src, status, err := s.open(ref)
	if err != nil {
		log.Info("flv: refused", "status", status, "reason", err)
		http.Error(w, err.Error(), status)
		return
	}
	v := newViewer()
	if !s.track(v) {
		http.Error(w, "server closing", http.StatusServiceUnavailable)
		return
	}
	defer s.untrack(v)
	gop, _, ok := src.attach(v)
	if !ok {
		http.Error(w, "stream ended", http.StatusNotFound)
		return
	}
	defer src.detachViewer(v)
	h := w.Header()
	h.Set("Content-Type", "video/x-flv")
	h.Set("Cache-Control", "no-cache, no-store")
	if origin := r.Header.Get("Origin"); origin != "" && (s.opts.OriginAllowed == nil || s.opts.OriginAllowed(r)) {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Vary", "Origin")
	} else if origin == "" {
		h.Set("Access-Control-Allow-Origin", "*")
	}
	// A player that stops reading blocks our writes: each batch gets the write
	// timeout, and a viewer ended meanwhile (its queue overflowed, the stream
	// ended) unblocks the write at once.
	rc := http.NewResponseController(w)
	unblock, unblocked := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(unblocked)
		select {
		case <-v.done:
			_ = rc.SetWriteDeadline(time.Now())
		case <-unblock:
		}
	}()
	defer func() { close(unblock); <-unblocked }()
	timeout := s.opts.ViewerWriteTimeout
	_ = rc.SetWriteDeadline(time.Now().Add(timeout))
	w.WriteHeader(http.StatusOK)
	log.Info("flv: viewer started", "cached_units", len(gop))
	fw := &flvOut{w: newFLVWriter(w), aacCfg: src.aacConfig(), started: v.audioOnly}
	err = fw.w.header(!v.audioOnly, v.hasAudio)
	for _, u := range gop {
		if err != nil {
			break
		}
		err = fw.write(u)
	}
	for err == nil {
		if err = rc.Flush(); err != nil {
			break
		}
		select {
		case <-r.Context().Done():
			return
		case <-v.done:
			return
		case u := <-v.ch:
			_ = rc.SetWriteDeadline(time.Now().Add(timeout))
			err = fw.write(u)
			for n := len(v.ch); n > 0 && err == nil; n-- { // write what is queued before flushing
				err = fw.write(<-v.ch)
			}
		}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		select {
		case <-v.done: // ended by us, not by the timeout
		default:
			s.viewerTimeouts.Add(1)
			log.Info("flv: viewer cut: it took no data for the write timeout", "timeout", timeout)
		}
	}
}

// flvOut writes units as FLV tags: sequence headers first and whenever the AVC
// configuration changes; nothing before the first keyframe.
type flvOut struct {
	w       *flvWriter
	clk     clock
	aacCfg  []byte
	avcCfg  []byte
	started bool
	aacSent bool
}

func (f *flvOut) write(u unit) error {
	if u.video {
		if !f.started && (!u.keyframe || u.avcCfg == nil) {
			return nil
		}
		ms := f.clk.ms(u.ms)
		if string(u.avcCfg) != string(f.avcCfg) && u.avcCfg != nil {
			if err := f.w.avcSequenceHeader(ms, u.avcCfg); err != nil {
				return err
			}
			f.avcCfg = u.avcCfg
		}
		f.started = true
		return f.w.avc(ms, u.keyframe, h264.AVCC(u.nalus))
	}
	if !f.started {
		return nil // start audio with the first picture, so players begin in sync
	}
	ms := f.clk.ms(u.ms)
	if !f.aacSent {
		if err := f.w.aacSequenceHeader(ms, f.aacCfg); err != nil {
			return err
		}
		f.aacSent = true
	}
	return f.w.aac(ms, u.aac)
}

// playRTMP serves an RTMP player of rtmp://HOST/live/{room}/{userID}?sig=...
func (s *Server) playRTMP(conn net.Conn, sc *gortmplib.ServerConn, ref streamRef, log interface{ Info(string, ...any) }, authorized func()) error {
	src, _, err := s.open(ref)
	if err != nil {
		_ = sc.RejectAction()
		return fmt.Errorf("play refused: %w", err)
	}
	authorized()
	v := newViewer()
	gop, cfg, ok := src.attach(v)
	if !ok {
		_ = sc.RejectAction()
		return fmt.Errorf("%w: stream ended", ErrNotFound)
	}
	defer src.detachViewer(v)
	// RTMP announces the parameter sets up front: wait for a keyframe to bring them.
	deadline := time.NewTimer(configWait)
	defer deadline.Stop()
	var pending []unit
	for cfg == nil {
		select {
		case u := <-v.ch:
			if u.video && u.keyframe && u.avcCfg != nil {
				cfg, gop, pending = u.avcCfg, nil, []unit{u}
			}
		case <-deadline.C:
			_ = sc.RejectAction()
			return fmt.Errorf("%w: no H.264 keyframe from %s within %v", ErrNotFound, ref.User, configWait)
		case <-v.done:
			return fmt.Errorf("%w: stream ended", ErrNotFound)
		}
	}
	sps, pps, err := parametersFromConfig(cfg)
	if err != nil {
		return err
	}
	var asc mpeg4audio.AudioSpecificConfig
	if err := asc.Unmarshal(src.aacConfig()); err != nil {
		return fmt.Errorf("audio config: %w", err)
	}
	vt := &gortmplib.Track{Codec: &codecs.H264{SPS: sps, PPS: pps}}
	at := &gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: &asc}}
	tracks := []*gortmplib.Track{vt}
	if v.hasAudio { // announce only what exists, or players wait for audio that never comes
		tracks = append(tracks, at)
	}
	_ = conn.SetDeadline(time.Now().Add(rtmpTimeout))
	w := &gortmplib.Writer{Conn: sc, Tracks: tracks}
	if err := w.Initialize(); err != nil {
		return fmt.Errorf("rtmp play: %w", err)
	}
	_ = conn.SetDeadline(time.Time{})
	log.Info("rtmp: viewer started", "cached_units", len(gop)+len(pending))
	// The player talks too (acks, pings): read and discard so it never blocks.
	readErr := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := conn.Read(buf); err != nil {
				readErr <- err
				return
			}
		}
	}()
	var clk clock
	started := false
	write := func(u unit) error {
		if u.video {
			if !started && !u.keyframe {
				return nil
			}
			started = true
			d := time.Duration(clk.ms(u.ms)) * time.Millisecond
			_ = conn.SetWriteDeadline(time.Now().Add(s.opts.ViewerWriteTimeout))
			return w.WriteH264(vt, d, d, u.nalus)
		}
		if !started || !v.hasAudio {
			return nil
		}
		d := time.Duration(clk.ms(u.ms)) * time.Millisecond
		_ = conn.SetWriteDeadline(time.Now().Add(s.opts.ViewerWriteTimeout))
		return w.WriteMPEG4Audio(at, d, u.aac)
	}
	for _, u := range append(gop, pending...) {
		if err := write(u); err != nil {
			return err
		}
	}
	for {
		select {
		case err := <-readErr:
			_ = err
			return nil // the player left
		case <-v.done:
			_ = conn.Close()
			<-readErr
			return nil
		case u := <-v.ch:
			if err := write(u); err != nil {
				_ = conn.Close()
				<-readErr
				if errors.Is(err, os.ErrDeadlineExceeded) {
					s.viewerTimeouts.Add(1)
					return fmt.Errorf("player cut: it took no data for %v", s.opts.ViewerWriteTimeout)
				}
				return err
			}
		}
	}
}

// parametersFromConfig reads SPS and PPS back from an AVCDecoderConfigurationRecord.
func parametersFromConfig(cfg []byte) (sps, pps []byte, err error) {
	bad := fmt.Errorf("%w: bad AVC configuration record", h264.ErrMalformed)
	if len(cfg) < 8 {
		return nil, nil, bad
	}
	n := int(cfg[6])<<8 | int(cfg[7])
	if len(cfg) < 8+n+3 {
		return nil, nil, bad
	}
	sps = cfg[8 : 8+n]
	rest := cfg[8+n+1:]
	m := int(rest[0])<<8 | int(rest[1])
	if len(rest) < 2+m {
		return nil, nil, bad
	}
	return sps, rest[2 : 2+m], nil
}
