package bridge

import (
	"encoding/binary"
	"fmt"
	"io"
)

// FLV tag types.
const (
	flvAudio = 8
	flvVideo = 9
)

// flvHeader starts an FLV stream (flags filled in by header), followed by PreviousTagSize0.
var flvHeader = [13]byte{'F', 'L', 'V', 1, 0, 0, 0, 0, 9, 0, 0, 0, 0}

// flvWriter writes FLV tags. Timestamps are milliseconds; it is not safe for concurrent use.
type flvWriter struct {
	w   io.Writer
	buf []byte
}

func newFLVWriter(w io.Writer) *flvWriter { return &flvWriter{w: w} }

// header announces only the tracks that exist: players wait for an announced
// track that never comes.
func (f *flvWriter) header(video, audio bool) error {
	h := flvHeader
	if video {
		h[4] |= 0x01
	}
	if audio {
		h[4] |= 0x04
	}
	_, err := f.w.Write(h[:])
	return err
}

// tag writes one tag: 11-byte header, body, PreviousTagSize.
func (f *flvWriter) tag(typ byte, ms uint32, body ...[]byte) error {
	size := 0
	for _, b := range body {
		size += len(b)
	}
	if size > 0xffffff { // the tag's size field is 24 bits
		return fmt.Errorf("%w: a %d-byte FLV tag (at most %d)", ErrUnsupported, size, 0xffffff)
	}
	f.buf = f.buf[:0]
	f.buf = append(f.buf, typ, byte(size>>16), byte(size>>8), byte(size),
		byte(ms>>16), byte(ms>>8), byte(ms), byte(ms>>24), 0, 0, 0)
	for _, b := range body {
		f.buf = append(f.buf, b...)
	}
	f.buf = binary.BigEndian.AppendUint32(f.buf, uint32(11+size))
	_, err := f.w.Write(f.buf)
	return err
}

// avcSequenceHeader writes the AVCDecoderConfigurationRecord.
func (f *flvWriter) avcSequenceHeader(ms uint32, config []byte) error {
	return f.tag(flvVideo, ms, []byte{0x17, 0, 0, 0, 0}, config)
}

// avc writes one access unit in AVCC framing; composition time is 0 (no B-frames).
func (f *flvWriter) avc(ms uint32, keyframe bool, avccAU []byte) error {
	head := byte(0x27)
	if keyframe {
		head = 0x17
	}
	return f.tag(flvVideo, ms, []byte{head, 1, 0, 0, 0}, avccAU)
}

// aacSequenceHeader writes the AudioSpecificConfig. 0xAF: AAC, and the flags FLV
// requires for AAC whatever the real rate (the ASC carries the truth).
func (f *flvWriter) aacSequenceHeader(ms uint32, asc []byte) error {
	return f.tag(flvAudio, ms, []byte{0xaf, 0}, asc)
}

// aac writes one raw AAC access unit.
func (f *flvWriter) aac(ms uint32, au []byte) error {
	return f.tag(flvAudio, ms, []byte{0xaf, 1}, au)
}
