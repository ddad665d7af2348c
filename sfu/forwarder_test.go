package sfu

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/internal/fakeclock"
)

var vp8Codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}

// sentRTP is one packet a down track wrote, copied.
type sentRTP struct {
	hdr     rtp.Header
	payload []byte
}

// recordWriter is a TrackLocalWriter that keeps copies of what it is given
// (fakeWriter in track_test.go only counts).
type recordWriter struct {
	mu   sync.Mutex // guards pkts
	pkts []sentRTP
}

func (w *recordWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	c := sentRTP{hdr: h.Clone(), payload: append([]byte(nil), payload...)}
	w.mu.Lock()
	w.pkts = append(w.pkts, c)
	w.mu.Unlock()
	return len(payload), nil
}

func (w *recordWriter) Write(b []byte) (int, error) { return len(b), nil }

// take returns what was written since the last call.
func (w *recordWriter) take() []sentRTP {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.pkts
	w.pkts = nil
	return p
}

// bindRecorder binds d to a recordWriter as pion would (payload type pt, SSRC 777).
func bindRecorder(t *testing.T, d *DownTrack, codec webrtc.RTPCodecCapability, pt webrtc.PayloadType) *recordWriter {
	t.Helper()
	w := &recordWriter{}
	if _, err := d.Bind(fakeContext{codecs: negotiated(pt, codec), ssrc: 777, w: w}); err != nil {
		t.Fatal(err)
	}
	return w
}

// frameInterval is the publisher's frame period: 3000 ticks at 90 kHz.
const frameInterval = time.Second / 30

// simPacket is what the simulated publisher sent under one tag.
type simPacket struct {
	layer, frame, idx, count int
	key                      bool
	ts                       uint32
	pic                      uint16
	tl0                      uint8
	at                       time.Time
	payload                  []byte
}

// simLayer is one simulcast encoding of the simulated publisher.
type simLayer struct {
	seq      uint16
	ts       uint32
	pic      uint16
	tl0      uint8
	perFrame int // packets per delta frame; key frames have two more
	frame    int
}

// simPublisher writes simulcast frames into a Track on a fake clock. Every
// packet's payload ends with a 4-byte tag naming it, so what comes out of a
// down track can be traced back. Keyframes come every gop ticks and, when
// honor is set, at the next tick after the track asks for one.
type simPublisher struct {
	codec  codecKind
	clock  *fakeclock.Clock
	track  *Track
	layers []*simLayer
	gop    int
	honor  bool
	tick   int
	nextID uint32
	sent   map[uint32]simPacket

	mu      sync.Mutex // guards wantKey: the track's deferred keyframe request runs on a timer goroutine
	wantKey []bool
}

func newSimPublisher(t *testing.T, codec webrtc.RTPCodecCapability, nLayers int) *simPublisher {
	t.Helper()
	s := &simPublisher{codec: kindOfCodec(codec.MimeType), clock: fakeclock.New(), gop: 60, honor: true,
		sent: map[uint32]simPacket{}, wantKey: make([]bool, nLayers)}
	// Bases chosen to wrap: sequence numbers, timestamps and picture IDs.
	bases := []simLayer{
		{seq: 65530, ts: 0xffff_f000, pic: 32760, tl0: 250, perFrame: 1},
		{seq: 100, ts: 12345, pic: 5, tl0: 0, perFrame: 2},
		{seq: 40000, ts: 0x8000_0000, pic: 20000, tl0: 77, perFrame: 4},
	}
	var rids []string
	for i := range nLayers {
		l := bases[i]
		s.layers = append(s.layers, &l)
		if nLayers > 1 {
			rids = append(rids, []string{"q", "h", "f"}[i])
		}
	}
	s.track = NewTrack(TrackOptions{ID: "v", Owner: "pub", Kind: webrtc.RTPCodecTypeVideo, Codec: codec, RIDs: rids,
		Now: s.clock.Now, RequestLayerKeyframe: func(l int) {
			s.mu.Lock()
			s.wantKey[l] = true
			s.mu.Unlock()
		}})
	t.Cleanup(s.track.Close)
	return s
}

func (s *simPublisher) takeKey(l int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.wantKey[l]
	s.wantKey[l] = false
	return k && s.honor
}

