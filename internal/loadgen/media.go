package loadgen

import (
	"math/rand/v2"
	"time"
)

// Synthetic H.264 as a browser would packetize it (RFC 6184, packetization-mode 1):
// a keyframe is a STAP-A with SPS and PPS followed by an IDR slice in FU-A
// fragments; other frames are one non-IDR slice, in one packet when it fits, else
// in FU-A fragments. The slice bytes are noise: nothing decodes them, but the NAL
// headers are right, so a server that looks for keyframes finds them. Each
// payload has room for a stamp (see stamp.go): the first bytes of a slice or
// fragment, and a filler NAL unit at the end of the STAP-A.

// NAL unit and packet types (RFC 6184).
const (
	nalNonIDR = 1
	nalIDR    = 5
	nalFiller = 12
	nalSTAPA  = 24
	nalFUA    = 28
)

// Parameter sets of a 640x360 constrained-baseline stream (profile-level-id 42e01f).
var (
	h264SPS = []byte{0x67, 0x42, 0xe0, 0x1f, 0x8d, 0x68, 0x05, 0x00, 0x5b, 0xa1, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x8f, 0x18, 0x32, 0xa0}
	h264PPS = []byte{0x68, 0xce, 0x3c, 0x80}
)

// VideoProfile describes the synthetic video: its average bitrate, frame rate,
// keyframe interval and how much larger a keyframe is than another frame.
type VideoProfile struct {
	Bitrate          int           // bits per second, on average over a keyframe interval
	FPS              int           // frames per second
	KeyframeInterval time.Duration // a keyframe this often (and when the server asks)
	KeyframeWeight   int           // a keyframe is this many times the size of another frame
	MaxPayload       int           // largest RTP payload, bytes
	// Pacing spreads a frame's packets at this many times Bitrate, as a
	// browser's pacer does (libwebrtc: 2.5); 0 sends them back to back.
	Pacing float64
}

// packetGap is how long a paced packet of n payload bytes takes at the pacing
// rate; 0 without pacing.
func (p VideoProfile) packetGap(n int) time.Duration {
	if p.Pacing <= 0 || p.Bitrate <= 0 {
		return 0
	}
	return time.Duration(float64(n*8) / (p.Pacing * float64(p.Bitrate)) * float64(time.Second))
}

// frameSizes returns the slice sizes (bytes) of a keyframe and of another frame,
// so that a keyframe interval carries Bitrate on average.
func (p VideoProfile) frameSizes() (key, delta int) {
	gop := p.framesPerKeyframe()
	bytesPerGOP := float64(p.Bitrate) / 8 * p.KeyframeInterval.Seconds()
	delta = int(bytesPerGOP / float64(gop-1+p.KeyframeWeight))
	return delta * p.KeyframeWeight, delta
}

// framesPerKeyframe is the number of frames from one scheduled keyframe to the next.
func (p VideoProfile) framesPerKeyframe() int {
	n := int(p.KeyframeInterval.Seconds()*float64(p.FPS) + 0.5)
	return max(n, 1)
}

// videoPacketizer cuts synthetic frames into RTP payloads. It reuses its buffers:
// the payloads a call returns are valid until the next call.
type videoPacketizer struct {
	maxPayload int
	noise      []byte   // slice bytes, sliced rather than generated per frame
	buf        []byte   // backing store of the payloads
	bounds     [][2]int // each payload's start and end in buf (buf may move while it grows)
	out        [][]byte
}

func newVideoPacketizer(maxPayload, largestFrame int, rng *rand.Rand) *videoPacketizer {
	noise := make([]byte, largestFrame)
	for i := range noise {
		noise[i] = byte(rng.UintN(256))
	}
	return &videoPacketizer{maxPayload: maxPayload, noise: noise}
}

// frame returns the RTP payloads of one frame whose slice is size bytes.
func (v *videoPacketizer) frame(key bool, size int) [][]byte {
	size = min(max(size, stampSize), len(v.noise))
	v.buf, v.bounds = v.buf[:0], v.bounds[:0]
	nalType, nri := byte(nalNonIDR), byte(0x40)
	if key {
		nalType, nri = nalIDR, 0x60
		// STAP-A: SPS and PPS, each preceded by its 16-bit size.
		start := len(v.buf)
		v.buf = append(v.buf, 0x60|nalSTAPA)
		for _, ps := range [][]byte{h264SPS, h264PPS} {
			v.buf = append(v.buf, byte(len(ps)>>8), byte(len(ps)))
			v.buf = append(v.buf, ps...)
		}
		v.buf = append(v.buf, 0, 1+stampSize, nalFiller)
		v.buf = append(v.buf, make([]byte, stampSize)...)
		v.bounds = append(v.bounds, [2]int{start, len(v.buf)})
	}
	body := v.noise[:size]
	if 1+len(body) <= v.maxPayload { // single NAL unit packet
		start := len(v.buf)
		v.buf = append(v.buf, nri|nalType)
		v.buf = append(v.buf, body...)
		v.bounds = append(v.bounds, [2]int{start, len(v.buf)})
		return v.payloads()
	}
	// Fragments of even size (FU indicator and FU header take 2 bytes of
	// each payload): none is too small for a stamp.
	n := (len(body) + v.maxPayload - 3) / (v.maxPayload - 2)
	chunk := (len(body) + n - 1) / n
	for off := 0; off < len(body); off += chunk {
		end := min(off+chunk, len(body))
		hdr := nalType
		if off == 0 {
			hdr |= 0x80 // start bit
		}
		if end == len(body) {
			hdr |= 0x40 // end bit
		}
		start := len(v.buf)
		v.buf = append(v.buf, nri|nalFUA, hdr)
		v.buf = append(v.buf, body[off:end]...)
		v.bounds = append(v.bounds, [2]int{start, len(v.buf)})
	}
	return v.payloads()
}

// payloads turns the recorded bounds into slices of buf.
func (v *videoPacketizer) payloads() [][]byte {
	v.out = v.out[:0]
	for _, b := range v.bounds {
		v.out = append(v.out, v.buf[b[0]:b[1]:b[1]])
	}
	return v.out
}

// opusPayload returns a payload of size bytes that starts with an Opus TOC byte
// (CELT fullband, 20 ms, stereo); the rest is noise.
func opusPayload(size int, rng *rand.Rand) []byte {
	p := make([]byte, max(size, 1+stampSize))
	p[0] = 0xfc
	for i := 1; i < len(p); i++ {
		p[i] = byte(rng.UintN(256))
	}
	return p
}
