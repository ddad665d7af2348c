package bridge

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	gcodecs "github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"
	pioncodecs "github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/internal/h264"
	"github.com/openroom/openroom/internal/testutil"
	"github.com/openroom/openroom/miniprogram-bridge/codec"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

// The latency benchmarks stream 10 s of real media through the bridge in real
// time and report the delay the server adds, p50/p95, plus CPU. Each iteration
// is a whole run: use -benchtime 1x. They open RTMP/HTTP on loopback: run them
// in the test namespace (scripts/netns-run.sh).

const benchSeconds = 10

func percentiles(ds []time.Duration) (p50, p95 float64) {
	if len(ds) == 0 {
		return math.NaN(), math.NaN()
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q float64) float64 {
		return float64(ds[int(q*float64(len(ds)-1))].Microseconds()) / 1000
	}
	return at(0.5), at(0.95)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func sine(rate, channels int, seconds float64) []int16 {
	n := int(float64(rate) * seconds)
	pcm := make([]int16, n*channels)
	for i := 0; i < n; i++ {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
		for c := 0; c < channels; c++ {
			pcm[i*channels+c] = v
		}
	}
	return pcm
}

// aacFixture encodes seconds of a 440 Hz tone to AAC at 44.1 kHz stereo, as live-pusher sends.
func aacFixture(tb testing.TB, seconds float64) ([][]byte, []byte) {
	tb.Helper()
	enc, err := codec.NewAACEncoder(44100, 2, 64000)
	if err != nil {
		tb.Fatal(err)
	}
	defer enc.Close()
	aus, err := enc.Encode(sine(44100, 2, seconds))
	if err != nil {
		tb.Fatal(err)
	}
	return aus, enc.Config()
}

// rtpProbe is a media-only room member that timestamps the pusher's RTP packets.
type rtpProbe struct {
	mu    sync.Mutex // guards video, audio
	owner string
	video map[uint32]time.Time // marker packet arrival by RTP timestamp
	audio []struct {
		ts uint32
		at time.Time
	}
}

type probeSink struct {
	p     *rtpProbe
	video bool
}

func (k probeSink) WriteRTP(pkt *sfu.ExtPacket) error {
	now := time.Now()
	k.p.mu.Lock()
	defer k.p.mu.Unlock()
	if k.video {
		if pkt.Marker {
			k.p.video[pkt.Timestamp] = now
		}
		return nil
	}
	k.p.audio = append(k.p.audio, struct {
		ts uint32
		at time.Time
	}{pkt.Timestamp, now})
	return nil
}

func (p *rtpProbe) ID() string { return "probe" }
func (p *rtpProbe) AddTrack(t *sfu.Track) {
	if t.Owner() == p.owner {
		t.AddSink(probeSink{p: p, video: t.Kind() == webrtc.RTPCodecTypeVideo})
	}
}
func (p *rtpProbe) RemoveTrack(*sfu.Track) {}

func benchBridge(b *testing.B) (*Server, *room.Manager, net.Listener, func()) {
	b.Helper()
	issuer, _ := auth.NewIssuer([]byte(testSecret), 1, nil)
	rooms := room.NewManager(room.Options{})
	br := New(Options{Rooms: rooms, Issuer: issuer, Transcoders: FFmpegTranscoders{}, OpenLogin: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = br.ServeRTMP(ln)
	}()
	return br, rooms, ln, func() {
		_ = ln.Close()
		br.Close()
		<-done
	}
}

// BenchmarkRTMPToRTP: an RTMP publisher (paced in real time) to the RTP the
// room's subscribers get. Video: RTMP message written -> last RTP packet of
// that frame out. Audio: AAC frame written -> the Opus packet whose last
// sample it carries out (includes the transcoder's inherent delay).
func BenchmarkRTMPToRTP(b *testing.B) {
	aus := testutil.EncodeH264(b, benchSeconds*30)
	aacAUs, asc := aacFixture(b, benchSeconds)
	var ascCfg mpeg4audio.AudioSpecificConfig
	if err := ascCfg.Unmarshal(asc); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		_, rooms, ln, stop := benchBridge(b)
		if _, err := rooms.Create("bench", ""); err != nil {
			b.Fatal(err)
		}
		p := &rtpProbe{owner: "pusher", video: map[uint32]time.Time{}}
		detach, _ := rooms.Watch("bench", p)
		u, _ := url.Parse(fmt.Sprintf("rtmp://%s/live/bench/pusher", ln.Addr()))
		c := &gortmplib.Client{URL: u, Publish: true}
		if err := c.Initialize(context.Background()); err != nil {
			b.Fatal(err)
		}
		var sps, pps []byte
		for _, n := range aus[0] {
			switch h264.NALType(n) {
			case h264.SPS:
				sps = n
			case h264.PPS:
				pps = n
			}
		}
		vt := &gortmplib.Track{Codec: &gcodecs.H264{SPS: sps, PPS: pps}}
		at := &gortmplib.Track{Codec: &gcodecs.MPEG4Audio{Config: &ascCfg}}
		w := &gortmplib.Writer{Conn: c, Tracks: []*gortmplib.Track{vt, at}}
		if err := w.Initialize(); err != nil {
			b.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond) // let the bridge publish its tracks
		sentVideo := make([]time.Time, len(aus))
		sentAudio := make([]time.Time, len(aacAUs))
		aacDur := 1024 * time.Second / 44100
		start := time.Now()
		cpu0 := cpuTime()
		vi, ai := 0, 0
		for vi < len(aus) || ai < len(aacAUs) {
			vT := time.Duration(vi) * time.Second / 30
			aT := time.Duration(ai) * aacDur
			if vi < len(aus) && (ai >= len(aacAUs) || vT <= aT) {
				time.Sleep(time.Until(start.Add(vT)))
				sentVideo[vi] = time.Now()
				if err := w.WriteH264(vt, vT, vT, aus[vi]); err != nil {
					b.Fatal(err)
				}
				vi++
			} else {
				time.Sleep(time.Until(start.Add(aT)))
				sentAudio[ai] = time.Now()
				if err := w.WriteMPEG4Audio(at, aT, aacAUs[ai]); err != nil {
					b.Fatal(err)
				}
				ai++
			}
		}
		time.Sleep(300 * time.Millisecond)
		wall, cpu := time.Since(start), cpuTime()-cpu0
		c.Close()
		detach()
		stop()
		var vLat, aLat []time.Duration
		p.mu.Lock()
		first := time.Time{}
		for _, at := range p.video {
			if first.IsZero() || at.Before(first) {
				first = at
			}
		}
		for i, sent := range sentVideo {
			ms := (time.Duration(i) * time.Second / 30).Milliseconds() // RTMP carries whole milliseconds
			if got, ok := p.video[uint32(ms*90)]; ok {
				vLat = append(vLat, got.Sub(sent))
			}
		}
		b.ReportMetric(float64(first.Sub(start).Milliseconds()), "startup-ms")
		for _, a := range p.audio {
			endMS := float64(a.ts)/48 + 20 // the packet's last sample, in stream milliseconds
			j := int(endMS / (float64(aacDur) / float64(time.Millisecond)))
			if j >= len(sentAudio) {
				continue
			}
			aLat = append(aLat, a.at.Sub(sentAudio[j]))
		}
		p.mu.Unlock()
		v50, v95 := percentiles(vLat)
		a50, a95 := percentiles(aLat)
		b.ReportMetric(v50, "video-p50-ms")
		b.ReportMetric(v95, "video-p95-ms")
		b.ReportMetric(a50, "audio-p50-ms")
		b.ReportMetric(a95, "audio-p95-ms")
		b.ReportMetric(float64(cpu)/float64(wall)*100, "cpu-%-of-core")
		b.ReportMetric(float64(len(vLat)), "video-frames")
		b.ReportMetric(float64(len(aLat)), "audio-packets")
	}
}

// flvTag is one tag read back from an HTTP-FLV stream.
type flvTag struct {
	typ  byte
	ms   uint32
	body []byte
	at   time.Time
}

func readFLV(r io.Reader, tags chan<- flvTag) error {
	br := bufio.NewReader(r)
	if _, err := io.ReadFull(br, make([]byte, 13)); err != nil {
		return err
	}
	hdr := make([]byte, 11)
	for {
		if _, err := io.ReadFull(br, hdr); err != nil {
			return err
		}
		size := int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3])
		body := make([]byte, size+4)
		if _, err := io.ReadFull(br, body); err != nil {
			return err
		}
		ms := uint32(hdr[4])<<16 | uint32(hdr[5])<<8 | uint32(hdr[6]) | uint32(hdr[7])<<24
		tags <- flvTag{typ: hdr[0], ms: ms, body: body[:size], at: time.Now()}
	}
}

