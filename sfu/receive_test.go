package sfu

import (
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/internal/fakeclock"
)

// TestReceiveCounters: what arrives from a publisher, counted as a receiver
// report would: packets expected from the sequence numbers (across a wrap),
// packets received (a resent one repairs its loss), and the jitter.
func TestReceiveCounters(t *testing.T) {
	t.Parallel()
	type pkt struct {
		seq   uint16
		delay time.Duration // arrival later than the timestamp says
	}
	inOrder := func(from uint16, n int, skip func(i int) bool) []pkt {
		var out []pkt
		for i := range n {
			if skip == nil || !skip(i) {
				out = append(out, pkt{seq: from + uint16(i)})
			}
		}
		return out
	}
	tests := []struct {
		name           string
		pkts           []pkt
		wantExpected   uint64
		wantReceived   uint64
		wantJitterOver float64 // seconds; the jitter must be above this ...
		wantJitterMax  float64 // ... and at most this
	}{
		{"in order, steady", inOrder(100, 100, nil), 100, 100, -1, 0.0001},
		{"every 10th lost", inOrder(100, 100, func(i int) bool { return i%10 == 5 }), 100, 90, -1, 0.0001},
		{"across the sequence number wrap", inOrder(65500, 100, func(i int) bool { return i == 50 }), 100, 99, -1, 0.0001},
		{"lost, then resent", append(inOrder(1, 50, func(i int) bool { return i == 20 }), pkt{seq: 21, delay: 100 * time.Millisecond}), 50, 50, -1, 0.0001},
		{"arrivals 20 ms late every other packet", func() []pkt {
			p := inOrder(1, 200, nil)
			for i := range p {
				if i%2 == 1 {
					p[i].delay = 20 * time.Millisecond
				}
			}
			return p
		}(), 200, 200, 0.010, 0.021},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := fakeclock.New()
			start := clock.Now()
			var at time.Time // each packet's arrival; the clock only moves forward, this need not
			tr := NewTrack(TrackOptions{ID: "v", Owner: "alice", Kind: webrtc.RTPCodecTypeVideo, Codec: h264,
				Now: func() time.Time { return at }})
			defer tr.Close()
			const frame = 3000 * time.Second / 90000 // what one frame's 3000 timestamp ticks last
			for _, p := range tc.pkts {
				// A packet's time is its place in the sequence (one frame each), plus its delay.
				n := time.Duration(p.seq - tc.pkts[0].seq)
				at = start.Add(n*frame + p.delay)
				tr.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SSRC: 1, SequenceNumber: p.seq,
					Timestamp: uint32(n * 3000)}, Payload: []byte{0x41, 1, 2}})
			}
			tr.layers[0].rx.publish() // what the next packets would publish (every rxPublishEvery)
			c := tr.ReceiveCounters()
			if c.Expected != tc.wantExpected || c.Received != tc.wantReceived {
				t.Errorf("got expected %d, received %d; want %d, %d", c.Expected, c.Received, tc.wantExpected, tc.wantReceived)
			}
			if c.Jitter <= tc.wantJitterOver || c.Jitter > tc.wantJitterMax {
				t.Errorf("got jitter %.4f s; want in (%.4f, %.4f]", c.Jitter, tc.wantJitterOver, tc.wantJitterMax)
			}
		})
	}
}

func TestUplinkLoss(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		prev, cur ReceiveCounters
		want      float64
	}{
		{"nothing new", ReceiveCounters{Expected: 100, Received: 100}, ReceiveCounters{Expected: 100, Received: 100}, 0},
		{"10 of 100 lost in the window", ReceiveCounters{Expected: 100, Received: 100}, ReceiveCounters{Expected: 200, Received: 190}, 0.1},
		{"earlier losses repaired now", ReceiveCounters{Expected: 100, Received: 90}, ReceiveCounters{Expected: 200, Received: 200}, 0},
		{"a track republished: counters smaller", ReceiveCounters{Expected: 500, Received: 500}, ReceiveCounters{Expected: 50, Received: 40}, 0},
		{"first window", ReceiveCounters{}, ReceiveCounters{Expected: 50, Received: 45}, 0.1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := uplinkLoss(tc.prev, tc.cur); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("got %v; want %v", got, tc.want)
			}
		})
	}
}
