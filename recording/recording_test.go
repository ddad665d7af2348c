package recording

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/openroom/openroom/internal/fakeclock"
	"github.com/openroom/openroom/internal/testutil"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

func noLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// newRig makes a recorder of room on a fake clock, joined to a router of its
// own: the files go to dir, the clock starts at start.
func newRig(t *testing.T, room string) (dir string, clock *fakeclock.Clock, start time.Time, rec *Recorder, router *sfu.Router) {
	t.Helper()
	dir = t.TempDir()
	clock = fakeclock.New()
	start = clock.Now()
	rec, err := New(room, Config{Dir: dir, Logger: testLogger(t), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	router = sfu.NewRouter()
	router.Join(rec)
	return dir, clock, start, rec, router
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// TestRecordsH264AndOpus feeds 3 s of real H.264 and Opus through sfu
// tracks at real-time rate (on a fake clock) and checks the file with
// ffprobe: both streams, the duration, and audio and video in sync.
func TestRecordsH264AndOpus(t *testing.T) {
	m := makeMedia(t, 3)
	tests := []struct {
		name      string
		o         feedOptions
		wantStart float64 // video start - audio start, seconds
	}{
		{"together", feedOptions{}, 0},
		{"video 400 ms after audio", feedOptions{videoStart: 400 * time.Millisecond}, 0.4},
		{"the first video frames arrive 150 ms late", feedOptions{firstFrameLate: 150 * time.Millisecond}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			dir := t.TempDir()
			clock := fakeclock.New()
			start := clock.Now()
			counters := &Counters{}
			rec, err := New("standup", Config{Dir: dir, Logger: testLogger(t), Now: clock.Now, Counters: counters,
				NameOf: func(id string) string { return "Alice " + id }})
			if err != nil {
				t.Fatal(err)
			}
			router := sfu.NewRouter()
			router.Join(rec)
			video, audio := newTracks("alice", clock, false)
			router.Publish(video)
			router.Publish(audio)
			// RTP timestamps start anywhere; the video's wrap around.
			feed(clock, start, schedule(m, &stream{track: video, base: 0xffff_0000}, &stream{track: audio, base: 123456}, tc.o))
			router.Unpublish(video)
			router.Unpublish(audio)
			if err := rec.Close(); err != nil {
				t.Fatalf("Close: got %v; want nil", err)
			}

			recs, err := List(dir, "standup")
			if err != nil || len(recs) != 1 {
				t.Fatalf("List: got %d recordings, %v; want 1", len(recs), err)
			}
			r := recs[0]
			wantFile := "alice-" + start.UTC().Format("20060102T150405Z") + ".mp4"
			if r.File != wantFile || r.Room != "standup" || r.UserID != "alice" || r.Name != "Alice alice" || r.Screen || !r.Complete || r.Error != "" {
				t.Errorf("recording: got %+v; want %s of alice (Alice alice) in standup, complete", r, wantFile)
			}
			if len(r.Tracks) != 2 || r.Tracks[0].Kind != "video" || r.Tracks[0].Codec != "video/H264" || r.Tracks[0].Source != "camera" ||
				r.Tracks[1].Kind != "audio" || r.Tracks[1].Codec != "audio/opus" || r.Tracks[1].Source != "microphone" {
				t.Errorf("tracks: got %+v; want H.264 camera video, then Opus microphone audio", r.Tracks)
			}
			if !r.Start.Equal(start) || !near(r.Duration.Seconds(), 3, 0.5) || !r.End.Equal(r.Start.Add(r.Duration)) {
				t.Errorf("times: got start %v, duration %v, end %v; want start %v, about 3 s", r.Start, r.Duration, r.End, start)
			}
			if fi, err := os.Stat(r.Path); err != nil || fi.Size() != r.Bytes || uint64(r.Bytes) != counters.BytesWritten.Load() {
				t.Errorf("bytes: got %d in the sidecar, %d counted, file %v %v; want the file's size", r.Bytes, counters.BytesWritten.Load(), fi, err)
			}
			if n := counters.FilesStarted.Load(); n != 1 {
				t.Errorf("files started: got %d; want 1", n)
			}

			// The init segment got the durations (Chromium reads them).
			if b, err := os.ReadFile(r.Path); err != nil {
				t.Error(err)
			} else {
				d := findDurationFields(b)
				u32 := func(off int64) float64 { return float64(binary.BigEndian.Uint32(b[off:])) }
				if len(d.mdhd) != 2 || !near(u32(d.mvhd)/float64(d.movieTimescale), r.Duration.Seconds(), 0.01) ||
					!near(u32(d.mdhd[0])/90000, 3+tc.wantStart, 0.1) || !near(u32(d.mdhd[1])/48000, 3, 0.1) {
					t.Errorf("durations in the init segment: got %+v; want the movie's and each track's", d)
				}
			}
			p := ffprobe(t, r.Path)
			vStart, vDur, vFrames := p.stream(t, "video")
			aStart, aDur, aFrames := p.stream(t, "audio")
			t.Logf("ffprobe: video start %.3f duration %.3f (%d frames), audio start %.3f duration %.3f (%d frames), file %s s",
				vStart, vDur, vFrames, aStart, aDur, aFrames, p.Format.Duration)
			if p.Streams[0].CodecName != "h264" || p.Streams[1].CodecName != "opus" {
				t.Errorf("codecs: got %s, %s; want h264, opus", p.Streams[0].CodecName, p.Streams[1].CodecName)
			}
			fileDur, _ := strconv.ParseFloat(p.Format.Duration, 64)
			if !near(fileDur, 3+tc.wantStart, 0.5) || !near(aDur, 3, 0.5) || !near(vDur, 3+tc.wantStart, 0.5) || vStart != 0 || aStart != 0 {
				t.Errorf("got file %.3f s, video %.3f+%.3f s, audio %.3f+%.3f s; want both from 0, about 3 s (video and file %.1f)",
					fileDur, vStart, vDur, aStart, aDur, 3+tc.wantStart)
			}
			vMedia, aMedia := mediaStart(t, r.Path, "v:0"), mediaStart(t, r.Path, "a:0")
			t.Logf("media starts: video %.3f s, audio %.3f s", vMedia, aMedia)
			if d := vMedia - aMedia; !near(d, tc.wantStart, 0.1) {
				t.Errorf("video starts %.3f s after audio; want %.3f ± 0.1", d, tc.wantStart)
			}
			if vFrames != len(m.aus) {
				t.Errorf("video frames: got %d; want %d", vFrames, len(m.aus))
			}
			if aFrames < len(m.opus)-1 {
				t.Errorf("audio frames: got %d; want %d", aFrames, len(m.opus))
			}
		})
	}
}

// TestRecordsTopSimulcastLayer: of a simulcast track, only the top layer
// that flows is recorded.
func TestRecordsTopSimulcastLayer(t *testing.T) {
	noLeaks(t)
	m := makeMedia(t, 2)
	dir, clock, start, rec, router := newRig(t, "sim")
	var keyframes atomic.Int64
	video := sfu.NewTrack(sfu.TrackOptions{ID: "v", Owner: "erin", Kind: webrtc.RTPCodecTypeVideo, Codec: h264Codec,
		RIDs: []string{"q", "h", "f"}, Now: clock.Now, RequestLayerKeyframe: func(int) { keyframes.Add(1) }})
	router.Publish(video)
	if keyframes.Load() == 0 {
		t.Error("no keyframe was asked for when the track was offered")
	}
	// Layers 0 and 1 flow (2 is paused); the top one starts late, at its second keyframe.
	low := schedule(m, &stream{track: video, layer: 0, base: 5}, nil, feedOptions{noAudio: true})
	high := schedule(m, &stream{track: video, layer: 1, base: 1 << 31}, nil, feedOptions{noAudio: true, from: 50})
	evs := append(low, high...)
	sortEvents(evs)
	feed(clock, start, evs)
	router.Unpublish(video)
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := List(dir, "sim")
	if err != nil || len(recs) != 1 {
		t.Fatalf("List: got %v, %v; want 1 recording", recs, err)
	}
	p := ffprobe(t, recs[0].Path)
	_, dur, frames := p.stream(t, "video")
	t.Logf("simulcast: %d frames, %.3f s", frames, dur)
	// One layer's frames (60 in 2 s, give or take the switch), not both layers'.
	if frames < 58 || frames > 62 || !near(dur, 2, 0.2) {
		t.Errorf("got %d frames in %.3f s; want one layer's 60 in 2 s", frames, dur)
	}
}

func TestRecorderID(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	a, err := New("r1", Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := New("r1", Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.ID() == b.ID() || !strings.HasPrefix(a.ID(), "recorder#") || room.ValidName(a.ID()) {
		t.Errorf("IDs: got %q and %q; want two different recorder# IDs that are no user ID", a.ID(), b.ID())
	}
}

func TestNewRefuses(t *testing.T) {
	noLeaks(t)
	tests := []struct {
		name string
		room string
		cfg  Config
		want error
	}{
		{"no dir", "r", Config{}, ErrNoDir},
		{"a path for a room", "../etc", Config{Dir: t.TempDir()}, ErrBadRoom},
		{"an empty room", "", Config{Dir: t.TempDir()}, ErrBadRoom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.room, tc.cfg); !errors.Is(err, tc.want) {
				t.Errorf("got %v; want %v", err, tc.want)
			}
		})
	}
}

// TestScreenAndLateTrack: a screen goes to a file of its own; a track that
// comes after a file started (audio, 2 s after the camera) finishes that
// file and starts a new one; a VP8 track is left out and noted.
func TestScreenAndLateTrack(t *testing.T) {
	noLeaks(t)
	m := makeMedia(t, 3)
	dir, clock, start, rec, router := newRig(t, "class")
	cam, mic := newTracks("bob", clock, false)
	screen, _ := newTracks("bob", clock, true)
	vp8 := sfu.NewTrack(sfu.TrackOptions{ID: "bob-vp8", Owner: "bob", Kind: cam.Kind(), Source: sfu.SourceCamera, Now: clock.Now,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}})
	router.Publish(cam)
	router.Publish(screen)
	router.Publish(vp8)
	camS, micS := &stream{track: cam, base: 1000}, &stream{track: mic, base: 5000}
	screenS := &stream{track: screen, base: 77}
	// 2 s of camera and screen (the camera's file starts without audio after initWait)...
	evs := append(schedule(m, camS, micS, feedOptions{to: 100, noAudio: true}), schedule(m, screenS, nil, feedOptions{to: 100, noAudio: true})...)
	sortEvents(evs)
	feed(clock, start, evs)
	// ... then the microphone too, for 1 s.
	router.Publish(mic)
	evs = append(schedule(m, camS, micS, feedOptions{from: 100}), schedule(m, screenS, nil, feedOptions{from: 100, noAudio: true})...)
	sortEvents(evs)
	feed(clock, start, evs)
	for _, tr := range []*sfu.Track{cam, mic, screen, vp8} {
		router.Unpublish(tr)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}

	recs, err := List(dir, "class")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		var kinds []string
		for _, tr := range r.Tracks {
			kinds = append(kinds, tr.Source)
		}
		got = append(got, r.File+" "+strings.Join(kinds, "+")+" skipped:"+strconv.Itoa(len(r.Skipped)))
		p := ffprobe(t, r.Path)
		if len(p.Streams) != len(r.Tracks) {
			t.Errorf("%s: got %d streams; want %d", r.File, len(p.Streams), len(r.Tracks))
		}
		t.Logf("%s: %v, %d streams, %s s", r.File, r.Duration, len(p.Streams), p.Format.Duration)
	}
	ts := start.UTC().Format("20060102T150405Z")
	// Newest first: the second camera file started 2 s later.
	want := []string{
		"bob-" + time2(start, 2) + ".mp4 camera+microphone skipped:1",
		"bob-" + ts + ".screen.mp4 screen skipped:0",
		"bob-" + ts + ".mp4 camera skipped:1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("recordings:\ngot  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	if len(recs) == 3 {
		if d := recs[2].Duration.Seconds(); !near(d, 2, 0.3) {
			t.Errorf("the first camera file: got %.3f s; want about 2", d)
		}
		if d := recs[0].Duration.Seconds(); !near(d, 1, 0.3) {
			t.Errorf("the second camera file: got %.3f s; want about 1", d)
		}
		if s := recs[2].Skipped; len(s) != 1 || s[0].Codec != "video/VP8" || s[0].Note == "" {
			t.Errorf("skipped: got %+v; want the VP8 track with a note", s)
		}
	}
}

func time2(start time.Time, seconds int) string {
	return start.Add(time.Duration(seconds) * time.Second).UTC().Format("20060102T150405Z")
}

func sortEvents(evs []event) {
	slices.SortStableFunc(evs, func(a, b event) int { return int(a.at - b.at) })
}

// failingFile is a media file on a disk that fills after some bytes: the
// write that does not fit is partly written, then fails with ENOSPC.
type failingFile struct {
	*os.File
	left int
}

func (f *failingFile) Write(b []byte) (int, error) {
	if len(b) <= f.left {
		f.left -= len(b)
		return f.File.Write(b)
	}
	n, _ := f.File.Write(b[:f.left])
	f.left = 0
	return n, syscall.ENOSPC
}

// countingSink counts the packets a track delivers.
type countingSink struct{ n atomic.Int64 }

func (s *countingSink) WriteRTP(*sfu.ExtPacket) error { s.n.Add(1); return nil }

// TestDiskFullStopsRecording: a write error stops the recorder with a clear
// error, reported once and counted; the track goes on delivering to its
// other sinks, and the file stays readable up to its last whole fragment.
func TestDiskFullStopsRecording(t *testing.T) {
	noLeaks(t)
	m := makeMedia(t, 3)
	dir := t.TempDir()
	clock := fakeclock.New()
	start := clock.Now()
	counters := &Counters{}
	var (
		mu     sync.Mutex
		errs   []error
		called = make(chan struct{})
	)
	var rec *Recorder
	cfg := Config{Dir: dir, Logger: testLogger(t), Now: clock.Now, Counters: counters, FragmentDuration: 500 * time.Millisecond,
		OnError: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			errs = append(errs, err)
			if len(errs) == 1 {
				_ = rec.Close() // allowed from OnError
				close(called)
			}
		}}
	cfg.create = func(path string) (mediaWriter, error) {
		f, err := createFile(path)
		if err != nil {
			return nil, err
		}
		return &failingFile{File: f.(*os.File), left: 20_000}, nil
	}
	rec, err := New("full", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rec.Close() })
	router := sfu.NewRouter()
	router.Join(rec)
	video, audio := newTracks("carol", clock, false)
	other := &countingSink{}
	video.AddSink(other)
	router.Publish(video)
	router.Publish(audio)
	vs, as := &stream{track: video}, &stream{track: audio}
	feed(clock, start, schedule(m, vs, as, feedOptions{to: 100}))
	select {
	case <-called:
	case <-time.After(5 * time.Second):
		t.Fatal("OnError was not called")
	}
	// The call goes on: the other sink gets what follows, the recorder nothing.
	before := other.n.Load()
	feed(clock, start, schedule(m, vs, as, feedOptions{from: 100}))
	if other.n.Load() <= before || video.SinkCount() != 1 || audio.SinkCount() != 0 {
		t.Errorf("after the failure: other sink got %d more packets, video has %d sinks, audio %d; want more, 1, 0",
			other.n.Load()-before, video.SinkCount(), audio.SinkCount())
	}
	err = rec.Close()
	mu.Lock()
	gotErrs := errs
	mu.Unlock()
	if len(gotErrs) != 1 || !errors.Is(gotErrs[0], ErrDiskFull) || !errors.Is(err, ErrDiskFull) || !errors.Is(rec.Err(), ErrDiskFull) {
		t.Fatalf("errors: got OnError %v, Close %v, Err %v; want ErrDiskFull once", gotErrs, err, rec.Err())
	}
	msg := err.Error()
	if !strings.Contains(msg, "free disk space") || !strings.Contains(msg, filepath.Join(dir, "full", "carol-")) ||
		!strings.Contains(msg, "no space left on device") {
		t.Errorf("error: got %q; want the path, what failed and what to do", msg)
	}
	if n := counters.WriteErrors.Load(); n != 1 {
		t.Errorf("write errors: got %d; want 1", n)
	}
	recs, err := List(dir, "full")
	if err != nil || len(recs) != 1 {
		t.Fatalf("List: got %v, %v; want one recording", recs, err)
	}
	r := recs[0]
	if r.Complete || !strings.Contains(r.Error, "no space left") {
		t.Errorf("recording: got complete %v, error %q; want incomplete, with the error", r.Complete, r.Error)
	}
	p := ffprobe(t, r.Path)
	_, vDur, _ := p.stream(t, "video")
	t.Logf("after the disk filled: %d bytes, video %.3f s", r.Bytes, vDur)
	if fi, err := os.Stat(r.Path); err != nil || fi.Size() != r.Bytes || fi.Size() > 20_000 || vDur <= 0 {
		t.Errorf("file: got %v (%v), sidecar says %d bytes, video %.3f s; want whole fragments within 20000 bytes", fi, err, r.Bytes, vDur)
	}
}

