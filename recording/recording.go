// Package recording records a room to disk. A Recorder joins the room's
// router like any media member (as Galene's disk writer does) and writes the
// tracks of each member to fragmented MP4: H.264 video and Opus audio, one
// file per member and session (camera and microphone in one, a shared screen
// and its sound in another), with a JSON sidecar that says who, when and
// what. Every fragment goes to disk as soon as it is complete, so a file
// stays readable up to its last fragment if the process is killed.
//
// The media path is never blocked: sinks copy packets into a bounded queue
// (dropping, and counting, when it is full) and one goroutine per Recorder
// does everything else. A write error (a full disk) stops the Recorder: it
// finishes what it can, detaches from every track and reports the error
// once; the call goes on unharmed.
package recording

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/internal/simulcast"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

// Errors.
var (
	// ErrBadRoom is returned by New and List for a room name that cannot be a directory.
	ErrBadRoom = errors.New("recording: bad room name")
	// ErrNoDir is returned by New without Config.Dir.
	ErrNoDir = errors.New("recording: no directory to record to (record_dir)")
	// ErrWrite wraps the error that stopped a recording: a file could not be written.
	ErrWrite = errors.New("recording stopped: cannot write")
	// ErrDiskFull wraps the error that stopped a recording when the disk (or a quota) is full.
	ErrDiskFull = errors.New("recording stopped: disk full, free disk space to record again")
)

// Defaults and limits.
const (
	// DefaultFragmentDuration is how much media a fragment holds (Config.FragmentDuration):
	// at most that much is lost when the process is killed.
	DefaultFragmentDuration = time.Second
	// maxFragmentBytes writes a fragment early when it grows this large.
	maxFragmentBytes = 4 << 20
	// queueBytes bounds the packets waiting for the writer (payloads and
	// per-packet overhead); more are dropped and counted.
	queueBytes     = 8 << 20
	packetOverhead = 96
	// initWait is how long a new session waits for the rest of its owner's
	// tracks (an audio track for a video one and the reverse) before it
	// fixes the tracks of its file: an fMP4 init segment lists them all.
	initWait = 1500 * time.Millisecond
	// trackWait is how long a session's file waits for a track that has
	// arrived but cannot start yet (video without a keyframe) before it
	// starts without it.
	trackWait = 5 * time.Second
	// reorderWait is how long video waits for a packet the SFU asked the
	// publisher to resend; nobody watches a recording live, so it can wait
	// longer than a viewer.
	reorderWait = 400 * time.Millisecond
	// tickInterval is how often the writer looks at the clock when no
	// packet comes (gaps to give up, sessions to start, fragments to write).
	tickInterval = 100 * time.Millisecond
)

// Counters are a recorder's metrics, atomics that one Counters shared by
// every Recorder of a server sums up.
type Counters struct {
	FilesStarted   atomic.Uint64 // media files created
	BytesWritten   atomic.Uint64 // bytes written to media files
	WriteErrors    atomic.Uint64 // recordings stopped by a write error (a full disk)
	DroppedPackets atomic.Uint64 // packets dropped because the writer fell behind
}

// Config configures a Recorder.
type Config struct {
	// Dir is the record_dir: files go to Dir/{room}/. Required.
	Dir    string
	Logger *slog.Logger
	// Now is the clock. Optional (time.Now).
	Now func() time.Time
	// NameOf gives a member's display name for the sidecar. Optional; it is
	// called on the recorder's goroutine when a file starts.
	NameOf func(userID string) string
	// OnError is told, once, that the recording stopped itself (a full
	// disk). Optional. It runs on the recorder's goroutine after everything
	// is closed, and may call Close.
	OnError func(err error)
	// Counters receive the recorder's metrics. Optional.
	Counters *Counters
	// FragmentDuration is how much media a fragment holds. Optional (DefaultFragmentDuration).
	FragmentDuration time.Duration

	// create opens a new media file; a seam for tests (nil: os.OpenFile, exclusive).
	create func(path string) (mediaWriter, error)
}

// mediaWriter is an open media file.
type mediaWriter interface {
	io.Writer
	io.WriterAt // the durations, into the init segment, when the file is finished
	Truncate(size int64) error
	Sync() error
	Close() error
}

// Recorder records one room. It is an sfu.Member: join it to the room's
// router (room.Manager.Watch) and it records every track it is offered.
type Recorder struct {
	id         string
	room       string
	dir        string // Dir/{room}
	cfg        Config
	log        *slog.Logger
	q          queue
	wg         sync.WaitGroup // the writer goroutine
	finished   chan struct{}  // closed when the writer has closed every file
	inCallback atomic.Bool    // the writer is running OnError (which may call Close)

	mu       sync.Mutex                // guards sinks, detached and err
	sinks    map[*sfu.Track]*trackSink // the tracks offered, by track
	detached bool                      // the writer stopped: offers are ignored
	err      error                     // why the recorder stopped itself, nil while it runs
}

