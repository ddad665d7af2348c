package sfu

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/openroom/openroom/internal/fakeclock"
	"github.com/openroom/openroom/internal/testutil"
)

// Payload types the pacer tests use to tell audio from video in the output.
const (
	ptAudio = 111
	ptVideo = 96
)

// manualPacer is a pacer without its goroutine: the test drains it, on a fake
// clock, so every decision is deterministic.
func manualPacer(clock *fakeclock.Clock, bitsPerSecond float64) *pacer {
	p := &pacer{now: clock.Now, batch: noBatch{}, slots: newSlotPool(), wake: make(chan struct{}, 1), done: make(chan struct{})}
	p.setRate(bitsPerSecond)
	return p
}

func (p *pacer) drainNow() {
	var batch []*queued
	p.drain(&batch)
}

// delay is how long the oldest queued video packet has waited.
func (p *pacer) delay() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.queues[classVideo]
	if len(q) == 0 {
		return 0
	}
	return time.Duration(p.now().UnixNano() - q[0].at)
}

// queuedLen reports how many packets wait and how many slots exist.
func (p *pacer) queuedLen() (waiting, allocated int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pendingLocked(), p.held
}

// writePkt queues one packet: seq identifies it, size is its payload.
func writePkt(p *pacer, w webrtc.TrackLocalWriter, video bool, seq uint16, size int) {
	pt := uint8(ptAudio)
	if video {
		pt = ptVideo
	}
	hdr := rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq}
	class := classAudio
	if video {
		class = classVideo
	}
	p.write(w, &hdr, make([]byte, size), class, 0)
	hdr.SequenceNumber = 0xdead // the pacer must have copied what it queued
}

type pktID struct {
	video bool
	seq   uint16
}

func ids(out []sentRTP) []pktID {
	r := make([]pktID, len(out))
	for i, p := range out {
		r[i] = pktID{p.hdr.PayloadType == ptVideo, p.hdr.SequenceNumber}
	}
	return r
}

func TestPacerBoundedQueue(t *testing.T) {
	t.Parallel()
	type burst struct {
		video bool
		n     int
	}
	tests := []struct {
		name        string
		writes      []burst
		wantDropped uint64
		wantAudio   []uint16 // audio that survives, in order
		wantVideo   []uint16 // first and last video that survive
	}{
		{"video flood keeps the newest", []burst{{true, 2000}}, 2000 - maxQueued, nil, []uint16{2000 - maxQueued, 1999}},
		{"audio flood keeps the newest", []burst{{false, 1000}}, 1000 - maxQueued, seqRange(1000-maxQueued, 1000), nil},
		{"audio displaces the oldest video", []burst{{true, maxQueued}, {false, 100}}, 100, seqRange(0, 100),
			[]uint16{100, maxQueued - 1}},
		{"video refused when full of audio", []burst{{false, maxQueued}, {true, 10}}, 10, seqRange(0, maxQueued), nil},
		{"mixed flood", []burst{{true, 300}, {false, 50}, {true, 300}, {false, 50}}, 700 - maxQueued, seqRange(0, 100),
			[]uint16{600 - (maxQueued - 100), 599}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := fakeclock.New()
			p := manualPacer(clock, 20e6)
			w := &recordWriter{}
			var seqA, seqV uint16
			for _, b := range tc.writes {
				for range b.n {
					if b.video {
						writePkt(p, w, true, seqV, 1000)
						seqV++
					} else {
						writePkt(p, w, false, seqA, 100)
						seqA++
					}
					if waiting, allocated := p.queuedLen(); waiting > maxQueued || allocated > maxQueued {
						t.Fatalf("got %d queued in %d slots; want at most %d", waiting, allocated, maxQueued)
					}
				}
			}
			if p.dropped != tc.wantDropped {
				t.Errorf("dropped: got %d; want %d", p.dropped, tc.wantDropped)
			}
			// Let everything out (well within maxVideoDelay).
			for range 100 {
				clock.Advance(time.Millisecond)
				p.drainNow()
			}
			var audio, video []uint16
			for _, id := range ids(w.take()) {
				if id.video {
					video = append(video, id.seq)
				} else {
					audio = append(audio, id.seq)
				}
			}
			if !slices.Equal(audio, tc.wantAudio) {
				t.Errorf("audio sent: got %v; want %v", summary(audio), summary(tc.wantAudio))
			}
			if tc.wantVideo == nil && len(video) > 0 {
				t.Errorf("video sent: got %v; want none", summary(video))
			}
			if tc.wantVideo != nil {
				if want := seqRange(int(tc.wantVideo[0]), int(tc.wantVideo[1])+1); !slices.Equal(video, want) {
					t.Errorf("video sent: got %v; want %v", summary(video), summary(want))
				}
			}
		})
	}
}

