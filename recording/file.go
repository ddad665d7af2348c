package recording

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
)

// mediaFile is one fragmented MP4 file of a session. It waits (in memory)
// until its tracks are fixed and can start (video at a keyframe), then
// writes the init segment and a fragment whenever one is complete.
type mediaFile struct {
	w       *writer
	sess    *session
	created time.Time // when it began to wait for its tracks
	tracks  []*fileTrack
	skipped []TrackInfo

	// Samples completed (their duration known) but not written yet.
	pendingBytes int
	fragStart    int64 // wall time (unix ns) of the earliest of them
	latest       int64 // wall time of the newest sample

	// Once open.
	out       mediaWriter
	path      string
	size      int64 // bytes written (and kept)
	seq       uint32
	t0        int64 // wall time (unix ns) of the file's time 0 (see place)
	placed    bool  // t0 and the tracks' offsets are fixed
	durations durationFields
	meta      sidecar
	lastFlush time.Time
	broken    bool // a write failed: nothing more is written
}

// fileTrack is one track of a mediaFile.
type fileTrack struct {
	ts        *trackState
	id        int    // MP4 track ID, from 1
	timescale uint32 // the track's RTP clock
	off       int64  // the file time, in ticks, of the track's rel 0 (see place)
	needKey   bool   // video: nothing until a keyframe
	sps, pps  []byte // video: the first keyframe's, for the init segment
	ended     bool   // the track was unpublished

	// The newest sample waits for the next one, which gives its duration.
	held     fmp4.Sample
	heldRel  int64
	haveHeld bool

	pending     []*fmp4.Sample
	pendingRel0 int64  // rel of pending[0]
	lastDur     uint32 // the last duration, to guess the final sample's
	endTicks    int64  // the file time, in ticks, where the samples written end
	written     bool   // a fragment had samples of the track
}

func (w *writer) newFile(sess *session, at time.Time) *mediaFile {
	f := &mediaFile{w: w, sess: sess, created: at}
	for _, ts := range sess.tracks {
		f.addTrack(ts)
	}
	for _, info := range sess.skipped {
		f.skipped = append(f.skipped, info)
	}
	return f
}

func (f *mediaFile) addTrack(ts *trackState) {
	f.tracks = append(f.tracks, &fileTrack{ts: ts, timescale: uint32(ts.clock), needKey: ts.video})
}

func (f *mediaFile) skip(info TrackInfo) {
	f.skipped = append(f.skipped, info)
}

func (f *mediaFile) trackOf(ts *trackState) *fileTrack {
	for _, ft := range f.tracks {
		if ft.ts == ts {
			return ft
		}
	}
	return nil
}

func (ft *fileTrack) ready() bool { return ft.haveHeld || len(ft.pending) > 0 }

func (ft *fileTrack) firstRel() int64 {
	if len(ft.pending) > 0 {
		return ft.pendingRel0
	}
	return ft.heldRel
}

// add appends one frame of ft at rel.
func (f *mediaFile) add(ft *fileTrack, rel int64, payload []byte, key bool) {
	if ft.ended || f.broken {
		return
	}
	if ft.needKey {
		if !key {
			return
		}
		ft.needKey = false
		ft.sps, ft.pps = ft.ts.params.SPS, ft.ts.params.PPS
	}
	if ft.haveHeld && key && ft.ts.video && rel-ft.heldRel < max(int64(ft.lastDur)/4, 1) {
		// A keyframe right on the frame before it: a simulcast layer switch
		// (the new layer's picture of the same moment, see simulcast.Follower),
		// or before it, when sender reports put the new layer where it was
		// captured and the old layer's frames after that moment were taken
		// first (sync.go). Nothing refers to the old layer's frames from that
		// moment on: the keyframe takes their place rather than following
		// them.
		f.supersede(ft, rel, payload)
		return
	}
	if ft.haveHeld {
		d := rel - ft.heldRel
		if d <= 0 {
			if !ft.ts.video {
				return // audio that went back in time: a duplicate
			}
			d = 1
		}
		d = min(d, math.MaxUint32)
		rel = ft.heldRel + d
		f.complete(ft, uint32(d))
	}
	ft.held = fmp4.Sample{Payload: payload, IsNonSyncSample: !key}
	ft.heldRel, ft.haveHeld = rel, true
	f.latest = max(f.latest, ft.ts.wall(rel))
}