// frames advances the clock one frame interval at a time and writes n frames
// on every layer.
func (s *simPublisher) frames(n int) {
	for range n {
		s.clock.Advance(frameInterval)
		for i := range s.layers {
			s.writeFrame(i, s.takeKey(i) || s.tick%s.gop == 0)
		}
		s.tick++
	}
}

func (s *simPublisher) writeFrame(li int, key bool) {
	l := s.layers[li]
	n := l.perFrame
	if key {
		n += 2
	}
	for i := range n {
		var pl []byte
		switch s.codec {
		case codecH264:
			nal := byte(0x41)
			if key {
				nal = 0x65
			}
			switch {
			case n == 1:
				pl = []byte{nal}
			case i == 0:
				pl = []byte{nal&0xe0 | 28, 0x80 | nal&0x1f}
			case i == n-1:
				pl = []byte{nal&0xe0 | 28, 0x40 | nal&0x1f}
			default:
				pl = []byte{nal&0xe0 | 28, nal & 0x1f}
			}
		case codecVP8:
			pl = vp8Desc(i == 0, 0, int(l.pic), true, int(l.tl0), false)
			if i == 0 && key {
				pl = append(pl, vp8Key180...)
			} else if i == 0 {
				pl = append(pl, vp8Delta...)
			}
		}
		pl = append(pl, 0xaa, 0xbb, 0xcc)
		s.nextID++
		pl = binary.BigEndian.AppendUint32(pl, s.nextID)
		s.sent[s.nextID] = simPacket{layer: li, frame: l.frame, idx: i, count: n, key: key, ts: l.ts, pic: l.pic,
			tl0: l.tl0, at: s.clock.Now(), payload: pl}
		s.track.WriteLayerRTP(li, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: uint32(1000 + li),
			SequenceNumber: l.seq, Timestamp: l.ts, Marker: i == n-1}, Payload: pl})
		l.seq++
	}
	l.ts += 3000
	l.pic = (l.pic + 1) & 0x7fff
	l.tl0++
	l.frame++
}

// padding writes n padding-only packets (a bandwidth probe) on every layer.
func (s *simPublisher) padding(n int) {
	for i, l := range s.layers {
		for range n {
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: uint32(1000 + i), SequenceNumber: l.seq,
				Timestamp: l.ts - 3000, Padding: true, PaddingSize: 200}, PaddingSize: 200}
			s.track.WriteLayerRTP(i, p)
			l.seq++
		}
	}
}

// origin finds the published packet a forwarded one carries.
func (s *simPublisher) origin(p sentRTP) (uint32, simPacket, bool) {
	if len(p.payload) < 4 || p.hdr.Padding {
		return 0, simPacket{}, false
	}
	id := binary.BigEndian.Uint32(p.payload[len(p.payload)-4:])
	sp, ok := s.sent[id]
	return id, sp, ok
}

