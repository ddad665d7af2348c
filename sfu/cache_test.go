package sfu

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

func TestUnwrapper(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		bits uint
		in   []uint64
		want []int64 // relative to the first value's extension
	}{
		{"in order", 16, []uint64{10, 11, 12}, []int64{0, 1, 2}},
		{"forward wrap", 16, []uint64{65534, 65535, 0, 1}, []int64{0, 1, 2, 3}},
		{"reordered across the wrap", 16, []uint64{65534, 0, 65535, 1}, []int64{0, 2, 1, 3}},
		{"late packet from before the first", 16, []uint64{5, 3, 6}, []int64{0, -2, 1}},
		{"late packet from before the first, across the wrap", 16, []uint64{1, 65535, 2}, []int64{0, -2, 1}},
		{"duplicate", 16, []uint64{7, 8, 8, 9}, []int64{0, 1, 1, 2}},
		{"jump under half the range", 16, []uint64{0, 32767, 0}, []int64{0, 32767, 0}},
		{"two wraps", 16, []uint64{60000, 20000, 50000, 10000}, []int64{0, 25536, 55536, 81072}},
		{"32-bit timestamps wrap", 32, []uint64{0xffff_f000, 0x0000_0b00, 0xffff_fa00, 0x0000_1700},
			[]int64{0, 0x1b00, 0xa00, 0x2700}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := unwrapper{bits: tc.bits}
			var first uint64
			for i, v := range tc.in {
				got := u.unwrap(v)
				if i == 0 {
					first = got
					if got < 1<<tc.bits {
						t.Fatalf("first value: got %d; want at least %d (room below for late packets)", got, uint64(1)<<tc.bits)
					}
					if got&(1<<tc.bits-1) != v {
						t.Fatalf("first value: got %d; want it to keep the low bits %d", got, v)
					}
				}
				if d := int64(got - first); d != tc.want[i] {
					t.Errorf("value %d (%d): got offset %d; want %d", i, v, d, tc.want[i])
				}
			}
		})
	}
}

func TestPacketCache(t *testing.T) {
	t.Parallel()
	pkt := func(seq uint16, size int) *rtp.Packet {
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(seq) * 3000,
			SSRC: 42, Marker: seq%2 == 0}, Payload: bytes.Repeat([]byte{byte(seq)}, size)}
		_ = p.SetExtension(3, []byte{0xab, byte(seq)})
		return p
	}
	const size = 8
	tests := []struct {
		name  string
		put   []uint64 // extended sequence numbers, in order put
		sizes map[uint64]int
		hit   []uint64
		miss  []uint64
	}{
		{"recent packets answered", []uint64{70000, 70001, 70002}, nil, []uint64{70000, 70001, 70002}, []uint64{70003, 69999}},
		{"16-bit wrap", []uint64{131070, 131071, 131072, 131073}, nil, []uint64{131070, 131071, 131072, 131073}, nil},
		{"evicted after size packets", []uint64{70000, 70001, 70008, 70009}, nil, []uint64{70008, 70009}, []uint64{70000, 70001}},
		{"a slot holds the packet put last, not an older one with the same index", []uint64{70010, 70002}, nil,
			[]uint64{70002}, []uint64{70010}},
		{"oversized packet not cached", []uint64{70000, 70001}, map[uint64]int{70001: 1600}, []uint64{70000}, []uint64{70001}},
		{"full-size packet cached", []uint64{70000}, map[uint64]int{70000: maxPacketSize - 12 - 8}, []uint64{70000}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newPacketCache(size)
			for _, s := range tc.put {
				n := 100
				if v, ok := tc.sizes[s]; ok {
					n = v
				}
				c.put(s, pkt(uint16(s), n))
			}
			buf := make([]byte, maxPacketSize)
			for _, s := range tc.hit {
				var got rtp.Packet
				if !c.get(s, &got, buf) {
					t.Errorf("get(%d): got miss; want hit", s)
					continue
				}
				n := 100
				if v, ok := tc.sizes[s]; ok {
					n = v
				}
				want := pkt(uint16(s), n)
				if got.SequenceNumber != want.SequenceNumber || got.Timestamp != want.Timestamp || got.SSRC != want.SSRC ||
					got.Marker != want.Marker || !bytes.Equal(got.Payload, want.Payload) ||
					!bytes.Equal(got.GetExtension(3), want.GetExtension(3)) {
					t.Errorf("get(%d): got seq %d ts %d marker %v, %d bytes; want seq %d ts %d marker %v, %d bytes",
						s, got.SequenceNumber, got.Timestamp, got.Marker, len(got.Payload),
						want.SequenceNumber, want.Timestamp, want.Marker, len(want.Payload))
				}
				if len(got.Payload) > 0 && &got.Payload[0] != &buf[got.Header.MarshalSize()] {
					t.Errorf("get(%d): got a payload outside buf; want it to alias buf (no allocation)", s)
				}
			}
			for _, s := range tc.miss {
				var got rtp.Packet
				if c.get(s, &got, buf) {
					t.Errorf("get(%d): got hit (seq %d); want miss", s, got.SequenceNumber)
				}
			}
		})
	}
}