// supersede puts a keyframe at rel in place of ft's held frame and of the
// frames pending from rel on. Frames already written stay: the keyframe
// then follows them.
func (f *mediaFile) supersede(ft *fileTrack, rel int64, payload []byte) {
	same := max(int64(ft.lastDur)/2, 1) // a frame less than half a frame before the keyframe is of its moment
	from := ft.heldRel                  // where the frames dropped start
	for n := len(ft.pending); n > 0; n-- {
		last := ft.pending[n-1]
		at := from - int64(last.Duration)
		if at <= rel-same {
			break
		}
		f.pendingBytes -= len(last.Payload)
		ft.pending[n-1] = nil
		ft.pending = ft.pending[:n-1]
		from = at
	}
	if n := len(ft.pending); n > 0 && rel < from {
		// The frame before now lasts up to the keyframe.
		ft.pending[n-1].Duration = uint32(rel - (from - int64(ft.pending[n-1].Duration)))
		from = rel
	}
	ft.held = fmp4.Sample{Payload: payload}
	ft.heldRel = from
}

// complete moves ft's held sample, of duration d, to the pending ones.
func (f *mediaFile) complete(ft *fileTrack, d uint32) {
	s := ft.held
	s.Duration = d
	if len(ft.pending) == 0 {
		ft.pendingRel0 = ft.heldRel
	}
	ft.pending = append(ft.pending, &s)
	ft.lastDur = d
	ft.haveHeld = false
	ft.held = fmp4.Sample{}
	f.pendingBytes += len(s.Payload)
	if at := ft.ts.wall(ft.heldRel); f.fragStart == 0 || at < f.fragStart {
		f.fragStart = at
	}
}

// finalDuration guesses the duration of a track's last sample: an Opus
// packet says it, a video frame lasts as long as the one before.
func (ft *fileTrack) finalDuration() uint32 {
	if !ft.ts.video {
		if n := opus.PacketDuration2(ft.held.Payload); n > 0 {
			return uint32(n * int64(ft.timescale) / 48000)
		}
		return ft.timescale / 50
	}
	if ft.lastDur > 0 {
		return ft.lastDur
	}
	return ft.timescale / 30
}

// endTrack completes ft's last sample: the track was unpublished.
func (f *mediaFile) endTrack(ts *trackState) {
	ft := f.trackOf(ts)
	if ft == nil {
		return
	}
	if ft.haveHeld {
		f.complete(ft, ft.finalDuration())
	}
	ft.ended = true
	if f.out == nil && !ft.ready() { // it never started: leave it out
		for i, x := range f.tracks {
			if x == ft {
				f.tracks = append(f.tracks[:i], f.tracks[i+1:]...)
				break
			}
		}
	}
}

// fragmentDue reports whether the samples pending make a fragment.
func (f *mediaFile) fragmentDue(d time.Duration) bool {
	return f.pendingBytes >= maxFragmentBytes || (f.pendingBytes > 0 && f.latest-f.fragStart >= int64(d))
}

// maybeOpen starts the file when its tracks are fixed (an audio and a video
// track came, or initWait passed) and each can start; or, past trackWait
// or with too much waiting in memory, with those that can.
func (w *writer) maybeOpen(f *mediaFile, now time.Time) {
	some, all, video, audio := false, true, false, false
	for _, ft := range f.tracks {
		if ft.ready() {
			some = true
		} else {
			all = false
		}
		video = video || ft.ts.video
		audio = audio || !ft.ts.video
	}
	if !some {
		return
	}
	waited := now.Sub(f.created)
	settled := (video && audio) || waited >= initWait
	if !(settled && all) && waited < trackWait && f.pendingBytes < maxFragmentBytes {
		return
	}
	w.open(f)
}

