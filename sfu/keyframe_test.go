package sfu

import (
	"encoding/hex"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Real parameter sets and frame headers, from ffmpeg 6 (libx264 and libvpx):
//
//	ffmpeg -f lavfi -i testsrc=size=WxH:rate=30 -frames:v 1 -pix_fmt yuv420p \
//	  -c:v libx264 -profile:v PROFILE -f h264 out.h264
//	ffmpeg -f lavfi -i testsrc=size=WxH:rate=30 -frames:v 2 -c:v libvpx -f ivf out.ivf
var (
	// 640x360 constrained baseline: 368 coded lines cropped to 360.
	spsBaseline360 = mustHex("6742c01ed900a02ff970110000030001000003003c0f162e48")
	ppsBaseline360 = mustHex("68cb83cb20")
	// 1280x720 high.
	spsHigh720 = mustHex("6764001facd9405005bb0110000003001000000303c0f1831960")
	// 320x180 main: 192 coded lines cropped to 180.
	spsMain180 = mustHex("674d400deca0a0cfcf8088000003000800000301e078a14cb0")
	// The first bytes of libvpx frames: a 1280x720 key frame, an inter frame,
	// and a 320x180 key frame.
	vp8Key720   = mustHex("9077019d012a0005d002000708858588")
	vp8Delta    = mustHex("b10e001311fc00180018582ff414844a")
	vp8Key180   = mustHex("3051009d012a4001b4000047088585")
	idrSlice    = []byte{0x65, 0x88, 0x84, 0x00, 0x33}
	nonIDRSlice = []byte{0x41, 0x9a, 0x02, 0x04}
	sei         = []byte{0x06, 0x05, 0x01, 0x80}
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// stapA aggregates NAL units into one STAP-A payload (RFC 6184 5.7.1).
func stapA(nalus ...[]byte) []byte {
	b := []byte{0x78} // F=0, NRI=3, type 24
	for _, n := range nalus {
		b = append(b, byte(len(n)>>8), byte(len(n)))
		b = append(b, n...)
	}
	return b
}

// fuA returns the FU-A fragment of nal that starts (start) or continues it.
func fuA(nal []byte, start, end bool) []byte {
	hdr := nal[0] & 0x1f // the fragmented NAL type
	if start {
		hdr |= 0x80
	}
	if end {
		hdr |= 0x40
	}
	return append([]byte{nal[0]&0xe0 | 28, hdr}, nal[1:]...)
}

// vp8Desc builds a VP8 payload descriptor (RFC 7741 4.2). pic < 0 leaves
// the picture ID out; pic > 127 or long forces the 15-bit form; tl0 < 0
// leaves TL0PICIDX out; tk adds the T/K byte.
func vp8Desc(start bool, partition byte, pic int, long bool, tl0 int, tk bool) []byte {
	b0 := partition & 0x07
	if start {
		b0 |= 0x10
	}
	if pic < 0 && tl0 < 0 && !tk {
		return []byte{b0}
	}
	b0 |= 0x80
	var x byte
	var rest []byte
	if pic >= 0 {
		x |= 0x80
		if long || pic > 127 {
			rest = append(rest, 0x80|byte(pic>>8)&0x7f, byte(pic))
		} else {
			rest = append(rest, byte(pic))
		}
	}
	if tl0 >= 0 {
		x |= 0x40
		rest = append(rest, byte(tl0))
	}
	if tk {
		x |= 0x20
		rest = append(rest, 0x40) // TID 1, Y 0, KEYIDX 0
	}
	return append([]byte{b0, x}, rest...)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func TestKindOfCodec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mime string
		want codecKind
	}{
		{webrtc.MimeTypeH264, codecH264},
		{"VIDEO/h264", codecH264},
		{webrtc.MimeTypeVP8, codecVP8},
		{webrtc.MimeTypeOpus, codecOpus},
		{webrtc.MimeTypeVP9, codecOther},
		{"", codecOther},
	}
	for _, tc := range tests {
		if got := kindOfCodec(tc.mime); got != tc.want {
			t.Errorf("kindOfCodec(%q): got %v; want %v", tc.mime, got, tc.want)
		}
	}
}

func TestH264Keyframe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"empty", nil, false},
		{"single IDR slice", idrSlice, true},
		{"single SPS", spsBaseline360, true},
		{"single PPS", ppsBaseline360, false},
		{"single non-IDR slice", nonIDRSlice, false},
		{"single SEI", sei, false},
		{"STAP-A SPS PPS", stapA(spsBaseline360, ppsBaseline360), true},
		{"STAP-A SPS PPS IDR", stapA(spsHigh720, ppsBaseline360, idrSlice), true},
		{"STAP-A SEI then IDR", stapA(sei, idrSlice), true},
		{"STAP-A SEI non-IDR", stapA(sei, nonIDRSlice), false},
		{"STAP-A truncated unit", stapA(spsBaseline360)[:6], false},
		{"STAP-A zero-size unit", []byte{0x78, 0, 0, 0x67, 0x42}, false},
		{"STAP-A header only", []byte{0x78}, false},
		{"FU-A start of IDR", fuA(idrSlice, true, false), true},
		{"FU-A middle of IDR", fuA(idrSlice, false, false), false},
		{"FU-A end of IDR", fuA(idrSlice, false, true), false},
		{"FU-A start of non-IDR", fuA(nonIDRSlice, true, false), false},
		{"FU-A without FU header", []byte{0x7c}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := isKeyframe(codecH264, tc.payload); got != tc.want {
				t.Errorf("isKeyframe(H.264, %x): got %v; want %v", tc.payload, got, tc.want)
			}
		})
	}
}