// TestKilledRecordingStaysReadable records in a child process and kills it
// (SIGKILL) while it records: the file plays up to its last fragment, and
// List shows it incomplete.
func TestKilledRecordingStaysReadable(t *testing.T) {
	if dir := os.Getenv("RECORDING_TEST_CHILD_DIR"); dir != "" {
		recordForever(t, dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledRecordingStaysReadable$", "-test.count=1", "-test.v")
	tmp := filepath.Join(dir, "tmp") // the child's temporary files: it is killed before it can remove them
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "RECORDING_TEST_CHILD_DIR="+dir, "TMPDIR="+tmp)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	var log []string
	ready := false
	for lines.Scan() {
		log = append(log, lines.Text())
		if strings.Contains(lines.Text(), "RECORDING") {
			ready = true
			break
		}
	}
	_ = cmd.Process.Kill() // SIGKILL
	_ = cmd.Wait()
	if !ready {
		t.Fatalf("the child did not record:\n%s", strings.Join(log, "\n"))
	}
	recs, err := List(dir, "killed")
	if err != nil || len(recs) != 1 {
		t.Fatalf("List: got %v, %v; want one recording", recs, err)
	}
	r := recs[0]
	if r.Complete || !r.End.IsZero() || r.Bytes == 0 {
		t.Errorf("recording: got complete %v, end %v, %d bytes; want incomplete, no end, some bytes", r.Complete, r.End, r.Bytes)
	}
	p := ffprobe(t, r.Path)
	vStart, vDur, _ := p.stream(t, "video")
	aStart, aDur, _ := p.stream(t, "audio")
	t.Logf("killed: %d bytes; video %.3f+%.3f s, audio %.3f+%.3f s", r.Bytes, vStart, vDur, aStart, aDur)
	// 3 s fed, fragments of 500 ms: all but the last one are on disk.
	if vDur < 2.2 || aDur < 2.2 || vDur > 3.1 || !near(vStart, aStart, 0.1) {
		t.Errorf("got video %.3f s, audio %.3f s; want 2.2-3 s each, in sync", vDur, aDur)
	}
}

// recordForever is the child of TestKilledRecordingStaysReadable: it
// records 3 s, says so once the fragments are written, and waits to be killed.
func recordForever(t *testing.T, dir string) {
	m := makeMedia(t, 3)
	clock := fakeclock.New()
	start := clock.Now()
	counters := &Counters{}
	rec, err := New("killed", Config{Dir: dir, Now: clock.Now, Counters: counters, FragmentDuration: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	router := sfu.NewRouter()
	router.Join(rec)
	video, audio := newTracks("dave", clock, false)
	router.Publish(video)
	router.Publish(audio)
	feed(clock, start, schedule(m, &stream{track: video}, &stream{track: audio}, feedOptions{}))
	last, same := uint64(0), 0
	testutil.Eventually(t, 10*time.Second, "the fragments written", func() bool {
		n := counters.BytesWritten.Load()
		if n > 0 && n == last {
			same++
		} else {
			same = 0
		}
		last = n
		return same >= 10 // nothing more for 200 ms
	})
	os.Stdout.WriteString("RECORDING\n")
	time.Sleep(time.Minute)
}

func TestList(t *testing.T) {
	noLeaks(t)
	dir := t.TempDir()
	if recs, err := List(dir, "empty"); err != nil || len(recs) != 0 {
		t.Errorf("a room never recorded: got %v, %v; want none, no error", recs, err)
	}
	if _, err := List(dir, "../x"); !errors.Is(err, ErrBadRoom) {
		t.Errorf("a bad room: got %v; want ErrBadRoom", err)
	}
	d := filepath.Join(dir, "r")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 6, 15, 45, 0, 0, time.UTC)
	end := t0.Add(90 * time.Second)
	write := func(name string, sc any) {
		b, _ := json.Marshal(sc)
		if err := os.WriteFile(filepath.Join(d, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a-1.json", sidecar{File: "a-1.mp4", Room: "r", UserID: "a", Start: t0, End: &end, Duration: 90, Bytes: 10,
		Tracks: []TrackInfo{{Kind: "video", Codec: "video/H264", Source: "camera"}}})
	write("b-1.json", sidecar{File: "b-1.mp4", Room: "r", UserID: "b", Start: t0.Add(time.Minute)}) // in progress, or killed
	if err := os.WriteFile(filepath.Join(d, "b-1.mp4"), make([]byte, 1234), 0o644); err != nil {
		t.Fatal(err)
	}
	write("c.json.tmp", sidecar{File: "c.mp4", Start: t0.Add(time.Hour)})
	write("bad.json", "not a sidecar")
	write("evil.json", sidecar{File: "../../etc/passwd", Start: t0})
	recs, err := List(dir, "r")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("got %+v; want 2 recordings", recs)
	}
	tests := []struct {
		name     string
		got      Recording
		file     string
		complete bool
		bytes    int64
		dur      time.Duration
	}{
		{"newest first: in progress", recs[0], "b-1.mp4", false, 1234, 0},
		{"then the finished one", recs[1], "a-1.mp4", true, 10, 90 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.got
			if r.File != tc.file || r.Complete != tc.complete || r.Bytes != tc.bytes || r.Duration != tc.dur || r.Path != filepath.Join(d, tc.file) {
				t.Errorf("got %+v; want %s, complete %v, %d bytes, %v", r, tc.file, tc.complete, tc.bytes, tc.dur)
			}
		})
	}
}

func TestQueueDropsWhenFull(t *testing.T) {
	var q queue
	q.init()
	payload := make([]byte, 1200)
	n := 0
	for q.packet(item{op: opPacket, payload: payload}) {
		n++
	}
	if want := queueBytes / (1200 + packetOverhead); n != want {
		t.Errorf("packets queued: got %d; want %d", n, want)
	}
	q.control(item{op: opRemove}) // track changes are never dropped
	items, closed := q.take(nil)
	if len(items) != n+1 || closed || items[n].op != opRemove {
		t.Errorf("take: got %d items, closed %v; want %d, the last the track change", len(items), closed, n+1)
	}
	if !q.packet(item{op: opPacket, payload: payload}) {
		t.Error("a packet after take was dropped; want it queued")
	}
	q.close()
	if !q.packet(item{op: opPacket}) {
		t.Error("a packet after close counts as dropped; want it ignored")
	}
}