// open writes the file's init segment and first sidecar. Tracks that cannot
// start yet are left out (they start a new file when they can).
func (w *writer) open(f *mediaFile) {
	kept := f.tracks[:0]
	for _, ft := range f.tracks {
		if ft.ready() {
			kept = append(kept, ft)
		} else {
			w.log.Warn("recording: a track could not start in time and is left out of this file",
				"owner", f.sess.key.owner, "track", ft.ts.info.ID)
		}
	}
	f.tracks = kept
	f.t0 = f.earliest() // for the name; place refines it
	var init fmp4.Init
	meta := sidecar{Version: 1, Room: w.r.room, UserID: f.sess.key.owner, Screen: f.sess.key.screen,
		Start: time.Unix(0, f.t0).UTC(), Skipped: f.skipped}
	for i, ft := range f.tracks {
		ft.id = i + 1
		it := &fmp4.InitTrack{ID: ft.id, TimeScale: ft.timescale}
		if ft.ts.video {
			it.Codec = &codecs.H264{SPS: ft.sps, PPS: ft.pps}
		} else {
			it.Codec = &codecs.Opus{ChannelCount: ft.ts.channels}
		}
		init.Tracks = append(init.Tracks, it)
		meta.Tracks = append(meta.Tracks, ft.ts.info)
	}
	if w.cfg.NameOf != nil {
		meta.Name = w.cfg.NameOf(f.sess.key.owner)
	}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		w.fail(fmt.Errorf("%w: making the MP4 init segment for %s: %w", ErrWrite, f.sess.key.owner, err))
		f.broken = true
		return
	}
	out, path, err := w.create(f)
	if err != nil {
		w.fail(err)
		f.broken = true
		return
	}
	f.out, f.path, f.lastFlush = out, path, w.cfg.Now()
	f.durations = findDurationFields(buf.Bytes())
	meta.File = filepath.Base(path)
	f.meta = meta
	w.cfg.Counters.FilesStarted.Add(1)
	if !f.write(buf.Bytes()) || !w.writeSidecar(f) {
		return
	}
	w.log.Info("recording: file started", "path", path, "tracks", len(f.tracks))
	if f.fragmentDue(w.cfg.FragmentDuration) {
		w.flushDue(f)
	}
}

// earliest is the wall time of the earliest sample.
func (f *mediaFile) earliest() int64 {
	t := int64(math.MaxInt64)
	for _, ft := range f.tracks {
		if ft.ready() {
			t = min(t, ft.ts.wall(ft.firstRel()))
		}
	}
	return t
}

// place fixes the file's time 0 (its earliest sample) and where each track
// starts, from the tracks' anchors, which are frozen from now on (by
// capture time or by arrival: see sync.go). It is done at the first
// fragment, not when the file starts: the anchors have seen about a
// fragment's worth of packets by then (a first keyframe that came late, in
// a burst, does not put the video late), and the sender reports have come.
func (f *mediaFile) place() {
	for _, ft := range f.tracks {
		ft.ts.fix()
	}
	f.t0 = f.earliest()
	for _, ft := range f.tracks {
		ft.off = nanosToTicks(ft.ts.anchor-f.t0, int64(ft.timescale))
		if first := ft.off + ft.firstRel(); first < 0 {
			ft.off -= first // rounding
		}
	}
	f.meta.Start = time.Unix(0, f.t0).UTC()
	f.placed = true
}

// create makes the file {owner}-{start}[.screen].mp4, with -2, -3... before
// the extension if that name is taken.
func (w *writer) create(f *mediaFile) (mediaWriter, string, error) {
	base := f.sess.key.owner + "-" + time.Unix(0, f.t0).UTC().Round(time.Second).Format("20060102T150405Z")
	ext := ".mp4"
	if f.sess.key.screen {
		ext = ".screen.mp4"
	}
	for n := 1; ; n++ {
		name := base + ext
		if n > 1 {
			name = fmt.Sprintf("%s-%d%s", base, n, ext)
		}
		path := filepath.Join(w.r.dir, name)
		out, err := w.cfg.create(path)
		if err == nil {
			return out, path, nil
		}
		if !errors.Is(err, os.ErrExist) || n >= 100 {
			return nil, "", writeError("creating", path, err)
		}
	}
}

