package codec

import (
	"errors"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// fzBitWriter writes an AudioSpecificConfig bit by bit.
type fzBitWriter struct {
	b []byte
	n int // bits written
}

func (w *fzBitWriter) write(v, bits int) {
	for i := bits - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte((v>>i)&1) << (7 - w.n%8)
		w.n++
	}
}

// fzASC encodes an AudioSpecificConfig of AAC Main, LC or LTP: aot, the
// rate (by index when it has one, else explicit), channels, the
// frameLengthFlag and an optional core coder delay.
func fzASC(aot, rate, channels int, frameLength bool, coreDelay int) []byte {
	w := &fzBitWriter{}
	w.write(aot, 5)
	if i := aacRateIndex(rate); i >= 0 {
		w.write(i, 4)
	} else {
		w.write(15, 4)
		w.write(rate, 24)
	}
	w.write(channels, 4)
	w.write(map[bool]int{true: 1, false: 0}[frameLength], 1)
	if coreDelay >= 0 {
		w.write(1, 1)
		w.write(coreDelay, 14)
	} else {
		w.write(0, 1)
	}
	w.write(0, 1) // extensionFlag
	return w.b
}

// FuzzParseASC parses any bytes as the AudioSpecificConfig of an RTMP
// pusher's AAC sequence header. It does not panic, and what it accepts is
// what the decoder supports (AAC Main, LC or LTP, 7350-96000 Hz, mono or
// stereo; parametric stereo decodes to stereo). As on the ingest path,
// where the RTMP library (mediacommon) reads the config and writes it back
// before the decoder sees it, whatever the library accepts parses here to
// the same object type, rate (the SBR rate for HE-AAC) and channels, or is
// refused only for what the decoder does not support. And a config built
// from the fuzz values' fields (fzASC) parses back to those fields.
func FuzzParseASC(f *testing.F) {
	for _, s := range [][]byte{
		{0x12, 0x10},                   // LC 44.1 kHz stereo
		{0x11, 0x90},                   // LC 48 kHz stereo
		{0x13, 0x88},                   // LC 22.05 kHz mono
		{0x2b, 0x92, 0x08, 0x00},       // HE-AAC (SBR) 24 -> 48 kHz stereo
		{0xeb, 0x09, 0x88, 0x00},       // HE-AAC v2 (PS)
		{0x13, 0x08, 0x56, 0xe5, 0x98}, // LC 22.05 kHz with explicit SBR signalling
		{0x17, 0x80, 0x3e, 0x80, 0x10}, // explicit 24-bit rate
		{0x0a, 0x10},                   // Main
		{0x22, 0x10},                   // LTP
		{0x12, 0x00},                   // channel configuration 0 (PCE)
		{0x16, 0x90},                   // reserved rate index 13
		{0xf8, 0x00, 0x10},             // escaped object type
		{0x12},
		{},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, asc []byte) {
		info, err := parseASC(asc)
		if err == nil {
			ok := (info.objectType == aotMain || info.objectType == aotLC || info.objectType == aotLTP) &&
				info.sampleRate >= 7350 && info.sampleRate <= 96000 && (info.channels == 1 || info.channels == 2) &&
				(!info.ps || (info.sbr && info.channels == 2))
			if !ok {
				t.Fatalf("parseASC(% x): got %+v; want a supported configuration or an error", asc, info)
			}
		}

		var c mpeg4audio.AudioSpecificConfig
		if c.Unmarshal(asc) == nil {
			if b, err := c.Marshal(); err == nil {
				fzCheckLibraryConfig(t, c, b)
			}
		}

		r := append([]byte(nil), asc...)
		for len(r) < 6 {
			r = append(r, 0)
		}
		aot := []int{aotMain, aotLC, aotLTP}[int(r[0])%3]
		rate := aacRates[int(r[1])%len(aacRates)]
		if r[1]&0x80 != 0 {
			rate = 7350 + (int(r[2])<<8|int(r[3]))%(96000-7350+1)
		}
		channels := 1 + int(r[4]&1)
		delay := -1
		if r[4]&2 != 0 {
			delay = (int(r[5])<<6 | int(r[4]>>2)) & 0x3fff
		}
		b := fzASC(aot, rate, channels, r[4]&4 != 0, delay)
		got, err := parseASC(b)
		want := ascInfo{objectType: aot, sampleRate: rate, channels: channels}
		if err != nil || got != want {
			t.Fatalf("parseASC(% x) built from %+v: got %+v, %v; want it back", b, want, got, err)
		}
	})
}

