package recording

import (
	"errors"
	"fmt"
	"log/slog"
	"syscall"
	"time"

	mch264 "github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/openroom/openroom/internal/h264"
	"github.com/openroom/openroom/internal/reorder"
	"github.com/openroom/openroom/room"
)

// writer is the recorder's goroutine: it owns the tracks' depacketizers and
// timelines, the sessions and their files. Nothing here is shared.
type writer struct {
	r        *Recorder
	cfg      *Config
	log      *slog.Logger
	tracks   map[*trackSink]*trackState
	sessions map[sessionKey]*session
	clocks   map[string]*memberClock // by owner: their capture clock (sync.go)
	newest   int64                   // the newest packet's arrival (unix ns)
	failed   bool
	buf      []item // the last batch, recycled
}

// sessionKey names the file a track goes to: its owner's camera and
// microphone, or its owner's screen and its sound.
type sessionKey struct {
	owner  string
	screen bool
}

// session is what one owner publishes of one kind (camera or screen), and
// the file it is being recorded to.
type session struct {
	key     sessionKey
	tracks  []*trackState            // the recorded tracks published now
	skipped map[*trackSink]TrackInfo // tracks published now that cannot be recorded
	file    *mediaFile               // nil when no recorded track is published
}

// trackState follows one recorded track: its timeline, and for video its
// reorder buffer, depacketizer and parameter sets.
type trackState struct {
	sink     *trackSink
	sess     *session
	info     TrackInfo
	video    bool
	clock    int64 // RTP clock rate: also the file's timescale for the track
	channels int   // audio

	// The timeline. rel is a timestamp unwrapped and counted from the first
	// packet's (plus relAdj); anchor is the wall-clock time (unix ns) of rel
	// 0. Placed by arrival, it is the earliest any packet's arrival puts it
	// at (the least delayed packet best shows when the media was captured),
	// refined until the first fragment of the track's first file, then
	// frozen: files place the track with it. Placed by capture time (see
	// sync.go), it is capture0 plus the member's offset.
	started    bool
	lastTS     uint32
	lastRel    int64
	anchor     int64
	haveAnchor bool
	frozen     bool

	// Capture time, from the publisher's sender reports (sync.go).
	mc           *memberClock
	firstAt      int64 // arrival of the first packet (unix ns)
	stamped      bool  // packets came with the socket's time: from the network, with sender reports
	haveCapture  bool
	capture0     int64 // the capture time of rel 0 (unix ns on the publisher's clock)
	captureLayer uint8 // the layer whose report set capture0 or the latest relAdj
	relAdj       int64 // ticks added to the followed stream's timestamps across layer switches
	minDelay     int64 // the least arrival − capture of the track's packets (ns)
	haveDelay    bool
	byCapture    bool // anchor is placed by capture time (fixed)

	reorder *reorder.Buffer[videoPacket]
	dep     *h264.Depacketizer
	params  h264.ParameterSets
	badSPS  bool // a warning about an SPS that cannot be parsed was logged
}

// videoPacket is a video packet waiting in the reorder buffer.
type videoPacket struct {
	seq     uint16
	ts      uint32
	rel     int64
	marker  bool
	payload []byte
}

func newWriter(r *Recorder) *writer {
	return &writer{r: r, cfg: &r.cfg, log: r.log, tracks: map[*trackSink]*trackState{}, sessions: map[sessionKey]*session{},
		clocks: map[string]*memberClock{}}
}

// run takes the queued items until the recorder closes or fails, then
// finishes every file.
func (w *writer) run() {
	tick := time.NewTicker(tickInterval)
	defer tick.Stop()
	for {
		select {
		case <-w.r.q.wake:
		case <-tick.C:
		}
		items, closed := w.r.q.take(w.buf)
		for i := range items {
			if w.failed {
				break
			}
			w.handle(&items[i])
		}
		w.buf = items
		if cap(w.buf) > 4096 {
			w.buf = nil // after a burst: do not keep its memory
		}
		if !w.failed {
			w.onTime(w.cfg.Now())
		}
		if closed || w.failed {
			break
		}
	}
	w.stop()
}

// stop finishes every file, detaches from the tracks and reports a failure.
func (w *writer) stop() {
	w.r.q.close()
	for _, s := range w.sessions {
		for _, ts := range s.tracks {
			if ts.reorder != nil && !w.failed {
				ts.reorder.Flush()
			}
		}
		if s.file != nil {
			w.finish(s.file)
			s.file = nil
		}
	}
	w.r.detachAll()
	close(w.r.finished)
	if err := w.r.Err(); err != nil && w.cfg.OnError != nil {
		w.r.inCallback.Store(true)
		w.cfg.OnError(err)
		w.r.inCallback.Store(false)
	}
}

