package bridge

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// H.264 NAL unit types the bridge cares about.
const (
	naluNonIDR = 1
	naluIDR    = 5
	naluSEI    = 6
	naluSPS    = 7
	naluPPS    = 8
	naluAUD    = 9
	naluSTAPA  = 24
	naluFUA    = 28
)

// ErrBadH264 wraps every malformed-H.264 error.
var ErrBadH264 = errors.New("malformed H.264")

func naluType(n []byte) byte {
	if len(n) == 0 {
		return 0
	}
	return n[0] & 0x1f
}

// isKeyframe reports whether an access unit holds an IDR slice.
func isKeyframe(au [][]byte) bool {
	for _, n := range au {
		if naluType(n) == naluIDR {
			return true
		}
	}
	return false
}

// parameterSets remembers the latest SPS and PPS a stream carried.
type parameterSets struct{ sps, pps []byte }

// update records the SPS and PPS in au and reports whether au carries picture
// slices (an access unit of parameter sets alone is a sequence header).
func (p *parameterSets) update(au [][]byte) (slices bool) {
	for _, n := range au {
		switch naluType(n) {
		case naluSPS:
			p.sps = n
		case naluPPS:
			p.pps = n
		case naluIDR, naluNonIDR:
			slices = true
		}
	}
	return slices
}

// withParameterSets returns au with SPS and PPS in front when it is a keyframe
// that lacks them: a WebRTC subscriber that starts at this IDR must be able to
// decode it. Access unit delimiters are dropped (they mean nothing over RTP).
func withParameterSets(au [][]byte, sps, pps []byte) [][]byte {
	hasSPS, hasPPS := false, false
	out := make([][]byte, 0, len(au)+2)
	for _, n := range au {
		switch naluType(n) {
		case naluSPS:
			hasSPS = true
		case naluPPS:
			hasPPS = true
		case naluAUD:
			continue
		}
		out = append(out, n)
	}
	if !isKeyframe(au) || (hasSPS && hasPPS) || sps == nil || pps == nil {
		return out
	}
	return append([][]byte{sps, pps}, out...)
}

// annexB joins NAL units with 4-byte start codes, as pion's payloader expects.
func annexB(au [][]byte) []byte {
	size := 0
	for _, n := range au {
		size += 4 + len(n)
	}
	b := make([]byte, 0, size)
	for _, n := range au {
		b = append(b, 0, 0, 0, 1)
		b = append(b, n...)
	}
	return b
}

// avcc joins NAL units with 4-byte big-endian lengths (FLV/RTMP and MP4 framing).
func avcc(au [][]byte) []byte {
	size := 0
	for _, n := range au {
		size += 4 + len(n)
	}
	b := make([]byte, 0, size)
	for _, n := range au {
		b = binary.BigEndian.AppendUint32(b, uint32(len(n)))
		b = append(b, n...)
	}
	return b
}

// splitAVCC splits length-prefixed NAL units.
func splitAVCC(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("%w: truncated NAL length", ErrBadH264)
		}
		n := int(binary.BigEndian.Uint32(b))
		b = b[4:]
		if n == 0 || n > len(b) {
			return nil, fmt.Errorf("%w: NAL length %d with %d bytes left", ErrBadH264, n, len(b))
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out, nil
}

// avcDecoderConfig builds an AVCDecoderConfigurationRecord (the FLV/RTMP AVC
// sequence header) from one SPS and one PPS.
func avcDecoderConfig(sps, pps []byte) ([]byte, error) {
	if len(sps) < 4 || len(sps) > 0xffff || naluType(sps) != naluSPS { // the record's lengths are 16 bits
		return nil, fmt.Errorf("%w: bad SPS", ErrBadH264)
	}
	if len(pps) < 1 || len(pps) > 0xffff || naluType(pps) != naluPPS {
		return nil, fmt.Errorf("%w: bad PPS", ErrBadH264)
	}
	b := []byte{1, sps[1], sps[2], sps[3], 0xff, 0xe1}
	b = binary.BigEndian.AppendUint16(b, uint16(len(sps)))
	b = append(b, sps...)
	b = append(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(pps)))
	return append(b, pps...), nil
}

