package rtcpin

import (
	"errors"
	"slices"
	"testing"

	"github.com/pion/rtcp"
)

func marshal(t *testing.T, pkts ...rtcp.Packet) []byte {
	t.Helper()
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// packets is what Walk delivers of b.
func packets(b []byte) ([]Packet, error) {
	var out []Packet
	err := Walk(b, func(p Packet) bool {
		out = append(out, p)
		return true
	})
	return out, err
}

func TestWalk(t *testing.T) {
	t.Parallel()
	compound := marshal(t,
		&rtcp.ReceiverReport{SSRC: 1},
		&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 2},
		&rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: 2, Nacks: []rtcp.NackPair{{PacketID: 7}}},
	)
	padded := marshal(t, &rtcp.PictureLossIndication{MediaSSRC: 2})
	padded = append(padded, 0, 0, 0, 4) // 4 bytes of padding
	padded[0] |= 0x20
	padded[3]++ // the length counts the padding
	tests := []struct {
		name    string
		b       []byte
		types   []uint8
		wantErr bool
	}{
		{"compound", compound, []uint8{TypeRR, TypePSFB, TypeRTPFB}, false},
		{"padding removed", padded, []uint8{TypePSFB}, false},
		{"empty", nil, nil, false},
		{"a truncated second packet: the first still counts", compound[:len(compound)-2], []uint8{TypeRR, TypePSFB}, true},
		{"three stray bytes", []byte{0x80, 201, 0}, nil, true},
		{"version 1", []byte{0x40, 201, 0, 0}, nil, true},
		{"length past the end", []byte{0x80, 201, 0, 9, 0, 0, 0, 0}, nil, true},
		{"padding longer than the packet", []byte{0xa0, 201, 0, 1, 0, 0, 0, 9}, nil, true},
		{"padding count 0", []byte{0xa0, 201, 0, 1, 0, 0, 0, 0}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := packets(tt.b)
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrMalformed)) {
				t.Fatalf("err %v; want an error: %v", err, tt.wantErr)
			}
			var types []uint8
			for _, p := range got {
				types = append(types, p.Type)
			}
			if !slices.Equal(types, tt.types) {
				t.Errorf("got types %v; want %v", types, tt.types)
			}
		})
	}
	t.Run("padding is not in Raw", func(t *testing.T) {
		t.Parallel()
		got, _ := packets(padded)
		if len(got) != 1 || len(got[0].Raw) != len(padded)-4 {
			t.Fatalf("got %+v; want one packet of %d bytes", got, len(padded)-4)
		}
	})
	t.Run("false stops", func(t *testing.T) {
		t.Parallel()
		n := 0
		if err := Walk(compound, func(Packet) bool { n++; return false }); err != nil || n != 1 {
			t.Errorf("delivered %d, %v; want 1, nil", n, err)
		}
	})
}

func first(t *testing.T, pkt rtcp.Packet) Packet {
	t.Helper()
	got, err := packets(marshal(t, pkt))
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v; want one packet", got, err)
	}
	return got[0]
}

