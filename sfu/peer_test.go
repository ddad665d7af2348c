package sfu

import (
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/internal/testclient"
	"github.com/openroom/openroom/internal/udpbatch"
)

// loopbackEngine builds an Engine on a 127.0.0.1 UDP socket closed at cleanup,
// with batched sends as the server has them.
func loopbackEngine(tb testing.TB) *Engine {
	tb.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	udp, err := udpbatch.New(pc)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { udp.Close() })
	e, err := NewEngine(EngineConfig{UDP: udp, Batch: countCorks(tb, udp), IncludeLoopback: true})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// corkCount is a Batcher that counts the corks still open.
type corkCount struct {
	Batcher
	open atomic.Int64
}

// countCorks wraps b and fails the test if, once the test has closed its
// peers, a Cork is left without its Uncork (it would hold every later write
// on the socket back).
func countCorks(tb testing.TB, b Batcher) Batcher {
	c := &corkCount{Batcher: b}
	tb.Cleanup(func() {
		if n := c.open.Load(); n != 0 {
			tb.Errorf("corks left open on the socket: got %d; want 0", n)
		}
	})
	return c
}

func (c *corkCount) Cork()   { c.open.Add(1); c.Batcher.Cork() }
func (c *corkCount) Uncork() { c.open.Add(-1); c.Batcher.Uncork() }

var allowAll = Permissions{SendAudio: true, SendVideo: true, ReceiveAudio: true, ReceiveVideo: true}

// videoCodecs lists the payload formats of the first video m-line, in order.
func videoCodecs(t *testing.T, raw string) (names []string, feedback map[string]bool) {
	t.Helper()
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(raw); err != nil {
		t.Fatal(err)
	}
	feedback = map[string]bool{}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "video" {
			continue
		}
		for _, f := range md.MediaName.Formats {
			c, err := sd.GetCodecForPayloadType(uint8(atoi(f)))
			if err == nil {
				names = append(names, c.Name+" "+c.Fmtp)
				for _, fb := range c.RTCPFeedback {
					feedback[c.Name+" "+fb] = true
				}
			}
		}
		return names, feedback
	}
	return nil, feedback
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

func TestSubscriberOfferNegotiatesH264FirstWithFeedback(t *testing.T) {
	e := loopbackEngine(t)
	offers := make(chan string, 1)
	p, err := e.NewPeer(PeerConfig{ID: "bob", Permissions: allowAll, OnOffer: func(s string) { offers <- s }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.AddTrack(NewTrack(TrackOptions{ID: "alice-video", Owner: "alice", Kind: webrtc.RTPCodecTypeVideo, Codec: h264}))
	var offer string
	select {
	case offer = <-offers:
	case <-time.After(5 * time.Second):
		t.Fatal("no subscriber offer")
	}
	names, fb := videoCodecs(t, offer)
	if len(names) == 0 || !strings.HasPrefix(names[0], "H264 ") || !strings.Contains(names[0], "packetization-mode=1") ||
		!strings.Contains(names[0], "profile-level-id=42e01f") {
		t.Errorf("video codecs: got %v; want H.264 42e01f packetization-mode=1 first", names)
	}
	for _, want := range []string{"H264 nack", "H264 nack pli", "H264 ccm fir"} {
		if !fb[want] {
			t.Errorf("feedback %q: got missing; want offered (have %v)", want, fb)
		}
	}
	if !strings.Contains(offer, "msid:alice ") {
		t.Errorf("offer: got no msid with stream alice; want the owner as stream ID")
	}
}

func TestPublisherAnswerKeepsH264WhenOffered(t *testing.T) {
	e := loopbackEngine(t)
	tests := []struct {
		name  string
		mime  string
		first string
	}{
		{"H.264 publisher", webrtc.MimeTypeH264, "H264 "},
		{"VP8 publisher", webrtc.MimeTypeVP8, "VP8 "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := e.NewPeer(PeerConfig{ID: "alice", Permissions: allowAll})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			client := newClient(t)
			tr, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: tc.mime}, "v", "alice")
			x, err := client.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
			if err != nil {
				t.Fatal(err)
			}
			// The client puts its preferred codec first, as the SDK does with setCodecPreferences.
			var prefs []webrtc.RTPCodecParameters
			for _, c := range x.Sender().GetParameters().Codecs {
				if c.MimeType == tc.mime {
					prefs = append(prefs, c)
				}
			}
			if err := x.SetCodecPreferences(prefs); err != nil {
				t.Fatal(err)
			}
			offer, err := client.CreateOffer(nil)
			if err != nil {
				t.Fatal(err)
			}
			answer, err := p.HandleOffer(offer.SDP, nil)
			if err != nil {
				t.Fatal(err)
			}
			names, _ := videoCodecs(t, answer)
			if len(names) == 0 || !strings.HasPrefix(names[0], tc.first) {
				t.Errorf("answer video codecs: got %v; want %q first", names, tc.first)
			}
		})
	}
}