// New starts a Recorder of room: it creates Dir/{room}/ and the writer
// goroutine. Join it to the room's router to record.
func New(roomName string, cfg Config) (*Recorder, error) {
	if !room.ValidName(roomName) {
		return nil, fmt.Errorf("%w: %q", ErrBadRoom, roomName)
	}
	if cfg.Dir == "" {
		return nil, ErrNoDir
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Counters == nil {
		cfg.Counters = &Counters{}
	}
	if cfg.FragmentDuration <= 0 {
		cfg.FragmentDuration = DefaultFragmentDuration
	}
	if cfg.create == nil {
		cfg.create = createFile
	}
	dir := filepath.Join(cfg.Dir, roomName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrWrite, dir, err)
	}
	r := &Recorder{
		// '#' is in no user ID (room.ValidName): the ID cannot be a member's.
		id:   fmt.Sprintf("recorder#%016x", rand.Uint64()),
		room: roomName, dir: dir, cfg: cfg,
		log:   cfg.Logger.With("room", roomName),
		sinks: map[*sfu.Track]*trackSink{}, finished: make(chan struct{}),
	}
	r.q.init()
	w := newWriter(r)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		w.run()
	}()
	return r, nil
}

func createFile(path string) (mediaWriter, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
}

// ID implements sfu.Member: "recorder#" and 16 hex digits, never a user ID.
func (r *Recorder) ID() string { return r.id }

// AddTrack implements sfu.Member: it subscribes to t if it can record it
// (H.264 video, Opus audio); other codecs are noted in the sidecar. It does
// not block and does no I/O.
func (r *Recorder) AddTrack(t *sfu.Track) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.detached || r.sinks[t] != nil {
		return
	}
	// The owner's ID names the file: one that cannot is not recorded (the writer says so).
	s := &trackSink{r: r, track: t, video: t.Kind() == webrtc.RTPCodecTypeVideo, supported: supported(t) && room.ValidName(t.Owner()),
		layers: simulcast.New(t, simulcast.Options{Now: r.cfg.Now})}
	r.sinks[t] = s
	r.q.control(item{op: opAdd, sink: s, arrival: r.cfg.Now().UnixNano()}) // before the first packet
	if !s.supported {
		return
	}
	t.AddSink(s)
	if s.video {
		s.layers.RequestKeyframe() // a recording starts at a keyframe
	}
}

// RemoveTrack implements sfu.Member: the track's recording ends (its file
// ends with the owner's last track). It does not block and does no I/O.
func (r *Recorder) RemoveTrack(t *sfu.Track) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sinks[t]
	if s == nil {
		return
	}
	delete(r.sinks, t)
	s.detach()
	r.q.control(item{op: opRemove, sink: s})
}

// detachAll unsubscribes from every track and ignores later offers. Run by
// the writer as it stops.
func (r *Recorder) detachAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.detached = true
	for t, s := range r.sinks {
		s.detach()
		delete(r.sinks, t)
	}
}

// Close stops the recording: every file is finished (its last fragment
// written, its sidecar rewritten with the end) and the writer goroutine
// ends. Detach the recorder from the room first (or after: tracks offered
// after Close are ignored). Close returns the error that stopped the
// recording earlier, if any.
func (r *Recorder) Close() error {
	r.q.close()
	<-r.finished
	if !r.inCallback.Load() {
		r.wg.Wait()
	}
	return r.Err()
}

// Err reports why the recorder stopped itself (it wraps ErrDiskFull or
// ErrWrite), nil while it records or after a clean Close.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// supported reports whether t can be recorded.
func supported(t *sfu.Track) bool {
	mime := t.Codec().MimeType
	if t.Kind() == webrtc.RTPCodecTypeVideo {
		return strings.EqualFold(mime, webrtc.MimeTypeH264)
	}
	return strings.EqualFold(mime, webrtc.MimeTypeOpus)
}

// trackSink copies one track's packets into the recorder's queue; it runs on
// the track's reader goroutines and never blocks.
type trackSink struct {
	r         *Recorder
	track     *sfu.Track
	video     bool
	supported bool
	layers    *simulcast.Follower // the top layer of a simulcast track, as one stream
	detached  atomic.Bool
}

// WriteRTP implements sfu.Sink.
func (s *trackSink) WriteRTP(p *sfu.ExtPacket) error {
	if s.detached.Load() {
		return nil
	}
	seq, ts, ok := s.layers.Take(p)
	if !ok {
		return nil
	}
	at := p.Arrival
	if p.Received != 0 {
		at = p.Received // the socket's time: closer to when the publisher sent it
	}
	ntp, srTS, _ := s.track.SenderReport(p.Layer) // the report known when the packet came
	if !s.r.q.packet(item{op: opPacket, sink: s, seq: seq, ts: ts, marker: p.Marker, key: p.Keyframe, layer: uint8(p.Layer),
		layerTS: p.Timestamp, srNTP: ntp, srTS: srTS, stamped: p.Received != 0, arrival: at, payload: p.Payload}) {
		s.r.cfg.Counters.DroppedPackets.Add(1)
	}
	return nil
}

// detach unsubscribes the sink; r.mu is held.
func (s *trackSink) detach() {
	if s.detached.Swap(true) || !s.supported {
		return
	}
	s.track.RemoveSink(s)
}
