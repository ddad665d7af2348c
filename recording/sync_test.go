package recording

import (
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/sfu"
)

// publisherClock is how far the publisher's capture (NTP) clock is ahead of
// the server's: the recorder must learn the offset, not assume the clocks agree.
const publisherClock = 3700 * time.Millisecond

// ntpOf is t as a 64-bit NTP timestamp.
func ntpOf(t time.Time) uint64 {
	sec := uint64(t.Unix()) + 2208988800
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return sec<<32 | frac
}

// report is a sender report of s, sent (and arriving) at at: the
// publisher's NTP time of capture instant c with the RTP timestamp of c.
func report(start time.Time, at time.Duration, s *stream, c time.Duration) event {
	clock := int64(s.track.Codec().ClockRate)
	return event{at: at, track: s.track, layer: s.layer, ntp: ntpOf(start.Add(publisherClock + c)),
		rtpTS: s.base + uint32(int64(c)*clock/int64(time.Second))}
}

// packetTimes lists a stream's packets: their times and which are keyframes.
func packetTimes(t *testing.T, path, stream string) (pts []float64, key []bool) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time,flags",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	for _, l := range strings.Fields(string(out)) {
		f := strings.Split(l, ",")
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil || len(f) < 2 {
			t.Fatalf("ffprobe %s: packet %q: %v", path, l, err)
		}
		pts = append(pts, v)
		key = append(key, strings.HasPrefix(f[1], "K"))
	}
	return pts, key
}

// TestSenderReportsSyncAudioAndVideo: audio and video captured together
// whose video arrives 150 ms after the audio (encoder delay, pacing, a
// congested uplink). With the publisher's sender reports the file has
// them together (the keyframe captured at 2 s beside the audio packet
// captured at 2 s); without them it can only follow arrival, 150 ms off.
func TestSenderReportsSyncAudioAndVideo(t *testing.T) {
	m := makeMedia(t, 3)
	const videoLate = 150 * time.Millisecond
	// reports: when each track's first sender report comes (-1: never).
	tests := []struct {
		name         string
		video, audio time.Duration // when the track's sender report comes; -1: none
		stamped      bool          // packets carry socket times (a WebRTC publisher: reports are expected)
		want         float64       // the video frame captured at 2 s minus the audio packet captured at 2 s, in the file
	}{
		{"reports from the start", 0, 0, false, 0},
		{"reports after the first fragment was due", 1300 * time.Millisecond, 900 * time.Millisecond, true, 0},
		{"no reports: by arrival", -1, -1, false, videoLate.Seconds()},
		{"no reports from a WebRTC publisher: by arrival after srWait", -1, -1, true, videoLate.Seconds()},
		// The file's timing was fixed before the video's report came: it is
		// not re-timed, and its audio keeps with its video.
		{"the video's report too late", 2500 * time.Millisecond, 500 * time.Millisecond, true, videoLate.Seconds()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			dir, clock, start, rec, router := newRig(t, "sync")
			video, audio := newTracks("fay", clock, false)
			router.Publish(video)
			router.Publish(audio)
			vs, as := &stream{track: video, base: 0xfff0_0000}, &stream{track: audio, base: 0xffff_f000} // both wrap
			var srs []event
			if tc.video >= 0 {
				srs = append(srs, report(start, tc.video, vs, tc.video-videoLate))
			}
			if tc.audio >= 0 {
				srs = append(srs, report(start, tc.audio, as, tc.audio))
			}
			evs := schedule(m, vs, as, feedOptions{videoStart: videoLate})
			for i := range evs {
				evs[i].stamped = tc.stamped
			}
			evs = append(srs, evs...) // a report before the packets of its instant
			sortEvents(evs)
			feed(clock, start, evs)
			router.Unpublish(video)
			router.Unpublish(audio)
			if err := rec.Close(); err != nil {
				t.Fatal(err)
			}

			recs, err := List(dir, "sync")
			if err != nil || len(recs) != 1 {
				t.Fatalf("List: got %v, %v; want 1 recording", recs, err)
			}
			r := recs[0]
			p := ffprobe(t, r.Path)
			_, vDur, _ := p.stream(t, "video")
			_, aDur, _ := p.stream(t, "audio")
			vPTS, vKey := packetTimes(t, r.Path, "v:0")
			aPTS, _ := packetTimes(t, r.Path, "a:0")
			if len(vPTS) != len(m.aus) || len(aPTS) != len(m.opus) || !vKey[60] {
				t.Fatalf("got %d video packets, %d audio; want %d and %d, and video frame 60 a keyframe",
					len(vPTS), len(aPTS), len(m.aus), len(m.opus))
			}
			got := vPTS[60] - aPTS[100]
			t.Logf("video frame 60 at %.3f s, audio packet 100 at %.3f s: video %+.3f s; video %.3f s, audio %.3f s, start %v after the first packet",
				vPTS[60], aPTS[100], got, vDur, aDur, r.Start.Sub(start))
			if math.Abs(got-tc.want) > 0.02 {
				t.Errorf("the video captured at 2 s is %+.3f s from the audio captured then; want %+.3f ± 0.02", got, tc.want)
			}
			if !near(aDur, 3, 0.5) || !near(vDur, 3, 0.5) || r.Start.Sub(start).Abs() > 100*time.Millisecond {
				t.Errorf("got video %.3f s, audio %.3f s, start %v after the first packet; want about 3 s each, from the first packet",
					vDur, aDur, r.Start.Sub(start))
			}
		})
	}
}

