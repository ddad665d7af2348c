package sfu

import (
	mch264 "github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// learnSize records the layer's resolution from a keyframe: the SPS for H.264,
// the key frame header for VP8. The allocator matches it to rendered sizes.
func (l *layer) learnSize(c codecKind, b []byte) {
	w, h := 0, 0
	switch c {
	case codecH264:
		w, h = h264Size(b)
	case codecVP8:
		w, h = vp8Size(b)
	}
	if w > 0 && h > 0 {
		l.width.Store(int32(w))
		l.height.Store(int32(h))
	}
}

func h264Size(b []byte) (int, int) {
	sps := findSPS(b)
	if sps == nil {
		return 0, 0
	}
	var s mch264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return 0, 0
	}
	return s.Width(), s.Height()
}

// findSPS returns the SPS NAL unit of a single-NAL or STAP-A payload.
func findSPS(b []byte) []byte {
	if len(b) < 2 {
		return nil
	}
	switch b[0] & 0x1f {
	case 7:
		return b
	case 24:
		for i := 1; i+2 < len(b); {
			n := int(b[i])<<8 | int(b[i+1])
			i += 2
			if n == 0 || i+n > len(b) {
				return nil
			}
			if b[i]&0x1f == 7 {
				return b[i : i+n]
			}
			i += n
		}
	}
	return nil
}

// vp8Size reads the 14-bit width and height of a VP8 key frame (RFC 6386 9.1).
func vp8Size(b []byte) (int, int) {
	d, ok := parseVP8(b)
	if !ok {
		return 0, 0
	}
	f := b[d.headerLen:]
	if len(f) < 10 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
		return 0, 0
	}
	return int(f[6]) | int(f[7]&0x3f)<<8, int(f[8]) | int(f[9]&0x3f)<<8
}