func TestFeedback(t *testing.T) {
	t.Parallel()
	t.Run("keyframe requests", func(t *testing.T) {
		t.Parallel()
		for _, pkt := range []rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: 5}, &rtcp.FullIntraRequest{MediaSSRC: 5, FIR: []rtcp.FIREntry{{SSRC: 5}}}} {
			p := first(t, pkt)
			if !p.IsKeyframeRequest() || p.MediaSSRC() != 5 {
				t.Errorf("%T: keyframe request %v, media SSRC %d; want true, 5", pkt, p.IsKeyframeRequest(), p.MediaSSRC())
			}
		}
		if first(t, &rtcp.TransportLayerNack{MediaSSRC: 5}).IsKeyframeRequest() {
			t.Error("a NACK is taken for a keyframe request")
		}
	})
	t.Run("NACKs", func(t *testing.T) {
		t.Parallel()
		want := []uint16{65534, 65535, 1, 100}
		p := first(t, &rtcp.TransportLayerNack{MediaSSRC: 5, Nacks: rtcp.NackPairsFromSequenceNumbers(want)})
		got, ok := p.NACKs(nil)
		if !ok || !slices.Equal(got, want) {
			t.Errorf("got %v, %v; want %v", got, ok, want)
		}
		if _, ok := first(t, &rtcp.PictureLossIndication{}).NACKs(nil); ok {
			t.Error("a PLI read as a NACK")
		}
	})
	t.Run("REMB", func(t *testing.T) {
		t.Parallel()
		for _, bitrate := range []float32{0, 300_000, 2_500_000, 1e9} {
			got, ok := first(t, &rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: bitrate, SSRCs: []uint32{1}}).REMB()
			// 18 bits of mantissa: within 1/2^17 of what was sent.
			if !ok || got > float64(bitrate) || got < float64(bitrate)*(1-1.0/(1<<17)) {
				t.Errorf("REMB of %.0f: got %.0f, %v", bitrate, got, ok)
			}
		}
		if _, ok := first(t, &rtcp.PictureLossIndication{}).REMB(); ok {
			t.Error("a PLI read as REMB")
		}
	})
	t.Run("transport-cc", func(t *testing.T) {
		t.Parallel()
		fb := &rtcp.TransportLayerCC{MediaSSRC: 5, PacketStatusCount: 1,
			PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: 1}}}
		fb.Header = rtcp.Header{Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback, Length: fb.Len()/4 - 1}
		if p := first(t, fb); !p.IsTransportCC() || p.MediaSSRC() != 5 {
			t.Errorf("got transport-cc %v, media SSRC %d; want true, 5", p.IsTransportCC(), p.MediaSSRC())
		}
	})
}

func TestReports(t *testing.T) {
	t.Parallel()
	block := rtcp.ReceptionReport{SSRC: 7, FractionLost: 25, TotalLost: 0x123456, LastSequenceNumber: 70000, Jitter: 90, LastSenderReport: 0xabcdef01, Delay: 655}
	want := Report{SSRC: 7, FractionLost: 25, TotalLost: 0x123456, LastSeq: 70000, Jitter: 90, LastSenderReport: 0xabcdef01, Delay: 655}
	tests := []struct {
		name string
		pkt  rtcp.Packet
		want []Report
		ok   bool
	}{
		{"receiver report", &rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{block, {SSRC: 8}}}, []Report{want, {SSRC: 8}}, true},
		{"sender report", &rtcp.SenderReport{SSRC: 1, NTPTime: 1, Reports: []rtcp.ReceptionReport{block}}, []Report{want}, true},
		{"no blocks", &rtcp.ReceiverReport{SSRC: 1}, nil, true},
		{"not a report", &rtcp.PictureLossIndication{}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []Report
			ok := first(t, tt.pkt).Reports(func(r Report) { got = append(got, r) })
			if ok != tt.ok || !slices.Equal(got, tt.want) {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	t.Run("a count larger than the blocks present", func(t *testing.T) {
		t.Parallel()
		b := marshal(t, &rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{block}})
		b[0] |= 5 // claims 5 blocks, holds 1
		n := 0
		(Packet{Type: TypeRR, Count: 5, Raw: b}).Reports(func(Report) { n++ })
		if n != 1 {
			t.Errorf("read %d blocks; want the 1 present", n)
		}
	})
}

// A receiver report and a NACK, read as the server reads them.
func BenchmarkWalkReports(b *testing.B) {
	raw, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 2}, {SSRC: 3}}},
		&rtcp.TransportLayerNack{MediaSSRC: 2, Nacks: []rtcp.NackPair{{PacketID: 7, LostPackets: 3}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	var seqs []uint16
	b.ReportAllocs()
	for b.Loop() {
		_ = Walk(raw, func(p Packet) bool {
			seqs, _ = p.NACKs(seqs[:0])
			p.Reports(func(Report) {})
			return true
		})
	}
}
