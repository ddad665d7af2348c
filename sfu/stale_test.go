package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/internal/fakeclock"
)

// lateFrames returns a writer of one-packet H.264 frames to f's track, 33 ms
// apart, each of which reached the socket late before the track got it.
func lateFrames(f *h264Sub) func(key bool, late time.Duration) {
	var seq uint16
	return func(key bool, late time.Duration) {
		pl := []byte{0x41, 1, 2, 3}
		if key {
			pl[0] = 0x65
		}
		f.tr.WriteLayerRTPReceived(0, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 1000 + seq,
			Timestamp: uint32(seq) * 3000, Marker: true}, Payload: pl}, f.clock.Now().Add(-late).UnixNano())
		seq++
		f.clock.Advance(33 * time.Millisecond)
	}
}

// TestStaleVideoNotForwarded: video the server got to more than
// maxForwardAge after it reached the socket is dropped and the forwarder waits
// for a keyframe, asked for by the first fresh packet; the subscriber sees one
// continuous stream across the gap. After a stall in a small room the
// keyframe is asked for at once; a server that had been behind (shedLag), or
// a track with more than shedFanout subscribers, sheds the video first, and a
// fresh keyframe is not forwarded until the shed is over.
func TestStaleVideoNotForwarded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		lag    time.Duration // how far behind the server was for two lagEpochs before
		others int           // subscribers besides the one watched
		sheds  bool
	}{
		{"a stall", 0, 0, false},
		{"a stall, a few subscribers", 0, shedFanout - 1, false},
		{"a stall, many subscribers", 0, shedFanout, true},
		{"after a lasting lag", shedLag + 50*time.Millisecond, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newH264Sub(t)
			for range tc.others {
				o := newDownTrack(f.tr, nil, f.clock.Now)
				bindRecorder(t, o, h264, 96)
				f.tr.AddSink(o)
			}
			clock, d, w, asked := f.clock, f.d, f.w, &f.asked
			write := lateFrames(f)
			deltas := int(2 * lagEpoch / (33 * time.Millisecond))
			write(true, tc.lag)
			for range deltas {
				write(false, tc.lag)
			}
			write(false, maxForwardAge-time.Millisecond)
			sent := w.take()
			if want := deltas + 2; len(sent) != want {
				t.Fatalf("fresh: got %d forwarded; want %d (all)", len(sent), want)
			}
			lastSeq, lastTS := sent[len(sent)-1].hdr.SequenceNumber, sent[len(sent)-1].hdr.Timestamp
			asked.Store(0)
			for range 5 {
				write(false, maxForwardAge+50*time.Millisecond)
			}
			if got := len(w.take()); got != 0 {
				t.Errorf("stale: got %d forwarded; want 0", got)
			}
			if got := d.Stats().Stale; got != 5 {
				t.Errorf("stats: got %d stale; want 5", got)
			}
			if got := asked.Load(); got != 0 {
				t.Errorf("while stale: got %d keyframe requests; want 0 (a keyframe asked for now would be late too)", got)
			}
			if tc.sheds {
				write(true, 0)
				if got := len(w.take()); got != 0 {
					t.Errorf("fresh keyframe while shed: got %d forwarded; want 0", got)
				}
				if got := asked.Load(); got != 0 {
					t.Errorf("while shed: got %d keyframe requests; want 0", got)
				}
				clock.Advance(shedMin * 3 / 2)
			}
			write(false, 0)
			if got := len(w.take()); got != 0 {
				t.Errorf("fresh delta after the gap: got %d forwarded; want 0 (undecodable)", got)
			}
			if got := asked.Load(); got != 1 {
				t.Errorf("fresh delta after the gap: got %d keyframe requests; want 1", got)
			}
			write(true, 0)
			write(false, 0)
			out := w.take()
			if len(out) != 2 {
				t.Fatalf("after the keyframe: got %d forwarded; want 2", len(out))
			}
			if got, want := out[0].hdr.SequenceNumber, lastSeq+1; got != want || out[1].hdr.SequenceNumber != want+1 {
				t.Errorf("sequence numbers after the gap: got %d, %d; want %d, %d (continuous)", got, out[1].hdr.SequenceNumber, want, want+1)
			}
			if out[0].hdr.Timestamp <= lastTS {
				t.Errorf("timestamp after the gap: got %d; want past %d", out[0].hdr.Timestamp, lastTS)
			}
		})
	}
}

