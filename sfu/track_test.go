package sfu

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openroom/openroom/internal/fakeclock"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// fakeWriter stands in for pion's SRTP write stream: it counts and checks.
type fakeWriter struct {
	packets          atomic.Int64
	lastSSRC, lastPT uint32
}

func (w *fakeWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.packets.Add(1)
	w.lastSSRC, w.lastPT = h.SSRC, uint32(h.PayloadType)
	return len(payload), nil
}
func (w *fakeWriter) Write(b []byte) (int, error) { return len(b), nil }

// fakeContext is what pion hands a TrackLocal on Bind.
type fakeContext struct {
	codecs []webrtc.RTPCodecParameters
	ssrc   webrtc.SSRC
	w      webrtc.TrackLocalWriter
}

func (c fakeContext) CodecParameters() []webrtc.RTPCodecParameters           { return c.codecs }
func (c fakeContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return nil }
func (c fakeContext) SSRC() webrtc.SSRC                                      { return c.ssrc }
func (c fakeContext) SSRCRetransmission() webrtc.SSRC                        { return 0 }
func (c fakeContext) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (c fakeContext) WriteStream() webrtc.TrackLocalWriter                   { return c.w }
func (c fakeContext) ID() string                                             { return "ctx" }
func (c fakeContext) RTCPReader() interceptor.RTCPReader                     { return nil }

var h264 = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: H264Fmtp}

func negotiated(pt webrtc.PayloadType, c webrtc.RTPCodecCapability) []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{{RTPCodecCapability: c, PayloadType: pt}}
}

func TestDownTrackRewritesSSRCAndPayloadType(t *testing.T) {
	keyframes := 0
	tr := NewTrack(TrackOptions{ID: "v", Owner: "alice", Kind: webrtc.RTPCodecTypeVideo, Codec: h264,
		RequestKeyframe: func() { keyframes++ }})
	w := &fakeWriter{}
	d := NewDownTrack(tr)
	tr.AddSink(d)
	tr.WriteRTP(&rtp.Packet{Header: rtp.Header{SSRC: 1, PayloadType: 102}, Payload: []byte{1}})
	if got := w.packets.Load(); got != 0 {
		t.Fatalf("before bind: got %d packets; want 0", got)
	}
	bound := 0
	d.onBind = func() { bound++ }
	if _, err := d.Bind(fakeContext{codecs: negotiated(125, h264), ssrc: 777, w: w}); err != nil {
		t.Fatal(err)
	}
	if bound != 1 || keyframes != 0 {
		t.Errorf("on bind: got %d callbacks, %d keyframe requests; want 1, 0 (the peer decides)", bound, keyframes)
	}
	tr.WriteRTP(&rtp.Packet{Header: rtp.Header{SSRC: 1, PayloadType: 102, Extension: true}, Payload: []byte{0x65}})
	if w.packets.Load() != 1 || w.lastSSRC != 777 || w.lastPT != 125 {
		t.Errorf("got %d packets ssrc %d pt %d; want 1 packet ssrc 777 pt 125", w.packets.Load(), w.lastSSRC, w.lastPT)
	}
	if d.StreamID() != "alice" {
		t.Errorf("stream ID: got %q; want the owner alice", d.StreamID())
	}
}

func TestDownTrackCodecMatching(t *testing.T) {
	vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	h264Mode0 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "profile-level-id=42e01f"}
	h264High := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "packetization-mode=1;profile-level-id=640032"}
	h264Level := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "packetization-mode=1;profile-level-id=42e034"}
	tests := []struct {
		name      string
		track     webrtc.RTPCodecCapability
		offered   webrtc.RTPCodecCapability
		wantMatch bool
	}{
		{"same H.264", h264, h264, true},
		{"H.264 other level", h264, h264Level, true},
		{"H.264 packetization-mode 0", h264, h264Mode0, false},
		{"H.264 high profile", h264, h264High, false},
		{"VP8 vs H.264", vp8, h264, false},
		{"VP8", vp8, vp8, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDownTrack(NewTrack(TrackOptions{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Codec: tc.track}))
			_, err := d.Bind(fakeContext{codecs: negotiated(100, tc.offered), w: &fakeWriter{}})
			if got := err == nil; got != tc.wantMatch {
				t.Errorf("bind: got err %v; want match %v", err, tc.wantMatch)
			}
		})
	}
}

