// Package codec transcodes audio between the WeChat mini-program side of the
// bridge (RTMP, AAC) and the browser side (WebRTC, Opus), using the system's
// FFmpeg libraries (libavcodec, libavutil, libswresample; FFmpeg 5.1 on
// Debian 12) through cgo.
//
// The two paths are
//
//	AAC access unit -> AACDecoder -> Resampler (to 48 kHz) -> OpusEncoder -> Opus packets
//	Opus packet -> OpusDecoder -> [Resampler] -> AACEncoder -> AAC access units
//
// All PCM is interleaved signed 16-bit.
//
// Concurrency: a single Decoder, Encoder or Resampler is not safe for
// concurrent use; guard it or keep it on one goroutine. Separate objects are
// independent and may be used from different goroutines at the same time.
//
// Resources: every constructor allocates C memory that only Close releases.
// Callers must Close each object (Close is idempotent); there are no
// finalizers. Methods called after Close return an error wrapping ErrClosed.
//
// Building needs cgo (a C compiler), pkg-config and Debian's
// libavcodec-dev, libavutil-dev and libswresample-dev; running needs
// libavcodec59 (built with libopus, as Debian's is), libavutil57 and
// libswresample4.
//
// The package logs nothing. On first use it sets FFmpeg's process-wide log
// level to quiet so that libavcodec does not print to stderr either.
package codec