func seqRange(from, to int) []uint16 {
	var r []uint16
	for i := from; i < to; i++ {
		r = append(r, uint16(i))
	}
	return r
}

// summary shortens a sequence for messages: first, last and count.
func summary(s []uint16) string {
	if len(s) == 0 {
		return "[]"
	}
	return fmt.Sprintf("[%d..%d] (%d)", s[0], s[len(s)-1], len(s))
}

// queuedPacer is a paced connection with 5 video packets (0-4) and an audio
// packet (0) queued at the clock's time.
func queuedPacer() (*fakeclock.Clock, *pacer, *recordWriter) {
	clock := fakeclock.New()
	p := manualPacer(clock, 1e6)
	w := &recordWriter{}
	for i := range 5 {
		writePkt(p, w, true, uint16(i), 1000)
	}
	writePkt(p, w, false, 0, 100)
	return clock, p, w
}

func TestPacerDropsStaleVideo(t *testing.T) {
	t.Parallel()
	clock, p, w := queuedPacer()
	clock.Advance(maxVideoDelay - 100*time.Millisecond)
	writePkt(p, w, true, 5, 1000) // behind the others: queued, not sent at once
	clock.Advance(150 * time.Millisecond)
	if got, want := p.delay(), maxVideoDelay+50*time.Millisecond; got != want {
		t.Errorf("delay: got %v; want %v", got, want)
	}
	p.drainNow()
	got := ids(w.take())
	want := []pktID{{false, 0}, {true, 5}}
	if !slices.Equal(got, want) {
		t.Errorf("sent: got %v; want %v (video older than %v dropped, audio up to %v kept)", got, want, maxVideoDelay, maxAudioForwardAge)
	}
	if p.dropped != 5 {
		t.Errorf("dropped: got %d; want 5", p.dropped)
	}
	if got := p.delay(); got != 0 {
		t.Errorf("delay after drain: got %v; want 0", got)
	}
}

// TestPacerDropsStaleAudio: audio that waited longer than
// maxAudioForwardAge (a server starved of CPU) is dropped too.
func TestPacerDropsStaleAudio(t *testing.T) {
	t.Parallel()
	clock, p, w := queuedPacer()
	clock.Advance(maxAudioForwardAge + 10*time.Millisecond)
	writePkt(p, w, false, 1, 100)
	p.drainNow()
	if got, want := ids(w.take()), []pktID{{false, 1}}; !slices.Equal(got, want) {
		t.Errorf("sent: got %v; want %v (audio older than %v dropped)", got, want, maxAudioForwardAge)
	}
	if p.dropped != 6 {
		t.Errorf("dropped: got %d; want 6", p.dropped)
	}
}

func TestPacerAudioFirst(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		writes []pktID
		want   []pktID
	}{
		{"audio queued after video goes first",
			[]pktID{{true, 1}, {true, 2}, {true, 3}, {false, 1}, {false, 2}},
			[]pktID{{false, 1}, {false, 2}, {true, 1}, {true, 2}, {true, 3}}},
		{"interleaved",
			[]pktID{{false, 1}, {true, 1}, {false, 2}, {true, 2}, {false, 3}},
			[]pktID{{false, 1}, {false, 2}, {false, 3}, {true, 1}, {true, 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := fakeclock.New()
			p := manualPacer(clock, 1e6)
			w := &recordWriter{}
			for _, id := range tc.writes {
				writePkt(p, w, id.video, id.seq, 200)
			}
			if got := len(w.take()); got != 0 {
				t.Fatalf("before any budget: got %d sent; want 0", got)
			}
			clock.Advance(10 * time.Millisecond) // 3125 bytes of budget at 2.5 x 1 Mbit/s
			p.drainNow()
			if got := ids(w.take()); !slices.Equal(got, tc.want) {
				t.Errorf("sent: got %v; want %v", got, tc.want)
			}
		})
	}
}