func TestKeyframeRequestsAreThrottled(t *testing.T) {
	var mu sync.Mutex // guards now: the deferred request reads the clock from a timer goroutine
	now := time.Unix(1000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var asked atomic.Int64
	tr := NewTrack(TrackOptions{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Codec: h264,
		RequestKeyframe: func() { asked.Add(1) }, Now: clock})
	defer tr.Close()
	steps := []struct {
		advance time.Duration
		want    bool
	}{{0, true}, {100 * time.Millisecond, false}, {300 * time.Millisecond, false}, {200 * time.Millisecond, true}, {0, false}}
	for i, s := range steps {
		mu.Lock()
		now = now.Add(s.advance)
		mu.Unlock()
		if got := tr.RequestKeyframe(); got != s.want {
			t.Errorf("step %d: got %v; want %v", i, got, s.want)
		}
	}
	audio := NewTrack(TrackOptions{ID: "a", Kind: webrtc.RTPCodecTypeAudio, RequestKeyframe: func() { asked.Add(1) }})
	if audio.RequestKeyframe() {
		t.Errorf("audio keyframe: got passed on; want ignored")
	}
	if got := asked.Load(); got != 2 {
		t.Errorf("requests passed on at once: got %d; want 2", got)
	}
	// The request refused last is not lost: it goes out when the interval ends.
	deadline := time.Now().Add(5 * time.Second)
	for asked.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := asked.Load(); got != 3 {
		t.Errorf("requests after the interval: got %d; want 3", got)
	}
}

func TestSinksAddRemove(t *testing.T) {
	tr := NewTrack(TrackOptions{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Codec: h264})
	a, b := NewDownTrack(tr), NewDownTrack(tr)
	tr.AddSink(a)
	tr.AddSink(a)
	tr.AddSink(b)
	if got := tr.SinkCount(); got != 2 {
		t.Fatalf("sinks: got %d; want 2", got)
	}
	tr.RemoveSink(a)
	tr.RemoveSink(a)
	if got := tr.SinkCount(); got != 1 {
		t.Fatalf("sinks: got %d; want 1", got)
	}
}

// BenchmarkFanout measures the forwarding hot path: one publisher's packet
// written to N bound subscribers (SSRC/PT rewrite and hand-off to the write
// stream). SRTP and interceptors are pion's and not measured here.
//
// The replay-gop runs are a track whose publisher cannot make keyframes
// (RTMP): the same path plus following where keyframes start.
func BenchmarkFanout(b *testing.B) {
	for _, replay := range []bool{false, true} {
		for _, n := range []int{1, 10, 50} {
			name := fmt.Sprintf("subscribers=%d", n)
			if replay {
				name = "replay-gop/" + name
			}
			b.Run(name, func(b *testing.B) { benchmarkFanout(b, n, replay) })
		}
	}
}

func benchmarkFanout(b *testing.B, n int, replay bool) {
	tr := NewTrack(TrackOptions{ID: "v", Owner: "pub", Kind: webrtc.RTPCodecTypeVideo, Codec: h264, ReplayGOP: replay})
	writers := make([]*fakeWriter, n)
	for i := range writers {
		writers[i] = &fakeWriter{}
		d := NewDownTrack(tr)
		if _, err := d.Bind(fakeContext{codecs: negotiated(102, h264), ssrc: webrtc.SSRC(i + 1), w: writers[i]}); err != nil {
			b.Fatal(err)
		}
		tr.AddSink(d)
	}
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SSRC: 42}, Payload: make([]byte, 1100)}
	pkt.Payload[0] = 0x65 // an IDR slice: the forwarders start here
	tr.WriteRTP(pkt)
	pkt.Payload[0] = 0x41 // then non-IDR slices
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pkt.SequenceNumber++
		tr.WriteRTP(pkt)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/fwd-pkt")
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "fwd-pkts/s")
	if got := writers[n-1].packets.Load(); got != int64(b.N)+1 {
		b.Fatalf("last subscriber: got %d packets; want %d", got, b.N)
	}
}