func TestVP8Keyframe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"empty", nil, false},
		{"key, minimal descriptor", cat(vp8Desc(true, 0, -1, false, -1, false), vp8Key720), true},
		{"key, 7-bit picture ID", cat(vp8Desc(true, 0, 5, false, -1, false), vp8Key720), true},
		{"key, 15-bit picture ID, TL0PICIDX, TID", cat(vp8Desc(true, 0, 4000, true, 7, true), vp8Key180), true},
		{"delta, 15-bit picture ID", cat(vp8Desc(true, 0, 4001, true, 8, false), vp8Delta), false},
		{"key, not the first packet", cat(vp8Desc(false, 0, 4000, true, 7, false), vp8Key720), false},
		{"key, start of partition 1", cat(vp8Desc(true, 1, 4000, true, 7, false), vp8Key720), false},
		{"descriptor only", vp8Desc(true, 0, 4000, true, 7, true), false},
		{"truncated picture ID", []byte{0x90, 0x80, 0x80}, false},
		{"truncated extension", []byte{0x90}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := isKeyframe(codecVP8, tc.payload); got != tc.want {
				t.Errorf("isKeyframe(VP8, %x): got %v; want %v", tc.payload, got, tc.want)
			}
		})
	}
	if isKeyframe(codecOpus, idrSlice) || isKeyframe(codecOther, cat(vp8Desc(true, 0, -1, false, -1, false), vp8Key720)) {
		t.Errorf("keyframe of a codec without keyframe detection: got true; want false")
	}
}

func TestParseVP8(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		desc      []byte
		wantStart bool
		wantPic   int // -1: none
		want16    bool
		wantTL0   int // -1: none
	}{
		{"no extension", vp8Desc(true, 0, -1, false, -1, false), true, -1, false, -1},
		{"7-bit picture ID", vp8Desc(true, 0, 100, false, -1, false), true, 100, false, -1},
		{"15-bit picture ID", vp8Desc(false, 0, 0x7fff, true, -1, false), false, 0x7fff, true, -1},
		{"picture ID and TL0PICIDX", vp8Desc(true, 0, 300, true, 255, false), true, 300, true, 255},
		{"all fields", vp8Desc(true, 0, 17, true, 9, true), true, 17, true, 9},
		{"TL0PICIDX only", vp8Desc(true, 0, -1, false, 3, true), true, -1, false, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := cat(tc.desc, vp8Delta)
			d, ok := parseVP8(b)
			if !ok {
				t.Fatalf("parseVP8(%x): got not ok; want ok", b)
			}
			if d.headerLen != len(tc.desc) {
				t.Errorf("headerLen: got %d; want %d", d.headerLen, len(tc.desc))
			}
			if d.start != tc.wantStart {
				t.Errorf("start: got %v; want %v", d.start, tc.wantStart)
			}
			if got := d.hasPictureID; got != (tc.wantPic >= 0) {
				t.Fatalf("hasPictureID: got %v; want %v", got, tc.wantPic >= 0)
			}
			if tc.wantPic >= 0 && (int(d.pictureID) != tc.wantPic || d.pictureID16 != tc.want16) {
				t.Errorf("picture ID: got %d (15-bit %v); want %d (15-bit %v)", d.pictureID, d.pictureID16, tc.wantPic, tc.want16)
			}
			if got := d.hasTL0; got != (tc.wantTL0 >= 0) {
				t.Fatalf("hasTL0: got %v; want %v", got, tc.wantTL0 >= 0)
			}
			if tc.wantTL0 >= 0 && int(d.tl0) != tc.wantTL0 {
				t.Errorf("TL0PICIDX: got %d; want %d", d.tl0, tc.wantTL0)
			}
			// writeVP8 rewrites in place without touching anything else.
			if !d.hasPictureID {
				return
			}
			w := append([]byte(nil), b...)
			newPic := uint16(0x1234)
			if !d.pictureID16 {
				newPic = 0x55
			}
			writeVP8(w, newPic, 42)
			d2, _ := parseVP8(w)
			if d2.pictureID != newPic || d2.headerLen != d.headerLen || d2.start != d.start {
				t.Errorf("after writeVP8: got picture ID %d, header %d bytes; want %d, %d", d2.pictureID, d2.headerLen, newPic, d.headerLen)
			}
			if d.hasTL0 && d2.tl0 != 42 {
				t.Errorf("after writeVP8: got TL0PICIDX %d; want 42", d2.tl0)
			}
			if got, want := hex.EncodeToString(w[d.headerLen:]), hex.EncodeToString(vp8Delta); got != want {
				t.Errorf("after writeVP8: got frame %s; want %s unchanged", got, want)
			}
		})
	}
}

