package bridge

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/internal/h264"
	"github.com/openroom/openroom/internal/reorder"
	"github.com/openroom/openroom/internal/simulcast"
	"github.com/openroom/openroom/sfu"
)

const (
	// reorderWait is how long the video of a source waits for a missing
	// packet (see reorder.Buffer): FLV and RTMP players buffer a second or
	// more, so the wait costs them nothing they show.
	reorderWait   = 200 * time.Millisecond
	sourceQueue   = 2048             // RTP packets waiting for the source goroutine
	viewerQueue   = 1024             // media units waiting for one viewer's writer
	gopLimit      = 600              // units kept since the last keyframe (about 10 s)
	keyframeEvery = 3 * time.Second  // while viewers watch, keep GOPs (and the cache) short
	sourceLinger  = 10 * time.Second // keep a source this long after its last viewer
	configWait    = 5 * time.Second  // how long a new RTMP viewer waits for SPS/PPS
)

// unit is one media frame ready for FLV/RTMP: an H.264 access unit or an AAC frame.
type unit struct {
	video    bool
	keyframe bool
	ms       uint32   // milliseconds on the source's clock
	nalus    [][]byte // video
	aac      []byte   // audio
	avcCfg   []byte   // video keyframes: the AVC sequence header in force
}

// rtpItem is one packet copied off the publisher's goroutine.
type rtpItem struct {
	video   bool
	seq     uint16
	ts      uint32
	marker  bool
	payload []byte
	at      time.Time
}

// source turns one publisher's tracks into FLV/RTMP units once, keeps the last
// GOP for new viewers (as SRS's gop_cache does) and fans units out to viewers.
// It joins the room's router as an sfu.Member like any other.
type source struct {
	s            *Server
	id           string
	room, owner  string
	screen       bool // the owner's shared screen (and its sound), not its camera and microphone
	log          *slog.Logger
	in           chan rtpItem
	done         chan struct{}
	closeOnce    sync.Once
	detach       func()
	audioEncoder OpusToAAC // owned by the run goroutine

	mu         sync.Mutex // guards everything below
	viewers    map[*viewer]struct{}
	gop        []unit
	params     h264.ParameterSets
	avcCfg     []byte
	video      *sfu.Track
	audio      *sfu.Track
	sinks      map[*sfu.Track]*sink
	nonH264    string // mime of a video track the bridge cannot pass through
	lastViewer time.Time
	ended      bool
}

// sink copies packets of one track into the source's queue; it runs on the
// publisher's goroutines (one per simulcast layer) and never blocks. It takes
// the track's highest active simulcast layer: FLV and RTMP carry one stream,
// and the viewer should get the best one.
type sink struct {
	src    *source
	video  bool
	layers *simulcast.Follower
}

func newSink(src *source, t *sfu.Track) *sink {
	return &sink{src: src, video: t.Kind() == webrtc.RTPCodecTypeVideo, layers: simulcast.New(t, simulcast.Options{
		OnSwitch: func(from, to int) {
			src.log.Info("bridge: following another simulcast layer", "track", t.ID(), "from", from, "to", to)
		},
	})}
}

// WriteRTP implements sfu.Sink.
func (k *sink) WriteRTP(p *sfu.ExtPacket) error {
	seq, ts, ok := k.layers.Take(p)
	if !ok {
		return nil
	}
	it := rtpItem{video: k.video, seq: seq, ts: ts, marker: p.Marker,
		payload: append([]byte(nil), p.Payload...), at: time.Now()}
	select {
	case k.src.in <- it:
	default: // the source is behind: the loss shows as a sequence gap and costs a keyframe
	}
	return nil
}

// requestKeyframe asks for a keyframe of the layer the sink takes.
func (k *sink) requestKeyframe() { k.layers.RequestKeyframe() }

// ID implements sfu.Member.
func (src *source) ID() string { return src.id }