// TestStaleAudio: audio is forwarded up to maxAudioForwardAge late, not later.
func TestStaleAudio(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New()
	opus := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	tr := NewTrack(TrackOptions{ID: "a", Kind: webrtc.RTPCodecTypeAudio, Codec: opus, Now: clock.Now})
	d := newDownTrack(tr, nil, clock.Now)
	w := bindRecorder(t, d, opus, 111)
	tr.AddSink(d)
	for i, late := range []time.Duration{0, maxForwardAge + 50*time.Millisecond, maxAudioForwardAge + 50*time.Millisecond, 0} {
		tr.WriteLayerRTPReceived(0, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i) * 960},
			Payload: []byte{0xfc, 1}}, clock.Now().Add(-late).UnixNano())
		clock.Advance(20 * time.Millisecond)
	}
	if got := len(w.take()); got != 3 {
		t.Errorf("forwarded: got %d; want 3 (all but the one %v late)", got, maxAudioForwardAge+50*time.Millisecond)
	}
}

// TestStaleKeyframeForwarded: a keyframe is forwarded however late (all its
// packets): the subscriber shows it, instead of freezing until the next one.
func TestStaleKeyframeForwarded(t *testing.T) {
	t.Parallel()
	f := newH264Sub(t)
	clock, tr, d, w := f.clock, f.tr, f.d, f.w
	late := clock.Now().Add(-maxForwardAge - 100*time.Millisecond).UnixNano()
	// An IDR in three FU-A fragments, then a delta: all late.
	for i, pl := range [][]byte{{0x7c, 0x85, 1}, {0x7c, 0x05, 2}, {0x7c, 0x45, 3}, {0x41, 4}} {
		tr.WriteLayerRTPReceived(0, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(100 + i),
			Timestamp: 3000 * uint32(i/3), Marker: i >= 2}, Payload: pl}, late)
	}
	if got := len(w.take()); got != 3 {
		t.Errorf("late keyframe and delta: got %d forwarded; want the keyframe's 3", got)
	}
	if got := d.Stats().Stale; got != 1 {
		t.Errorf("stats: got %d stale; want 1 (the delta)", got)
	}
}

// TestLateDuplicateNotStale: a packet that comes again (a resend of one that
// was only late) carries its first copy's receive time; it does not stop the
// forwarder.
func TestLateDuplicateNotStale(t *testing.T) {
	t.Parallel()
	f := newH264Sub(t)
	clock, tr, d, w := f.clock, f.tr, f.d, f.w
	first := clock.Now().UnixNano()
	for i, pl := range [][]byte{{0x65, 1}, {0x41, 2}, {0x41, 3}} {
		tr.WriteLayerRTPReceived(0, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(100 + i),
			Timestamp: 3000 * uint32(i), Marker: true}, Payload: pl}, clock.Now().UnixNano())
		clock.Advance(33 * time.Millisecond)
	}
	clock.Advance(maxForwardAge)
	tr.WriteLayerRTPReceived(0, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 101, Timestamp: 3000, Marker: true},
		Payload: []byte{0x41, 2}}, first+int64(33*time.Millisecond))
	tr.WriteLayerRTPReceived(0, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 103, Timestamp: 9000, Marker: true},
		Payload: []byte{0x41, 4}}, clock.Now().UnixNano())
	if got := d.Stats().Stale; got != 0 {
		t.Errorf("stale: got %d; want 0", got)
	}
	if got := d.CurrentLayer(); got != 0 {
		t.Errorf("current layer after the duplicate: got %d; want 0 (still forwarding)", got)
	}
	if out := w.take(); len(out) < 4 || out[len(out)-1].payload[1] != 4 {
		t.Errorf("forwarded: got %d packets; want the fresh one after the duplicate forwarded", len(out))
	}
}

// TestNextShed: a shed starts at shedMin, doubles up to shedMax while the
// server falls behind again soon after, and starts over after shedReset.
func TestNextShed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		last, since time.Duration
		want        time.Duration
	}{
		{"first", 0, time.Hour, shedMin},
		{"again soon", shedMin, time.Second, 2 * shedMin},
		{"at the cap", shedMax, 0, shedMax},
		{"long after", shedMax, shedReset, shedMin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextShed(tc.last, tc.since); got != tc.want {
				t.Errorf("nextShed(%v, %v) = %v; want %v", tc.last, tc.since, got, tc.want)
			}
		})
	}
}