// TestPacerResendsBeforeVideo: a resend repairs a frame already sent, which
// the frames after it may need: it leaves after audio and before new video,
// and is dropped as stale as video is.
func TestPacerResendsBeforeVideo(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New()
	p := manualPacer(clock, 1e6)
	w := &recordWriter{}
	for seq := uint16(1); seq <= 3; seq++ {
		writePkt(p, w, true, seq, 200)
	}
	resend := rtp.Header{Version: 2, PayloadType: ptVideo, SequenceNumber: 9}
	p.write(w, &resend, make([]byte, 200), classResend, 0)
	writePkt(p, w, false, 1, 100)
	clock.Advance(10 * time.Millisecond)
	p.drainNow()
	want := []pktID{{false, 1}, {true, 9}, {true, 1}, {true, 2}, {true, 3}}
	if got := ids(w.take()); !slices.Equal(got, want) {
		t.Errorf("sent: got %v; want %v", got, want)
	}

	for seq := uint16(4); seq <= 7; seq++ {
		writePkt(p, w, true, seq, 1000) // uses up the budget: what follows is queued
	}
	resend.SequenceNumber = 10
	p.write(w, &resend, make([]byte, 200), classResend, 0)
	clock.Advance(maxVideoDelay + time.Millisecond)
	p.drainNow()
	if got := ids(w.take()); slices.Contains(got, pktID{true, 10}) {
		t.Errorf("a resend queued longer than %v: got %v sent; want it dropped", maxVideoDelay, got)
	}
}

func TestPacerRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		bps  float64
	}{
		{"1 Mbit/s", 1e6},
		{"below the minimum rate", 10_000},
		{"5 Mbit/s", 5e6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := fakeclock.New()
			p := manualPacer(clock, tc.bps)
			w := &recordWriter{}
			const size = 1188 // 1200 bytes with the RTP header the pacer counts
			for i := range maxQueued {
				writePkt(p, w, true, uint16(i), size)
			}
			rate := max(tc.bps, minPacingRate) * pacingFactor / 8 // bytes/s
			burst := rate * pacerBurst.Seconds()
			sent := 0.0
			const step, steps = 5 * time.Millisecond, 60
			for range steps {
				clock.Advance(step)
				p.drainNow()
				n := float64(len(w.take()) * (size + 12))
				if n > burst+size+12 {
					t.Fatalf("one drain: got %.0f bytes; want at most the burst %.0f and one packet", n, burst)
				}
				sent += n
			}
			elapsed := (step * steps).Seconds()
			if want := rate * elapsed; sent > want+size+12 || (sent < want-size-12 && sent < maxQueued*(size+12)) {
				t.Errorf("sent %.0f bytes in %v; want %.0f (pacing at %.0f B/s)", sent, step*steps, want, rate)
			}
		})
	}
}

// TestPacerBurstAfterIdle: budget saved while idle is capped, so a burst
// after a quiet second (a keyframe) still leaves at the pacing rate.
func TestPacerBurstAfterIdle(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New()
	p := manualPacer(clock, 1e6)
	w := &recordWriter{}
	p.drainNow() // starts the token clock
	clock.Advance(time.Second)
	const size = 988 // 1000 bytes with the RTP header
	for i := range 100 {
		writePkt(p, w, true, uint16(i), size)
	}
	p.drainNow()
	burst := max(1e6, minPacingRate) * pacingFactor / 8 * pacerBurst.Seconds()
	if got := len(w.take()) * (size + 12); float64(got) > burst+size+12 {
		t.Errorf("after 1 s idle: got %d bytes at once; want at most the burst %.0f and one packet", got, burst)
	}
}