func benchHTTP(b *testing.B, br *Server) (string, func()) {
	b.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /live/{room}/{file}", br)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = hs.Close() }
}

// pacedRTP publishes a member's H.264 (and/or Opus) into the room in real time
// and records when the last packet of each frame was written.
type pacedRTP struct {
	video, audio *sfu.Track
	sentVideo    map[[32]byte]time.Time // by hash of the frame's last NAL unit
	sentAudio    []time.Time            // by Opus packet index
	mu           sync.Mutex             // guards both maps
}

func (p *pacedRTP) run(aus [][][]byte, opus [][]byte, stop <-chan struct{}) {
	var pay pioncodecs.H264Payloader
	vpkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SSRC: 1}}
	apkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SSRC: 2}}
	start := time.Now()
	vi, ai := 0, 0
	for (p.video != nil && vi < len(aus)) || (p.audio != nil && ai < len(opus)) {
		select {
		case <-stop:
			return
		default:
		}
		vT := time.Duration(vi) * time.Second / 30
		aT := time.Duration(ai) * 20 * time.Millisecond
		if p.video != nil && vi < len(aus) && (p.audio == nil || ai >= len(opus) || vT <= aT) {
			time.Sleep(time.Until(start.Add(vT)))
			payloads := pay.Payload(rtpMTU, h264.AnnexB(aus[vi]))
			vpkt.Timestamp = uint32(vi * 3000)
			for i, pl := range payloads {
				vpkt.SequenceNumber++
				vpkt.Marker = i == len(payloads)-1
				vpkt.Payload = pl
				p.video.WriteRTP(&vpkt)
			}
			last := aus[vi][len(aus[vi])-1]
			p.mu.Lock()
			p.sentVideo[sha256.Sum256(last)] = time.Now()
			p.mu.Unlock()
			vi++
			continue
		}
		time.Sleep(time.Until(start.Add(aT)))
		apkt.SequenceNumber++
		apkt.Timestamp = uint32(ai * opusFrame)
		apkt.Payload = opus[ai]
		p.audio.WriteRTP(&apkt)
		p.mu.Lock()
		p.sentAudio = append(p.sentAudio, time.Now())
		p.mu.Unlock()
		ai++
	}
}