// checkContinuity verifies what one subscriber received, in the order it was
// sent: sequence numbers without gaps or repeats, timestamps that never go
// back and follow the wall clock across switches and pauses, VP8 picture IDs
// and TL0PICIDX that continue by one per frame, whole frames only, layer
// switches only at keyframes, and payloads intact.
func (s *simPublisher) checkContinuity(t *testing.T, out []sentRTP) {
	t.Helper()
	if len(out) == 0 {
		t.Fatal("nothing forwarded")
	}
	seen := map[uint32]bool{}
	type frameKey struct{ layer, frame int }
	frames := map[frameKey]int{} // packets forwarded per frame
	var prev sentRTP
	var prevSP simPacket
	hasPrevMedia := false
	var prevPic uint16
	var prevTL0 uint8
	hasPic := false
	for i, p := range out {
		if p.hdr.SSRC != 777 || p.hdr.PayloadType != 96 {
			t.Fatalf("packet %d: got SSRC %d PT %d; want 777, 96", i, p.hdr.SSRC, p.hdr.PayloadType)
		}
		if i > 0 {
			if got, want := p.hdr.SequenceNumber, prev.hdr.SequenceNumber+1; got != want {
				t.Fatalf("packet %d: got sequence number %d; want %d (no gap, no repeat)", i, got, want)
			}
			if d := int32(p.hdr.Timestamp - prev.hdr.Timestamp); d < 0 {
				t.Fatalf("packet %d: got timestamp %d after %d; want monotonic", i, p.hdr.Timestamp, prev.hdr.Timestamp)
			}
		}
		prev = p
		id, sp, ok := s.origin(p)
		if !ok {
			inline := len(p.payload) > 0 && int(p.payload[len(p.payload)-1]) == len(p.payload)
			viaHeader := len(p.payload) == 0 && p.hdr.PaddingSize > 0 // pion appends the bytes
			if !p.hdr.Padding || !(inline || viaHeader) {
				t.Fatalf("packet %d: got an unknown packet (padding %v, %d bytes); want a published one or valid padding",
					i, p.hdr.Padding, len(p.payload))
			}
			continue
		}
		if seen[id] {
			t.Fatalf("packet %d: got published packet %d twice; want once", i, id)
		}
		seen[id] = true
		frames[frameKey{sp.layer, sp.frame}]++
		if p.hdr.Marker != (sp.idx == sp.count-1) {
			t.Errorf("packet %d: got marker %v; want %v", i, p.hdr.Marker, sp.idx == sp.count-1)
		}
		if hasPrevMedia {
			switch {
			case sp.layer != prevSP.layer:
				if !sp.key || sp.idx != 0 {
					t.Fatalf("packet %d: switched from layer %d to %d at packet %d of a (key %v) frame; want the start of a keyframe",
						i, prevSP.layer, sp.layer, sp.idx, sp.key)
				}
			case sp.frame == prevSP.frame:
				if p.hdr.Timestamp != out[i-1].hdr.Timestamp && !out[i-1].hdr.Padding {
					t.Errorf("packet %d: got timestamp %d within a frame sent at %d; want equal", i, p.hdr.Timestamp, out[i-1].hdr.Timestamp)
				}
			}
			dts := int64(int32(p.hdr.Timestamp - lastMediaTS(out[:i])))
			switch {
			case sp.layer == prevSP.layer && sp.frame == prevSP.frame+1:
				// The next frame of the same layer: the publisher's spacing.
				if want := int64(int32(sp.ts - prevSP.ts)); dts != want {
					t.Errorf("packet %d: got timestamp step %d; want the publisher's %d", i, dts, want)
				}
			case sp.layer != prevSP.layer || sp.frame != prevSP.frame:
				// A switch or a resume: the timestamp advances with the wall
				// clock (within one frame) and never stands still.
				wall := sp.at.Sub(prevSP.at).Nanoseconds() * 90 / 1e6
				if dts <= 0 || dts-wall > 3000 || wall-dts > 3000 {
					t.Errorf("packet %d: got timestamp step %d for %v of wall time (%d ticks); want within one frame",
						i, dts, sp.at.Sub(prevSP.at), wall)
				}
			}
		}
		if s.codec == codecVP8 {
			d, ok := parseVP8(p.payload)
			if !ok || !d.hasPictureID || !d.hasTL0 {
				t.Fatalf("packet %d: got a VP8 descriptor without picture ID/TL0PICIDX; want both", i)
			}
			if hasPic && d.start {
				if want := (prevPic + 1) & 0x7fff; d.pictureID != want {
					t.Errorf("packet %d (layer %d frame %d): got picture ID %d; want %d", i, sp.layer, sp.frame, d.pictureID, want)
				}
				if want := prevTL0 + 1; d.tl0 != want {
					t.Errorf("packet %d: got TL0PICIDX %d; want %d", i, d.tl0, want)
				}
			} else if hasPic && d.pictureID != prevPic {
				t.Errorf("packet %d: got picture ID %d inside a frame of %d; want equal", i, d.pictureID, prevPic)
			}
			prevPic, prevTL0, hasPic = d.pictureID, d.tl0, true
			if got, want := p.payload[d.headerLen:], sp.payload[d.headerLen:]; string(got) != string(want) {
				t.Errorf("packet %d: got VP8 frame %x; want %x", i, got, want)
			}
		} else if string(p.payload) != string(sp.payload) {
			t.Errorf("packet %d: got payload %x; want %x", i, p.payload, sp.payload)
		}
		prevSP, hasPrevMedia = sp, true
	}
	// Whole frames only: the decoder never gets a frame's head without its tail.
	// The last frame may still be under way.
	for k, n := range frames {
		if k.frame == prevSP.frame && k.layer == prevSP.layer {
			continue
		}
		for _, sp := range s.sent {
			if sp.layer == k.layer && sp.frame == k.frame {
				if n != sp.count {
					t.Errorf("layer %d frame %d: got %d of its %d packets; want all", k.layer, k.frame, n, sp.count)
				}
				break
			}
		}
	}
}

