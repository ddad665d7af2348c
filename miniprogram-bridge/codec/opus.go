package codec

/*
#include <libavcodec/codec_id.h>
*/
import "C"

// opusOptions: libopus in VoIP mode with 20 ms frames; for the native
// encoder, at most 20 ms of lookahead (its default buffers far more).
const opusOptions = "application=voip:frame_duration=20:opus_delay=20"

// opusFrameSize is the number of samples per channel in a 20 ms packet.
const opusFrameSize = 960

// OpusEncoder encodes 48 kHz interleaved s16 PCM into 20 ms Opus packets
// (960 samples per channel), buffering partial frames between calls. It uses
// libavcodec's "libopus" encoder in VoIP mode, or FFmpeg's native "opus"
// encoder when libopus is not built in. It is not safe for concurrent use.
type OpusEncoder struct {
	e encoder
}

// NewOpusEncoder opens an encoder for channels (1 or 2) at bitrate b/s
// (6000..510000).
func NewOpusEncoder(channels, bitrate int) (*OpusEncoder, error) {
	return newOpusEncoder(channels, bitrate, "libopus")
}

// newOpusEncoder lets tests pick the implementation tried first.
func newOpusEncoder(channels, bitrate int, prefer string) (*OpusEncoder, error) {
	if channels != 1 && channels != 2 {
		return nil, errorf(ErrInvalidConfig, "opus: %d channels, want 1 or 2", channels)
	}
	if bitrate < 6000 || bitrate > 510000 {
		return nil, errorf(ErrInvalidConfig, "opus: bitrate %d b/s out of range 6000..510000", bitrate)
	}
	e := &OpusEncoder{e: encoder{kind: "opus"}}
	if err := e.e.open(C.AV_CODEC_ID_OPUS, prefer, 48000, channels, bitrate, opusOptions); err != nil {
		return nil, err
	}
	// libopus takes 960-sample frames; the native encoder takes 120-sample
	// (2.5 ms) frames and packs them into 20 ms packets itself.
	if e.e.frameSize <= 0 || opusFrameSize%e.e.frameSize != 0 {
		n := e.e.frameSize
		e.e.close()
		return nil, errorf(ErrInvalidConfig, "opus: encoder %q frame size is %d, want a divisor of %d", e.e.name, n, opusFrameSize)
	}
	return e, nil
}

// Encode appends pcm (interleaved 48 kHz, a whole number of frames of the
// configured channel count) to the buffered samples and returns one packet
// for each complete 20 ms frame.
func (e *OpusEncoder) Encode(pcm []int16) ([][]byte, error) { return e.e.encode(pcm) }

// Close frees the encoder, dropping any buffered samples. It is safe to
// call more than once.
func (e *OpusEncoder) Close() { e.e.close() }

// OpusDecoder decodes Opus packets to 48 kHz interleaved s16 PCM, with
// libavcodec's "libopus" decoder or else the native one. It is not safe for
// concurrent use.
type OpusDecoder struct {
	d decoder
}

// NewOpusDecoder opens a decoder producing channels (1 or 2) channels,
// whatever the packets carry.
func NewOpusDecoder(channels int) (*OpusDecoder, error) {
	return newOpusDecoder(channels, "libopus")
}

// newOpusDecoder lets tests pick the implementation tried first.
func newOpusDecoder(channels int, prefer string) (*OpusDecoder, error) {
	if channels != 1 && channels != 2 {
		return nil, errorf(ErrInvalidConfig, "opus: %d channels, want 1 or 2", channels)
	}
	d := &OpusDecoder{d: decoder{kind: "opus", rate: 48000, channels: channels}}
	if err := d.d.open(C.AV_CODEC_ID_OPUS, prefer, nil); err != nil {
		return nil, err
	}
	return d, nil
}

// Decode decodes one packet (960 samples per channel for a 20 ms packet).
// A bad packet returns an error wrapping ErrDecode; the decoder stays usable.
func (d *OpusDecoder) Decode(packet []byte) ([]int16, error) { return d.d.decode(packet) }

// Close frees the decoder. It is safe to call more than once.
func (d *OpusDecoder) Close() { d.d.close() }