// AddTrack implements sfu.Member: take the owner's H.264 video and Opus audio,
// of its camera or of its screen.
func (src *source) AddTrack(t *sfu.Track) {
	if t.Owner() != src.owner || t.Source().IsScreen() != src.screen {
		return
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	k := newSink(src, t)
	switch {
	case k.video && strings.EqualFold(t.Codec().MimeType, webrtc.MimeTypeH264):
		src.video = t
	case k.video:
		src.nonH264 = t.Codec().MimeType
		return
	case strings.EqualFold(t.Codec().MimeType, webrtc.MimeTypeOpus):
		src.audio = t
	default:
		return
	}
	src.sinks[t] = k
	t.AddSink(k)
	if k.video {
		k.requestKeyframe()
	}
}

// RemoveTrack implements sfu.Member.
func (src *source) RemoveTrack(t *sfu.Track) {
	src.mu.Lock()
	defer src.mu.Unlock()
	if k, ok := src.sinks[t]; ok {
		t.RemoveSink(k)
		delete(src.sinks, t)
	}
	wasVideo := src.video == t
	if wasVideo {
		src.video = nil
	}
	if src.audio == t {
		src.audio = nil
	}
	if wasVideo || (src.video == nil && src.audio == nil) {
		src.endLocked() // FLV has no end-of-stream: viewers see the connection close
	}
}

// getSource returns the running source for a stream, starting one if needed.
func (s *Server) getSource(ref streamRef) (*source, error) {
	key, room, owner := ref.key(), ref.Room, ref.User
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("%w: server closing", ErrNotFound)
	}
	if src, ok := s.sources[key]; ok && !src.isEnded() {
		return src, nil
	}
	enc, err := s.opts.Transcoders.NewOpusToAAC()
	if err != nil {
		return nil, fmt.Errorf("audio transcoder: %w", err)
	}
	src := &source{
		s: s, id: fmt.Sprintf("bridge#%d", s.ids.Add(1)), room: room, owner: owner, screen: ref.Screen,
		log: s.log.With("room", room, "publisher", owner, "screen", ref.Screen),
		in:  make(chan rtpItem, sourceQueue), done: make(chan struct{}), audioEncoder: enc,
		viewers: map[*viewer]struct{}{}, sinks: map[*sfu.Track]*sink{}, lastViewer: time.Now(),
	}
	detach, err := s.opts.Rooms.Watch(room, src)
	if err != nil {
		enc.Close()
		return nil, err
	}
	src.detach = detach
	s.sources[key] = src
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		src.run()
		s.mu.Lock()
		if s.sources[key] == src {
			delete(s.sources, key)
		}
		s.mu.Unlock()
	}()
	return src, nil
}

func (src *source) isEnded() bool {
	src.mu.Lock()
	defer src.mu.Unlock()
	return src.ended
}

func (src *source) endLocked() {
	if src.ended {
		return
	}
	src.ended = true
	for v := range src.viewers {
		v.end()
	}
	src.viewers = map[*viewer]struct{}{}
	src.closeOnce.Do(func() { close(src.done) })
}

func (src *source) close() {
	src.mu.Lock()
	defer src.mu.Unlock()
	src.endLocked()
}

// status says whether there is something to watch.
func (src *source) status() error {
	src.mu.Lock()
	defer src.mu.Unlock()
	switch {
	case src.video == nil && src.nonH264 != "":
		return fmt.Errorf("%w: %s publishes %s video; FLV and RTMP carry H.264 only (publish H.264, e.g. use the openroom SDK, which prefers it)", ErrUnsupported, src.owner, src.nonH264)
	case src.video == nil && src.audio == nil && src.screen:
		return fmt.Errorf("%w: %s shares no screen in room %s", ErrNotFound, src.owner, src.room)
	case src.video == nil && src.audio == nil:
		return fmt.Errorf("%w: %s has no audio or video in room %s", ErrNotFound, src.owner, src.room)
	}
	return nil
}

// attach registers v and hands it the cached GOP, atomically, so it misses nothing and sees nothing twice.
func (src *source) attach(v *viewer) ([]unit, []byte, bool) {
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.ended {
		return nil, nil, false
	}
	v.audioOnly = src.video == nil
	v.hasAudio = src.audio != nil
	src.viewers[v] = struct{}{}
	src.s.viewers.Add(1)
	if len(src.gop) == 0 && src.video != nil {
		src.sinks[src.video].requestKeyframe() // nothing cached: start this viewer at the next keyframe
	}
	return append([]unit(nil), src.gop...), src.avcCfg, true
}

func (src *source) detachViewer(v *viewer) {
	src.s.viewers.Add(-1)
	src.mu.Lock()
	defer src.mu.Unlock()
	delete(src.viewers, v)
	if len(src.viewers) == 0 {
		src.lastViewer = time.Now()
	}
}