func TestPacerSendsAtOnceWhenIdle(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New()
	p := manualPacer(clock, 1e6)
	w := &recordWriter{}
	writePkt(p, w, true, 1, 100) // no budget yet: queued
	clock.Advance(20 * time.Millisecond)
	p.drainNow()
	if got := len(w.take()); got != 1 {
		t.Fatalf("drain: got %d sent; want 1", got)
	}
	writePkt(p, w, true, 2, 100)
	writePkt(p, w, false, 3, 100)
	if got := ids(w.take()); !slices.Equal(got, []pktID{{true, 2}, {false, 3}}) {
		t.Errorf("with budget and nothing queued: got %v sent at once; want both", got)
	}
	if waiting, _ := p.queuedLen(); waiting != 0 {
		t.Errorf("queued: got %d; want 0", waiting)
	}
}

func TestPacerProbe(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New()
	p := manualPacer(clock, 1e6)
	w := &recordWriter{}
	pads, queued := 0, 0
	src := func(n int) bool {
		if n != paddingPerPkt {
			t.Errorf("padding size: got %d; want %d", n, paddingPerPkt)
		}
		w.mu.Lock()
		if sent := len(w.pkts); sent < queued {
			t.Errorf("padding with media waiting: got %d of %d media packets sent first; want all", sent, queued)
		}
		w.mu.Unlock()
		pads++
		return true
	}
	p.drainNow() // starts the token clock
	clock.Advance(10 * time.Millisecond)
	p.probe(800_000, time.Second, src)
	// 100 kB/s: what is owed for the time that passed, in 255-byte packets
	// (the rest carries over), however late the pacer wakes.
	for i, step := range []struct {
		wait time.Duration
		want int
	}{
		{10 * time.Millisecond, 3},  // 1000 bytes
		{10 * time.Millisecond, 4},  // 235 + 1000
		{25 * time.Millisecond, 10}, // 215 + 2500: a late wake-up makes up for it
		{90 * time.Millisecond, 15}, // at most pacerBurst's worth (4000 bytes)
	} {
		pads = 0
		clock.Advance(step.wait)
		p.drainNow()
		if pads != step.want {
			t.Errorf("step %d, after %v: got %d padding packets; want %d", i, step.wait, pads, step.want)
		}
	}
	p.probe(800_000, 100*time.Millisecond, src)
	// Media first: more than one batch waits, padding only after it.
	pads = 0
	p.mu.Lock()
	p.tokens = -1 // no budget: what follows queues
	p.mu.Unlock()
	queued = 2*pacerBatch + 5
	for i := range queued {
		writePkt(p, w, true, uint16(i), 100)
	}
	clock.Advance(20 * time.Millisecond)
	p.drainNow()
	if got := len(w.take()); got != queued {
		t.Errorf("media: got %d sent; want %d", got, queued)
	}
	if pads == 0 {
		t.Errorf("once the queue is empty: got no padding; want some")
	}
	queued = 0
	// After the probe's end, none.
	pads = 0
	clock.Advance(200 * time.Millisecond)
	p.drainNow()
	p.drainNow()
	if pads != 0 {
		t.Errorf("after the probe: got %d padding packets; want 0", pads)
	}
	// Stopped early, none.
	p.probe(800_000, time.Second, src)
	p.stopProbe()
	clock.Advance(10 * time.Millisecond)
	p.drainNow()
	if pads != 0 {
		t.Errorf("after stopProbe: got %d padding packets; want 0", pads)
	}
}

// TestPacerRunDrains runs the pacer's own goroutine on the real clock.
func TestPacerRunDrains(t *testing.T) {
	t.Parallel()
	p := newPacer(time.Now, 5e6, nil, nil)
	defer p.close()
	w := &recordWriter{}
	var out []sentRTP
	for i := range 200 {
		writePkt(p, w, i%5 == 0, uint16(i), 500)
	}
	testutil.Eventually(t, 5*time.Second, "every packet sent", func() bool {
		out = append(out, w.take()...)
		return len(out) == 200
	})
	last := map[bool]int{true: -1, false: -1}
	for _, id := range ids(out) {
		if int(id.seq) <= last[id.video] {
			t.Fatalf("got %v after %d; want each kind in order", id, last[id.video])
		}
		last[id.video] = int(id.seq)
	}
}