func lastMediaTS(out []sentRTP) uint32 {
	for i := len(out) - 1; i >= 0; i-- {
		if !out[i].hdr.Padding {
			return out[i].hdr.Timestamp
		}
	}
	return 0
}

// fwdStep is one step of a forwarding scenario.
type fwdStep struct {
	op   string // "frames", "target", "down" (SwitchDown), "idle", "pubpad" (publisher padding), "probe" (SFU padding)
	n    int
	want int // after "frames": the layer being forwarded
}

func TestForwarderContinuity(t *testing.T) {
	t.Parallel()
	simulcast := []fwdStep{
		{"frames", 5, 2},
		{"target", 0, 0}, {"frames", 5, 0},
		{"target", 1, 0}, {"frames", 3, 1},
		{"target", 2, 0}, {"frames", 3, 2},
		{"target", -1, 0}, {"frames", 3, -1},
		{"idle", 1500, 0},
		{"target", 0, 0}, {"frames", 40, 0}, // layer 0 wraps its sequence numbers, timestamps, picture IDs
		{"target", 2, 0}, {"frames", 2, 2},
		{"target", 1, 0}, {"target", 0, 0}, {"frames", 2, 0}, // a target changed before its keyframe came
		{"target", -1, 0}, {"target", 0, 0}, {"frames", 2, 0}, // a pause shorter than a packet: nothing lost
	}
	tests := []struct {
		name   string
		codec  webrtc.RTPCodecCapability
		layers int
		honor  bool // the publisher sends keyframes when asked
		gop    int
		steps  []fwdStep
	}{
		{"H.264 single layer pause and resume", h264, 1, true, 60, []fwdStep{
			{"frames", 10, 0}, {"target", -1, 0}, {"frames", 5, -1}, {"idle", 2000, 0},
			{"target", 0, 0}, {"frames", 10, 0}}},
		{"H.264 simulcast switches and pauses", h264, 3, true, 60, simulcast},
		{"VP8 simulcast switches and pauses", vp8Codec, 3, true, 60, simulcast},
		{"H.264 current layer kept until the target's keyframe", h264, 3, false, 10, []fwdStep{
			{"frames", 1, 2}, {"target", 0, 0}, {"frames", 3, 2}, {"frames", 7, 0},
			{"target", 1, 0}, {"frames", 9, 0}, {"frames", 1, 1}}},
		{"H.264 switch down on congestion: the current layer stops at once", h264, 3, false, 10, []fwdStep{
			{"frames", 1, 2}, {"down", 0, 0}, {"frames", 3, -1}, {"frames", 7, 0},
			{"down", 1, 0}, {"frames", 2, 0}, // up is never urgent: layer 0 goes on until 1's keyframe
			{"target", 2, 0}, {"frames", 9, 2}, {"down", 1, 0}, {"frames", 1, -1}, {"frames", 9, 1}}},
		{"VP8 switch down on congestion", vp8Codec, 3, true, 60, []fwdStep{
			{"frames", 2, 2}, {"down", 0, 0}, {"frames", 2, 0}, {"target", 2, 0}, {"frames", 2, 2}}},
		{"VP8 padding cut out, probes in sequence", vp8Codec, 3, true, 60, []fwdStep{
			{"frames", 3, 2}, {"pubpad", 3, 0}, {"frames", 2, 2}, {"probe", 4, 0}, {"frames", 2, 2},
			{"target", 0, 0}, {"probe", 2, 0}, {"frames", 3, 0}, {"pubpad", 2, 0}, {"probe", 1, 0},
			{"pubpad", 1, 0}, {"frames", 2, 0}}},
		{"H.264 padding cut out, probes in sequence", h264, 1, true, 60, []fwdStep{
			{"frames", 3, 0}, {"pubpad", 5, 0}, {"probe", 2, 0}, {"pubpad", 1, 0}, {"frames", 3, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSimPublisher(t, tc.codec, tc.layers)
			s.honor, s.gop = tc.honor, tc.gop
			d := NewDownTrack(s.track)
			w := bindRecorder(t, d, tc.codec, 96)
			s.track.AddSink(d)
			var out []sentRTP
			for i, st := range tc.steps {
				switch st.op {
				case "frames":
					s.frames(st.n)
					if got := d.CurrentLayer(); got != st.want {
						t.Fatalf("step %d (%v): got current layer %d; want %d", i, st, got, st.want)
					}
				case "target", "down":
					if st.op == "down" {
						d.SwitchDown(st.n)
					} else {
						d.SetTargetLayer(st.n)
					}
					// The throttle runs on the fake clock: let a request through.
					s.clock.Advance(keyframeInterval)
				case "idle":
					s.clock.Advance(time.Duration(st.n) * time.Millisecond)
				case "pubpad":
					s.padding(st.n)
				case "probe":
					for range st.n {
						if !d.sendPadding(paddingPerPkt) {
							t.Fatalf("step %d: sendPadding: got false; want a probe while forwarding", i)
						}
					}
				}
				out = append(out, w.take()...)
			}
			s.checkContinuity(t, out)
			if st := d.Stats(); st.Packets == 0 || int(st.Packets) > len(out) {
				t.Errorf("stats: got %d packets; want 1..%d", st.Packets, len(out))
			}
		})
	}
}

// TestForwarderReorderedInput feeds the forwarder directly: what it gets out of
// order keeps the output number it would have had in order (so the
// subscriber's jitter buffer reorders it), a repeat gets the same number, a
// late packet from before a switch or of an old layer is dropped, and a loss
// upstream stays a gap (the subscriber NACKs it) rather than shifting what follows.
func TestForwarderReorderedInput(t *testing.T) {
	t.Parallel()
	type in struct {
		layer int
		seq   uint64
		key   bool
		pad   bool // padding only, no payload
	}
	tests := []struct {
		name   string
		target int
		input  []in
		// want is the output sequence number (relative to the first) per
		// input packet; -1 for dropped.
		want []int
		// retarget after this many packets, to layer retarget.
		at, retarget int
	}{
		{"swapped pair", 0,
			[]in{{0, 10, true, false}, {0, 12, false, false}, {0, 11, false, false}, {0, 13, false, false}},
			[]int{0, 2, 1, 3}, -1, 0},
		{"repeated packet", 0,
			[]in{{0, 10, true, false}, {0, 11, false, false}, {0, 11, false, false}, {0, 12, false, false}},
			[]int{0, 1, 1, 2}, -1, 0},
		{"loss stays a gap until the resend", 0,
			[]in{{0, 10, true, false}, {0, 11, false, false}, {0, 13, false, false}, {0, 14, false, false}, {0, 12, false, false}},
			[]int{0, 1, 3, 4, 2}, -1, 0},
		{"padding in order cut out", 0,
			[]in{{0, 10, true, false}, {0, 11, false, false}, {0, 12, false, true}, {0, 13, false, false}},
			[]int{0, 1, -1, 2}, -1, 0},
		{"padding after an upstream loss sent, not left as a hole", 0,
			[]in{{0, 10, true, false}, {0, 11, false, false}, {0, 13, false, true}, {0, 14, false, false}, {0, 12, false, false}},
			[]int{0, 1, 3, 4, 2}, -1, 0},
		{"reordered padding sent, not left as a hole", 0,
			[]in{{0, 10, true, false}, {0, 12, false, false}, {0, 11, false, true}, {0, 13, false, false}},
			[]int{0, 2, 1, 3}, -1, 0},
		{"late packet from before the start", 0,
			[]in{{0, 10, true, false}, {0, 9, false, false}, {0, 11, false, false}},
			[]int{0, -1, 1}, -1, 0},
		{"non-keyframes before the first keyframe", 0,
			[]in{{0, 5, false, false}, {0, 6, false, false}, {0, 7, true, false}, {0, 8, false, false}},
			[]int{-1, -1, 0, 1}, -1, 0},
		{"switch: late packets of the old layer and from before the keyframe dropped", 0,
			[]in{{0, 10, true, false}, {0, 11, false, false}, {1, 500, false, false}, {1, 501, true, false}, {0, 12, false, false}, {1, 500, false, false}, {1, 502, false, false}},
			[]int{0, 1, -1, 2, -1, -1, 3}, 2, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newForwarder(codecH264, 90000)
			f.target = tc.target
			var base uint16
			haveBase := false
			for i, p := range tc.input {
				if i == tc.at {
					f.target = tc.retarget
				}
				pl := []byte{0x41, 1}
				switch {
				case p.key:
					pl = []byte{0x65, 1}
				case p.pad:
					pl = nil
				}
				ep := &ExtPacket{Packet: &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(p.seq), Timestamp: uint32(p.seq * 3000)},
					Payload: pl}, Layer: p.layer, ExtSeq: p.seq + 1<<16, ExtTS: p.seq*3000 + 1<<32, Keyframe: p.key}
				r, ok, _ := f.forward(ep, int64(i)*int64(time.Millisecond))
				got := -1
				if ok {
					if !haveBase {
						base, haveBase = r.seq, true
					}
					got = int(r.seq - base)
				}
				if got != tc.want[i] {
					t.Errorf("packet %d (layer %d seq %d): got output %d; want %d", i, p.layer, p.seq, got, tc.want[i])
				}
			}
		})
	}
}

