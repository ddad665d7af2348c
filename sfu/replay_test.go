package sfu

import (
	"encoding/binary"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/internal/fakeclock"
)

// H.264 payload heads (RFC 6184). Only the first packet of the FU-A IDR
// counts as a keyframe packet; the SEI and the middle and end fragments do not.
var (
	idrFUA   = [][]byte{{0x7c, 0x85}, {0x7c, 0x05}, {0x7c, 0x45}} // FU-A start, middle, end of an IDR slice
	deltaFUA = [][]byte{{0x5c, 0x81}, {0x5c, 0x41}}               // FU-A start, end of a non-IDR slice
	seiNAL   = []byte{0x06, 0x05}                                 // SEI, alone
	spsPPS   = []byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce}   // STAP-A: SPS, PPS
)

// gopPacket is what the RTMP-like publisher sent under one tag.
type gopPacket struct {
	frame, idx, count int
	ts                uint32
}

// gopPub publishes H.264 like the RTMP bridge: a ReplayGOP track, keyframes
// only when it decides. Every payload ends with a 4-byte tag naming it.
type gopPub struct {
	clock *fakeclock.Clock
	track *Track
	seq   uint16
	ts    uint32
	frame int
	id    uint32 // the last tag written
	sent  map[uint32]gopPacket
}

func newGOPPub(t *testing.T) *gopPub {
	t.Helper()
	// Bases chosen to wrap sequence numbers and timestamps in the GOP.
	g := &gopPub{clock: fakeclock.New(), seq: 65500, ts: 0xffff_0000, sent: map[uint32]gopPacket{}}
	g.track = NewTrack(TrackOptions{ID: "v", Owner: "rtmp", Kind: webrtc.RTPCodecTypeVideo, Codec: h264,
		ReplayGOP: true, Now: g.clock.Now})
	t.Cleanup(g.track.Close)
	return g
}

// write sends one frame, a frame interval after the last, of one packet per head.
func (g *gopPub) write(heads ...[]byte) {
	g.clock.Advance(frameInterval)
	for i, h := range heads {
		g.id++
		pl := binary.BigEndian.AppendUint32(append(append([]byte(nil), h...), 0xaa), g.id)
		g.sent[g.id] = gopPacket{frame: g.frame, idx: i, count: len(heads), ts: g.ts}
		g.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 5, SequenceNumber: g.seq,
			Timestamp: g.ts, Marker: i == len(heads)-1}, Payload: pl})
		g.seq++
	}
	g.ts += 3000
	g.frame++
}

func (g *gopPub) deltas(n int) {
	for range n {
		g.write(deltaFUA...)
	}
}

// join subscribes a new bound down track.
func (g *gopPub) join(t *testing.T) (*DownTrack, *recordWriter) {
	t.Helper()
	d := NewDownTrack(g.track)
	w := bindRecorder(t, d, h264, 96)
	g.track.AddSink(d)
	return d, w
}

func tagOf(p sentRTP) uint32 {
	if len(p.payload) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(p.payload[len(p.payload)-4:])
}

