package sfu

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"go.uber.org/goleak"
)

// TestPublisherLossRepairedOverRTX: the server negotiates RTX with a
// publisher, asks for what its uplink lost (the track's own NACKs, nack.go),
// and the resends, which arrive on the RTX stream, fill the gaps: the track
// counts (nearly) every packet the publisher sent although a tenth of them
// were lost each way on the link, NACKs and resends included.
//
// WebRTC: run inside the test network namespace (scripts/netns-run.sh).
func TestPublisherLossRepairedOverRTX(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	link := newLossyConn(udp, 0, 0, 11)
	e, err := NewEngine(EngineConfig{UDP: link, IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	published := make(chan *Track, 1)
	peer, err := e.NewPeer(PeerConfig{ID: "alice", Permissions: allowAll,
		OnTrack: func(tr *Track) { published <- tr }})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()

	// A pion publisher as browsers are: VP8 with RTX, and a NACK responder
	// (which resends over RTX once it is negotiated).
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(m, ir); err != nil {
		t.Fatal(err)
	}
	client, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	local, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "alice")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := client.AddTrack(local)
	if err != nil {
		t.Fatal(err)
	}
	offer, err := client.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(client)
	if err := client.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	answer, err := peer.HandleOffer(client.LocalDescription().SDP)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(answer, "rtx/90000") || !strings.Contains(answer, "apt=96") {
		t.Fatalf("the answer negotiates no RTX for VP8:\n%s", answer)
	}
	if err := client.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	if enc := sender.GetParameters().Encodings; len(enc) != 1 || enc[0].RTX.SSRC == 0 {
		t.Fatalf("the publisher's encodings: got %+v; want one with an RTX SSRC", enc)
	}

	rtcpDone := make(chan struct{})
	go func() { // the interceptors (the NACK responder) see RTCP as it is read
		defer close(rtcpDone)
		for {
			if _, _, err := sender.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	defer func() { client.Close(); <-rtcpDone }()

	stop, done := make(chan struct{}), make(chan struct{})
	go func() { // 100 packets a second; the first of every 50 starts a VP8 keyframe
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			payload := make([]byte, 600)
			payload[0] = 0x10 // S bit: a partition start
			if i%50 != 0 {
				payload[3] = 0x01 // not a keyframe (P bit)
			}
			_ = local.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i),
				Timestamp: uint32(i * 900), Marker: true}, Payload: payload})
		}
	}()
	defer func() { close(stop); <-done }()

	var track *Track
	select {
	case track = <-published:
	case <-time.After(10 * time.Second):
		t.Fatal("the publisher's track never arrived")
	}
	time.Sleep(500 * time.Millisecond)
	before := track.ReceiveCounters()
	link.setLoss(0.1)
	time.Sleep(3 * time.Second)
	link.setLoss(0)
	time.Sleep(1500 * time.Millisecond) // the last resends come in
	after := track.ReceiveCounters()
	expected, received := after.Expected-before.Expected, after.Received-before.Received
	if expected < 300 {
		t.Fatalf("packets expected in the window: got %d; want about 500", expected)
	}
	lost := 1 - float64(received)/float64(expected)
	t.Logf("publisher -> server over a link losing 10 %% each way: %d of %d packets (%.1f %% lost after repair); %d dropped on the way in",
		received, expected, 100*lost, link.droppedIn.Load())
	if link.droppedIn.Load() < 20 {
		t.Fatalf("the link dropped %d packets on the way in; want some to repair", link.droppedIn.Load())
	}
	if lost > 0.01 {
		t.Errorf("lost after repair: got %.1f %%; want under 1 %% (a tenth lost without it)", 100*lost)
	}
}
