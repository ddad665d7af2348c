package twcc

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"go.uber.org/goleak"
)

// srtpHeader is the clear header of an SRTP packet: what Observe reads.
func srtpHeader(ssrc uint32, seq uint16) []byte {
	b := make([]byte, 40)
	b[0], b[1] = 0x90, 96
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	return b
}

func TestArrivalTable(t *testing.T) {
	t.Parallel()
	rtcpPkt := srtpHeader(5, 9)
	rtcpPkt[1] = 200 // a sender report
	tests := []struct {
		name   string
		packet []byte
		ssrc   uint32
		seq    uint16
		wantOK bool
	}{
		{"SRTP", srtpHeader(0xdeadbeef, 65535), 0xdeadbeef, 65535, true},
		{"other seq", srtpHeader(0xdeadbeef, 65535), 0xdeadbeef, 65534, false},
		{"other SSRC", srtpHeader(0xdeadbeef, 65535), 0xdeadbeee, 65535, false},
		{"SRTCP is not recorded", rtcpPkt, 5, 9, false},
		{"STUN is not recorded", append([]byte{0, 1}, make([]byte, 30)...), 0, 0, false},
		{"too short", srtpHeader(1, 1)[:11], 1, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := NewArrivalTable()
			a.Observe(tt.packet, 12345)
			at, ok := a.Lookup(tt.ssrc, tt.seq)
			if ok != tt.wantOK || (ok && at != 12345) {
				t.Errorf("Lookup(%d, %d): got (%d, %v); want (12345, %v)", tt.ssrc, tt.seq, at, ok, tt.wantOK)
			}
		})
	}
	t.Run("a stream's recent packets all kept", func(t *testing.T) {
		t.Parallel()
		a := NewArrivalTable()
		for seq := range 2000 {
			a.Record(42, uint16(60000+seq), int64(seq))
		}
		miss := 0
		for seq := range 2000 {
			if at, ok := a.Lookup(42, uint16(60000+seq)); !ok || at != int64(seq) {
				miss++
			}
		}
		if miss > 20 {
			t.Errorf("lookups that missed: got %d of 2000; want almost none", miss)
		}
	})
}

// TestReporterReportsSocketTimes: packets read late (all at once, 300 ms
// after they arrived 20 ms apart) are reported 20 ms apart, as they reached
// the socket; a packet the table does not know is timed when read.
func TestReporterReportsSocketTimes(t *testing.T) {
	defer goleak.VerifyNone(t)
	clock := time.Unix(1_000_000, 0)
	now := func() time.Time { return clock }
	arrivals := NewArrivalTable()
	i, err := NewReporterFactory(arrivals, now).NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan []rtcp.Packet, 10)
	i.BindRTCPWriter(interceptor.RTCPWriterFunc(func(p []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		sent <- p
		return 0, nil
	}))
	var queue [][]byte
	r := i.BindRemoteStream(&interceptor.StreamInfo{SSRC: 7, RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 5}}},
		interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			n := copy(b, queue[0])
			queue = queue[1:]
			return n, a, nil
		}))
	base := clock.UnixNano()
	for k := range 4 {
		h := rtp.Header{Version: 2, SSRC: 7, SequenceNumber: uint16(100 + k)}
		ext := make([]byte, 2)
		binary.BigEndian.PutUint16(ext, uint16(k))
		if err := h.SetExtension(5, ext); err != nil {
			t.Fatal(err)
		}
		b, err := (&rtp.Packet{Header: h, Payload: make([]byte, 20)}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		queue = append(queue, b)
		if k < 3 { // the last one never reached the table
			arrivals.Record(7, uint16(100+k), base+int64(k)*int64(20*time.Millisecond))
		}
	}
	clock = clock.Add(300 * time.Millisecond) // read late
	buf := make([]byte, 1500)
	for range 4 {
		if _, _, err := r.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
	}
	var fb *rtcp.TransportLayerCC
	select {
	case p := <-sent:
		fb, _ = p[0].(*rtcp.TransportLayerCC)
	case <-time.After(2 * time.Second):
		t.Fatal("no feedback within 2 s")
	}
	if fb == nil || fb.MediaSSRC != 7 || fb.PacketStatusCount != 4 || len(fb.RecvDeltas) != 4 {
		t.Fatalf("feedback: got %+v; want 4 packets of SSRC 7", fb)
	}
	wantDeltas := []int64{20_000, 20_000, 260_000} // µs: socket times, then the read time of the one without
	for k, want := range wantDeltas {
		if got := fb.RecvDeltas[k+1].Delta; got != want {
			t.Errorf("delta before packet %d: got %d µs; want %d", k+1, got, want)
		}
	}
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
}