// TestPacerCloseLeavesNoGoroutine is not parallel: goleak sees the whole process.
func TestPacerCloseLeavesNoGoroutine(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	tests := []struct {
		name    string
		queued  int // packets left in the queue at close
		probing bool
	}{
		{"idle", 0, false},
		{"packets queued", 100, false},
		{"probing", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPacer(time.Now, minPacingRate, nil, nil)
			w := &recordWriter{}
			for i := range tc.queued {
				writePkt(p, w, true, uint16(i), 1200)
			}
			if tc.probing {
				p.probe(1e6, time.Minute, func(int) bool { return true })
			}
			p.close()
			p.close() // twice is harmless
			goleak.VerifyNone(t, opt)
		})
	}
}

// TestDownTrackThroughPacer: a down track's packets keep their own header
// when queued; resends leave ahead of queued video; packets sent before the
// last keyframe are resent too (Chromium assembles the keyframe only once the
// number before it is in).
func TestDownTrackThroughPacer(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New()
	tr := NewTrack(TrackOptions{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Codec: h264, Now: clock.Now})
	p := manualPacer(clock, 1e6)
	d := newDownTrack(tr, p, clock.Now)
	w := bindRecorder(t, d, h264, 96)
	tr.AddSink(d)
	pl := make([]byte, 1000)
	write := func(seq uint16, key bool) {
		t.Helper()
		pl[0] = 0x41
		if key {
			pl[0] = 0x65
		}
		tr.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 500 + seq, Timestamp: uint32(seq) * 3000}, Payload: pl})
	}
	for i := range uint16(20) {
		write(i, i == 0)
	}
	if got := len(w.take()); got != 0 {
		t.Fatalf("without budget: got %d sent; want 0", got)
	}
	clock.Advance(maxVideoDelay/2 + time.Millisecond)
	if got := d.handleNACK([]uint16{1, 2}); got != 2 {
		t.Errorf("NACK with video queued for %v: got %d resent; want 2", p.delay(), got)
	}
	for range 20 {
		clock.Advance(10 * time.Millisecond)
		p.drainNow()
	}
	out := w.take()
	if len(out) != 22 {
		t.Fatalf("got %d sent; want 22", len(out))
	}
	for i, pkt := range out {
		want := uint16(i - 2) // the two resends first, then the 20 in order
		if i < 2 {
			want = uint16(i + 1)
		}
		if pkt.hdr.SequenceNumber != want || pkt.hdr.Timestamp != uint32(want)*3000 || pkt.hdr.SSRC != 777 {
			t.Errorf("packet %d: got seq %d ts %d ssrc %d; want %d, %d, 777", i, pkt.hdr.SequenceNumber, pkt.hdr.Timestamp,
				pkt.hdr.SSRC, want, int(want)*3000)
		}
	}

	write(20, true)
	write(21, false)
	clock.Advance(200 * time.Millisecond)
	p.drainNow()
	w.take()
	if got := d.handleNACK([]uint16{3, 4, 19}); got != 3 {
		t.Errorf("NACK of packets sent before the last keyframe: got %d resent; want 3", got)
	}
	if got := d.handleNACK([]uint16{20, 21}); got != 2 {
		t.Errorf("NACK of the last keyframe and a packet after it: got %d resent; want 2", got)
	}
}

// TestPacerResendBudget: resends take at most resendShare of the estimate
// (after a first burst of a few packets), so a full link is not filled
// further by answers to the NACKs its loss causes.
func TestPacerResendBudget(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New()
	p := manualPacer(clock, 1e6)
	p.setResendRate(1_000_000) // 150 kbit/s of resends: 18750 B/s
	sent := 0
	for range 10 * 100 { // 10 s of 100 resend attempts of 1000 B a second
		if p.allowResend(1000) {
			sent += 1000
		}
		clock.Advance(10 * time.Millisecond)
	}
	want := 10 * 1_000_000 * resendShare / 8
	if burst := max(1_000_000*resendShare/8*resendBurst.Seconds(), 4*maxPacketSize); float64(sent) > want+burst || float64(sent) < want-1000 {
		t.Errorf("resent %d B in 10 s; want about %.0f (+ a burst of at most %.0f)", sent, want, burst)
	}
}