func TestSequencer(t *testing.T) {
	t.Parallel()
	s := newSequencer(sequencerSize)
	// Push 2*sequencerSize numbers; the 16-bit wrap of output numbers comes
	// in the last sequencerSize, at push number wrap.
	const pushed, wrap = 2 * sequencerSize, 3 * sequencerSize / 2
	at := func(i int) uint16 { return uint16(65536 - wrap + i) } // the i-th number pushed
	for i := range pushed {
		s.push(at(i), sentPacket{extSeq: uint64(100000 + i), ts: uint32(i)})
	}
	tests := []struct {
		name   string
		seq    uint16
		wantOK bool
		want   uint64
	}{
		{"last pushed", at(pushed - 1), true, 100000 + pushed - 1},
		{"just after the wrap", 0, true, 100000 + wrap},
		{"just before the wrap", 65535, true, 100000 + wrap - 1},
		{"oldest kept", at(pushed - sequencerSize), true, uint64(100000 + pushed - sequencerSize)},
		{"overwritten", at(pushed - sequencerSize - 1), false, 0},
		{"never pushed", at(pushed), false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := s.get(tc.seq)
			if ok != tc.wantOK || (ok && got.extSeq != tc.want) {
				t.Errorf("get(%d): got %d, %v; want %d, %v", tc.seq, got.extSeq, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// nackFixture is a track with one or more down tracks writing to recorders.
type nackFixture struct {
	sim   *simPublisher
	downs []*DownTrack
	ws    []*recordWriter
	sent  [][]sentRTP // what each subscriber received, by subscriber
}

func newNACKFixture(t *testing.T, codec webrtc.RTPCodecCapability, layers, subscribers int) *nackFixture {
	t.Helper()
	f := &nackFixture{sim: newSimPublisher(t, codec, layers)}
	for range subscribers {
		d := NewDownTrack(f.sim.track)
		f.ws = append(f.ws, bindRecorder(t, d, codec, 96))
		f.downs = append(f.downs, d)
		f.sim.track.AddSink(d)
	}
	f.sent = make([][]sentRTP, subscribers)
	return f
}

func (f *nackFixture) collect() {
	for i, w := range f.ws {
		f.sent[i] = append(f.sent[i], w.take()...)
	}
}

// bySeq finds what subscriber i was sent first under seq.
func (f *nackFixture) bySeq(i int, seq uint16) (sentRTP, bool) {
	for _, p := range f.sent[i] {
		if p.hdr.SequenceNumber == seq {
			return p, true
		}
	}
	return sentRTP{}, false
}

func samePacket(a, b sentRTP) bool {
	return a.hdr.SequenceNumber == b.hdr.SequenceNumber && a.hdr.Timestamp == b.hdr.Timestamp && a.hdr.SSRC == b.hdr.SSRC &&
		a.hdr.PayloadType == b.hdr.PayloadType && a.hdr.Marker == b.hdr.Marker && bytes.Equal(a.payload, b.payload)
}

func TestDownTrackAnswersNACKFromCache(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		codec webrtc.RTPCodecCapability
		run   func(t *testing.T, f *nackFixture) (nack []uint16, want []uint16)
	}{
		{"H.264: resent as first sent, across the publisher's wrap", h264, func(t *testing.T, f *nackFixture) ([]uint16, []uint16) {
			f.sim.frames(20) // layer 0 starts at 65530: wraps
			f.collect()
			return []uint16{0, 3, 5, 6, 7, 21}, []uint16{0, 3, 5, 6, 7, 21}
		}},
		{"VP8: resent with the rewritten picture IDs, across a layer switch", vp8Codec, func(t *testing.T, f *nackFixture) ([]uint16, []uint16) {
			f.sim.frames(5)
			for _, d := range f.downs {
				d.SetTargetLayer(0)
			}
			f.sim.clock.Advance(keyframeInterval)
			f.sim.frames(5)
			f.collect()
			if got := f.downs[0].CurrentLayer(); got != 0 {
				t.Fatalf("current layer: got %d; want 0", got)
			}
			n := uint16(len(f.sent[0]))
			// Before the switch (layer 2), the switch's keyframe, and after (layer 0).
			return []uint16{1, 2, 20, n - 6, n - 5, n - 1}, []uint16{1, 2, 20, n - 6, n - 5, n - 1}
		}},
		{"unknown and future numbers ignored", h264, func(t *testing.T, f *nackFixture) ([]uint16, []uint16) {
			f.sim.frames(3)
			f.collect()
			return []uint16{100, 40000, 65535}, nil
		}},
		{"too old to be worth resending", h264, func(t *testing.T, f *nackFixture) ([]uint16, []uint16) {
			f.sim.frames(3)
			f.collect()
			f.sim.clock.Advance(nackMaxAge + time.Millisecond)
			return []uint16{0, 1, 2}, nil
		}},
		{"evicted from the cache or the sequencer", h264, func(t *testing.T, f *nackFixture) ([]uint16, []uint16) {
			// One packet per frame after the keyframe, all within nackMaxAge.
			keep := uint16(min(videoCacheSize, sequencerSize))
			for i := range videoCacheSize + 100 {
				f.sim.writeFrame(0, i == 0)
			}
			f.collect()
			n := uint16(len(f.sent[0]))
			return []uint16{0, 1, n - keep - 1, n - keep, n - 1},
				[]uint16{n - keep, n - 1}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			layers := 1
			if tc.codec.MimeType == webrtc.MimeTypeVP8 {
				layers = 3
			}
			f := newNACKFixture(t, tc.codec, layers, 2)
			nack, want := tc.run(t, f)
			if len(f.sent[0]) != len(f.sent[1]) {
				t.Fatalf("subscribers got %d and %d packets; want the same", len(f.sent[0]), len(f.sent[1]))
			}
			for i, d := range f.downs {
				// The second subscriber asks too: answered from the same cache.
				if got := d.handleNACK(nack); got != len(want) {
					t.Errorf("subscriber %d: handleNACK(%v): got %d resent; want %d", i, nack, got, len(want))
				}
				resent := f.ws[i].take()
				if len(resent) != len(want) {
					t.Fatalf("subscriber %d: got %d packets resent; want %d", i, len(resent), len(want))
				}
				for j, seq := range want {
					orig, ok := f.bySeq(i, seq)
					if !ok {
						t.Fatalf("subscriber %d: sequence number %d never sent", i, seq)
					}
					if !samePacket(resent[j], orig) {
						t.Errorf("subscriber %d: resent %d: got seq %d ts %d ssrc %d pt %d payload %x; want seq %d ts %d ssrc %d pt %d payload %x",
							i, seq, resent[j].hdr.SequenceNumber, resent[j].hdr.Timestamp, resent[j].hdr.SSRC, resent[j].hdr.PayloadType,
							resent[j].payload, orig.hdr.SequenceNumber, orig.hdr.Timestamp, orig.hdr.SSRC, orig.hdr.PayloadType, orig.payload)
					}
					if len(resent[j].hdr.Extensions) != 0 {
						t.Errorf("resent %d: got %d header extensions; want the publisher's removed", seq, len(resent[j].hdr.Extensions))
					}
				}
				if got := d.Stats().Resent; got != uint64(len(want)) {
					t.Errorf("subscriber %d: stats: got %d resent; want %d", i, got, len(want))
				}
			}
		})
	}
}

// TestDownTrackNACKAcrossOutputWrap sends more than 65536 packets to one
// subscriber and NACKs the numbers around its output wrap.
func TestDownTrackNACKAcrossOutputWrap(t *testing.T) {
	t.Parallel()
	tr := NewTrack(TrackOptions{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Codec: h264})
	d := NewDownTrack(tr)
	w := bindRecorder(t, d, h264, 96)
	tr.AddSink(d)
	p := &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 5, SequenceNumber: 1000}, Payload: []byte{0x65, 0, 0, 0}}
	const total = 1<<16 + 100
	for i := range total {
		p.SequenceNumber++
		p.Timestamp += 3000
		p.Payload[1], p.Payload[2], p.Payload[3] = byte(i>>16), byte(i>>8), byte(i)
		tr.WriteRTP(p)
		if i == 0 {
			p.Payload[0] = 0x41
		}
		if i%4096 == 0 {
			w.take()
		}
	}
	w.take()
	nack := []uint16{65534, 65535, 0, 1, 99}
	if got := d.handleNACK(nack); got != len(nack) {
		t.Fatalf("handleNACK(%v): got %d resent; want %d", nack, got, len(nack))
	}
	resent := w.take()
	if len(resent) != len(nack) {
		t.Fatalf("got %d packets written; want %d", len(resent), len(nack))
	}
	for j, r := range resent {
		// Output number n carries the n-th packet published, counted from 0;
		// after the wrap the newest one with that number.
		want := int(nack[j])
		if nack[j] < 100 {
			want += 1 << 16
		}
		got := int(r.payload[1])<<16 | int(r.payload[2])<<8 | int(r.payload[3])
		if r.hdr.SequenceNumber != nack[j] || got != want {
			t.Errorf("resent %d: got seq %d carrying packet %d; want seq %d carrying %d", j, r.hdr.SequenceNumber, got, nack[j], want)
		}
	}
}

func TestHandleNACKUnboundOrAudio(t *testing.T) {
	t.Parallel()
	video := NewTrack(TrackOptions{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Codec: h264})
	if got := NewDownTrack(video).handleNACK([]uint16{1}); got != 0 {
		t.Errorf("unbound: got %d resent; want 0", got)
	}
	opus := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	audio := NewTrack(TrackOptions{ID: "a", Kind: webrtc.RTPCodecTypeAudio, Codec: opus})
	d := NewDownTrack(audio)
	w := bindRecorder(t, d, opus, 111)
	audio.AddSink(d)
	audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 9}, Payload: []byte{0xfc}})
	if got := len(w.take()); got != 1 {
		t.Fatalf("audio: got %d packets forwarded; want 1", got)
	}
	if got := d.handleNACK([]uint16{0}); got != 0 {
		t.Errorf("audio: got %d resent; want 0 (audio is not cached)", got)
	}
}