// TestSenderReportsAcrossSimulcastSwitch: each simulcast layer has its own
// timestamp base and sender reports. The top layer, which starts at 1 s,
// arrives 120 ms later than the low one (so the layer follower, which
// rebases a switch by arrival, puts it 120 ms late); its frames must keep
// their capture time, beside the audio captured with them.
func TestSenderReportsAcrossSimulcastSwitch(t *testing.T) {
	m := makeMedia(t, 3)
	tests := []struct {
		name    string
		topSR   time.Duration // when the top layer's first report comes
		stamped bool
	}{
		{"the top layer's report before its first packet", 900 * time.Millisecond, false},
		{"the top layer's report 300 ms after its first packet", 1500 * time.Millisecond, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			dir, clock, start, rec, router := newRig(t, "simsync")
			video := sfu.NewTrack(sfu.TrackOptions{ID: "v", Owner: "gus", Kind: webrtc.RTPCodecTypeVideo, Codec: h264Codec,
				RIDs: []string{"q", "h"}, Now: clock.Now, RequestLayerKeyframe: func(int) {}})
			_, audio := newTracks("gus", clock, false)
			router.Publish(video)
			router.Publish(audio)
			low, top := &stream{track: video, layer: 0, base: 5}, &stream{track: video, layer: 1, base: 1 << 31}
			as := &stream{track: audio, base: 77}
			evs := schedule(m, low, as, feedOptions{videoStart: 50 * time.Millisecond})
			evs = append(evs, schedule(m, top, nil, feedOptions{noAudio: true, from: 50, videoStart: 170 * time.Millisecond})...)
			for i := range evs {
				evs[i].stamped = tc.stamped
			}
			evs = append(evs, report(start, 0, low, 0), report(start, 0, as, 0), report(start, tc.topSR, top, tc.topSR-170*time.Millisecond))
			sortEvents(evs)
			feed(clock, start, evs)
			router.Unpublish(video)
			router.Unpublish(audio)
			if err := rec.Close(); err != nil {
				t.Fatal(err)
			}
			recs, err := List(dir, "simsync")
			if err != nil || len(recs) != 1 {
				t.Fatalf("List: got %v, %v; want 1 recording", recs, err)
			}
			path := recs[0].Path
			ffprobe(t, path)
			vPTS, vKey := packetTimes(t, path, "v:0")
			aPTS, _ := packetTimes(t, path, "a:0")
			// The last keyframe is the top layer's frame 60, captured at 2 s.
			last := -1
			for i, k := range vKey {
				if k {
					last = i
				}
			}
			if len(aPTS) != len(m.opus) || last < 0 {
				t.Fatalf("got %d audio packets, %d video (keyframes %v); want %d audio, keyframes", len(aPTS), len(vPTS), vKey, len(m.opus))
			}
			got := vPTS[last] - aPTS[100]
			t.Logf("the last keyframe (%d of %d frames) at %.3f s, audio packet 100 at %.3f s: video %+.3f s", last, len(vPTS), vPTS[last], aPTS[100], got)
			if math.Abs(got) > 0.02 {
				t.Errorf("the top layer's frame captured at 2 s is %+.3f s from the audio captured then; want 0 ± 0.02", got)
			}
		})
	}
}