// fzCheckLibraryConfig: a config the RTMP library accepted, as it writes it
// back (b), parses to the same fields, or is refused for what the decoder
// does not support (channels other than 1 and 2, rates out of range).
func fzCheckLibraryConfig(t *testing.T, c mpeg4audio.AudioSpecificConfig, b []byte) {
	t.Helper()
	got, err := parseASC(b)
	sbr := c.ExtensionType == mpeg4audio.ObjectTypeSBR || c.ExtensionType == mpeg4audio.ObjectTypePS
	ps := c.ExtensionType == mpeg4audio.ObjectTypePS
	rate := c.SampleRate
	if sbr {
		rate = c.ExtensionSampleRate
	}
	supported := (c.ChannelConfig == 1 || c.ChannelConfig == 2) && rate >= 7350 && rate <= 96000
	if !supported {
		if err == nil {
			t.Fatalf("library config %+v (% x): got %+v; want it refused", c, b, got)
		}
		return
	}
	channels := int(c.ChannelConfig)
	if ps {
		channels = 2
	}
	want := ascInfo{objectType: int(c.Type), sampleRate: rate, channels: channels, sbr: sbr, ps: ps}
	if err != nil || got != want {
		t.Fatalf("library config %+v (% x): got %+v, %v; want %+v", c, b, got, err, want)
	}
}

// FuzzAACDecoder opens the AAC decoder (libavcodec, through this package's
// C glue) with any AudioSpecificConfig and decodes any access units (one
// to four pieces of au). It does not crash; errors wrap ErrInvalidConfig
// or ErrDecode; a config parseASC refuses is refused; the channel count
// never changes, and every decoded PCM buffer holds whole frames of it.
func FuzzAACDecoder(f *testing.F) {
	f.Add([]byte{0x12, 0x10}, []byte{0x21, 0x10, 0x05, 0x00, 0xa0, 0x19, 0x33, 0x87, 0xc0}, uint8(1))
	f.Add([]byte{0x11, 0x88}, []byte{0x01, 0x40, 0x20, 0x07}, uint8(2))
	f.Add([]byte{0x2b, 0x92, 0x08, 0x00}, []byte{0xde, 0x02, 0x00, 0x4c, 0x61, 0x76, 0x63, 0x35, 0x39}, uint8(3))
	f.Add([]byte{0x12, 0x00}, []byte{0x00}, uint8(1))
	f.Add([]byte{0x12, 0x10}, []byte{}, uint8(4))
	f.Fuzz(func(t *testing.T, asc, au []byte, pieces uint8) {
		d, err := NewAACDecoder(asc)
		if _, perr := parseASC(asc); perr != nil && err == nil {
			d.Close()
			t.Fatalf("NewAACDecoder(% x): opened; want the error parseASC gives (%v)", asc, perr)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("NewAACDecoder(% x): got %v; want ErrInvalidConfig", asc, err)
			}
			return
		}
		defer d.Close()
		channels := d.Channels()
		if channels != 1 && channels != 2 {
			t.Fatalf("NewAACDecoder(% x): %d channels; want 1 or 2", asc, channels)
		}
		n := 1 + int(pieces%4)
		for i := range n {
			piece := au[i*len(au)/n : (i+1)*len(au)/n]
			pcm, err := d.Decode(piece)
			if err != nil && !errors.Is(err, ErrDecode) {
				t.Fatalf("Decode(% x): got %v; want nil or ErrDecode", piece, err)
			}
			if len(pcm)%channels != 0 || d.Channels() != channels || d.SampleRate() <= 0 {
				t.Fatalf("Decode(% x): %d samples, %d channels at %d Hz; want whole frames of %d channels", piece, len(pcm), d.Channels(), d.SampleRate(), channels)
			}
		}
	})
}
