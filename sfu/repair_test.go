package sfu

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/internal/fakeclock"
)

// h264Sub is one subscriber (no pacer) of an H.264 track on a fake clock,
// counting the keyframe requests that reach the publisher.
type h264Sub struct {
	clock *fakeclock.Clock
	tr    *Track
	d     *DownTrack
	w     *recordWriter
	asked atomic.Int32
}

func newH264Sub(t *testing.T) *h264Sub {
	t.Helper()
	f := &h264Sub{clock: fakeclock.New()}
	f.tr = NewTrack(TrackOptions{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Codec: h264, Now: f.clock.Now,
		RequestLayerKeyframe: func(int) { f.asked.Add(1) }})
	f.d = newDownTrack(f.tr, nil, f.clock.Now)
	f.w = bindRecorder(t, f.d, h264, 96)
	f.tr.AddSink(f.d)
	return f
}

// repairFixture is one subscriber of an H.264 track that has been sent a
// keyframe (seq 0) and nine delta frames, 10 ms apart.
type repairFixture struct {
	*h264Sub
	next uint16
}

func newRepairFixture(t *testing.T) *repairFixture {
	t.Helper()
	f := &repairFixture{h264Sub: newH264Sub(t)}
	for i := range 10 {
		f.write(i == 0)
	}
	f.asked.Store(0)
	return f
}

func (f *repairFixture) write(key bool) {
	pl := []byte{0x41, 1, 2, 3}
	if key {
		pl[0] = 0x65
	}
	f.tr.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 100 + f.next, Timestamp: uint32(f.next) * 3000}, Payload: pl})
	f.next++
	f.clock.Advance(10 * time.Millisecond)
}

// TestNACKRepairsWithKeyframe: when a packet the picture needs can no longer
// be resent, the down track asks the publisher for a keyframe at once,
// instead of leaving the subscriber frozen until it asks itself; losses the
// picture no longer needs ask for nothing.
func TestNACKRepairsWithKeyframe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(f *repairFixture)
		want int32 // keyframe requests
	}{
		{"resent as often as allowed, asked again", func(f *repairFixture) {
			for range maxResends + 1 {
				f.d.handleNACK([]uint16{5})
				f.clock.Advance(150 * time.Millisecond)
			}
		}, 1},
		{"resent, asked again within the round trip", func(f *repairFixture) {
			f.d.handleNACK([]uint16{5})
			f.d.handleNACK([]uint16{5})
		}, 0},
		{"older than nackMaxAge", func(f *repairFixture) {
			f.clock.Advance(nackMaxAge)
			f.d.handleNACK([]uint16{5})
		}, 1},
		{"a keyframe packet older than nackMaxAge", func(f *repairFixture) {
			f.clock.Advance(nackMaxAge)
			f.d.handleNACK([]uint16{0})
		}, 1},
		{"lost before the last keyframe", func(f *repairFixture) {
			f.write(true)
			f.clock.Advance(nackMaxAge)
			f.d.handleNACK([]uint16{5})
		}, 0},
		{"a number never sent (padding, or long ago)", func(f *repairFixture) {
			f.clock.Advance(nackMaxAge)
			f.d.handleNACK([]uint16{500})
		}, 0},
		{"another loss from before the repair asked for", func(f *repairFixture) {
			f.clock.Advance(nackMaxAge)
			f.d.handleNACK([]uint16{5})
			f.clock.Advance(time.Second) // past the publisher's keyframe throttle
			f.d.handleNACK([]uint16{6, 7})
		}, 1},
		{"a loss after the repair asked for", func(f *repairFixture) {
			f.clock.Advance(nackMaxAge)
			f.d.handleNACK([]uint16{5})
			f.clock.Advance(10 * time.Millisecond)
			f.write(false) // the keyframe has not come yet, and this is lost too
			f.clock.Advance(nackMaxAge)
			f.d.handleNACK([]uint16{10})
		}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newRepairFixture(t)
			tc.run(f)
			if got := f.asked.Load(); got != tc.want {
				t.Errorf("keyframe requests: got %d; want %d", got, tc.want)
			}
			if got := f.d.Stats().Repairs; got != uint64(tc.want) {
				t.Errorf("repairs in stats: got %d; want %d", got, tc.want)
			}
		})
	}
}