// connectSubscriber wires a Peer's subscriber side to a pion client that
// drains what it receives, and returns once t is flowing to it.
func connectSubscriber(tb testing.TB, e *Engine, t *Track) (done func()) {
	_, done = connectSubscriberPeer(tb, e, t)
	return done
}

// connectSubscriberPeer is connectSubscriber that also returns the server's peer.
func connectSubscriberPeer(tb testing.TB, e *Engine, t *Track) (*Peer, func()) {
	tb.Helper()
	got := make(chan struct{})
	var once sync.Once
	p, client := dialSubscriber(tb, e, func(tr *webrtc.TrackRemote) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
			once.Do(func() { close(got) })
		}
	}, t)
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SSRC: 9, Marker: true}, Payload: []byte{0x65, 1, 2, 3}}
	deadline := time.After(10 * time.Second)
	for {
		pkt.SequenceNumber++
		t.WriteRTP(pkt)
		select {
		case <-got:
			return p, func() { p.Close(); client.Close() }
		case <-deadline:
			tb.Fatal("media never reached the subscriber")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// dialSubscriber connects a pion client to a new Peer of e as its subscriber,
// subscribes it to tracks and completes the offer/answer; onTrack reads each
// track the client receives. It returns once ICE has connected; every later
// offer (more tracks) is answered as it comes. The caller closes both.
//
// Candidates are never trickled into a side that has no remote description
// yet (pion refuses them there, and a lost candidate can leave nothing to
// connect under load): the client answers with its candidates in the SDP, and
// the server's trickled ones wait until the client has the offer.
func dialSubscriber(tb testing.TB, e *Engine, onTrack func(*webrtc.TrackRemote), tracks ...*Track) (*Peer, *webrtc.PeerConnection) {
	tb.Helper()
	client := newClient(tb)
	client.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { onTrack(tr) })
	connected := make(chan struct{})
	var connectedOnce sync.Once
	client.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s == webrtc.ICEConnectionStateConnected {
			connectedOnce.Do(func() { close(connected) })
		}
	})
	gate := &candidateGate{client: client} // server candidates wait for the offer
	offers := make(chan string, 16)        // one per renegotiation
	peer, err := e.NewPeer(PeerConfig{ID: "sub", Permissions: allowAll,
		OnOffer:     func(offer string) { offers <- offer },
		OnCandidate: func(_ string, c webrtc.ICECandidateInit) { gate.add(c) },
	})
	if err != nil {
		tb.Fatal(err)
	}
	// Both are closed even if the dial fails (both closes are idempotent).
	tb.Cleanup(func() { peer.Close(); _ = client.Close() })
	answer := func(offer string) error {
		if err := client.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
			return err
		}
		gate.open()
		a, err := client.CreateAnswer(nil)
		if err != nil {
			return err
		}
		gathered := webrtc.GatheringCompletePromise(client)
		if err := client.SetLocalDescription(a); err != nil {
			return err
		}
		<-gathered
		return peer.HandleAnswer(client.LocalDescription().SDP)
	}
	for _, t := range tracks {
		peer.AddTrack(t)
	}
	select {
	case o := <-offers:
		if err := answer(o); err != nil {
			tb.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		tb.Fatal("no subscriber offer")
	}
	// Later offers (more tracks added) are answered as they come.
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case o := <-offers:
				_ = answer(o)
			}
		}
	}()
	tb.Cleanup(func() { close(stop); <-done })
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		tb.Fatalf("subscriber ICE did not connect in 10 s; state %v", client.ICEConnectionState())
	}
	return peer, client
}

// newClient returns a pion client connection as the tests' browsers have
// it (testclient's API); it is closed when the test ends.
func newClient(tb testing.TB) *webrtc.PeerConnection {
	tb.Helper()
	api, err := testclient.API()
	if err != nil {
		tb.Fatal(err)
	}
	client, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = client.Close() })
	return client
}

// candidateGate holds the server's candidates for a pion client until the
// client has the remote description (pion refuses candidates before it; a
// lost one can leave nothing to connect under load), then adds them.
type candidateGate struct {
	client *webrtc.PeerConnection
	mu     sync.Mutex // guards opened and held
	opened bool
	held   []webrtc.ICECandidateInit
}

func (g *candidateGate) add(c webrtc.ICECandidateInit) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.opened {
		g.held = append(g.held, c)
		return
	}
	_ = g.client.AddICECandidate(c)
}

// open is called once the client's remote description is set.
func (g *candidateGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.opened = true
	for _, c := range g.held {
		_ = g.client.AddICECandidate(c)
	}
	g.held = nil
}