func (src *source) aacConfig() []byte { return src.audioEncoder.Config() }

// run owns the depacketizer, the transcoder and the clock of this source.
func (src *source) run() {
	defer func() {
		src.detach()
		src.mu.Lock()
		for t, k := range src.sinks {
			t.RemoveSink(k)
		}
		src.endLocked()
		src.mu.Unlock()
		src.audioEncoder.Close()
	}()
	dep := h264.NewDepacketizer()
	start := time.Now()
	var clocks [2]struct {
		set   bool
		ts0   uint32
		msAt0 uint32
	}
	aacMS := func() uint32 { return 0 }
	var aacSamples uint64
	video := reorder.New(reorderWait, func(it rtpItem) {
		c := &clocks[1]
		au := dep.Push(it.seq, it.ts, it.marker, it.payload)
		if dep.TakeKeyframeRequest() {
			src.requestKeyframe()
		}
		if au != nil {
			src.emitVideo(au, c.msAt0+(it.ts-c.ts0)/90)
		}
	})
	gapTimer := time.NewTimer(time.Hour)
	gapTimer.Stop()
	defer gapTimer.Stop()
	waitForGap := func() { // (re)arms the timer for the gap held open, if any
		if at, ok := video.Deadline(); ok {
			gapTimer.Reset(time.Until(at))
		}
	}
	tick := time.NewTicker(keyframeEvery)
	defer tick.Stop()
	for {
		select {
		case <-src.done:
			return
		case <-tick.C:
			if src.idle() {
				return
			}
			continue
		case now := <-gapTimer.C:
			video.Expire(now)
			waitForGap()
			continue
		case it := <-src.in:
			i := 0
			if it.video {
				i = 1
			}
			c := &clocks[i]
			if !c.set {
				c.set, c.ts0, c.msAt0 = true, it.ts, uint32(it.at.Sub(start).Milliseconds())
				if !it.video {
					base := c.msAt0
					aacMS = func() uint32 { return base + uint32(aacSamples*1000/48000) }
				}
			}
			if it.video {
				video.Push(it.seq, it, it.at)
				waitForGap()
				continue
			}
			if len(it.payload) == 0 {
				continue // padding only
			}
			frames, err := src.audioEncoder.Convert(it.payload)
			if err != nil {
				src.s.transcodeErrors.Add(1)
				src.log.Warn("bridge: audio transcoder failed: ending this stream", "err", err)
				return
			}
			for _, f := range frames {
				src.emit(unit{ms: aacMS(), aac: f})
				aacSamples += 1024
			}
		}
	}
}

func (src *source) requestKeyframe() {
	src.mu.Lock()
	k := src.sinks[src.video]
	src.mu.Unlock()
	if k != nil {
		k.requestKeyframe()
	}
}

// idle reports whether the source has had no viewer for sourceLinger; while it
// has viewers it asks for a keyframe every few seconds to keep the cache short.
func (src *source) idle() bool {
	src.mu.Lock()
	defer src.mu.Unlock()
	if len(src.viewers) == 0 {
		return time.Since(src.lastViewer) > sourceLinger
	}
	if k := src.sinks[src.video]; k != nil {
		k.requestKeyframe()
	}
	return false
}

func (src *source) emitVideo(au [][]byte, ms uint32) {
	key := h264.IsKeyframe(au)
	src.mu.Lock()
	src.params.Update(au)
	if key && src.params.SPS != nil && src.params.PPS != nil {
		if cfg, err := h264.DecoderConfig(src.params.SPS, src.params.PPS); err == nil {
			src.avcCfg = cfg
		}
	}
	cfg := src.avcCfg
	src.mu.Unlock()
	src.emit(unit{video: true, keyframe: key, ms: ms, nalus: au, avcCfg: cfg})
}

// emit caches u in the GOP and hands it to every viewer.
func (src *source) emit(u unit) {
	src.mu.Lock()
	defer src.mu.Unlock()
	switch {
	case u.keyframe:
		src.gop = append(src.gop[:0:0], u)
	case len(src.gop) > 0 && len(src.gop) < gopLimit:
		src.gop = append(src.gop, u)
	default:
		src.gop = nil // no keyframe yet, or the GOP is too long to replay
	}
	for v := range src.viewers {
		if !v.send(u) {
			delete(src.viewers, v) // too slow: it is closed, not allowed to hold the others back
		}
	}
}
