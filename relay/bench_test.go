package relay

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

// The cost of a relayed track (docs/benchmarks.md, "Rooms that span nodes"):
// per video packet written into a track on the room's home node, what it
// costs to carry it over a real relay link (Handler on an httptest server on
// 127.0.0.1, Dialer, a Link at each end, room.Managers on both sides) to a
// subscriber's sink on the satellite, next to what one more local sink on the
// home costs. Besides ns/op (wall time, which the pipeline's goroutines
// overlap), cpu-ns/op is the process's CPU time (every goroutine, GC
// included) per packet: the cost on a busy node.
//
//	scripts/netns-run.sh go test -run '^$' -bench . -benchmem -count 5 ./relay

const (
	benchRoom    = "bench"
	benchSecret  = "relay-bench-secret"
	benchPayload = 1100 // the largest video payload of openroom load and of browsers
	benchPerFrm  = 4    // packets per frame: 1 Mbit/s of 30 fps in 1100-byte payloads
)

// benchSink counts the packets it gets and wakes the writer waiting for them.
type benchSink struct {
	n     atomic.Int64
	wake  chan struct{} // cap 1: a packet arrived since the writer last looked
	timer *time.Timer   // the writer's, reused: waiting allocates nothing
}

func newBenchSink() *benchSink {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &benchSink{wake: make(chan struct{}, 1), timer: t}
}

func (s *benchSink) WriteRTP(*sfu.ExtPacket) error {
	s.n.Add(1)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// waitFor waits until the sink has seen n packets; false after d without progress.
func (s *benchSink) waitFor(n int64, d time.Duration) bool {
	if s.n.Load() >= n {
		return true
	}
	s.timer.Reset(d)
	defer s.timer.Stop()
	for s.n.Load() < n {
		select {
		case <-s.wake:
		case <-s.timer.C:
			return s.n.Load() >= n
		}
	}
	return true
}

// benchMember is a subscriber's media: it adds its sink to every track it
// is offered (off the router's lock) and says which.
type benchMember struct {
	id    string
	sink  *benchSink
	added chan *sfu.Track
}

func (m *benchMember) ID() string { return m.id }
func (m *benchMember) AddTrack(t *sfu.Track) {
	go func() {
		t.AddSink(m.sink)
		m.added <- t
	}()
}
func (m *benchMember) RemoveTrack(*sfu.Track) {}

type benchSession struct{}

func (benchSession) Notify(room.Event) {}
func (benchSession) Kick(string)       {}

// benchSubscribe enters user into roomName on rooms with a benchMember and
// returns its sink once a track is offered to it.
func benchSubscribe(b *testing.B, rooms *room.Manager, roomName, user string) *benchSink {
	b.Helper()
	if _, err := rooms.Enter(room.EnterRequest{Room: roomName, UserID: user, Kind: "webrtc", Privileges: auth.PrivAll,
		Session: benchSession{}, Create: true}); err != nil {
		b.Fatalf("enter %s: %v", user, err)
	}
	m := &benchMember{id: user, sink: newBenchSink(), added: make(chan *sfu.Track, 4)}
	if err := rooms.AttachMedia(roomName, user, benchSession{}, m); err != nil {
		b.Fatal(err)
	}
	select {
	case <-m.added:
	case <-time.After(10 * time.Second):
		b.Fatalf("%s was offered no track", user)
	}
	return m.sink
}

// benchPublish enters a publisher into roomName and publishes its H.264 video.
func benchPublish(b *testing.B, rooms *room.Manager, roomName string) *sfu.Track {
	b.Helper()
	if _, err := rooms.Enter(room.EnterRequest{Room: roomName, UserID: "pub", Kind: "webrtc", Privileges: auth.PrivAll,
		Session: benchSession{}, Create: true}); err != nil {
		b.Fatal(err)
	}
	tr := sfu.NewTrack(sfu.TrackOptions{ID: "pub-video", Owner: "pub", Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"},
		RequestKeyframe: func() {}})
	if err := rooms.Publish(roomName, "pub", benchSession{}, tr); err != nil {
		b.Fatal(err)
	}
	return tr
}

// benchVideo makes H.264 packets as a browser sends a 30 fps video: FU-A
// fragments of non-IDR slices, 1100-byte payloads (noise), benchPerFrm per
// frame, the marker on each frame's last. One packet is reused: the track
// copies what it keeps.
type benchVideo struct {
	p rtp.Packet
	i int
}

func newBenchVideo() *benchVideo {
	v := &benchVideo{p: rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SSRC: 0x1234abcd,
		SequenceNumber: 1000, Timestamp: 90000}, Payload: make([]byte, benchPayload)}}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range v.p.Payload {
		v.p.Payload[i] = byte(r.Uint32())
	}
	return v
}