func (w *writer) handle(it *item) {
	switch it.op {
	case opAdd:
		w.add(it.sink, time.Unix(0, it.arrival))
	case opRemove:
		w.remove(it.sink)
	case opPacket:
		if ts := w.tracks[it.sink]; ts != nil {
			w.packet(ts, it)
		}
	}
}

// onTime does what is due at now: gaps given up, files started, fragments
// of stalled tracks written.
func (w *writer) onTime(now time.Time) {
	for _, ts := range w.tracks {
		if ts.reorder != nil {
			ts.reorder.Expire(now)
		}
	}
	for _, s := range w.sessions {
		if f := s.file; f != nil && !w.failed {
			if f.out == nil {
				w.maybeOpen(f, now)
			} else if f.pendingBytes > 0 && (now.Sub(f.lastFlush) >= 2*w.cfg.FragmentDuration || f.fragmentDue(w.cfg.FragmentDuration)) {
				w.flushDue(f)
			}
		}
	}
}

func trackInfo(s *trackSink) TrackInfo {
	t := s.track
	return TrackInfo{ID: t.ID(), Kind: t.Kind().String(), Codec: t.Codec().MimeType, Source: string(t.Source())}
}

// add starts recording s's track, offered at at.
func (w *writer) add(s *trackSink, at time.Time) {
	info := trackInfo(s)
	owner := s.track.Owner()
	if !room.ValidName(owner) { // it names the file
		w.log.Warn("recording: not recording a track of an owner whose ID cannot name a file", "owner", owner, "track", info.ID)
		return
	}
	key := sessionKey{owner: owner, screen: s.track.Source().IsScreen()}
	sess := w.sessions[key]
	if sess == nil {
		sess = &session{key: key, skipped: map[*trackSink]TrackInfo{}}
		w.sessions[key] = sess
	}
	if !s.supported {
		info.Note = "not recorded: the recorder writes H.264 video and Opus audio only"
		w.log.Warn("recording: cannot record this codec; the track is left out", "owner", owner, "track", info.ID, "codec", info.Codec)
		sess.skipped[s] = info
		if sess.file != nil {
			sess.file.skip(info)
		}
		return
	}
	ts := &trackState{sink: s, sess: sess, info: info, video: s.video, clock: int64(s.track.Codec().ClockRate), mc: w.clockOf(owner)}
	if ts.clock <= 0 {
		ts.clock = 90000
		if !ts.video {
			ts.clock = 48000
		}
	}
	if !ts.video {
		ts.channels = int(s.track.Codec().Channels)
		if ts.channels <= 0 {
			ts.channels = 2 // WebRTC's Opus is opus/48000/2 (its packets may be mono)
		}
	}
	if ts.video {
		ts.dep = h264.NewDepacketizer()
		ts.reorder = reorder.New(reorderWait, func(p videoPacket) { w.videoPacket(ts, p) })
	}
	w.tracks[s] = ts
	sess.tracks = append(sess.tracks, ts)
	switch f := sess.file; {
	case f == nil:
		sess.file = w.newFile(sess, at)
	case f.out == nil: // its tracks are not fixed yet
		f.addTrack(ts)
	default: // an init segment lists every track: this one needs a new file
		w.log.Info("recording: a new track starts a new file", "owner", owner, "track", info.ID)
		w.restart(sess, at)
	}
}

func (w *writer) remove(s *trackSink) {
	ts := w.tracks[s]
	if ts == nil {
		for key, sess := range w.sessions {
			if _, ok := sess.skipped[s]; ok {
				delete(sess.skipped, s)
				w.dropIfEmpty(key, sess)
			}
		}
		return
	}
	delete(w.tracks, s)
	if ts.reorder != nil {
		ts.reorder.Flush()
	}
	sess := ts.sess
	for i, x := range sess.tracks {
		if x == ts {
			sess.tracks = append(sess.tracks[:i], sess.tracks[i+1:]...)
			break
		}
	}
	if f := sess.file; f != nil {
		if len(sess.tracks) == 0 {
			w.finish(f)
			sess.file = nil
		} else {
			f.endTrack(ts)
		}
	}
	w.dropIfEmpty(sess.key, sess)
}

func (w *writer) dropIfEmpty(key sessionKey, sess *session) {
	if len(sess.tracks) == 0 && len(sess.skipped) == 0 && sess.file == nil {
		delete(w.sessions, key)
		if w.sessions[sessionKey{owner: key.owner, screen: !key.screen}] == nil {
			delete(w.clocks, key.owner)
		}
	}
}

// restart finishes the session's file and starts a new one with every
// track the session has now; video starts again at a keyframe.
func (w *writer) restart(sess *session, at time.Time) {
	if sess.file != nil {
		w.finish(sess.file)
	}
	if w.failed {
		sess.file = nil
		return
	}
	sess.file = w.newFile(sess, at)
	for _, ts := range sess.tracks {
		if ts.video {
			ts.sink.layers.RequestKeyframe()
		}
	}
}

