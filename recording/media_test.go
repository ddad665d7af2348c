package recording

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/openroom/openroom/internal/fakeclock"
	"github.com/openroom/openroom/internal/h264"
	"github.com/openroom/openroom/internal/testutil"
	"github.com/openroom/openroom/sfu"
)

// testMedia is a few seconds of real media: H.264 access units at 30
// frames/s and 20 ms Opus packets.
type testMedia struct {
	aus  [][][]byte
	opus [][]byte
}

func makeMedia(t testing.TB, seconds int) testMedia {
	t.Helper()
	aus := testutil.EncodeH264(t, seconds*30)
	return testMedia{aus: aus, opus: encodeOpus(t, seconds)}
}

// encodeOpus makes Opus packets of 20 ms with ffmpeg (a sine), one per Ogg page.
func encodeOpus(t testing.TB, seconds int) [][]byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a.ogg")
	testutil.FFmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration="+strconv.Itoa(seconds),
		"-ac", "2", "-c:a", "libopus", "-b:a", "48k", "-frame_duration", "20", "-page_duration", "20000", path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		page, _, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(string(page), "OpusTags") {
			continue
		}
		if d := opus.PacketDuration2(page); d != 960 && len(out) < seconds*50-1 {
			t.Fatalf("Opus page %d: %d samples; want one 20 ms packet a page", len(out), d)
		}
		out = append(out, page)
	}
	return out
}

// feedOptions place the media on the timeline.
type feedOptions struct {
	from, to       int           // frames/packets to send: from 20 ms step from to step to (0: to the end)
	videoStart     time.Duration // video starts this long after audio
	firstFrameLate time.Duration // the video frames due before this arrive then, in a burst (a congested keyframe)
	noVideo        bool
	noAudio        bool
}

type event struct {
	at      time.Duration
	track   *sfu.Track
	layer   int
	pkt     *rtp.Packet // nil: a sender report
	stamped bool        // the packet comes with the socket's time, as from a WebRTC publisher
	ntp     uint64      // a sender report's NTP time ...
	rtpTS   uint32      // ... and RTP timestamp
}

// stream is one track (one simulcast layer of it) being fed: its numbering
// continues across feeds.
type stream struct {
	track *sfu.Track
	layer int
	seq   uint16
	base  uint32
}

// schedule lays out RTP packets of video and audio over real time: audio a
// packet every 20 ms, video a frame every 1/30 s, with timestamps that
// follow, sorted by when they arrive.
func schedule(m testMedia, video, audio *stream, o feedOptions) []event {
	var evs []event
	to := o.to
	if to == 0 {
		to = len(m.opus)
	}
	if !o.noAudio {
		for i := o.from; i < to && i < len(m.opus); i++ {
			evs = append(evs, event{at: time.Duration(i) * 20 * time.Millisecond, track: audio.track, pkt: &rtp.Packet{
				Header:  rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: audio.seq, Timestamp: audio.base + uint32(i*960), SSRC: 2, Marker: i == 0},
				Payload: m.opus[i]}})
			audio.seq++
		}
	}
	if !o.noVideo {
		var pay codecs.H264Payloader
		for j := range m.aus {
			at := time.Duration(j) * time.Second / 30
			if at < time.Duration(o.from)*20*time.Millisecond || at >= time.Duration(to)*20*time.Millisecond {
				continue
			}
			arrive := max(at, o.firstFrameLate) + o.videoStart
			pkts := pay.Payload(1200, h264.AnnexB(m.aus[j]))
			for k, p := range pkts {
				evs = append(evs, event{at: arrive, track: video.track, layer: video.layer, pkt: &rtp.Packet{
					Header: rtp.Header{Version: 2, PayloadType: 102, SequenceNumber: video.seq, Timestamp: video.base + uint32(j*3000),
						SSRC: uint32(10 + video.layer), Marker: k == len(pkts)-1},
					Payload: p}})
				video.seq++
			}
		}
	}
	slices.SortStableFunc(evs, func(a, b event) int { return int(a.at - b.at) })
	return evs
}

// feed writes the packets into their tracks, moving the clock to each
// packet's arrival (from start).
func feed(clock *fakeclock.Clock, start time.Time, evs []event) {
	for _, e := range evs {
		if d := start.Add(e.at).Sub(clock.Now()); d > 0 {
			clock.Advance(d)
		}
		switch {
		case e.pkt == nil:
			e.track.SetSenderReport(e.layer, e.ntp, e.rtpTS)
		case e.stamped:
			e.track.WriteLayerRTPReceived(e.layer, e.pkt, clock.Now().UnixNano())
		default:
			e.track.WriteLayerRTP(e.layer, e.pkt)
		}
	}
}

var (
	h264Codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000}
	opusCodec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
)

func newTracks(owner string, clock *fakeclock.Clock, screen bool) (video, audio *sfu.Track) {
	vs, as := sfu.SourceCamera, sfu.SourceMicrophone
	if screen {
		vs, as = sfu.SourceScreen, sfu.SourceScreenAudio
	}
	video = sfu.NewTrack(sfu.TrackOptions{ID: owner + "-" + string(vs), Owner: owner, Kind: webrtc.RTPCodecTypeVideo, Codec: h264Codec,
		Source: vs, Now: clock.Now, RequestKeyframe: func() {}})
	audio = sfu.NewTrack(sfu.TrackOptions{ID: owner + "-" + string(as), Owner: owner, Kind: webrtc.RTPCodecTypeAudio, Codec: opusCodec,
		Source: as, Now: clock.Now})
	return video, audio
}

// probe is what ffprobe says of a file.
type probe struct {
	Streams []struct {
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
		StartTime string `json:"start_time"`
		Duration  string `json:"duration"`
		Frames    string `json:"nb_read_frames"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

// stream returns the stream of a codec type: its start, duration and frames decoded.
func (p probe) stream(t testing.TB, typ string) (start, dur float64, frames int) {
	t.Helper()
	for _, s := range p.Streams {
		if s.CodecType == typ {
			start, _ = strconv.ParseFloat(s.StartTime, 64)
			dur, _ = strconv.ParseFloat(s.Duration, 64)
			frames, _ = strconv.Atoi(s.Frames)
			return start, dur, frames
		}
	}
	t.Fatalf("no %s stream in %+v", typ, p)
	return 0, 0, 0
}

// mediaStart is when a stream's media starts, from the times of its second
// and third packets (a track that starts after time 0 shows its first
// frame from 0: see flush).
func mediaStart(t testing.TB, path, stream string) float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time",
		"-read_intervals", "%+#3", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var pts []float64
	for _, l := range strings.Fields(string(out)) {
		v, err := strconv.ParseFloat(strings.TrimSuffix(l, ","), 64)
		if err != nil {
			t.Fatalf("ffprobe %s: packet time %q: %v", path, l, err)
		}
		pts = append(pts, v)
	}
	if len(pts) < 3 {
		t.Fatalf("ffprobe %s: %d packets of stream %s; want 3", path, len(pts), stream)
	}
	return 2*pts[1] - pts[2]
}

func ffprobe(t testing.TB, path string) probe {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed (scripts/test.sh installs it)")
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_entries",
		"stream=codec_type,codec_name,start_time,duration,nb_read_frames:format=duration", "-of", "json", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	// And it decodes without a complaint.
	if msg, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil || len(msg) > 0 {
		t.Errorf("ffmpeg decoding %s: %v\n%s", path, err, msg)
	}
	return p
}