// depacketizer turns H.264 RTP packets (RFC 6184: single NAL, STAP-A, FU-A) back
// into access units. A lost packet drops the access unit and everything up to
// the next keyframe, so a viewer never sees a broken picture; needKeyframe says
// when to ask the publisher for one.
type depacketizer struct {
	nalus        [][]byte
	fua          []byte
	size         int  // bytes in nalus and fua: the access unit so far
	oversized    bool // the access unit of ts grew past maxAccessUnit: dropped
	ts           uint32
	haveTS       bool
	lastSeq      uint16
	haveSeq      bool
	broken       bool // a packet of the current access unit was lost
	waitKeyframe bool // drop until an IDR
	needKeyframe bool // set when a loss makes us wait; the caller clears it
}

func newDepacketizer() *depacketizer { return &depacketizer{waitKeyframe: true} }

// push adds one packet. It returns a complete access unit when the packet ends one
// (marker bit), or nil.
func (d *depacketizer) push(seq uint16, ts uint32, marker bool, payload []byte) [][]byte {
	if len(payload) == 0 {
		// Padding only (browsers probe bandwidth with these): it takes a
		// sequence number but is no loss, and carries nothing to decode.
		if !d.haveSeq || seq == d.lastSeq+1 {
			d.lastSeq, d.haveSeq = seq, true
		}
		return nil
	}
	if d.haveSeq && seq != d.lastSeq+1 {
		d.broken = true
		d.size -= len(d.fua)
		d.fua = nil
	}
	d.lastSeq, d.haveSeq = seq, true
	if d.oversized && ts != d.ts { // the oversized one is over: judge the next on its own
		d.oversized, d.broken = false, false
		if !d.waitKeyframe {
			d.waitKeyframe, d.needKeyframe = true, true
		}
	}
	if d.haveTS && ts != d.ts && len(d.nalus) > 0 {
		d.reset() // the previous access unit never saw its marker
		d.broken = true
	}
	d.ts, d.haveTS = ts, true
	if err := d.parse(payload); err != nil {
		d.broken = true
	}
	if d.size > maxAccessUnit || d.oversized { // a publisher cannot make us hold more than this
		d.reset()
		d.broken, d.oversized = true, true
	}
	if !marker {
		return nil
	}
	au, broken := d.nalus, d.broken
	d.nalus, d.fua, d.size, d.broken, d.oversized, d.haveTS = nil, nil, 0, false, false, false
	if broken || len(au) == 0 {
		if !d.waitKeyframe {
			d.waitKeyframe, d.needKeyframe = true, true
		}
		return nil
	}
	if d.waitKeyframe {
		if !isKeyframe(au) {
			return nil
		}
		d.waitKeyframe = false
	}
	return au
}

// maxAccessUnit bounds one access unit (a 4K keyframe is about 1-2 MB).
const maxAccessUnit = 8 << 20

func (d *depacketizer) reset() { d.nalus, d.fua, d.size = nil, nil, 0 }

func (d *depacketizer) parse(p []byte) error {
	if len(p) < 1 {
		return fmt.Errorf("%w: empty payload", ErrBadH264)
	}
	switch t := naluType(p); {
	case t >= 1 && t <= 23:
		d.nalus = append(d.nalus, clone(p))
		d.size += len(p)
	case t == naluSTAPA:
		p = p[1:]
		for len(p) > 0 {
			if len(p) < 2 {
				return fmt.Errorf("%w: truncated STAP-A", ErrBadH264)
			}
			n := int(binary.BigEndian.Uint16(p))
			p = p[2:]
			if n == 0 || n > len(p) {
				return fmt.Errorf("%w: STAP-A size %d", ErrBadH264, n)
			}
			d.nalus = append(d.nalus, clone(p[:n]))
			d.size += n
			p = p[n:]
		}
	case t == naluFUA:
		if len(p) < 2 {
			return fmt.Errorf("%w: truncated FU-A", ErrBadH264)
		}
		start, end := p[1]&0x80 != 0, p[1]&0x40 != 0
		if start {
			d.size -= len(d.fua)
			d.fua = append(d.fua[:0], (p[0]&0xe0)|(p[1]&0x1f))
			d.size++
		} else if d.fua == nil {
			return fmt.Errorf("%w: FU-A continuation without start", ErrBadH264)
		}
		d.fua = append(d.fua, p[2:]...)
		d.size += len(p) - 2
		if end {
			d.nalus = append(d.nalus, d.fua)
			d.fua = nil
		}
	default:
		return fmt.Errorf("%w: unsupported NAL type %d", ErrBadH264, t)
	}
	return nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
