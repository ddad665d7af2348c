package reorder

import (
	"slices"
	"testing"
	"time"

	"github.com/openroom/openroom/internal/h264"
)

const wait = 200 * time.Millisecond

func TestBuffer(t *testing.T) {
	t0 := time.Unix(1000, 0)
	type step struct {
		seq uint16
		at  time.Duration // after t0
	}
	tests := []struct {
		name   string
		steps  []step
		expire time.Duration // then expire at t0+expire (0: not called)
		want   []uint16
	}{
		{"in order", []step{{10, 0}, {11, 1}, {12, 2}}, 0, []uint16{10, 11, 12}},
		{"a resend fills the gap", []step{{10, 0}, {12, 1}, {13, 2}, {11, 5}, {14, 6}}, 0, []uint16{10, 11, 12, 13, 14}},
		{"held while the gap is open", []step{{10, 0}, {12, 1}, {13, 2}}, 0, []uint16{10}},
		{"not given up before the wait", []step{{10, 0}, {12, 1}, {13, 2}}, wait, []uint16{10}},
		{"given up after the wait", []step{{10, 0}, {12, 1}, {13, 2}}, wait + time.Millisecond, []uint16{10, 12, 13}},
		{"two gaps: the first given up, the second still open", []step{{10, 0}, {12, 1}, {14, 2}}, wait + time.Millisecond, []uint16{10, 12}},
		{"a resend after its gap was given up is dropped", []step{{10, 0}, {12, 1}}, wait + time.Millisecond, []uint16{10, 12}},
		{"duplicates are dropped", []step{{10, 0}, {10, 1}, {12, 2}, {12, 3}, {11, 4}}, 0, []uint16{10, 11, 12}},
		{"wraps around", []step{{65534, 0}, {0, 1}, {65535, 2}, {1, 3}}, 0, []uint16{65534, 65535, 0, 1}},
		{"a jump past the slots flushes", []step{{10, 0}, {12, 1}, {10 + Slots + 5, 2}}, 0, []uint16{10, 12, 10 + Slots + 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []uint16
			r := New(wait, func(seq uint16) { got = append(got, seq) })
			for _, s := range tc.steps {
				r.Push(s.seq, s.seq, t0.Add(s.at))
			}
			if tc.expire != 0 {
				r.Expire(t0.Add(tc.expire))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v; want %v", got, tc.want)
			}
		})
	}
}

func TestBufferDeadline(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := New(wait, func(uint16) {})
	r.Push(1, 1, t0)
	if _, ok := r.Deadline(); ok {
		t.Fatal("deadline with no gap")
	}
	r.Push(3, 3, t0.Add(10*time.Millisecond))
	if at, ok := r.Deadline(); !ok || !at.Equal(t0.Add(10*time.Millisecond+wait)) {
		t.Errorf("got %v %v; want %v true", at, ok, t0.Add(10*time.Millisecond+wait))
	}
	r.Push(2, 2, t0.Add(20*time.Millisecond))
	if _, ok := r.Deadline(); ok {
		t.Error("deadline after the gap was filled")
	}
}

// A resend that comes after the packets that followed it costs no keyframe.
func TestBufferSparesTheKeyframe(t *testing.T) {
	type pkt struct {
		seq     uint16
		ts      uint32
		marker  bool
		payload []byte
	}
	t0 := time.Unix(1000, 0)
	dep := h264.NewDepacketizer()
	frames := 0
	r := New(wait, func(p pkt) {
		if dep.Push(p.seq, p.ts, p.marker, p.payload) != nil {
			frames++
		}
	})
	idr := []byte{0x65, 1, 2, 3}
	fuStart := []byte{0x7c, 0x81, 1, 2} // FU-A, start of a non-IDR slice
	fuEnd := []byte{0x7c, 0x41, 3, 4}   // FU-A, end
	r.Push(1, pkt{1, 0, true, idr}, t0)
	r.Push(3, pkt{3, 3000, true, fuEnd}, t0)
	r.Push(2, pkt{2, 3000, false, fuStart}, t0.Add(5*time.Millisecond)) // the resend
	if need := dep.TakeKeyframeRequest(); need || frames != 2 {
		t.Errorf("got keyframe request %v, %d frames; want false, 2", need, frames)
	}
}