// checkReplay verifies what a subscriber got from a replay on: the tags from
// first on, each once and in order; sequence numbers without a gap from
// seq0; replayed frames (tags before live) one tick apart; the first live
// packet at most a frame after the last replayed one (none inside the same
// frame), and later frames at the publisher's pace.
func checkReplay(t *testing.T, g *gopPub, out []sentRTP, first, live uint32, seq0 uint16) {
	t.Helper()
	if len(out) == 0 {
		t.Fatal("got nothing; want the replayed GOP")
	}
	for i, p := range out {
		tag := tagOf(p)
		if want := first + uint32(i); tag != want {
			t.Fatalf("packet %d: got tag %d; want %d (all packets from the keyframe on, once, in order)", i, tag, want)
		}
		if got, want := p.hdr.SequenceNumber, seq0+uint16(i); got != want {
			t.Fatalf("packet %d: got sequence number %d; want %d", i, got, want)
		}
		sp := g.sent[tag]
		if p.hdr.Marker != (sp.idx == sp.count-1) {
			t.Errorf("packet %d: got marker %v; want %v", i, p.hdr.Marker, sp.idx == sp.count-1)
		}
		if i == 0 {
			continue
		}
		prev := g.sent[tag-1]
		step := int64(int32(p.hdr.Timestamp - out[i-1].hdr.Timestamp))
		var lo, hi int64
		switch {
		case sp.frame == prev.frame:
			lo, hi = 0, 0
		case tag < live: // both replayed: decoded at once
			lo, hi = 1, 1
		case tag == live: // back to live: a frame on at most
			lo, hi = 1, 3000
		default:
			lo, hi = 3000, 3000
		}
		if step < lo || step > hi {
			t.Errorf("packet %d (tag %d, first live %d): got timestamp step %d; want %d..%d", i, tag, live, step, lo, hi)
		}
	}
}

// TestTrackReplaysGOP: a subscriber joining a track whose publisher cannot
// make keyframes gets the GOP since the last keyframe from the cache, alone
// and at once, then live in sequence; NACKs for replayed packets are answered.
func TestTrackReplaysGOP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		keyframe [][]byte
		skipped  int // packets of the keyframe before the first a live subscriber can start at
	}{
		{"FU-A IDR", idrFUA, 0},
		{"SEI before the IDR: the replay starts at the frame's first packet", append([][]byte{seiNAL}, idrFUA...), 1},
		{"STAP-A SPS/PPS then the IDR", append([][]byte{spsPPS}, idrFUA...), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGOPPub(t)
			_, early := g.join(t) // there from the start: must see no replayed packet
			g.deltas(3)           // before any keyframe: nobody sees these
			key := g.id + 1
			g.write(tc.keyframe...)
			g.deltas(40)
			if got, want := len(early.take()), len(tc.keyframe)-tc.skipped+80; got != want {
				t.Fatalf("early subscriber: got %d packets; want %d (the keyframe on)", got, want)
			}

			late, w := g.join(t)
			g.deltas(3) // the first live packet asks for the replay, the next one brings it
			live := key + uint32(len(tc.keyframe)) + 80 + 1
			out := w.take()
			checkReplay(t, g, out, key, live, 0)
			if got, want := len(out), len(tc.keyframe)+86; got != want {
				t.Errorf("late subscriber: got %d packets; want %d (the GOP and live)", got, want)
			}
			replayed := int(live - key)
			if span := int32(out[replayed-1].hdr.Timestamp - out[0].hdr.Timestamp); span != 41 {
				t.Errorf("replayed span: got %d ticks; want 41 (42 frames a tick apart)", span)
			}
			for i, p := range early.take() {
				if got, want := tagOf(p), live-1+uint32(i); got != want || i >= 6 {
					t.Errorf("early subscriber after the join: packet %d: got tag %d; want %d of the 6 live ones", i, got, want)
				}
			}

			// NACKs for the replayed keyframe and a replayed delta: resent as sent.
			if got := late.handleNACK([]uint16{0, 10}); got != 2 {
				t.Fatalf("handleNACK: got %d resent; want 2", got)
			}
			for i, p := range w.take() {
				if orig := out[[]int{0, 10}[i]]; !samePacket(p, orig) {
					t.Errorf("resent %d: got seq %d ts %d tag %d; want seq %d ts %d tag %d", i, p.hdr.SequenceNumber,
						p.hdr.Timestamp, tagOf(p), orig.hdr.SequenceNumber, orig.hdr.Timestamp, tagOf(orig))
				}
			}

			// A keyframe request now replays nothing more: that keyframe was
			// replayed already; the subscriber waits for the next one.
			late.pictureLost()
			g.deltas(2)
			more := w.take()
			checkReplay(t, g, append(out, more...), key, live, 0)
			if len(more) != 4 {
				t.Errorf("after a keyframe request: got %d packets; want the 4 live ones", len(more))
			}
		})
	}
}

