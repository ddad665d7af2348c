package bridge

import (
	"github.com/openroom/openroom/miniprogram-bridge/codec"
)

const (
	opusBitrate = 64000
	aacBitrate  = 128000
)

// FFmpegTranscoders converts audio with libavcodec and libswresample.
type FFmpegTranscoders struct{}

type aacToOpus struct {
	dec *codec.AACDecoder
	res *codec.Resampler // nil when the input is already 48 kHz stereo
	enc *codec.OpusEncoder
}

// NewAACToOpus reads rate and channels from the AudioSpecificConfig (the FLV
// header cannot say 48 kHz or 16 kHz) and resamples to 48 kHz stereo.
func (FFmpegTranscoders) NewAACToOpus(asc []byte) (AACToOpus, error) {
	dec, err := codec.NewAACDecoder(asc)
	if err != nil {
		return nil, err
	}
	t := &aacToOpus{dec: dec}
	if dec.SampleRate() != 48000 || dec.Channels() != 2 {
		if t.res, err = codec.NewResampler(dec.SampleRate(), dec.Channels(), 48000, 2); err != nil {
			t.Close()
			return nil, err
		}
	}
	if t.enc, err = codec.NewOpusEncoder(2, opusBitrate); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (t *aacToOpus) Convert(au []byte) ([][]byte, error) {
	pcm, err := t.dec.Decode(au)
	if err != nil {
		return nil, err
	}
	if t.res != nil {
		if pcm, err = t.res.Convert(pcm); err != nil {
			return nil, err
		}
	}
	return t.enc.Encode(pcm)
}

func (t *aacToOpus) Close() {
	if t.dec != nil {
		t.dec.Close()
	}
	if t.res != nil {
		t.res.Close()
	}
	if t.enc != nil {
		t.enc.Close()
	}
}

type opusToAAC struct {
	dec *codec.OpusDecoder
	enc *codec.AACEncoder
}

// NewOpusToAAC decodes Opus (always 48 kHz) and encodes AAC-LC 48 kHz stereo.
func (FFmpegTranscoders) NewOpusToAAC() (OpusToAAC, error) {
	dec, err := codec.NewOpusDecoder(2)
	if err != nil {
		return nil, err
	}
	enc, err := codec.NewAACEncoder(48000, 2, aacBitrate)
	if err != nil {
		dec.Close()
		return nil, err
	}
	return &opusToAAC{dec: dec, enc: enc}, nil
}

func (t *opusToAAC) Convert(p []byte) ([][]byte, error) {
	pcm, err := t.dec.Decode(p)
	if err != nil {
		return nil, err
	}
	return t.enc.Encode(pcm)
}

func (t *opusToAAC) Config() []byte { return t.enc.Config() }

func (t *opusToAAC) Close() {
	t.dec.Close()
	t.enc.Close()
}
