package twcc

import (
	"errors"
	"testing"

	"github.com/openroom/openroom/sfu/rtcpin"
	"github.com/pion/rtcp"
)

// marshalFeedback is fb as a receiver sends it, read back as the server does:
// one RTCP packet, padding removed. Deltas go in 250 µs units.
func marshalFeedback(t testing.TB, fb *rtcp.TransportLayerCC) []byte {
	t.Helper()
	size := 20 + 2*len(fb.PacketChunks)
	for _, d := range fb.RecvDeltas {
		size++
		if d.Type == rtcp.TypeTCCPacketReceivedLargeDelta {
			size++
		}
	}
	// MarshalSize includes the padding, so it cannot say whether there is any.
	fb.Header = rtcp.Header{Padding: size%4 != 0, Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback, Length: fb.Len()/4 - 1}
	b, err := fb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	if err := rtcpin.Walk(b, func(p rtcpin.Packet) bool { raw = p.Raw; return false }); err != nil || !(rtcpin.Packet{Type: b[1], Count: b[0] & 0x1f}).IsTransportCC() {
		t.Fatalf("marshalled feedback does not read back: %v", err)
	}
	return raw
}

func TestDecode(t *testing.T) {
	t.Parallel()
	d := func(us int64) *rtcp.RecvDelta {
		return &rtcp.RecvDelta{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: us}
	}
	tests := []struct {
		name    string
		fb      rtcp.TransportLayerCC
		want    []packetResult
		wantErr error
	}{
		{
			name: "run length: two received, one lost",
			fb: rtcp.TransportLayerCC{BaseSequenceNumber: 65535, PacketStatusCount: 3, ReferenceTime: 2,
				PacketChunks: []rtcp.PacketStatusChunk{
					&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 2},
					&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: 1},
				},
				RecvDeltas: []*rtcp.RecvDelta{d(1000), d(250)}},
			want: []packetResult{
				{seq: 65535, received: true, timed: true, arrival: 2*refUnit + 1000},
				{seq: 0, received: true, timed: true, arrival: 2*refUnit + 1250},
				{seq: 1},
			},
		},
		{
			name: "status vectors, two- and one-bit; the count ends the last",
			fb: rtcp.TransportLayerCC{BaseSequenceNumber: 10, PacketStatusCount: 9, ReferenceTime: 0,
				PacketChunks: []rtcp.PacketStatusChunk{
					&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit,
						SymbolList: []uint16{rtcp.TypeTCCPacketReceivedLargeDelta, rtcp.TypeTCCPacketReceivedWithoutDelta, rtcp.TypeTCCPacketReceivedLargeDelta,
							rtcp.TypeTCCPacketReceivedSmallDelta, 0, 0, 0}},
					&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeOneBit, SymbolList: []uint16{1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
				},
				RecvDeltas: []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedLargeDelta, Delta: 500}, {Type: rtcp.TypeTCCPacketReceivedLargeDelta, Delta: -250},
					d(250), d(1000)}},
			want: []packetResult{
				{seq: 10, received: true, timed: true, arrival: 500},
				{seq: 11, received: true},
				{seq: 12, received: true, timed: true, arrival: 250},
				{seq: 13, received: true, timed: true, arrival: 500},
				{seq: 14}, {seq: 15}, {seq: 16},
				{seq: 17, received: true, timed: true, arrival: 1500},
				{seq: 18},
			},
		},
		{
			name: "more received than deltas",
			fb: rtcp.TransportLayerCC{PacketStatusCount: 2, PacketChunks: []rtcp.PacketStatusChunk{
				&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 2}},
				RecvDeltas: []*rtcp.RecvDelta{d(250)}},
			want:    []packetResult{{seq: 0, received: true, timed: true, arrival: 250}},
			wantErr: ErrBadFeedback,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fb, err := parseFeedback(marshalFeedback(t, &tt.fb))
			if err != nil {
				t.Fatal(err)
			}
			got, err := fb.decode(int64(tt.fb.ReferenceTime), nil, maxFeedbackPk)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v; want %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v; want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("packet %d: got %+v; want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestUnwrapRef(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		last  int64
		ref   uint32
		first bool
		want  int64
	}{
		{"first", 0, 0xfffffe, true, 0xfffffe},
		{"forward across the wrap", 0xfffffe, 1, false, 0x1000001},
		{"a late report from before the wrap", 0x1000001, 0xffffff, false, 0xffffff},
		{"forward", 100, 164, false, 164},
	}
	for _, tt := range tests {
		if got := unwrapRef(tt.last, tt.ref, tt.first); got != tt.want {
			t.Errorf("%s: got %#x; want %#x", tt.name, got, tt.want)
		}
	}
}

