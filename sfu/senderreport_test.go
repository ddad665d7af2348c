package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/internal/fakeclock"
)

// tsWriter records the last RTP timestamp written.
type tsWriter struct {
	fakeWriter
	lastTS uint32
}

func (w *tsWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.lastTS = h.Timestamp
	return w.fakeWriter.WriteRTP(h, payload)
}

func TestSenderReport(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New()
	tr := NewTrack(TrackOptions{ID: "v", Owner: "pub", Kind: webrtc.RTPCodecTypeVideo, Codec: h264, Now: clock.Now})
	d := newDownTrack(tr, nil, clock.Now)
	w := &tsWriter{}
	if _, err := d.Bind(fakeContext{codecs: negotiated(102, h264), ssrc: 77, w: w}); err != nil {
		t.Fatal(err)
	}
	tr.AddSink(d)
	if _, ok := d.senderReport(clock.Now()); ok {
		t.Fatal("a sender report before any packet")
	}
	pl := []byte{0x65, 1, 2, 3, 4} // an IDR slice: the forwarder starts here
	for i := range 3 {
		tr.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SSRC: 9, SequenceNumber: uint16(100 + i),
			Timestamp: uint32(5000 + 3000*i), Marker: true}, Payload: pl})
		clock.Advance(33 * time.Millisecond)
		pl[0] = 0x41
	}
	clock.Advance(100*time.Millisecond - 33*time.Millisecond) // 100 ms after the last packet
	now := clock.Now()
	sr, ok := d.senderReport(now)
	if !ok {
		t.Fatal("no sender report after 3 packets")
	}
	want := rtcp.SenderReport{SSRC: 77, NTPTime: ntpTime(now), RTPTime: w.lastTS + 9000, PacketCount: 3, OctetCount: 15}
	if sr.SSRC != want.SSRC || sr.NTPTime != want.NTPTime || sr.RTPTime != want.RTPTime ||
		sr.PacketCount != want.PacketCount || sr.OctetCount != want.OctetCount {
		t.Errorf("got %+v; want %+v", sr, want)
	}
}

// A subscriber gets sender reports for what it receives, from the down
// tracks' counters (the connection has no RTCP report interceptor).
func TestSubscriberGetsSenderReports(t *testing.T) {
	e := loopbackEngine(t)
	tr := NewTrack(TrackOptions{ID: "v", Owner: "pub", Kind: webrtc.RTPCodecTypeVideo, Codec: h264})
	got := make(chan rtcp.SenderReport, 1)
	_, client := dialSubscriber(t, e, func(remote *webrtc.TrackRemote) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := remote.Read(buf); err != nil {
				return
			}
		}
	}, tr)
	for _, r := range client.GetReceivers() {
		go func() {
			for {
				pkts, _, err := r.ReadRTCP()
				if err != nil {
					return // the client closed
				}
				for _, p := range pkts {
					if sr, ok := p.(*rtcp.SenderReport); ok {
						select {
						case got <- *sr:
						default:
						}
					}
				}
			}
		}()
	}
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SSRC: 9, Marker: true}, Payload: []byte{0x65, 1, 2, 3}}
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case sr := <-got:
			if sr.PacketCount == 0 || sr.OctetCount == 0 {
				t.Errorf("sender report counts nothing sent: %+v", sr)
			}
			return
		case <-deadline:
			t.Fatal("no sender report in 10 s")
		case <-tick.C:
			pkt.SequenceNumber++
			pkt.Timestamp += 1800
			tr.WriteRTP(pkt)
			pkt.Payload[0] = 0x41
		}
	}
}
