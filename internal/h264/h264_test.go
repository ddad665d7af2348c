package h264

import (
	"reflect"
	"testing"

	"github.com/pion/rtp/codecs"

	"github.com/openroom/openroom/internal/testutil"
)

// packetize runs pion's H.264 payloader, as the RTMP ingest does.
func packetize(au [][]byte, mtu uint16) [][]byte {
	var p codecs.H264Payloader
	return p.Payload(mtu, AnnexB(au))
}

func TestH264RTPRoundTrip(t *testing.T) {
	sps, pps := testutil.SynthNAL(SPS, 12), testutil.SynthNAL(PPS, 4)
	tests := []struct {
		name string
		aus  [][][]byte
	}{
		{"keyframe with parameter sets, fragmented", [][][]byte{{sps, pps, testutil.SynthNAL(IDR, 5000)}}},
		{"keyframe then small P frames", [][][]byte{{sps, pps, testutil.SynthNAL(IDR, 900)}, {testutil.SynthNAL(NonIDR, 300)}, {testutil.SynthNAL(NonIDR, 40)}}},
		{"several slices per frame", [][][]byte{{sps, pps, testutil.SynthNAL(IDR, 1500), testutil.SynthNAL(IDR, 2500)}, {testutil.SynthNAL(NonIDR, 1400), testutil.SynthNAL(NonIDR, 10)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDepacketizer()
			seq := uint16(65530) // wraps around
			var got [][][]byte
			for i, au := range tc.aus {
				pkts := packetize(au, 1200)
				for j, p := range pkts {
					if out := d.Push(seq, uint32(i*3000), j == len(pkts)-1, p); out != nil {
						got = append(got, out)
					}
					seq++
				}
			}
			if !reflect.DeepEqual(got, tc.aus) {
				t.Fatalf("access units: got %d (%v); want %d", len(got), shape(got), len(tc.aus))
			}
			// And AVCC framing round-trips.
			for _, au := range got {
				back, err := SplitAVCC(AVCC(au))
				if err != nil || !reflect.DeepEqual(back, au) {
					t.Fatalf("avcc round trip: got %v, %v; want the same NAL units", shape([][][]byte{back}), err)
				}
			}
		})
	}
}

func shape(aus [][][]byte) [][]int {
	var s [][]int
	for _, au := range aus {
		var l []int
		for _, n := range au {
			l = append(l, len(n))
		}
		s = append(s, l)
	}
	return s
}

func TestDepacketizerLossWaitsForKeyframe(t *testing.T) {
	sps, pps := testutil.SynthNAL(SPS, 12), testutil.SynthNAL(PPS, 4)
	idr := packetize([][]byte{sps, pps, testutil.SynthNAL(IDR, 3000)}, 1200)
	p1 := packetize([][]byte{testutil.SynthNAL(NonIDR, 2000)}, 1200)
	p2 := packetize([][]byte{testutil.SynthNAL(NonIDR, 100)}, 1200)
	d := NewDepacketizer()
	seq := uint16(0)
	feed := func(pkts [][]byte, ts uint32, skip int) [][]byte {
		var out [][]byte
		for i, p := range pkts {
			if i != skip {
				out = d.Push(seq, ts, i == len(pkts)-1, p)
			}
			seq++
		}
		return out
	}
	steps := []struct {
		name    string
		pkts    [][]byte
		skip    int
		wantAU  bool
		wantPLI bool
	}{
		{"P frame before any keyframe is dropped", p2, -1, false, false},
		{"keyframe passes", idr, -1, true, false},
		{"P frame passes", p2, -1, true, false},
		{"lost fragment drops the frame and asks for a keyframe", p1, 0, false, true},
		{"following P frame is dropped", p2, -1, false, false},
		{"next keyframe resumes", idr, -1, true, false},
	}
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			out := feed(s.pkts, uint32(i*3000), s.skip)
			if got := out != nil; got != s.wantAU {
				t.Errorf("access unit: got %v; want %v", got, s.wantAU)
			}
			if got := d.TakeKeyframeRequest(); got != s.wantPLI {
				t.Errorf("keyframe request: got %v; want %v", got, s.wantPLI)
			}
		})
	}
}

