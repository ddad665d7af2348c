package sfu

import (
	"net"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"
)

// lossyPublisher is a server peer ("alice") on an engine whose socket is a
// lossyConn, and a pion client that publishes one track to it over loopback.
type lossyPublisher struct {
	link      *lossyConn
	peer      *Peer
	client    *webrtc.PeerConnection
	sender    *webrtc.RTPSender
	answer    string
	published chan *Track // the server's Track, once media comes
}

// newLossyPublisher connects a pion client (pion's default codecs, RTX
// included, and RTCP reports) that publishes one track of codec, with pion's NACK responder
// when nack is set (which resends over RTX once it is negotiated), else none
// (lost packets stay lost). It checks for leaked goroutines when the test
// ends, after closing everything.
func newLossyPublisher(t *testing.T, seed uint64, codec webrtc.RTPCodecCapability, nack bool) (*lossyPublisher, *webrtc.TrackLocalStaticRTP) {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil { // sender reports, as browsers send
		t.Fatal(err)
	}
	if nack {
		if err := webrtc.ConfigureNack(m, ir); err != nil {
			t.Fatal(err)
		}
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir))
	local, err := webrtc.NewTrackLocalStaticRTP(codec, codec.MimeType[:5], "alice")
	if err != nil {
		t.Fatal(err)
	}
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) }) // runs last
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Close() })
	lp := &lossyPublisher{link: newLossyConn(udp, 0, 0, seed), published: make(chan *Track, 1)}
	e, err := NewEngine(EngineConfig{UDP: lp.link, Batch: countCorks(t, noBatch{}), IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	if lp.peer, err = e.NewPeer(PeerConfig{ID: "alice", Permissions: allowAll,
		OnTrack: func(tr *Track) { lp.published <- tr }}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lp.peer.Close)
	if lp.client, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lp.client.Close() })
	if lp.sender, err = lp.client.AddTrack(local); err != nil {
		t.Fatal(err)
	}
	offer, err := lp.client.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(lp.client)
	if err := lp.client.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if lp.answer, err = lp.peer.HandleOffer(lp.client.LocalDescription().SDP, nil); err != nil {
		t.Fatal(err)
	}
	if err := lp.client.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: lp.answer}); err != nil {
		t.Fatal(err)
	}
	return lp, local
}

// sendEvery calls send(0), send(1), ... every d on a goroutine of its own,
// until the test ends.
func sendEvery(t *testing.T, d time.Duration, send func(i int)) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(d)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			send(i)
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}