// BenchmarkForwardSRTP measures one forwarded packet through everything pion
// adds after the fan-out: NACK buffer, RTCP report counters, SRTP encryption and
// the UDP send, to one real subscriber on loopback. Run it inside the test
// network namespace (scripts/netns-run.sh), as every WebRTC test.
func BenchmarkForwardSRTP(b *testing.B) {
	e := loopbackEngine(b)
	tr := NewTrack(TrackOptions{ID: "v", Owner: "pub", Kind: webrtc.RTPCodecTypeVideo, Codec: h264})
	p, done := connectSubscriberPeer(b, e, tr)
	defer done()
	// Measure the send path, not pacing: no budget runs out.
	p.pacer.mu.Lock()
	p.pacer.floorRate = 1e12
	p.pacer.mu.Unlock()
	p.pacer.setRate(0)
	// Continue the stream connectSubscriber started (a packet from before it
	// would be dropped as old).
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SSRC: 9, SequenceNumber: 20000, Timestamp: 1 << 20},
		Payload: make([]byte, 1100)}
	pkt.Payload[0] = 0x41 // a non-IDR slice
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt.Payload)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pkt.SequenceNumber++
		pkt.Timestamp += 3000
		tr.WriteRTP(pkt)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

// A client that trickles may send its first candidates before its offer
// reaches the server; they must not be lost (the connection would have no
// candidate pair and never connect).
func TestPublisherCandidatesBeforeTheOffer(t *testing.T) {
	e := loopbackEngine(t)
	client := newClient(t)
	gate := &candidateGate{client: client} // server candidates wait for the answer
	p, err := e.NewPeer(PeerConfig{ID: "alice", Permissions: allowAll,
		OnCandidate: func(target string, c webrtc.ICECandidateInit) {
			if target == TargetPublisher {
				gate.add(c)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tr, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "a", "alice")
	if _, err := client.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	connected := make(chan struct{})
	var once sync.Once
	client.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s == webrtc.ICEConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	var mu sync.Mutex // guards cands
	var cands []webrtc.ICECandidateInit
	client.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			mu.Lock()
			cands = append(cands, c.ToJSON())
			mu.Unlock()
		}
	})
	offer, err := client.CreateOffer(nil) // no candidates in it: they trickle
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(client)
	if err := client.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	mu.Lock()
	early := cands
	mu.Unlock()
	if len(early) == 0 {
		t.Fatal("the client gathered no candidate")
	}
	for _, c := range early {
		if err := p.AddCandidate(TargetPublisher, c); err != nil {
			t.Fatalf("candidate before the offer: got %v; want it kept", err)
		}
	}
	answer, err := p.HandleOffer(offer.SDP, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	gate.open()
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatalf("publisher ICE did not connect in 10 s: state %v", client.ICEConnectionState())
	}
}

func TestTooManyCandidatesBeforeTheOffer(t *testing.T) {
	e := loopbackEngine(t)
	p, err := e.NewPeer(PeerConfig{ID: "alice", Permissions: allowAll})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"}
	for i := 0; i < maxEarlyCandidates; i++ {
		if err := p.AddCandidate(TargetPublisher, c); err != nil {
			t.Fatalf("candidate %d: got %v; want nil", i, err)
		}
	}
	if err := p.AddCandidate(TargetPublisher, c); !errors.Is(err, ErrBadSDP) {
		t.Errorf("candidate %d: got %v; want ErrBadSDP", maxEarlyCandidates+1, err)
	}
}

func TestBadCandidateBeforeTheOfferIsRefused(t *testing.T) {
	e := loopbackEngine(t)
	p, err := e.NewPeer(PeerConfig{ID: "alice", Permissions: allowAll})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.AddCandidate(TargetPublisher, webrtc.ICECandidateInit{Candidate: "candidate:garbage"}); !errors.Is(err, ErrBadSDP) {
		t.Errorf("got %v; want ErrBadSDP", err)
	}
}

// TestForwardQueueHandsOnWhatWaits: packets read while the hand-on goroutine
// was busy go on as one batch (each sink gets them all in a row); the slots
// come back.
func TestForwardQueueHandsOnWhatWaits(t *testing.T) {
	t.Parallel()
	tr := NewTrack(TrackOptions{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Codec: h264})
	var log [][2]uint64
	tr.AddSink(&orderSink{id: 0, log: &log})
	tr.AddSink(&orderSink{id: 1, log: &log})
	q := newForwardQueue(8)
	for i := range 5 {
		s := <-q.free
		s.pkt = rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(10 + i)}, Payload: []byte{0x41}}
		q.ready <- s
	}
	close(q.ready)
	q.handOn(tr, 0, noBatch{})
	var want [][2]uint64
	for s := range 2 {
		for i := range 5 {
			want = append(want, [2]uint64{uint64(s), uint64(10 + i)})
		}
	}
	if !slices.Equal(log, want) {
		t.Fatalf("order written: got %v; want %v", log, want)
	}
	if got := len(q.free); got != 8 {
		t.Errorf("free slots after: got %d; want 8", got)
	}
}