func TestDepacketizerRefusesGarbage(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
	}{
		{"empty", nil},
		{"truncated STAP-A", []byte{STAPA, 0, 50, 1}},
		{"FU-A continuation without start", []byte{FUA, 0x05, 1, 2}},
		{"reserved type", []byte{30, 1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &Depacketizer{} // not waiting for a keyframe
			if au := d.Push(1, 0, true, tc.payload); au != nil {
				t.Errorf("got access unit %v; want none", shape([][][]byte{au}))
			}
		})
	}
}

func TestWithParameterSets(t *testing.T) {
	sps, pps, aud := testutil.SynthNAL(SPS, 8), testutil.SynthNAL(PPS, 4), []byte{0x09, 0xf0}
	idr, p := testutil.SynthNAL(IDR, 10), testutil.SynthNAL(NonIDR, 10)
	tests := []struct {
		name string
		in   [][]byte
		want [][]byte
	}{
		{"IDR gets SPS and PPS", [][]byte{idr}, [][]byte{sps, pps, idr}},
		{"IDR that has them is unchanged", [][]byte{sps, pps, idr}, [][]byte{sps, pps, idr}},
		{"P frame untouched", [][]byte{p}, [][]byte{p}},
		{"AUD dropped", [][]byte{aud, p}, [][]byte{p}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := WithParameterSets(tc.in, sps, pps); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v; want %v", shape([][][]byte{got}), shape([][][]byte{tc.want}))
			}
		})
	}
}

func TestDepacketizerSkipsPadding(t *testing.T) {
	sps, pps := testutil.SynthNAL(SPS, 12), testutil.SynthNAL(PPS, 4)
	key := packetize([][]byte{sps, pps, testutil.SynthNAL(IDR, 3000)}, 1200)
	p := packetize([][]byte{testutil.SynthNAL(NonIDR, 100)}, 1200)
	d := NewDepacketizer()
	seq := uint16(100)
	var got int
	feed := func(pkts [][]byte, ts uint32) {
		for i, pl := range pkts {
			if d.Push(seq, ts, i == len(pkts)-1, pl) != nil {
				got++
			}
			seq++
		}
	}
	feed(key, 0)
	feed([][]byte{nil, nil}, 0) // padding-only packets between frames (bandwidth probing)
	feed(p, 3000)
	feed([][]byte{{}}, 3000)
	feed(p, 6000)
	if need := d.TakeKeyframeRequest(); got != 3 || need {
		t.Errorf("frames: got %d (keyframe request %v); want 3 and no keyframe request", got, need)
	}
}

// TestDepacketizerBoundsAnAccessUnit: an access unit that never ends (FU-A
// fragments without an end, or without a marker) is dropped past
// maxAccessUnit instead of growing without bound; the next keyframe passes.
func TestDepacketizerBoundsAnAccessUnit(t *testing.T) {
	d := NewDepacketizer()
	seq := uint16(1)
	frag := make([]byte, 1200)
	frag[0], frag[1] = 0x60|FUA, 0x80|IDR // FU-A start of an IDR
	d.Push(seq, 0, false, frag)
	frag[1] = IDR // middle fragments, for ever
	for range (maxAccessUnit / 1198) + 10 {
		seq++
		d.Push(seq, 0, false, frag)
		if d.size > maxAccessUnit {
			t.Fatalf("access unit held %d bytes; want at most %d", d.size, maxAccessUnit)
		}
	}
	key := packetize([][]byte{testutil.SynthNAL(SPS, 12), testutil.SynthNAL(PPS, 4), testutil.SynthNAL(IDR, 3000)}, 1200)
	var got [][]byte
	for i, pl := range key {
		seq++
		if au := d.Push(seq, 9000, i == len(key)-1, pl); au != nil {
			got = au
		}
	}
	if got == nil {
		t.Errorf("the keyframe after the oversized access unit: got nothing; want it")
	}
}