// write appends b to the file; a failed write is cut off (so the file ends
// with its last whole fragment) and stops the recorder.
func (f *mediaFile) write(b []byte) bool {
	if f.broken {
		return false
	}
	n, err := f.out.Write(b)
	if err == nil && n < len(b) {
		err = fmt.Errorf("short write: %d of %d bytes", n, len(b))
	}
	if err != nil {
		_ = f.out.Truncate(f.size) // best effort: the file stays readable up to the last fragment anyway
		f.broken = true
		f.meta.Error = writeError("writing", f.path, err).Error()
		f.w.fail(writeError("writing", f.path, err))
		return false
	}
	f.size += int64(n)
	f.w.cfg.Counters.BytesWritten.Add(uint64(n))
	return true
}

// flushDue writes the pending samples as one fragment unless the file is
// not placed yet and a track awaits its first sender report (up to srWait;
// not past maxFragmentBytes).
func (w *writer) flushDue(f *mediaFile) {
	if !f.placed && f.pendingBytes < maxFragmentBytes {
		// The media's clock: the newest packet's arrival (the writer may run
		// behind the packets), or the time less srWait when none comes.
		now := max(w.newest, w.cfg.Now().UnixNano()-int64(srWait))
		for _, ft := range f.tracks {
			if ft.ts.awaitsReport(now) {
				return
			}
		}
	}
	w.flush(f)
}

// flush writes the pending samples as one fragment.
func (w *writer) flush(f *mediaFile) {
	if f.out == nil || f.broken || !f.anyPending() {
		return
	}
	first := !f.placed
	if first {
		f.place()
	}
	part := fmp4.Part{SequenceNumber: f.seq + 1}
	for _, ft := range f.tracks {
		if len(ft.pending) == 0 {
			continue
		}
		base := ft.off + ft.pendingRel0
		if !ft.written && base > 0 && int64(ft.pending[0].Duration)+base <= math.MaxUint32 {
			// A track that starts after time 0 shows its first frame from 0
			// (a still picture, or silence before a short sound) rather
			// than starting late: players then agree on the duration (a
			// late first sample makes ffmpeg count its start twice). The
			// frames after it keep their times.
			ft.pending[0].Duration += uint32(base)
			base = 0
		}
		part.Tracks = append(part.Tracks, &fmp4.PartTrack{ID: ft.id, BaseTime: uint64(base), Samples: ft.pending})
	}
	var buf seekablebuffer.Buffer
	if err := part.Marshal(&buf); err != nil {
		w.fail(fmt.Errorf("%w: making an MP4 fragment of %s: %w", ErrWrite, f.path, err))
		f.broken = true
		return
	}
	if !f.write(buf.Bytes()) {
		return
	}
	f.seq++
	for _, pt := range part.Tracks {
		ft := f.tracks[pt.ID-1]
		ft.written, ft.endTicks = true, int64(pt.BaseTime)
		for _, s := range pt.Samples {
			ft.endTicks += int64(s.Duration)
		}
	}
	for _, ft := range f.tracks {
		clear(ft.pending)
		ft.pending = ft.pending[:0]
	}
	f.pendingBytes, f.fragStart, f.lastFlush = 0, 0, w.cfg.Now()
	if first {
		w.writeSidecar(f) // with the start placed
	}
}

func (f *mediaFile) anyPending() bool {
	for _, ft := range f.tracks {
		if len(ft.pending) > 0 {
			return true
		}
	}
	return false
}

