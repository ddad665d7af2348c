package bridge

import (
	"slices"
	"testing"
	"time"
)

func TestReorder(t *testing.T) {
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
		{"not given up before the wait", []step{{10, 0}, {12, 1}, {13, 2}}, reorderWait, []uint16{10}},
		{"given up after the wait", []step{{10, 0}, {12, 1}, {13, 2}}, reorderWait + time.Millisecond, []uint16{10, 12, 13}},
		{"two gaps: the first given up, the second still open", []step{{10, 0}, {12, 1}, {14, 2}}, reorderWait + time.Millisecond, []uint16{10, 12}},
		{"a resend after its gap was given up is dropped", []step{{10, 0}, {12, 1}}, reorderWait + time.Millisecond, []uint16{10, 12}},
		{"duplicates are dropped", []step{{10, 0}, {10, 1}, {12, 2}, {12, 3}, {11, 4}}, 0, []uint16{10, 11, 12}},
		{"wraps around", []step{{65534, 0}, {0, 1}, {65535, 2}, {1, 3}}, 0, []uint16{65534, 65535, 0, 1}},
		{"a jump past the slots flushes", []step{{10, 0}, {12, 1}, {10 + reorderSlots + 5, 2}}, 0, []uint16{10, 12, 10 + reorderSlots + 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []uint16
			r := newReorder(func(it rtpItem) { got = append(got, it.seq) })
			for _, s := range tc.steps {
				r.push(rtpItem{video: true, seq: s.seq}, t0.Add(s.at))
			}
			if tc.expire != 0 {
				r.expire(t0.Add(tc.expire))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v; want %v", got, tc.want)
			}
		})
	}
}

func TestReorderDeadline(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := newReorder(func(rtpItem) {})
	r.push(rtpItem{seq: 1}, t0)
	if _, ok := r.deadline(); ok {
		t.Fatal("deadline with no gap")
	}
	r.push(rtpItem{seq: 3}, t0.Add(10*time.Millisecond))
	if at, ok := r.deadline(); !ok || !at.Equal(t0.Add(10*time.Millisecond+reorderWait)) {
		t.Errorf("got %v %v; want %v true", at, ok, t0.Add(10*time.Millisecond+reorderWait))
	}
	r.push(rtpItem{seq: 2}, t0.Add(20*time.Millisecond))
	if _, ok := r.deadline(); ok {
		t.Error("deadline after the gap was filled")
	}
}

// A resend that comes after the packets that followed it costs no keyframe.
func TestReorderSparesTheKeyframe(t *testing.T) {
	t0 := time.Unix(1000, 0)
	dep := newDepacketizer()
	frames := 0
	r := newReorder(func(it rtpItem) {
		if dep.push(it.seq, it.ts, it.marker, it.payload) != nil {
			frames++
		}
	})
	idr := []byte{0x65, 1, 2, 3}
	fuStart := []byte{0x7c, 0x81, 1, 2} // FU-A, start of a non-IDR slice
	fuEnd := []byte{0x7c, 0x41, 3, 4}   // FU-A, end
	r.push(rtpItem{video: true, seq: 1, ts: 0, marker: true, payload: idr}, t0)
	r.push(rtpItem{video: true, seq: 3, ts: 3000, marker: true, payload: fuEnd}, t0)
	r.push(rtpItem{video: true, seq: 2, ts: 3000, payload: fuStart}, t0.Add(5*time.Millisecond)) // the resend
	if dep.needKeyframe || frames != 2 {
		t.Errorf("got needKeyframe %v, %d frames; want false, 2", dep.needKeyframe, frames)
	}
}