/*
#cgo pkg-config: libavcodec libavutil libswresample
#include <stdlib.h>
#include "ffcodec.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// Sentinel errors. Every error returned by this package wraps exactly one of
// them; the rest of the message says what went wrong.
var (
	// ErrInvalidConfig: a constructor was given parameters it cannot use
	// (bad AudioSpecificConfig, unsupported rate, channel count or bitrate).
	ErrInvalidConfig = errors.New("codec: invalid configuration")
	// ErrInvalidInput: PCM passed to Convert or Encode whose length is not a
	// multiple of the channel count or is implausibly large, or that the
	// resampler failed to convert.
	ErrInvalidInput = errors.New("codec: invalid input")
	// ErrDecode: the decoder rejected a packet or access unit.
	ErrDecode = errors.New("codec: decode failed")
	// ErrEncode: the encoder failed.
	ErrEncode = errors.New("codec: encode failed")
	// ErrClosed: the object was used after Close.
	ErrClosed = errors.New("codec: used after Close")
)

// maxPacket bounds the size of one compressed packet accepted by a decoder.
// An AAC access unit is at most 768 bytes per channel and an Opus packet at
// most 1275 bytes per frame (120 ms = 6 frames), so this is generous.
const maxPacket = 1 << 16

// maxPCM bounds the number of samples accepted by one Convert or Encode
// call (about 10 s of 48 kHz stereo), keeping every size within C's int.
const maxPCM = 1 << 20

var quietOnce sync.Once

// setup runs the package's one-time process-wide initialisation.
func setup() {
	quietOnce.Do(func() { C.orc_quiet_logs() })
}

func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}

// averr describes a negative AVERROR code.
func averr(code C.int) string {
	var buf [128]C.char
	C.orc_strerror(code, &buf[0], C.int(len(buf)))
	return C.GoString(&buf[0])
}

// decoder is the part shared by AACDecoder and OpusDecoder.
type decoder struct {
	c        *C.orc_dec
	kind     string // "aac" or "opus", for messages
	name     string // libavcodec implementation
	rate     int
	channels int
}

func (d *decoder) open(codecID C.int, prefer string, extradata []byte) error {
	setup()
	var cprefer *C.char
	if prefer != "" {
		cprefer = C.CString(prefer)
		defer C.free(unsafe.Pointer(cprefer))
	}
	var extra *C.uint8_t
	if len(extradata) > 0 {
		extra = (*C.uint8_t)(unsafe.Pointer(&extradata[0]))
	}
	var what *C.char
	var c *C.orc_dec
	ret := C.orc_dec_open(&c, codecID, cprefer, extra, C.int(len(extradata)),
		C.int(d.rate), C.int(d.channels), &what)
	if ret < 0 {
		return errorf(ErrInvalidConfig, "%s: %s: %s", d.kind, C.GoString(what), averr(ret))
	}
	d.c = c
	d.name = C.GoString(C.orc_dec_name(c))
	return nil
}

func (d *decoder) decode(pkt []byte) ([]int16, error) {
	if d.c == nil {
		return nil, errorf(ErrClosed, "%s decoder", d.kind)
	}
	if len(pkt) == 0 {
		return nil, errorf(ErrDecode, "%s: empty packet", d.kind)
	}
	if len(pkt) > maxPacket {
		return nil, errorf(ErrDecode, "%s: packet of %d bytes is larger than %d", d.kind, len(pkt), maxPacket)
	}
	if ret := C.orc_dec_send(d.c, (*C.uint8_t)(unsafe.Pointer(&pkt[0])), C.int(len(pkt))); ret < 0 {
		return nil, errorf(ErrDecode, "%s: %s", d.kind, averr(ret))
	}
	var out []int16
	var convErr error
	for {
		var n, rate, channels C.int
		got := C.orc_dec_receive(d.c, &n, &rate, &channels)
		if got < 0 {
			return nil, errorf(ErrDecode, "%s: %s", d.kind, averr(got))
		}
		if got == 0 {
			if convErr != nil {
				return nil, convErr
			}
			return out, nil
		}
		if n <= 0 || convErr != nil {
			continue // keep draining so the decoder is ready for the next packet
		}
		start := len(out)
		need := int(n) * d.channels
		if cap(out)-start < need {
			grown := make([]int16, start, start+need)
			copy(grown, out)
			out = grown
		}
		out = out[:start+need]
		if ret := C.orc_dec_copy(d.c, (*C.int16_t)(unsafe.Pointer(&out[start])), C.int(d.channels)); ret < 0 {
			convErr = errorf(ErrDecode, "%s: cannot convert a frame of %d channels to %d: %s", d.kind, channels, d.channels, averr(ret))
			continue
		}
		if rate > 0 {
			d.rate = int(rate)
		}
	}
}

func (d *decoder) close() {
	if d.c != nil {
		C.orc_dec_free(d.c)
		d.c = nil
	}
}

// encoder is the part shared by AACEncoder and OpusEncoder. It keeps the
// samples of an incomplete frame in Go memory until the frame fills up.
type encoder struct {
	c         *C.orc_enc
	kind      string
	name      string
	channels  int
	frameSize int     // samples per channel per packet
	pending   []int16 // fewer than frameSize*channels samples
}

// open opens an encoder; options is "key=value:key=value" of libavcodec
// private options, of which those the implementation lacks are ignored.
func (e *encoder) open(codecID C.int, prefer string, rate, channels, bitrate int, options string) error {
	setup()
	var cprefer, copts *C.char
	if prefer != "" {
		cprefer = C.CString(prefer)
		defer C.free(unsafe.Pointer(cprefer))
	}
	if options != "" {
		copts = C.CString(options)
		defer C.free(unsafe.Pointer(copts))
	}
	var what *C.char
	var c *C.orc_enc
	ret := C.orc_enc_open(&c, codecID, cprefer, C.int(rate), C.int(channels), C.int(bitrate), copts, &what)
	if ret < 0 {
		return errorf(ErrInvalidConfig, "%s: %s: %s", e.kind, C.GoString(what), averr(ret))
	}
	e.c = c
	e.name = C.GoString(C.orc_enc_name(c))
	e.channels = channels
	e.frameSize = int(C.orc_enc_frame_size(c))
	e.pending = make([]int16, 0, e.frameSize*channels)
	return nil
}

func (e *encoder) encode(pcm []int16) ([][]byte, error) {
	if e.c == nil {
		return nil, errorf(ErrClosed, "%s encoder", e.kind)
	}
	if len(pcm)%e.channels != 0 {
		return nil, errorf(ErrInvalidInput, "%s: %d samples is not a whole number of %d-channel frames", e.kind, len(pcm), e.channels)
	}
	if len(pcm) > maxPCM {
		return nil, errorf(ErrInvalidInput, "%s: %d samples in one call, limit is %d", e.kind, len(pcm), maxPCM)
	}
	var out [][]byte
	need := e.frameSize * e.channels
	// Complete a partial frame left over from the last call first.
	if len(e.pending) > 0 {
		take := min(need-len(e.pending), len(pcm))
		e.pending = append(e.pending, pcm[:take]...)
		pcm = pcm[take:]
		if len(e.pending) < need {
			return nil, nil
		}
		var err error
		if out, err = e.encodeFrame(e.pending, out); err != nil {
			e.pending = e.pending[:0]
			return nil, err
		}
		e.pending = e.pending[:0]
	}
	for len(pcm) >= need {
		var err error
		if out, err = e.encodeFrame(pcm[:need], out); err != nil {
			return nil, err
		}
		pcm = pcm[need:]
	}
	e.pending = append(e.pending, pcm...)
	return out, nil
}

// encodeFrame encodes exactly one frame and appends the packets it yields.
func (e *encoder) encodeFrame(frame []int16, out [][]byte) ([][]byte, error) {
	if ret := C.orc_enc_send(e.c, (*C.int16_t)(unsafe.Pointer(&frame[0]))); ret < 0 {
		return out, errorf(ErrEncode, "%s: %s", e.kind, averr(ret))
	}
	for {
		var data *C.uint8_t
		var size C.int
		got := C.orc_enc_receive(e.c, &data, &size)
		if got < 0 {
			return out, errorf(ErrEncode, "%s: %s", e.kind, averr(got))
		}
		if got == 0 {
			return out, nil
		}
		out = append(out, C.GoBytes(unsafe.Pointer(data), size))
	}
}

func (e *encoder) close() {
	if e.c != nil {
		C.orc_enc_free(e.c)
		e.c = nil
	}
	e.pending = nil
}