func TestHistory(t *testing.T) {
	t.Parallel()
	var h history
	h.add(5, 100, 1200)
	if p := h.get(5); p == nil || p.at != 100 || p.size != 1200 {
		t.Fatalf("get(5) = %+v; want the packet", p)
	}
	if p := h.get(5 + historySize); p != nil {
		t.Errorf("a sequence number never sent found %+v", p)
	}
	h.add(5+historySize, 200, 100)
	if p := h.get(5); p != nil {
		t.Errorf("an overwritten packet is still found: %+v", p)
	}
	// Wrap of the 16-bit sequence number.
	h.add(65535, 1, 1)
	h.add(0, 2, 1)
	if h.get(65535) == nil || h.get(0) == nil {
		t.Error("packets around the wrap are lost")
	}
}

func TestDecodeMalformed(t *testing.T) {
	t.Parallel()
	fixed := func(count uint16, body ...byte) []byte {
		b := make([]byte, feedbackFixed, feedbackFixed+len(body))
		b[14], b[15] = byte(count>>8), byte(count)
		return append(b, body...)
	}
	tests := []struct {
		name string
		raw  []byte
	}{
		{"shorter than the fixed part", make([]byte, feedbackFixed-1)},
		{"no chunks for the count", fixed(3)},
		{"a run of length 0", fixed(3, 0x20, 0x00)},
		{"a large delta cut short", fixed(1, 0x40, 0x01, 0x00)},
		{"more received than deltas", fixed(2, 0x20, 0x02, 0x04)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fb, err := parseFeedback(tt.raw)
			if err == nil {
				_, err = fb.decode(0, nil, maxFeedbackPk)
			}
			if !errors.Is(err, ErrBadFeedback) {
				t.Errorf("err %v; want %v", err, ErrBadFeedback)
			}
		})
	}
	t.Run("65535 statuses stop at the limit", func(t *testing.T) {
		t.Parallel()
		var runs []byte
		for range 9 { // 9 runs of 8191 lost
			runs = append(runs, 0x1f, 0xff)
		}
		fb, err := parseFeedback(fixed(0xffff, runs...))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := fb.decode(0, nil, 100)
		if len(got) != 100 {
			t.Errorf("decoded %d; want the limit, 100", len(got))
		}
	})
}

// feedback46 is a report like a subscriber's every 100 ms: 46 packets, two
// lost, small deltas.
func feedback46(b *testing.B) *rtcp.TransportLayerCC {
	b.Helper()
	fb := &rtcp.TransportLayerCC{BaseSequenceNumber: 1000, PacketStatusCount: 46, ReferenceTime: 10}
	symbols := make([]uint16, 0, 49)
	for i := range 46 {
		s := uint16(rtcp.TypeTCCPacketReceivedSmallDelta)
		if i == 20 || i == 21 {
			s = rtcp.TypeTCCPacketNotReceived
		} else {
			fb.RecvDeltas = append(fb.RecvDeltas, &rtcp.RecvDelta{Type: s, Delta: 2000})
		}
		symbols = append(symbols, s)
	}
	for len(symbols)%7 != 0 {
		symbols = append(symbols, 0)
	}
	for i := 0; i < len(symbols); i += 7 {
		fb.PacketChunks = append(fb.PacketChunks, &rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit, SymbolList: symbols[i : i+7]})
	}
	return fb
}

// BenchmarkFeedback: a 46-packet report read in place and decoded, as the
// server does now, against pion's Unmarshal alone (which the server did twice
// per report before, once in the interceptor and once in RTPSender.ReadRTCP).
func BenchmarkFeedback(b *testing.B) {
	fb46 := feedback46(b)
	raw := marshalFeedback(b, fb46)
	datagram, err := fb46.Marshal() // with its padding, as it arrives
	if err != nil {
		b.Fatal(err)
	}
	b.Run("in place", func(b *testing.B) {
		var dst []packetResult
		b.ReportAllocs()
		for b.Loop() {
			fb, err := parseFeedback(raw)
			if err != nil {
				b.Fatal(err)
			}
			if dst, err = fb.decode(10, dst[:0], maxFeedbackPk); err != nil || len(dst) != 46 {
				b.Fatalf("%d, %v", len(dst), err)
			}
		}
	})
	b.Run("pion Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := rtcp.Unmarshal(datagram); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzFeedback: any transport-cc report decodes without a panic, to at most
// its status count (and the limit) of packets, in sequence order.
func FuzzFeedback(f *testing.F) {
	f.Add(marshalFeedback(f, &rtcp.TransportLayerCC{BaseSequenceNumber: 65535, PacketStatusCount: 3, ReferenceTime: 2,
		PacketChunks: []rtcp.PacketStatusChunk{
			&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 2},
			&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: 1},
		},
		RecvDeltas: []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 1000}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250}}}))
	f.Add(make([]byte, feedbackFixed))
	const limit = 1000
	f.Fuzz(func(t *testing.T, raw []byte) {
		fb, err := parseFeedback(raw)
		if err != nil {
			return
		}
		got, _ := fb.decode(0, nil, limit)
		if len(got) > min(fb.count, limit) {
			t.Fatalf("%d results for a status count of %d (limit %d)", len(got), fb.count, limit)
		}
		for i, r := range got {
			if r.seq != fb.baseSeq+uint16(i) {
				t.Fatalf("result %d is for %d; want %d", i, r.seq, fb.baseSeq+uint16(i))
			}
		}
	})
}
