package simulcast

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/sfu"
)

// sinkFunc makes a function an sfu.Sink.
type sinkFunc func(p *sfu.ExtPacket)

func (f sinkFunc) WriteRTP(p *sfu.ExtPacket) error { f(p); return nil }

type taken struct {
	seq uint16
	ts  uint32
}

// TestFollowerRebasesLayerSwitch: consumers take their clock from RTP
// timestamps, and simulcast layers have their own sequence and timestamp
// bases; the Follower must put out one continuous stream when it moves to a
// higher layer and when it falls back from a layer that stopped.
func TestFollowerRebasesLayerSwitch(t *testing.T) {
	now := time.Unix(1000, 0)
	track := sfu.NewTrack(sfu.TrackOptions{ID: "v", Owner: "b", Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000},
		RIDs:  []string{"q", "h"}, Now: func() time.Time { return now }})
	var switches [][2]int
	f := New(track, Options{Now: func() time.Time { return now }, OnSwitch: func(from, to int) { switches = append(switches, [2]int{from, to}) }})
	var got []taken
	track.AddSink(sinkFunc(func(p *sfu.ExtPacket) {
		if seq, ts, ok := f.Take(p); ok {
			got = append(got, taken{seq, ts})
		}
	}))

	idr, delta := []byte{0x65, 1, 2}, []byte{0x41, 1, 2}
	write := func(layer int, seq uint16, ts uint32, payload []byte) {
		track.WriteLayerRTP(layer, &rtp.Packet{Header: rtp.Header{SSRC: uint32(10 + layer), SequenceNumber: seq,
			Timestamp: ts, Marker: true, PayloadType: 102}, Payload: payload})
	}
	// Only the low layer at first (the publisher's uplink is still ramping up).
	for i := range 5 {
		p := delta
		if i == 0 {
			p = idr
		}
		write(0, uint16(65530+i), uint32(4_000_000_000+i*3000), p)
		now = now.Add(33 * time.Millisecond)
	}
	// The top layer starts with an unrelated base; its delta frames are skipped
	// until its keyframe, while the low layer goes on.
	write(1, 100, 77, delta)
	write(0, 65535, 4_000_015_000, delta)
	now = now.Add(33 * time.Millisecond)
	write(1, 101, 3077, idr)
	write(0, 0, 4_000_018_000, delta) // the low layer is no longer taken
	now = now.Add(33 * time.Millisecond)
	write(1, 102, 6077, delta)
	// The top layer stops (the publisher's uplink dropped it) while the low
	// one goes on: after layerStall the Follower falls back at the low keyframe.
	for i := range 15 {
		now = now.Add(33 * time.Millisecond)
		p := delta
		if i == 14 {
			p = idr
		}
		write(0, uint16(1+i), uint32(4_000_021_000+i*3000), p)
	}

	if len(got) != 9 {
		t.Fatalf("got %d packets; want 9 (6 of the low layer, 2 of the top, the low keyframe)", len(got))
	}
	// The fall-back keyframe comes 15 frames (495 ms) after the last top packet.
	if d := got[8].ts - got[7].ts; d < 40_000 || d > 50_000 {
		t.Errorf("timestamp step across the stall %d; want about 44550 (495 ms at 90 kHz)", d)
	}
	for i := 1; i < len(got); i++ {
		if got[i].seq != got[i-1].seq+1 {
			t.Errorf("packet %d: seq %d after %d; want consecutive", i, got[i].seq, got[i-1].seq)
		}
		if d := int32(got[i].ts - got[i-1].ts); d <= 0 || (i < 8 && d > 6000) {
			t.Errorf("packet %d: timestamp step %d; want 1..6000 (about one frame)", i, d)
		}
	}
	if want := [][2]int{{-1, 0}, {0, 1}, {1, 0}}; len(switches) != len(want) || switches[0] != want[0] || switches[1] != want[1] || switches[2] != want[2] {
		t.Errorf("switches: got %v; want %v", switches, want)
	}
}
