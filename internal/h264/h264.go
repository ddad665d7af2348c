// Package h264 handles H.264 as RTP carries it (RFC 6184) and as FLV, RTMP
// and MP4 frame it: a depacketizer that turns RTP packets back into access
// units, parameter-set bookkeeping, and Annex B / AVCC framing. The RTMP
// bridge and the recorder share it.
package h264

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// NAL unit types.
const (
	NonIDR byte = 1  // a slice of a non-IDR picture
	IDR    byte = 5  // a slice of an IDR picture (a keyframe)
	SEI    byte = 6  // supplemental enhancement information
	SPS    byte = 7  // sequence parameter set
	PPS    byte = 8  // picture parameter set
	AUD    byte = 9  // access unit delimiter
	STAPA  byte = 24 // RTP aggregation packet (RFC 6184)
	FUA    byte = 28 // RTP fragmentation unit (RFC 6184)
)

// ErrMalformed wraps every malformed-H.264 error.
var ErrMalformed = errors.New("malformed H.264")

// NALType is the type of NAL unit n (0 for an empty one).
func NALType(n []byte) byte {
	if len(n) == 0 {
		return 0
	}
	return n[0] & 0x1f
}

// IsKeyframe reports whether an access unit holds an IDR slice.
func IsKeyframe(au [][]byte) bool {
	for _, n := range au {
		if NALType(n) == IDR {
			return true
		}
	}
	return false
}

// ParameterSets remembers the latest SPS and PPS a stream carried.
type ParameterSets struct{ SPS, PPS []byte }

// Update records the SPS and PPS in au and reports whether au carries picture
// slices (an access unit of parameter sets alone is a sequence header).
func (p *ParameterSets) Update(au [][]byte) (slices bool) {
	for _, n := range au {
		switch NALType(n) {
		case SPS:
			p.SPS = n
		case PPS:
			p.PPS = n
		case IDR, NonIDR:
			slices = true
		}
	}
	return slices
}

// WithParameterSets returns au with SPS and PPS in front when it is a keyframe
// that lacks them: a decoder that starts at this IDR must be able to decode
// it. Access unit delimiters are dropped (they mean nothing over RTP or in MP4).
func WithParameterSets(au [][]byte, sps, pps []byte) [][]byte {
	hasSPS, hasPPS := false, false
	out := make([][]byte, 0, len(au)+2)
	for _, n := range au {
		switch NALType(n) {
		case SPS:
			hasSPS = true
		case PPS:
			hasPPS = true
		case AUD:
			continue
		}
		out = append(out, n)
	}
	if !IsKeyframe(au) || (hasSPS && hasPPS) || sps == nil || pps == nil {
		return out
	}
	return append([][]byte{sps, pps}, out...)
}

// AnnexB joins NAL units with 4-byte start codes, as pion's payloader expects.
func AnnexB(au [][]byte) []byte {
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

// AVCC joins NAL units with 4-byte big-endian lengths (FLV/RTMP and MP4 framing).
func AVCC(au [][]byte) []byte {
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

// SplitAVCC splits length-prefixed NAL units.
func SplitAVCC(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("%w: truncated NAL length", ErrMalformed)
		}
		n := int(binary.BigEndian.Uint32(b))
		b = b[4:]
		if n == 0 || n > len(b) {
			return nil, fmt.Errorf("%w: NAL length %d with %d bytes left", ErrMalformed, n, len(b))
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out, nil
}

// DecoderConfig builds an AVCDecoderConfigurationRecord (the FLV/RTMP AVC
// sequence header, MP4's avcC) from one SPS and one PPS.
func DecoderConfig(sps, pps []byte) ([]byte, error) {
	if len(sps) < 4 || len(sps) > 0xffff || NALType(sps) != SPS { // the record's lengths are 16 bits
		return nil, fmt.Errorf("%w: bad SPS", ErrMalformed)
	}
	if len(pps) < 1 || len(pps) > 0xffff || NALType(pps) != PPS {
		return nil, fmt.Errorf("%w: bad PPS", ErrMalformed)
	}
	b := []byte{1, sps[1], sps[2], sps[3], 0xff, 0xe1}
	b = binary.BigEndian.AppendUint16(b, uint16(len(sps)))
	b = append(b, sps...)
	b = append(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(pps)))
	return append(b, pps...), nil
}

// Depacketizer turns H.264 RTP packets (RFC 6184: single NAL, STAP-A, FU-A)
// back into access units. A lost packet drops the access unit and everything
// up to the next keyframe, so a viewer never sees a broken picture;
// TakeKeyframeRequest says when to ask the publisher for one. The zero value
// returns every whole access unit, keyframe or not; NewDepacketizer's waits
// for a keyframe first. A Depacketizer belongs to one goroutine.
type Depacketizer struct {
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
	needKeyframe bool // set when a loss makes us wait; TakeKeyframeRequest clears it
}

// NewDepacketizer returns a Depacketizer that starts at the first keyframe.
func NewDepacketizer() *Depacketizer { return &Depacketizer{waitKeyframe: true} }

// TakeKeyframeRequest reports whether a loss made the depacketizer wait for a
// keyframe since the last call: the caller should ask the publisher for one.
func (d *Depacketizer) TakeKeyframeRequest() bool {
	r := d.needKeyframe
	d.needKeyframe = false
	return r
}

// Push adds one packet. It returns a complete access unit when the packet ends one
// (marker bit), or nil. The access unit's NAL units are copies: the caller may keep them.
func (d *Depacketizer) Push(seq uint16, ts uint32, marker bool, payload []byte) [][]byte {
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
		if !IsKeyframe(au) {
			return nil
		}
		d.waitKeyframe = false
	}
	return au
}

// maxAccessUnit bounds one access unit (a 4K keyframe is about 1-2 MB).
const maxAccessUnit = 8 << 20

func (d *Depacketizer) reset() { d.nalus, d.fua, d.size = nil, nil, 0 }

func (d *Depacketizer) parse(p []byte) error {
	if len(p) < 1 {
		return fmt.Errorf("%w: empty payload", ErrMalformed)
	}
	switch t := NALType(p); {
	case t >= 1 && t <= 23:
		d.nalus = append(d.nalus, clone(p))
		d.size += len(p)
	case t == STAPA:
		p = p[1:]
		for len(p) > 0 {
			if len(p) < 2 {
				return fmt.Errorf("%w: truncated STAP-A", ErrMalformed)
			}
			n := int(binary.BigEndian.Uint16(p))
			p = p[2:]
			if n == 0 || n > len(p) {
				return fmt.Errorf("%w: STAP-A size %d", ErrMalformed, n)
			}
			d.nalus = append(d.nalus, clone(p[:n]))
			d.size += n
			p = p[n:]
		}
	case t == FUA:
		if len(p) < 2 {
			return fmt.Errorf("%w: truncated FU-A", ErrMalformed)
		}
		start, end := p[1]&0x80 != 0, p[1]&0x40 != 0
		if start {
			d.size -= len(d.fua)
			d.fua = append(d.fua[:0], (p[0]&0xe0)|(p[1]&0x1f))
			d.size++
		} else if d.fua == nil {
			return fmt.Errorf("%w: FU-A continuation without start", ErrMalformed)
		}
		d.fua = append(d.fua, p[2:]...)
		d.size += len(p) - 2
		if end {
			d.nalus = append(d.nalus, d.fua)
			d.fua = nil
		}
	default:
		return fmt.Errorf("%w: unsupported NAL type %d", ErrMalformed, t)
	}
	return nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
