package twcc

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

func TestInterceptorStampsAndReads(t *testing.T) {
	t.Parallel()
	e, clock := newTestEstimator(1_000_000)
	i, err := NewFactory(e).NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint16
	var sizes []int
	w := i.BindLocalStream(&interceptor.StreamInfo{SSRC: 1, RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 3}}},
		interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
			seqs = append(seqs, binary.BigEndian.Uint16(h.GetExtension(3)))
			sizes = append(sizes, h.MarshalSize()+len(payload))
			return len(payload), nil
		}))
	plain := i.BindLocalStream(&interceptor.StreamInfo{SSRC: 2}, interceptor.RTPWriterFunc(func(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
		if h.Extension {
			t.Error("a stream without transport-cc got an extension")
		}
		return 0, nil
	}))
	h := rtp.Header{Version: 2, SSRC: 1}
	for range 3 {
		if _, err := w.Write(&h, make([]byte, 100), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := plain.Write(&rtp.Header{Version: 2, SSRC: 2}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if want := []uint16{0, 1, 2}; len(seqs) != 3 || seqs[0] != want[0] || seqs[2] != want[2] {
		t.Errorf("sequence numbers %v; want %v", seqs, want)
	}
	if p := e.hist.get(1); p == nil || int(p.size) != sizes[1] {
		t.Errorf("history of packet 1: %+v; want size %d", p, sizes[1])
	}

	// Feedback through the RTCP reader: packet 1 lost.
	*clock += 50 * time.Millisecond
	fb := &rtcp.TransportLayerCC{
		BaseSequenceNumber: 0, PacketStatusCount: 3, ReferenceTime: 1,
		PacketChunks: []rtcp.PacketStatusChunk{&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit,
			SymbolList: []uint16{rtcp.TypeTCCPacketReceivedSmallDelta, rtcp.TypeTCCPacketNotReceived, rtcp.TypeTCCPacketReceivedSmallDelta}}},
		RecvDeltas: []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 1000}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 500}},
	}
	raw := marshalFeedback(t, fb)
	r := i.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, raw), a, nil
	}))
	buf := make([]byte, 1500)
	n, _, err := r.Read(buf, nil)
	if err != nil || n != len(raw) {
		t.Fatalf("read %d, %v; want %d bytes", n, err, len(raw))
	}
	e.mu.Lock()
	lost, total := e.acked[0].lost, e.acked[0].total
	e.mu.Unlock()
	if lost != 1 || total != 3 {
		t.Errorf("report counted %d lost of %d; want 1 of 3", lost, total)
	}
}

// TestStampLimit: a packet over the caller's limit gets no transport-wide
// number; the next packet gets the one after the last stamped.
func TestStampLimit(t *testing.T) {
	t.Parallel()
	e := New(Config{Initial: 1e6, Min: 1e5, Max: 1e7})
	var slot [2]byte
	h := rtp.Header{Version: 2, SSRC: 1}
	first, err := e.Stamp(&h, 3, &slot, 100, 200)
	if err != nil {
		t.Fatal(err)
	}
	if want := h.MarshalSize() + 100; first != want {
		t.Errorf("size: got %d; want %d", first, want)
	}
	n := binary.BigEndian.Uint16(slot[:])
	if _, err := e.Stamp(&h, 3, &slot, 300, 200); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: got %v; want ErrTooLarge", err)
	}
	if _, err := e.Stamp(&h, 3, &slot, 100, 0); err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint16(slot[:]); got != n+1 {
		t.Errorf("after a refused packet: got number %d; want %d", got, n+1)
	}
}
