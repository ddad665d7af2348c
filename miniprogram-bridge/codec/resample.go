package codec

/*
#include "ffcodec.h"
*/
import "C"

import "unsafe"

// Resampler converts interleaved s16 PCM between sample rates and between
// mono and stereo with libswresample, keeping its filter state between calls
// so that a stream can be fed in pieces of any size. Mono is copied to both
// channels of a stereo output; stereo is averaged into a mono output. It is
// not safe for concurrent use.
type Resampler struct {
	s                    *C.struct_SwrContext
	inRate, outRate      int
	inChannels, outChans int
	passthrough          bool
}

// NewResampler converts from inRate/inChannels to outRate/outChannels. Rates
// must be within 1000..384000 Hz and channel counts 1 or 2.
func NewResampler(inRate, inChannels, outRate, outChannels int) (*Resampler, error) {
	for _, rate := range []int{inRate, outRate} {
		if rate < 1000 || rate > 384000 {
			return nil, errorf(ErrInvalidConfig, "resample: rate %d Hz out of range 1000..384000", rate)
		}
	}
	for _, ch := range []int{inChannels, outChannels} {
		if ch != 1 && ch != 2 {
			return nil, errorf(ErrInvalidConfig, "resample: %d channels, want 1 or 2", ch)
		}
	}
	setup()
	r := &Resampler{inRate: inRate, outRate: outRate, inChannels: inChannels, outChans: outChannels}
	var what *C.char
	if ret := C.orc_swr_open(&r.s, C.int(inRate), C.int(inChannels), C.int(outRate), C.int(outChannels), &what); ret < 0 {
		return nil, errorf(ErrInvalidConfig, "resample: %s: %s", C.GoString(what), averr(ret))
	}
	r.passthrough = inRate == outRate && inChannels == outChannels
	return r, nil
}

// Convert converts pcm (a whole number of inChannels frames) and returns
// what is ready; the filter delay (a few milliseconds) stays buffered for the
// next call. The output rate matches over time, not per call.
func (r *Resampler) Convert(pcm []int16) ([]int16, error) {
	if r.s == nil {
		return nil, errorf(ErrClosed, "resampler")
	}
	if len(pcm)%r.inChannels != 0 {
		return nil, errorf(ErrInvalidInput, "resample: %d samples is not a whole number of %d-channel frames", len(pcm), r.inChannels)
	}
	if len(pcm) > maxPCM {
		return nil, errorf(ErrInvalidInput, "resample: %d samples in one call, limit is %d", len(pcm), maxPCM)
	}
	if len(pcm) == 0 {
		return []int16{}, nil
	}
	if r.passthrough {
		return append([]int16(nil), pcm...), nil
	}
	in := len(pcm) / r.inChannels
	capacity := int(C.orc_swr_out_samples(r.s, C.int(in)))
	if capacity < 0 {
		return nil, errorf(ErrInvalidInput, "resample: %s", averr(C.int(capacity)))
	}
	out := make([]int16, (capacity+1)*r.outChans) // +1: never a zero-length slice
	n := C.orc_swr_convert(r.s, (*C.int16_t)(unsafe.Pointer(&pcm[0])), C.int(in),
		(*C.int16_t)(unsafe.Pointer(&out[0])), C.int(capacity))
	if n < 0 {
		return nil, errorf(ErrInvalidInput, "resample: %s", averr(n))
	}
	return out[:int(n)*r.outChans], nil
}

// Close frees the resampler. It is safe to call more than once.
func (r *Resampler) Close() {
	if r.s != nil {
		C.orc_swr_free(r.s)
		r.s = nil
	}
}
