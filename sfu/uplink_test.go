package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// TestUplinkQuality: a member whose uplink loses a tenth of its packets is
// rated by what arrives from it, not only by its downlink: QualityStats
// reports the loss of the track it publishes (the publisher here does not
// resend, so nothing repairs it), and a clean window after it reports none.
//
// WebRTC: run inside the test network namespace (scripts/netns-run.sh).
func TestUplinkQuality(t *testing.T) {
	// No NACK responder: lost packets stay lost.
	lp, local := newLossyPublisher(t, 7, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, false)
	link, peer, published := lp.link, lp.peer, lp.published

	sendEvery(t, 20*time.Millisecond, func(i int) { // Opus-sized packets, 50 a second
		_ = local.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * 960)},
			Payload: make([]byte, 60)})
	})

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
