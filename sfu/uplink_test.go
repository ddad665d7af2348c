package sfu

import (
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"go.uber.org/goleak"
)

// TestUplinkQuality: a member whose uplink loses a tenth of its packets is
// rated by what arrives from it, not only by its downlink: QualityStats
// reports the loss of the track it publishes (the publisher here does not
// resend, so nothing repairs it), and a clean window after it reports none.
//
// WebRTC: run inside the test network namespace (scripts/netns-run.sh).
func TestUplinkQuality(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	link := newLossyConn(udp, 0, 0, 7)
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

	// A bare pion publisher: no NACK responder, so lost packets stay lost.
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	client, err := webrtc.NewAPI(webrtc.WithMediaEngine(m)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	local, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.AddTrack(local); err != nil {
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
	if err := client.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}

	stop, done := make(chan struct{}), make(chan struct{})
	go func() { // Opus-sized packets, 50 a second
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			_ = local.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * 960)},
				Payload: make([]byte, 60)})
		}
	}()
	defer func() { close(stop); <-done }()

	select {
	case <-published:
	case <-time.After(10 * time.Second):
		t.Fatal("the publisher's track never arrived")
	}
	peer.QualityStats() // the first window starts here

	window := func(loss float64) float64 {
		t.Helper()
		link.setLoss(loss)
		time.Sleep(2 * time.Second)
		return peer.QualityStats().PacketLoss
	}
	if got := window(0.1); got < 0.04 || got > 0.2 {
		t.Errorf("uplink losing 10 %%: got packet loss %.3f; want about 0.1", got)
	}
	if got := window(0); got > 0.02 {
		t.Errorf("clean uplink again: got packet loss %.3f; want about 0", got)
	}
}