func TestVP8Size(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		payload      []byte
		wantW, wantH int
	}{
		{"1280x720 key frame", cat(vp8Desc(true, 0, 4000, true, 1, false), vp8Key720), 1280, 720},
		{"320x180 key frame, minimal descriptor", cat(vp8Desc(true, 0, -1, false, -1, false), vp8Key180), 320, 180},
		{"scaling bits ignored", cat(vp8Desc(true, 0, -1, false, -1, false), []byte{0x30, 0x51, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0xc1, 0xb4, 0x40}), 320, 180},
		{"inter frame", cat(vp8Desc(true, 0, 4001, true, 1, false), vp8Delta), 0, 0},
		{"truncated key frame", cat(vp8Desc(true, 0, -1, false, -1, false), vp8Key720[:8]), 0, 0},
		{"bad descriptor", []byte{0x90, 0x80}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if w, h := vp8Size(tc.payload); w != tc.wantW || h != tc.wantH {
				t.Errorf("vp8Size: got %dx%d; want %dx%d", w, h, tc.wantW, tc.wantH)
			}
		})
	}
}

func TestH264Size(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		payload      []byte
		wantW, wantH int
	}{
		{"baseline 640x360 SPS", spsBaseline360, 640, 360},
		{"high 1280x720 SPS", spsHigh720, 1280, 720},
		{"main 320x180 SPS", spsMain180, 320, 180},
		{"STAP-A SPS PPS", stapA(spsBaseline360, ppsBaseline360), 640, 360},
		{"STAP-A SEI SPS", stapA(sei, spsHigh720), 1280, 720},
		{"PPS only", ppsBaseline360, 0, 0},
		{"IDR slice", idrSlice, 0, 0},
		{"FU-A of an SPS-less IDR", fuA(idrSlice, true, false), 0, 0},
		{"truncated SPS", spsHigh720[:4], 0, 0},
		{"truncated STAP-A", stapA(spsHigh720)[:10], 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if w, h := h264Size(tc.payload); w != tc.wantW || h != tc.wantH {
				t.Errorf("h264Size: got %dx%d; want %dx%d", w, h, tc.wantW, tc.wantH)
			}
		})
	}
}

// TestTrackLearnsLayerSize checks the receiver end to end: a keyframe
// written into a layer sets that layer's resolution; delta frames do not.
func TestTrackLearnsLayerSize(t *testing.T) {
	t.Parallel()
	vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	tests := []struct {
		name     string
		codec    webrtc.RTPCodecCapability
		payloads [3][]byte // per layer, written in order q, h, f
		want     [3][2]int
	}{
		{"H.264 simulcast", h264,
			[3][]byte{stapA(spsMain180, ppsBaseline360), spsBaseline360, stapA(spsHigh720, ppsBaseline360, idrSlice)},
			[3][2]int{{320, 180}, {640, 360}, {1280, 720}}},
		{"VP8 simulcast, top layer without key frame", vp8,
			[3][]byte{cat(vp8Desc(true, 0, 1, true, 0, false), vp8Key180), cat(vp8Desc(true, 0, 1, true, 0, false), vp8Key720),
				cat(vp8Desc(true, 0, 1, true, 0, false), vp8Delta)},
			[3][2]int{{320, 180}, {1280, 720}, {0, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := NewTrack(TrackOptions{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Codec: tc.codec, RIDs: []string{"q", "h", "f"}})
			for i, pl := range tc.payloads {
				tr.WriteLayerRTP(i, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 1, SSRC: uint32(10 + i)}, Payload: pl})
			}
			infos := tr.LayerInfos(nil)
			for i, want := range tc.want {
				if got := [2]int{infos[i].Width, infos[i].Height}; got != want {
					t.Errorf("layer %d: got %v; want %v", i, got, want)
				}
			}
		})
	}
}
