package twcc

import (
	"errors"
	"testing"

	"github.com/pion/rtcp"
)

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
			name: "status vectors, one- and two-bit; the count ends the last",
			fb: rtcp.TransportLayerCC{BaseSequenceNumber: 10, PacketStatusCount: 4, ReferenceTime: 0,
				PacketChunks: []rtcp.PacketStatusChunk{
					&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeOneBit, SymbolList: []uint16{1, 0}},
					&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit,
						SymbolList: []uint16{rtcp.TypeTCCPacketReceivedLargeDelta, rtcp.TypeTCCPacketReceivedWithoutDelta, rtcp.TypeTCCPacketReceivedSmallDelta}},
				},
				RecvDeltas: []*rtcp.RecvDelta{d(500), {Type: rtcp.TypeTCCPacketReceivedLargeDelta, Delta: -250}}},
			want: []packetResult{
				{seq: 10, received: true, timed: true, arrival: 500},
				{seq: 11},
				{seq: 12, received: true, timed: true, arrival: 250},
				{seq: 13, received: true},
			},
		},
		{
			name: "more received than deltas",
			fb: rtcp.TransportLayerCC{PacketStatusCount: 2, PacketChunks: []rtcp.PacketStatusChunk{
				&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 2}},
				RecvDeltas: []*rtcp.RecvDelta{d(1)}},
			want:    []packetResult{{seq: 0, received: true, timed: true, arrival: 1}},
			wantErr: ErrBadFeedback,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decode(&tt.fb, int64(tt.fb.ReferenceTime), nil)
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