func opusFixture(tb testing.TB, seconds float64) [][]byte {
	tb.Helper()
	enc, err := codec.NewOpusEncoder(2, 64000)
	if err != nil {
		tb.Fatal(err)
	}
	defer enc.Close()
	pkts, err := enc.Encode(sine(48000, 2, seconds))
	if err != nil {
		tb.Fatal(err)
	}
	return pkts
}

// BenchmarkRTPToFLV: a member's RTP (paced in real time) to HTTP-FLV tags at a
// viewer. Video: last RTP packet of a frame written -> its FLV tag read.
// Audio (an audio-only publisher, so tags map 1:1 to AAC frames): the Opus
// packet completing an AAC frame written -> that frame's tag read.
func BenchmarkRTPToFLV(b *testing.B) {
	aus := testutil.EncodeH264(b, benchSeconds*30)
	opus := opusFixture(b, benchSeconds)
	for _, kind := range []string{"video", "audio"} {
		b.Run(kind, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				br, rooms, _, stop := benchBridge(b)
				base, stopHTTP := benchHTTP(b, br)
				if _, err := rooms.Enter(room.EnterRequest{Room: "bench", UserID: "pub", Kind: room.KindWebRTC, Create: true}); err != nil {
					b.Fatal(err)
				}
				p := &pacedRTP{sentVideo: map[[32]byte]time.Time{}}
				if kind == "video" {
					p.video = sfu.NewTrack(sfu.TrackOptions{ID: "v", Owner: "pub", Kind: webrtc.RTPCodecTypeVideo, Codec: h264Capability})
					_ = rooms.Publish("bench", "pub", nil, p.video)
				} else {
					p.audio = sfu.NewTrack(sfu.TrackOptions{ID: "a", Owner: "pub", Kind: webrtc.RTPCodecTypeAudio, Codec: opusCapability})
					_ = rooms.Publish("bench", "pub", nil, p.audio)
				}
				resp, err := http.Get(base + "/live/bench/pub.flv")
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("GET flv: %v %v", err, resp)
				}
				tags := make(chan flvTag, 4096)
				readDone := make(chan error, 1)
				go func() { readDone <- readFLV(resp.Body, tags) }()
				stopPace := make(chan struct{})
				cpu0, t0 := cpuTime(), time.Now()
				p.run(aus, opus, stopPace)
				time.Sleep(300 * time.Millisecond)
				wall, cpu := time.Since(t0), cpuTime()-cpu0
				resp.Body.Close()
				<-readDone
				close(tags)
				var lat []time.Duration
				audioIdx := 0
				for tag := range tags {
					switch {
					case tag.typ == flvVideo && len(tag.body) > 5 && tag.body[1] == 1:
						nalus, err := h264.SplitAVCC(tag.body[5:])
						if err != nil || len(nalus) == 0 {
							continue
						}
						p.mu.Lock()
						sent, ok := p.sentVideo[sha256.Sum256(nalus[len(nalus)-1])]
						p.mu.Unlock()
						if ok && sent.Sub(t0) > time.Second {
							lat = append(lat, tag.at.Sub(sent))
						}
					case tag.typ == flvAudio && len(tag.body) > 2 && tag.body[1] == 1:
						// AAC frame audioIdx ends at input sample (audioIdx+1)*1024 (+1024 encoder delay).
						need := ((audioIdx+2)*1024 + opusFrame - 1) / opusFrame
						audioIdx++
						p.mu.Lock()
						if need-1 < len(p.sentAudio) && need > 50 {
							lat = append(lat, tag.at.Sub(p.sentAudio[need-1]))
						}
						p.mu.Unlock()
					}
				}
				stopHTTP()
				stop()
				p50, p95 := percentiles(lat)
				b.ReportMetric(p50, "p50-ms")
				b.ReportMetric(p95, "p95-ms")
				b.ReportMetric(float64(cpu)/float64(wall)*100, "cpu-%-of-core")
				b.ReportMetric(float64(len(lat)), "samples")
			}
		})
	}
}