// TestLayerInfosKeepPausedLayerRate: a layer the publisher paused (dynacast)
// keeps the rate it had while it flowed, so the allocator does not take it for
// free and flood the link by resuming it.
func TestLayerInfosKeepPausedLayerRate(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New()
	tr := NewTrack(TrackOptions{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Codec: h264, RIDs: []string{"q", "f"}, Now: clock.Now})
	pl := make([]byte, 1000)
	var infos []LayerInfo
	// 2 s of both layers: 8 kB/s (64 kbit/s) on q, 40 kB/s (320 kbit/s) on f.
	for i := range 200 {
		tr.WriteLayerRTP(0, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i)}, Payload: pl[:80]})
		tr.WriteLayerRTP(1, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i)}, Payload: pl[:400]})
		clock.Advance(10 * time.Millisecond)
		infos = tr.LayerInfos(infos)
	}
	flowing := infos[1].Bitrate
	if flowing < 250_000 || flowing > 400_000 {
		t.Fatalf("f while it flows: got %.0f bit/s; want about 320000", flowing)
	}
	// f pauses; q goes on.
	for i := range 300 {
		tr.WriteLayerRTP(0, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(200 + i)}, Payload: pl[:80]})
		clock.Advance(10 * time.Millisecond)
		infos = tr.LayerInfos(infos)
	}
	if infos[1].Active {
		t.Errorf("f after 3 s without packets: active; want inactive")
	}
	if got := infos[1].Bitrate; got < 0.5*flowing {
		t.Errorf("f paused for 3 s: got %.0f bit/s; want near the %.0f it had (a paused layer is not free)", got, flowing)
	}
	if got := infos[0].Bitrate; got < 50_000 || got > 80_000 {
		t.Errorf("q: got %.0f bit/s; want about 64000", got)
	}
}

// orderSink logs every packet it is written in a log shared by the sinks.
type orderSink struct {
	id  int
	log *[][2]uint64 // (sink, RTP sequence number), in the order written
}

func (s *orderSink) WriteRTP(p *ExtPacket) error {
	*s.log = append(*s.log, [2]uint64{uint64(s.id), uint64(p.SequenceNumber)})
	return nil
}

// TestWriteLayerBatch: a batch goes to each sink whole before the next sink
// gets any, in chunks of MaxBatch, every sink in order; each packet counts.
func TestWriteLayerBatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		packets int
	}{
		{"one", 1},
		{"a keyframe", 27},
		{"more than a batch", 2*MaxBatch + 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTrack(TrackOptions{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Codec: h264})
			var log [][2]uint64
			const sinks = 3
			for i := range sinks {
				tr.AddSink(&orderSink{id: i, log: &log})
			}
			pkts := make([]ReceivedPacket, tc.packets)
			for i := range pkts {
				pkts[i] = ReceivedPacket{Packet: &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(1000 + i)}, Payload: []byte{0x41, 0, 0}}}
			}
			tr.WriteLayerBatch(0, pkts)
			var want [][2]uint64
			for from := 0; from < tc.packets; from += MaxBatch {
				for s := range sinks {
					for i := from; i < min(from+MaxBatch, tc.packets); i++ {
						want = append(want, [2]uint64{uint64(s), 1000 + uint64(i)})
					}
				}
			}
			if !slices.Equal(log, want) {
				t.Fatalf("order written: got %v; want %v", log, want)
			}
			tr.WriteLayerBatch(0, make([]ReceivedPacket, statsFlush)[:0]) // nothing: no panic
			for i := range statsFlush {                                   // flush the counters
				tr.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(2000 + i)}})
			}
			st := tr.Stats()
			if st.PacketsIn < uint64(tc.packets) || st.PacketsOut != st.PacketsIn*sinks {
				t.Errorf("stats: got in %d out %d; want in >= %d and out = %d x in", st.PacketsIn, st.PacketsOut, tc.packets, sinks)
			}
		})
	}
}
