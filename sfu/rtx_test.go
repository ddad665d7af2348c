package sfu

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// TestPublisherLossRepairedOverRTX: the server negotiates RTX with a
// publisher, asks for what its uplink lost (the track's own NACKs, nack.go),
// and the resends, which arrive on the RTX stream, fill the gaps: the track
// counts (nearly) every packet the publisher sent although a tenth of them
// were lost each way on the link, NACKs and resends included.
//
// WebRTC: run inside the test network namespace (scripts/netns-run.sh).
func TestPublisherLossRepairedOverRTX(t *testing.T) {
	// A publisher as browsers are: VP8 with RTX, and a NACK responder.
	lp, local := newLossyPublisher(t, 11, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, true)
	link, client, sender, published := lp.link, lp.client, lp.sender, lp.published
	if !strings.Contains(lp.answer, "rtx/90000") || !strings.Contains(lp.answer, "apt=96") {
		t.Fatalf("the answer negotiates no RTX for VP8:\n%s", lp.answer)
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

	// 100 packets a second; the first of every 50 starts a VP8 keyframe.
	sendEvery(t, 10*time.Millisecond, func(i int) {
		payload := make([]byte, 600)
		payload[0] = 0x10 // S bit: a partition start
		if i%50 != 0 {
			payload[3] = 0x01 // not a keyframe (P bit)
		}
		_ = local.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i),
			Timestamp: uint32(i * 900), Marker: true}, Payload: payload})
	})

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