// TestForwarderStartsAtZero pins the first output sequence number and that a
// track starting near the end of the 16-bit range is unwrapped into it.
func TestForwarderStartsAtZero(t *testing.T) {
	t.Parallel()
	s := newSimPublisher(t, h264, 1)
	d := NewDownTrack(s.track)
	w := bindRecorder(t, d, h264, 96)
	s.track.AddSink(d)
	s.frames(20) // 65530 -> wraps after 6 packets
	out := w.take()
	if len(out) != 22 { // 20 frames, the first a keyframe of 3 packets
		t.Fatalf("got %d packets; want 22", len(out))
	}
	for i, p := range out {
		if got, want := p.hdr.SequenceNumber, uint16(i); got != want {
			t.Errorf("packet %d: got sequence number %d; want %d", i, got, want)
		}
	}
	if got, want := out[0].hdr.Timestamp, uint32(0xffff_f000); got != want {
		t.Errorf("first timestamp: got %#x; want the publisher's %#x (no offset before a switch)", got, want)
	}
}

// TestForwarderReplay feeds the forwarder a GOP replayed from the cache and
// the live packets after it: the output sequence continues without a gap or
// repeat, replayed frames go one tick apart, and live resumes at most a frame
// after the last replayed one, then at the publisher's pace.
func TestForwarderReplay(t *testing.T) {
	t.Parallel()
	type in struct {
		replay bool // from the cache (first: the keyframe's first packet)
		seq    uint64
		ts     uint32
		want   int   // output sequence number relative to the first output; -1 dropped
		wantTS int64 // output timestamp relative to the first output's
	}
	tests := []struct {
		name  string
		input []in
	}{
		{"join: replayed frames a tick apart, live a frame after", []in{
			{true, 10, 0, 0, 0}, {true, 11, 0, 1, 0}, {true, 12, 0, 2, 0},
			{true, 13, 3000, 3, 1}, {true, 14, 3000, 4, 1}, {true, 15, 6000, 5, 2},
			{false, 16, 9000, 6, 3002}, {false, 17, 9000, 7, 3002}, {false, 18, 12000, 8, 6002}}},
		{"live continues the last replayed frame", []in{
			{true, 10, 0, 0, 0}, {true, 11, 3000, 1, 1},
			{false, 12, 3000, 2, 1}, {false, 13, 6000, 3, 3001}}},
		{"slow publisher: the step to live capped at a frame", []in{
			{true, 10, 0, 0, 0}, {true, 11, 9000, 1, 1},
			{false, 12, 18000, 2, 3001}, {false, 13, 27000, 3, 12001}}},
		{"fast publisher: its own step kept", []in{
			{true, 10, 0, 0, 0}, {true, 11, 1500, 1, 1},
			{false, 12, 3000, 2, 1501}}},
		{"picture lost while forwarding: the replay restarts in sequence", []in{
			{false, 10, 0, 0, 0}, {false, 11, 3000, 1, 3000}, {false, 12, 6000, 2, 6000},
			// One millisecond of wall time later: 90 ticks.
			{true, 10, 0, 3, 6090}, {true, 11, 3000, 4, 6091}, {true, 12, 6000, 5, 6092},
			{false, 13, 9000, 6, 9092}}},
		{"a hole in the replay filled late is dropped", []in{
			{true, 10, 0, 0, 0}, {true, 12, 3000, 2, 1},
			{false, 11, 0, -1, 0}, {false, 13, 6000, 3, 3001}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newForwarder(codecH264, 90000)
			f.target = 0
			var baseSeq uint16
			var baseTS uint32
			haveBase, replayed := false, false
			for i, p := range tc.input {
				pl := []byte{0x41, 1}
				if p.seq == 10 {
					pl = []byte{0x65, 1}
				}
				ep := &ExtPacket{Packet: &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(p.seq), Timestamp: p.ts},
					Payload: pl}, ExtSeq: p.seq + 1<<16, ExtTS: uint64(p.ts) + 1<<32, Keyframe: p.seq == 10}
				now := int64(i) * int64(time.Millisecond)
				var r fwdResult
				var ok bool
				if p.replay {
					first := !replayed
					replayed = true
					r, ok = f.replay(ep, first, now)
				} else {
					replayed = false
					r, ok, _ = f.forward(ep, now)
				}
				got, gotTS := -1, int64(0)
				if ok {
					if !haveBase {
						baseSeq, baseTS, haveBase = r.seq, r.ts, true
					}
					got, gotTS = int(r.seq-baseSeq), int64(int32(r.ts-baseTS))
				}
				if got != p.want || gotTS != p.wantTS {
					t.Errorf("packet %d (replay %v seq %d ts %d): got output %d ts %d; want %d ts %d",
						i, p.replay, p.seq, p.ts, got, gotTS, p.want, p.wantTS)
				}
			}
		})
	}
}

