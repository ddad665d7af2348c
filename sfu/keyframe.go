package sfu

import (
	"strings"

	"github.com/pion/webrtc/v4"
)

// codecKind is what the packet path needs to know about a codec.
type codecKind uint8

const (
	codecOther codecKind = iota
	codecH264
	codecVP8
	codecOpus
)

func kindOfCodec(mime string) codecKind {
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypeH264):
		return codecH264
	case strings.EqualFold(mime, webrtc.MimeTypeVP8):
		return codecVP8
	case strings.EqualFold(mime, webrtc.MimeTypeOpus):
		return codecOpus
	}
	return codecOther
}

// isKeyframe reports whether an RTP payload starts a keyframe a decoder can
// begin with. H.264: an SPS or IDR NAL unit, alone, in a STAP-A or starting a
// FU-A (RFC 6184). VP8: the first partition of a key frame (RFC 7741).
func isKeyframe(c codecKind, payload []byte) bool {
	switch c {
	case codecH264:
		return h264Keyframe(payload)
	case codecVP8:
		return vp8Keyframe(payload)
	}
	return false
}

func h264Keyframe(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	switch nal := b[0] & 0x1f; {
	case nal == 5 || nal == 7:
		return true
	case nal == 24: // STAP-A: 16-bit sizes, then NAL units
		for i := 1; i+2 < len(b); {
			n := int(b[i])<<8 | int(b[i+1])
			i += 2
			if n == 0 || i+n > len(b) {
				return false
			}
			if t := b[i] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += n
		}
	case nal == 28: // FU-A: start bit and the fragmented NAL type
		return len(b) >= 2 && b[1]&0x80 != 0 && (b[1]&0x1f == 5 || b[1]&0x1f == 7)
	}
	return false
}

// vp8Descriptor is the part of the VP8 payload descriptor the forwarder rewrites.
type vp8Descriptor struct {
	start        bool // S bit and partition 0: the first packet of a frame
	pictureID    uint16
	hasPictureID bool
	pictureID16  bool // M bit: 15-bit picture ID
	pictureIDOff int  // byte offset of the picture ID
	tl0          uint8
	hasTL0       bool
	tl0Off       int
	headerLen    int // descriptor length; the VP8 frame starts here
}

func parseVP8(b []byte) (d vp8Descriptor, ok bool) {
	if len(b) < 1 {
		return d, false
	}
	i := 1
	d.start = b[0]&0x10 != 0 && b[0]&0x07 == 0
	if b[0]&0x80 != 0 { // X: extension byte
		if len(b) < 2 {
			return d, false
		}
		x := b[1]
		i = 2
		if x&0x80 != 0 { // I: picture ID
			if len(b) < i+1 {
				return d, false
			}
			d.hasPictureID = true
			d.pictureIDOff = i
			if b[i]&0x80 != 0 {
				if len(b) < i+2 {
					return d, false
				}
				d.pictureID16 = true
				d.pictureID = uint16(b[i]&0x7f)<<8 | uint16(b[i+1])
				i += 2
			} else {
				d.pictureID = uint16(b[i] & 0x7f)
				i++
			}
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			if len(b) < i+1 {
				return d, false
			}
			d.hasTL0 = true
			d.tl0Off = i
			d.tl0 = b[i]
			i++
		}
		if x&0x30 != 0 { // T or K: one byte
			i++
		}
	}
	if len(b) < i {
		return d, false
	}
	d.headerLen = i
	return d, true
}

func vp8Keyframe(b []byte) bool {
	d, ok := parseVP8(b)
	if !ok || !d.start || len(b) <= d.headerLen {
		return false
	}
	return b[d.headerLen]&0x01 == 0 // P bit clear: key frame
}