func (v *benchVideo) next() *rtp.Packet {
	k := v.i % benchPerFrm
	v.p.SequenceNumber++
	if k == 0 {
		v.p.Timestamp += 90000 / 30
	}
	v.p.Marker = k == benchPerFrm-1
	v.p.Payload[0] = 0x7c // FU-A, NRI 3
	v.p.Payload[1] = 0x01 // a non-IDR slice's fragment
	switch k {
	case 0:
		v.p.Payload[1] |= 0x80 // start
	case benchPerFrm - 1:
		v.p.Payload[1] |= 0x40 // end
	}
	v.i++
	return &v.p
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchRun writes b.N packets into tr, at most inflight ahead of what sink has
// seen, waits for sink to see them all, and reports the CPU per packet.
func benchRun(b *testing.B, tr *sfu.Track, sink *benchSink, inflight int) {
	b.Helper()
	v := newBenchVideo()
	base := sink.n.Load()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := range b.N {
		for int64(i)-(sink.n.Load()-base) >= int64(inflight) {
			if !sink.waitFor(base+int64(i)-int64(inflight)+1, 5*time.Second) {
				b.Fatalf("packet %d of %d did not arrive in 5 s (%d arrived)", i-inflight+1, b.N, sink.n.Load()-base)
			}
		}
		tr.WriteRTP(v.next())
	}
	if !sink.waitFor(base+int64(b.N), 5*time.Second) {
		b.Fatalf("%d of %d packets arrived", sink.n.Load()-base, b.N)
	}
	used := cpuTime() - cpu
	b.StopTimer()
	b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkLocalSink is the baseline: a track with one more local sink
// (the counting sink, attached directly), no relay.
func BenchmarkLocalSink(b *testing.B) {
	rooms := room.NewManager(room.Options{Timeout: time.Minute})
	tr := benchPublish(b, rooms, benchRoom)
	sink := benchSubscribe(b, rooms, benchRoom, "sub")
	benchRun(b, tr, sink, 1)
}

// BenchmarkRelayedTrack: the track lives on a home node; its subscriber is on
// a satellite linked to the home over a real relay WebSocket on 127.0.0.1.
// inflight is how many packets the writer lets be on their way at once: 1
// is a packet at a time (each wakes every goroutine on the path, as packets
// 9 ms apart do), 64 a burst (a keyframe's packets).
func BenchmarkRelayedTrack(b *testing.B) {
	for _, inflight := range []int{1, 64} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
			home, sat := room.NewManager(room.Options{Timeout: time.Minute}), room.NewManager(room.Options{Timeout: time.Minute})
			homeStats, satStats := &Stats{}, &Stats{}
			h := NewHandler(HandlerOptions{Rooms: home, Secret: benchSecret, Stats: homeStats})
			mux := http.NewServeMux()
			mux.Handle("GET "+Path+"{room}", h)
			srv := httptest.NewServer(mux) // 127.0.0.1
			d := NewDialer(DialerOptions{Rooms: sat, Secret: benchSecret, Node: "sat", Stats: satStats,
				Home: func(context.Context, string) (string, bool, error) { return srv.URL, false, nil }})
			defer func() {
				d.Close()
				h.Close()
				srv.Close()
			}()
			tr := benchPublish(b, home, benchRoom)
			if err := d.Ensure(benchRoom, srv.URL); err != nil {
				b.Fatal(err)
			}
			sink := benchSubscribe(b, sat, benchRoom, "sub")
			benchRun(b, tr, sink, inflight)
			if n := homeStats.Dropped.Load() + satStats.Dropped.Load(); n > 0 {
				b.Errorf("the relay dropped %d frames", n)
			}
			// The home counts a frame once its write returned, which may be
			// after the satellite took it.
			for deadline := time.Now().Add(time.Second); homeStats.PacketsOut.Load() < satStats.PacketsIn.Load() && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			if out, in := homeStats.PacketsOut.Load(), satStats.PacketsIn.Load(); out != in {
				b.Errorf("the home sent %d media frames, the satellite took %d", out, in)
			}
			b.ReportMetric(float64(homeStats.BytesOut.Load())/float64(homeStats.PacketsOut.Load()), "wire-B/pkt")
		})
	}
}
