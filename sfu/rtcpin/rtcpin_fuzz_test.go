package rtcpin

import (
	"testing"

	"github.com/pion/rtcp"
)

// FuzzWalk: any datagram a subscriber sends is walked without a panic or a
// read out of bounds; every packet delivered lies within it, and each reader
// of a packet stays within the packet.
func FuzzWalk(f *testing.F) {
	for _, pkts := range [][]rtcp.Packet{
		{&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 2}}}, &rtcp.PictureLossIndication{MediaSSRC: 2}},
		{&rtcp.TransportLayerNack{MediaSSRC: 2, Nacks: []rtcp.NackPair{{PacketID: 1, LostPackets: 0xffff}}}},
		{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 1e6, SSRCs: []uint32{1, 2}}},
		{&rtcp.SenderReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 3}}}, &rtcp.FullIntraRequest{MediaSSRC: 1, FIR: []rtcp.FIREntry{{SSRC: 1}}}},
	} {
		b, err := rtcp.Marshal(pkts)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xa0, 201, 0, 1, 0, 0, 0, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		total := 0
		_ = Walk(b, func(p Packet) bool {
			if len(p.Raw) < 4 || len(p.Raw) > len(b) {
				t.Fatalf("a packet of %d bytes from a datagram of %d", len(p.Raw), len(b))
			}
			total += len(p.Raw)
			_ = p.IsKeyframeRequest()
			_ = p.IsTransportCC()
			_ = p.MediaSSRC()
			seqs, _ := p.NACKs(nil)
			if len(seqs) > 17*len(p.Raw)/4 {
				t.Fatalf("%d NACKed numbers from %d bytes", len(seqs), len(p.Raw))
			}
			_, _ = p.REMB()
			p.Reports(func(Report) {})
			return true
		})
		if total > len(b) {
			t.Fatalf("packets of %d bytes from a datagram of %d", total, len(b))
		}
	})
}