// TestSequencerResendLimits: a packet is resent at most maxResends times, and
// not again within the round-trip time (or minResendGap): the receiver asks
// again before an answer in flight can have arrived.
func TestSequencerResendLimits(t *testing.T) {
	t.Parallel()
	const ms = int64(time.Millisecond)
	steps := []struct {
		name string
		at   int64 // ms
		rtt  int64 // ms
		want resendVerdict
	}{
		{"first NACK", 0, 50, resendNow},
		{"asked again within 100 ms", 60, 50, resendTooSoon},
		{"asked again after 100 ms", 110, 50, resendNow},
		{"within a 300 ms RTT", 300, 300, resendTooSoon},
		{"after a 300 ms RTT", 420, 300, resendNow},
		{"a fourth time", 2000, 50, resendGone},
	}
	s := newSequencer(sequencerSize)
	s.push(7, sentPacket{extSeq: 42})
	for _, st := range steps {
		sp, v := s.takeResend(7, 1e12+st.at*ms, st.rtt*ms)
		if v != st.want || sp.extSeq != 42 {
			t.Fatalf("%s: got %d, %v; want 42, %v", st.name, sp.extSeq, v, st.want)
		}
	}
	if _, v := s.takeResend(8, 1e12, 0); v != resendUnknown {
		t.Errorf("never sent: got %v; want resendUnknown", v)
	}
}