// TestTrackReplayWaitsForKeyframe: without a keyframe to replay, a subscriber
// waits for the next natural one, as for any publisher.
func TestTrackReplayWaitsForKeyframe(t *testing.T) {
	t.Parallel()
	big := append([]byte{0x7c, 0x85}, make([]byte, maxPacketSize)...)
	tests := []struct {
		name   string
		before func(g *gopPub)
	}{
		{"nothing cached", func(g *gopPub) { g.deltas(5) }},
		{"the keyframe's first packet too big to cache", func(g *gopPub) {
			g.write(big, idrFUA[1], idrFUA[2])
			g.deltas(5)
		}},
		{"the GOP so far too long to replay", func(g *gopPub) {
			g.write(idrFUA...)
			g.deltas(maxReplayPackets / 2)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGOPPub(t)
			tc.before(g)
			_, w := g.join(t)
			g.deltas(5)
			if got := len(w.take()); got != 0 {
				t.Fatalf("before the next keyframe: got %d packets; want 0", got)
			}
			key := g.id + 1
			g.write(idrFUA...)
			g.deltas(2)
			out := w.take()
			if len(out) != 7 || tagOf(out[0]) != key || out[0].hdr.SequenceNumber != 0 {
				t.Fatalf("got %d packets, first tag %d seq %d; want 7 from the keyframe (tag %d, seq 0)",
					len(out), tagOf(out[0]), out[0].hdr.SequenceNumber, key)
			}
			checkReplay(t, g, out, key, key, 0) // nothing replayed: all live
		})
	}
}

// TestTrackReplayPerSubscriber: every subscriber that joins gets its own
// replay, unseen by the others; one that pauses and resumes gets one again.
func TestTrackReplayPerSubscriber(t *testing.T) {
	t.Parallel()
	g := newGOPPub(t)
	key := g.id + 1
	g.write(idrFUA...)
	g.deltas(10)

	_, w1 := g.join(t)
	g.deltas(2)
	live1 := key + 3 + 20 + 1
	out1 := w1.take()
	checkReplay(t, g, out1, key, live1, 0)

	g.deltas(20)
	out1 = append(out1, w1.take()...)
	_, w2 := g.join(t)
	g.deltas(2)
	live2 := key + 3 + 20 + 4 + 40 + 1
	checkReplay(t, g, w2.take(), key, live2, 0)
	out1 = append(out1, w1.take()...)
	checkReplay(t, g, out1, key, live1, 0) // the second replay went to the second subscriber alone

	// A third, joining while the second's replay is asked for but not yet done.
	d3, w3 := g.join(t)
	g.write(deltaFUA[0])
	_, w4 := g.join(t)
	g.write(deltaFUA[0])
	g.write(deltaFUA[0])
	live3, live4 := g.id-1, g.id
	out3 := w3.take()
	checkReplay(t, g, out3, key, live3, 0)
	checkReplay(t, g, w4.take(), key, live4, 0)

	// Paused, then resumed: the same keyframe replayed again, in sequence.
	d3.SetTargetLayer(-1)
	g.deltas(3)
	before := append(out3, w3.take()...)
	d3.SetTargetLayer(0)
	g.clock.Advance(frameInterval * 10)
	g.deltas(2)
	after := w3.take()
	if len(after) == 0 || tagOf(after[0]) != key {
		t.Fatalf("after resuming: got %d packets; want the GOP again from tag %d", len(after), key)
	}
	last := before[len(before)-1]
	if got, want := after[0].hdr.SequenceNumber, last.hdr.SequenceNumber+1; got != want {
		t.Errorf("after resuming: got sequence number %d; want %d", got, want)
	}
	if step := int32(after[0].hdr.Timestamp - last.hdr.Timestamp); step <= 0 {
		t.Errorf("after resuming: got timestamp step %d; want forward", step)
	}
	checkReplay(t, g, after, key, g.id-1, after[0].hdr.SequenceNumber)
}