// TestLagWindow: the sustained lag is the least lag of the last complete
// half second, so one late burst (a keyframe's fan-out) does not count and a
// lag that lasts does; after a silence no lag is known.
func TestLagWindow(t *testing.T) {
	t.Parallel()
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var w lagWindow
	at := int64(time.Hour)
	step := func(lags ...int) (last time.Duration) {
		for _, l := range lags {
			last = w.note(at, ms(l))
			at += int64(ms(100))
		}
		return last
	}
	for _, tc := range []struct {
		name string
		lags []int
		want time.Duration
	}{
		{"start", []int{5}, 0},
		{"a burst within the epoch", []int{300, 350, 10, 5, 5}, ms(5)},
		{"a lasting lag", []int{300, 320, 310, 300, 330, 340, 300, 300, 300, 300}, ms(300)},
		{"caught up", []int{5, 5, 5, 5, 5, 5, 5, 5, 5, 5}, ms(5)},
	} {
		if got := step(tc.lags...); got != tc.want {
			t.Errorf("%s: got %v; want %v", tc.name, got, tc.want)
		}
	}
	at += int64(2 * lagEpoch)
	if got := step(400); got != 0 {
		t.Errorf("after a silence: got %v; want 0", got)
	}
}

// TestShedEarly: while the server stays behind its socket by more than
// shedFrom (but less than maxForwardAge, so nothing is stale), video is shed
// at random; at a lag below shedFrom it never is.
func TestShedEarly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		lag      time.Duration
		wantShed bool
	}{
		{"below shedFrom", shedFrom - 50*time.Millisecond, false},
		{"above shedFrom", maxForwardAge - 20*time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newH264Sub(t)
			const n = 1000 // 66 draws at a chance of 20 %: shedding is all but certain
			write := lateFrames(f)
			for i := range n {
				write(i == 0, tc.lag)
			}
			shed := f.d.Stats().Stale
			if got := shed > 0; got != tc.wantShed {
				t.Errorf("shed %d of %d packets at a lag of %v; want shedding %v", shed, n, tc.lag, tc.wantShed)
			}
		})
	}
}

// TestShedResumeWaitsForServer: shed video does not come back while the
// server stays behind (resumeLag), even after its shed is over; once the
// server keeps up, it asks for a keyframe and resumes.
func TestShedResumeWaitsForServer(t *testing.T) {
	t.Parallel()
	f := newH264Sub(t)
	write := lateFrames(f)
	behind := resumeLag + 50*time.Millisecond // lastingly behind (shedLag), but not enough to shed early
	write(true, behind)
	for range int(2 * lagEpoch / (33 * time.Millisecond)) {
		write(false, behind)
	}
	write(false, maxForwardAge+time.Millisecond) // stale: shed
	f.w.take()
	f.asked.Store(0)
	for range int(shedMax / (33 * time.Millisecond)) {
		write(false, behind)
	}
	if got := len(f.w.take()); got != 0 {
		t.Errorf("while the server stays %v behind: got %d forwarded; want 0", behind, got)
	}
	if got := f.asked.Load(); got != 0 {
		t.Errorf("while the server stays %v behind: got %d keyframe requests; want 0", behind, got)
	}
	for range int(2 * (lagEpoch + resumeInterval) / (33 * time.Millisecond)) {
		write(false, 0)
	}
	if got := f.asked.Load(); got == 0 {
		t.Errorf("the server caught up: got no keyframe request; want one")
	}
	write(true, 0)
	if got := len(f.w.take()); got != 1 {
		t.Errorf("the keyframe after: got %d forwarded; want 1", got)
	}
}

// TestShedDraw: a down track is drawn for early shedding once a lagEpoch,
// at a chance of shedShare at maxForwardAge, however many packets it gets.
func TestShedDraw(t *testing.T) {
	t.Parallel()
	var d DownTrack
	at := int64(time.Hour)
	const epochs = 400
	picked := 0
	for range epochs {
		for i := range 50 { // a 1 Mbit/s video's packets in an epoch
			if d.shedDraw(at+int64(i)*int64(lagEpoch/50), maxForwardAge) {
				picked++
			}
		}
		at += int64(lagEpoch)
	}
	if want := shedShare * epochs; float64(picked) < want*0.6 || float64(picked) > want*1.4 {
		t.Errorf("picked %d times in %d epochs; want about %.0f", picked, epochs, want)
	}
}