// finish writes what is left and the final sidecar, and closes the file. A
// file that never started is started first if it has anything to write.
func (w *writer) finish(f *mediaFile) {
	for _, ft := range f.tracks {
		if ft.haveHeld && !f.broken {
			f.complete(ft, ft.finalDuration())
		}
	}
	if f.out == nil && !f.broken && !w.failed {
		for _, ft := range f.tracks {
			if ft.ready() {
				w.open(f)
				break
			}
		}
	}
	if f.out == nil {
		return
	}
	w.flush(f)    // after a failure elsewhere too: as far as the disk lets it
	var dur int64 // ns
	for _, ft := range f.tracks {
		dur = max(dur, ticksToNanos(ft.endTicks, int64(ft.timescale)))
	}
	end := time.Unix(0, f.t0+dur).UTC()
	f.meta.End, f.meta.Duration, f.meta.Bytes, f.meta.Skipped = &end, time.Duration(dur).Seconds(), f.size, f.skipped
	if !f.broken {
		f.writeDurations(dur)
	}
	if !f.broken {
		if err := f.out.Sync(); err != nil {
			f.broken = true
			f.meta.Error = writeError("syncing", f.path, err).Error()
			w.fail(writeError("syncing", f.path, err))
		}
	}
	if err := f.out.Close(); err != nil && !f.broken {
		f.meta.Error = writeError("closing", f.path, err).Error()
		w.fail(writeError("closing", f.path, err))
	}
	if f.meta.Error == "" && (f.broken || w.failed) {
		if err := w.r.Err(); err != nil { // it ends early: the recorder stopped
			f.meta.Error = err.Error()
		}
	}
	if w.writeSidecar(f) {
		w.log.Info("recording: file finished", "path", f.path, "duration", time.Duration(dur).Round(time.Millisecond), "bytes", f.size)
	}
	f.out = nil
}

// durationFields are where the init segment keeps durations (0 while
// recording): the movie's, and each track's in its tkhd and mdhd. A
// fragmented MP4 does not need them, but Chromium takes the duration from
// them (else it counts only the first fragments), so a finished file gets
// them written in place. Offsets are of the 32-bit fields (version 0 boxes),
// 0 when absent.
type durationFields struct {
	mvhd, movieTimescale int64
	tkhd, mdhd           []int64
}

// findDurationFields walks an init segment (ftyp, moov/mvhd, moov/trak/tkhd,
// moov/trak/mdia/mdhd).
func findDurationFields(b []byte) durationFields {
	var d durationFields
	var walk func(start, end int64)
	walk = func(start, end int64) {
		for off := start; off+8 <= end; {
			size := int64(binary.BigEndian.Uint32(b[off:]))
			if size < 8 || off+size > end {
				return
			}
			version0 := off+12 <= end && b[off+8] == 0
			switch string(b[off+4 : off+8]) {
			case "moov", "trak", "mdia":
				walk(off+8, off+size)
			case "mvhd":
				if version0 && size >= 28 {
					d.mvhd, d.movieTimescale = off+24, int64(binary.BigEndian.Uint32(b[off+20:]))
				}
			case "tkhd":
				if version0 && size >= 32 {
					d.tkhd = append(d.tkhd, off+28)
				} else {
					d.tkhd = append(d.tkhd, 0)
				}
			case "mdhd":
				if version0 && size >= 28 {
					d.mdhd = append(d.mdhd, off+24)
				} else {
					d.mdhd = append(d.mdhd, 0)
				}
			}
			off += size
		}
	}
	walk(0, int64(len(b)))
	return d
}

// writeDurations writes the durations of a finished file into its init
// segment: dur (ns) for the movie, and each track's end.
func (f *mediaFile) writeDurations(dur int64) {
	d := f.durations
	put := func(off int64, v int64) bool {
		if off == 0 || v <= 0 || v > math.MaxUint32 {
			return true // absent, or too long for the field: left unknown
		}
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(v))
		if _, err := f.out.WriteAt(b[:], off); err != nil {
			f.broken = true
			f.meta.Error = writeError("writing", f.path, err).Error()
			f.w.fail(writeError("writing", f.path, err))
			return false
		}
		return true
	}
	if d.movieTimescale <= 0 || !put(d.mvhd, nanosToTicks(dur, d.movieTimescale)) {
		return
	}
	for i, ft := range f.tracks {
		if i >= len(d.tkhd) || i >= len(d.mdhd) {
			return
		}
		end := ticksToNanos(ft.endTicks, int64(ft.timescale))
		if !put(d.tkhd[i], nanosToTicks(end, d.movieTimescale)) || !put(d.mdhd[i], ft.endTicks) {
			return
		}
	}
}
