package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/internal/fakeclock"
)

// TestStaleVideoNotForwarded: video the server got to more than
// maxForwardAge after it reached the socket is dropped, the forwarder waits
// for a keyframe (asked for by the first fresh packet), and the subscriber
// sees one continuous stream across the gap.
func TestStaleVideoNotForwarded(t *testing.T) {
	t.Parallel()
	f := newH264Sub(t)
	clock, tr, d, w, asked := f.clock, f.tr, f.d, f.w, &f.asked
	var seq uint16
	write := func(key bool, late time.Duration) {
		pl := []byte{0x41, 1, 2, 3}
		if key {
			pl[0] = 0x65
		}
		received := clock.Now().Add(-late).UnixNano()
		tr.WriteLayerRTPReceived(0, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 1000 + seq,
			Timestamp: uint32(seq) * 3000, Marker: true}, Payload: pl}, received)
		seq++
		clock.Advance(33 * time.Millisecond)
	}
	write(true, 0)
	write(false, 10*time.Millisecond)
	write(false, maxForwardAge-time.Millisecond)
	if got := len(w.take()); got != 3 {
		t.Fatalf("fresh: got %d forwarded; want 3", got)
	}
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
		t.Errorf("while stale: got %d keyframe requests; want 0 (the server is behind: a keyframe would be late too)", got)
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
	if out[0].hdr.SequenceNumber != 3 || out[1].hdr.SequenceNumber != 4 {
		t.Errorf("sequence numbers after the gap: got %d, %d; want 3, 4 (continuous)", out[0].hdr.SequenceNumber, out[1].hdr.SequenceNumber)
	}
	if out[0].hdr.Timestamp <= 2*3000 {
		t.Errorf("timestamp after the gap: got %d; want past %d", out[0].hdr.Timestamp, 2*3000)
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