// TestPictureLostAsksForTheTargetDuringASwitch: while a switch waits for the
// target layer's keyframe, the subscriber's PLI asks for that keyframe (which
// repairs its picture too), not for one of the layer about to be left.
func TestPictureLostAsksForTheTargetDuringASwitch(t *testing.T) {
	t.Parallel()
	s := newSimPublisher(t, h264, 3)
	s.honor, s.gop = false, 1000
	d := NewDownTrack(s.track)
	bindRecorder(t, d, h264, 96)
	s.track.AddSink(d)
	s.frames(1)
	if got := d.CurrentLayer(); got != 2 {
		t.Fatalf("got current layer %d; want 2", got)
	}
	d.SetTargetLayer(0)
	s.frames(1) // no keyframe comes: the switch waits
	s.clock.Advance(keyframeInterval)
	s.mu.Lock()
	clear(s.wantKey)
	s.mu.Unlock()
	d.pictureLost()
	s.mu.Lock()
	defer s.mu.Unlock()
	if got := s.wantKey; !got[0] || got[2] {
		t.Errorf("keyframes asked per layer after a PLI: got %v; want layer 0 only", got)
	}
}

// TestPaddingOnlyBetweenFrames: a probe's padding never goes inside a frame
// (a receiver assembles a frame from consecutive numbers; Chromium dropped a
// frame with padding among its packets, and every frame after it until a
// keyframe).
func TestPaddingOnlyBetweenFrames(t *testing.T) {
	t.Parallel()
	s := newSimPublisher(t, h264, 1)
	d := NewDownTrack(s.track)
	bindRecorder(t, d, h264, 96)
	s.track.AddSink(d)
	s.frames(2)
	if !d.sendPadding(paddingPerPkt) {
		t.Fatal("after a whole frame: got no padding; want one")
	}
	l := s.layers[0]
	half := func(marker bool, fu byte) {
		s.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1000, SequenceNumber: l.seq,
			Timestamp: l.ts, Marker: marker}, Payload: []byte{0x5c, fu | 1, 0xaa}})
		l.seq++
	}
	half(false, 0x80) // a frame's first packet
	if d.sendPadding(paddingPerPkt) {
		t.Error("inside a frame: got padding; want none until the frame ends")
	}
	half(true, 0x40) // and its last
	if !d.sendPadding(paddingPerPkt) {
		t.Error("after the frame ended: got no padding; want one")
	}
}