func (w *writer) packet(ts *trackState, it *item) {
	w.newest = max(w.newest, it.arrival)
	rel := ts.noteCapture(it, ts.unwrap(it.ts)+ts.relAdj)
	ts.noteArrival(rel, it.arrival)
	if ts.video {
		ts.reorder.Push(it.seq, videoPacket{seq: it.seq, ts: it.ts, rel: rel, marker: it.marker, payload: it.payload},
			time.Unix(0, it.arrival))
		return
	}
	if len(it.payload) == 0 {
		return // padding
	}
	w.sample(ts, rel, it.payload, true)
}

// videoPacket takes the video packets in order.
func (w *writer) videoPacket(ts *trackState, p videoPacket) {
	au := ts.dep.Push(p.seq, p.ts, p.marker, p.payload)
	if ts.dep.TakeKeyframeRequest() {
		ts.sink.layers.RequestKeyframe()
	}
	if au == nil || !ts.params.Update(au) {
		return // no frame yet, or parameter sets alone (kept for the next keyframe)
	}
	key := h264.IsKeyframe(au)
	if key && !ts.validSPS(w.log) {
		return
	}
	// Parameter sets stay in band: a simulcast layer switch changes them,
	// and every keyframe carries the ones it needs.
	w.sample(ts, p.rel, h264.AVCC(h264.WithParameterSets(au, ts.params.SPS, ts.params.PPS)), key)
}

// validSPS reports whether the track's SPS parses (the MP4 init needs its
// size); a keyframe without one is skipped.
func (ts *trackState) validSPS(log *slog.Logger) bool {
	var sps mch264.SPS
	if ts.params.SPS == nil || ts.params.PPS == nil || sps.Unmarshal(ts.params.SPS) != nil {
		if !ts.badSPS {
			ts.badSPS = true
			log.Warn("recording: a keyframe without a usable SPS and PPS is skipped", "track", ts.info.ID)
		}
		return false
	}
	return true
}

// sample puts one frame of ts into its session's file.
func (w *writer) sample(ts *trackState, rel int64, payload []byte, key bool) {
	f := ts.sess.file
	if f == nil || w.failed {
		return
	}
	ft := f.trackOf(ts)
	if ft == nil { // left out of the file when it started: it needs a new file
		if !key {
			return
		}
		w.log.Info("recording: a late track starts a new file", "owner", ts.sess.key.owner, "track", ts.info.ID)
		w.restart(ts.sess, w.cfg.Now())
		if f = ts.sess.file; f == nil {
			return
		}
		if ft = f.trackOf(ts); ft == nil {
			return
		}
	}
	f.add(ft, rel, payload, key)
	if f.out == nil {
		w.maybeOpen(f, w.cfg.Now())
	} else if f.fragmentDue(w.cfg.FragmentDuration) {
		w.flushDue(f)
	}
}

// unwrap extends a 32-bit timestamp to a count from the first one.
func (ts *trackState) unwrap(t uint32) int64 {
	if !ts.started {
		ts.started, ts.lastTS = true, t
		return 0
	}
	d := int64(int32(t - ts.lastTS))
	rel := ts.lastRel + d
	if d > 0 {
		ts.lastTS, ts.lastRel = t, rel
	}
	return rel
}

func (ts *trackState) noteArrival(rel, arrival int64) {
	if ts.frozen || arrival == 0 {
		return
	}
	if a := arrival - ticksToNanos(rel, ts.clock); !ts.haveAnchor || a < ts.anchor {
		ts.anchor, ts.haveAnchor = a, true
	}
}

// wall is the wall-clock time (unix ns) of rel.
func (ts *trackState) wall(rel int64) int64 { return ts.anchor + ticksToNanos(rel, ts.clock) }

func ticksToNanos(t, clock int64) int64 {
	return t/clock*int64(time.Second) + t%clock*int64(time.Second)/clock
}

func nanosToTicks(ns, clock int64) int64 {
	s := int64(time.Second)
	return ns/s*clock + (ns%s*clock+s/2)/s
}

// fail stops the recorder: err says what could not be written where.
func (w *writer) fail(err error) {
	if w.failed {
		return
	}
	w.failed = true
	w.r.mu.Lock()
	w.r.err = err
	w.r.mu.Unlock()
	w.cfg.Counters.WriteErrors.Add(1)
	w.log.Error("recording: stopped", "err", err)
}

// writeError describes a failed write of path.
func writeError(what, path string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %s %s: %w", ErrDiskFull, what, path, err)
	}
	return fmt.Errorf("%w: %s %s: %w (check that the directory is writable and has free space)", ErrWrite, what, path, err)
}