// BenchmarkFLVFirstFrame: while a publisher streams (GOP cache warm), the time
// from a new viewer's GET to its first video tag, over 20 viewers.
func BenchmarkFLVFirstFrame(b *testing.B) {
	aus := testutil.EncodeH264(b, benchSeconds*30)
	for i := 0; i < b.N; i++ {
		br, rooms, _, stop := benchBridge(b)
		base, stopHTTP := benchHTTP(b, br)
		if _, err := rooms.Enter(room.EnterRequest{Room: "bench", UserID: "pub", Kind: room.KindWebRTC, Create: true}); err != nil {
			b.Fatal(err)
		}
		p := &pacedRTP{sentVideo: map[[32]byte]time.Time{}}
		p.video = sfu.NewTrack(sfu.TrackOptions{ID: "v", Owner: "pub", Kind: webrtc.RTPCodecTypeVideo, Codec: h264Capability})
		_ = rooms.Publish("bench", "pub", nil, p.video)
		stopPace := make(chan struct{})
		paced := make(chan struct{})
		go func() {
			defer close(paced)
			p.run(aus, nil, stopPace)
		}()
		time.Sleep(1500 * time.Millisecond) // a GOP (1 s) is cached
		var lat []time.Duration
		for v := 0; v < 20; v++ {
			t0 := time.Now()
			resp, err := http.Get(base + "/live/bench/pub.flv")
			if err != nil {
				b.Fatal(err)
			}
			tags := make(chan flvTag, 4096)
			go func() { _ = readFLV(resp.Body, tags) }()
			for tag := range tags {
				if tag.typ == flvVideo && tag.body[1] == 1 {
					lat = append(lat, tag.at.Sub(t0))
					break
				}
			}
			resp.Body.Close()
			time.Sleep(200 * time.Millisecond)
		}
		close(stopPace)
		<-paced
		stopHTTP()
		stop()
		p50, p95 := percentiles(lat)
		b.ReportMetric(p50, "first-frame-p50-ms")
		b.ReportMetric(p95, "first-frame-p95-ms")
	}
}
