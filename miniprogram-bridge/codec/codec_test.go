package codec

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

const toneHz = 440

// sine returns seconds of an interleaved s16 tone at freq Hz, amplitude 0.3
// of full scale, on every channel.
func sine(rate, channels int, seconds, freq float64) []int16 {
	n := int(seconds * float64(rate))
	pcm := make([]int16, n*channels)
	for i := range n {
		v := int16(0.3 * 32767 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
		for c := range channels {
			pcm[i*channels+c] = v
		}
	}
	return pcm
}

// channel extracts one channel of interleaved PCM as float64.
func channel(pcm []int16, channels, c int) []float64 {
	out := make([]float64, len(pcm)/channels)
	for i := range out {
		out[i] = float64(pcm[i*channels+c])
	}
	return out
}

func rms(x []float64) float64 {
	var sum float64
	for _, v := range x {
		sum += v * v
	}
	return math.Sqrt(sum / float64(len(x)))
}

func goertzel(x []float64, rate, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/rate)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+k*s1-s2, s1
	}
	return s1*s1 + s2*s2 - k*s1*s2
}

// dominantFreq returns the frequency between 50 and 4000 Hz with the most
// energy in x (Hann-windowed Goertzel, 2 Hz scan then 0.1 Hz refinement).
func dominantFreq(x []float64, rate float64) float64 {
	w := make([]float64, len(x))
	for i, v := range x {
		w[i] = v * 0.5 * (1 - math.Cos(2*math.Pi*float64(i)/float64(len(x)-1)))
	}
	best, bestP := 0.0, -1.0
	for f := 50.0; f <= 4000; f += 2 {
		if p := goertzel(w, rate, f); p > bestP {
			best, bestP = f, p
		}
	}
	lo := best - 2
	for f := lo; f <= lo+4; f += 0.1 {
		if p := goertzel(w, rate, f); p > bestP {
			best, bestP = f, p
		}
	}
	return best
}

// checkTone asserts that every channel of pcm, after skipping skip seconds,
// holds a clearly audible tone at toneHz over the next 0.5 s.
func checkTone(t *testing.T, pcm []int16, rate, channels int, skip float64) {
	t.Helper()
	start, n := int(skip*float64(rate)), rate/2
	if got := len(pcm) / channels; got < start+n {
		t.Fatalf("got %d samples per channel; want at least %d", got, start+n)
	}
	for c := range channels {
		x := channel(pcm, channels, c)[start : start+n]
		if got := dominantFreq(x, float64(rate)); math.Abs(got-toneHz) > 5 {
			t.Errorf("channel %d: dominant frequency: got %v; want %v ±5", c, got, toneHz)
		}
		if got := rms(x); got < 2000 {
			t.Errorf("channel %d: RMS: got %v; want > 2000 (input RMS ≈ 6950)", c, got)
		}
	}
}

// chunks splits interleaved PCM into pieces of frames sample frames.
func chunks(pcm []int16, channels, frames int) [][]int16 {
	var out [][]int16
	step := frames * channels
	for len(pcm) > 0 {
		n := min(step, len(pcm))
		out = append(out, pcm[:n])
		pcm = pcm[n:]
	}
	return out
}

func mustAACEncoder(t testing.TB, rate, channels, bitrate int) *AACEncoder {
	t.Helper()
	e, err := NewAACEncoder(rate, channels, bitrate)
	if err != nil {
		t.Fatalf("NewAACEncoder(%d, %d, %d): %v", rate, channels, bitrate, err)
	}
	return e
}

// encodeAAC encodes pcm in odd-sized pieces (exercising the frame buffer).
func encodeAAC(t testing.TB, e *AACEncoder, pcm []int16, channels int) [][]byte {
	t.Helper()
	var aus [][]byte
	for _, c := range chunks(pcm, channels, 777) {
		got, err := e.Encode(c)
		if err != nil {
			t.Fatalf("AACEncoder.Encode: %v", err)
		}
		aus = append(aus, got...)
	}
	return aus
}

// decodeAAC decodes every access unit, checking that each non-empty result
// is one 1024-sample frame.
func decodeAAC(t testing.TB, d *AACDecoder, aus [][]byte) []int16 {
	t.Helper()
	var pcm []int16
	for i, au := range aus {
		got, err := d.Decode(au)
		if err != nil {
			t.Fatalf("AACDecoder.Decode(AU %d): %v", i, err)
		}
		if len(got) != 0 && len(got) != 1024*d.Channels() {
			t.Fatalf("AU %d: got %d samples; want %d (1024 per channel)", i, len(got), 1024*d.Channels())
		}
		pcm = append(pcm, got...)
	}
	return pcm
}

func encodeOpus(t testing.TB, e *OpusEncoder, pcm []int16, channels int) [][]byte {
	t.Helper()
	var pkts [][]byte
	for _, c := range chunks(pcm, channels, 701) {
		got, err := e.Encode(c)
		if err != nil {
			t.Fatalf("OpusEncoder.Encode: %v", err)
		}
		pkts = append(pkts, got...)
	}
	return pkts
}

func decodeOpus(t testing.TB, d *OpusDecoder, pkts [][]byte, channels int) []int16 {
	t.Helper()
	var pcm []int16
	for i, p := range pkts {
		got, err := d.Decode(p)
		if err != nil {
			t.Fatalf("OpusDecoder.Decode(packet %d): %v", i, err)
		}
		if len(got) != opusFrameSize*channels {
			t.Fatalf("packet %d: got %d samples; want %d (960 per channel)", i, len(got), opusFrameSize*channels)
		}
		pcm = append(pcm, got...)
	}
	return pcm
}

// aacToOpus runs the mini-program -> browser path on a tone.
func aacToOpus(t *testing.T, rate, channels int) {
	t.Helper()
	enc := mustAACEncoder(t, rate, channels, 32000*channels)
	defer enc.Close()
	aus := encodeAAC(t, enc, sine(rate, channels, 1.5, toneHz), channels)
	if want := rate*3/2/1024 - 3; len(aus) < want {
		t.Fatalf("got %d AAC access units; want ≥ %d for 1.5 s", len(aus), want)
	}

	dec, err := NewAACDecoder(enc.Config())
	if err != nil {
		t.Fatalf("NewAACDecoder(%x): %v", enc.Config(), err)
	}
	defer dec.Close()
	if got := dec.SampleRate(); got != rate {
		t.Errorf("SampleRate(): got %v; want %v", got, rate)
	}
	if got := dec.Channels(); got != channels {
		t.Errorf("Channels(): got %v; want %v", got, channels)
	}
	pcm := decodeAAC(t, dec, aus)
	checkTone(t, pcm, rate, channels, 0.2)

	rs, err := NewResampler(rate, channels, 48000, channels)
	if err != nil {
		t.Fatalf("NewResampler: %v", err)
	}
	defer rs.Close()
	var pcm48 []int16
	for _, c := range chunks(pcm, channels, 1024) {
		got, err := rs.Convert(c)
		if err != nil {
			t.Fatalf("Convert: %v", err)
		}
		pcm48 = append(pcm48, got...)
	}

	oe, err := NewOpusEncoder(channels, 32000*channels)
	if err != nil {
		t.Fatalf("NewOpusEncoder: %v", err)
	}
	defer oe.Close()
	pkts := encodeOpus(t, oe, pcm48, channels)
	od, err := NewOpusDecoder(channels)
	if err != nil {
		t.Fatalf("NewOpusDecoder: %v", err)
	}
	defer od.Close()
	out := decodeOpus(t, od, pkts, channels)
	checkTone(t, out, 48000, channels, 0.25)
}

func TestAACToOpus(t *testing.T) {
	tests := []struct {
		name     string
		rate     int
		channels int
	}{
		{"44100 Hz stereo", 44100, 2},
		{"48000 Hz mono", 48000, 1},
		{"16000 Hz mono", 16000, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aacToOpus(t, tt.rate, tt.channels)
		})
	}
}

func TestOpusToAAC(t *testing.T) {
	tests := []struct {
		name        string
		channels    int
		aacRate     int
		aacChannels int
	}{
		{"48000 Hz stereo to AAC 48000 Hz stereo", 2, 48000, 2},
		{"48000 Hz mono to AAC 44100 Hz stereo", 1, 44100, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oe, err := NewOpusEncoder(tt.channels, 64000)
			if err != nil {
				t.Fatalf("NewOpusEncoder: %v", err)
			}
			defer oe.Close()
			pkts := encodeOpus(t, oe, sine(48000, tt.channels, 1.5, toneHz), tt.channels)
			if got, want := len(pkts), 1500/20; got != want {
				t.Errorf("packets: got %v; want %v", got, want)
			}
			od, err := NewOpusDecoder(tt.channels)
			if err != nil {
				t.Fatalf("NewOpusDecoder: %v", err)
			}
			defer od.Close()
			pcm := decodeOpus(t, od, pkts, tt.channels)

			rs, err := NewResampler(48000, tt.channels, tt.aacRate, tt.aacChannels)
			if err != nil {
				t.Fatalf("NewResampler: %v", err)
			}
			defer rs.Close()
			conv, err := rs.Convert(pcm)
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}

			ae := mustAACEncoder(t, tt.aacRate, tt.aacChannels, 128000)
			defer ae.Close()
			aus := encodeAAC(t, ae, conv, tt.aacChannels)
			ad, err := NewAACDecoder(ae.Config())
			if err != nil {
				t.Fatalf("NewAACDecoder: %v", err)
			}
			defer ad.Close()
			checkTone(t, decodeAAC(t, ad, aus), tt.aacRate, tt.aacChannels, 0.2)
		})
	}
}

func TestAACConfig(t *testing.T) {
	tests := []struct {
		name      string
		rate      int
		channels  int
		rateIndex int
	}{
		{"44100 Hz stereo", 44100, 2, 4},
		{"48000 Hz stereo", 48000, 2, 3},
		{"48000 Hz mono", 48000, 1, 3},
		{"16000 Hz mono", 16000, 1, 8},
		{"32000 Hz mono", 32000, 1, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustAACEncoder(t, tt.rate, tt.channels, 48000)
			defer e.Close()
			asc := e.Config()
			if len(asc) < 2 {
				t.Fatalf("Config(): got %x; want at least 2 bytes", asc)
			}
			r := &bitReader{b: asc}
			aot, _ := r.read(5)
			idx, _ := r.read(4)
			ch, _ := r.read(4)
			if aot != aotLC {
				t.Errorf("object type: got %v; want %v", aot, aotLC)
			}
			if idx != tt.rateIndex {
				t.Errorf("sampling frequency index: got %v; want %v", idx, tt.rateIndex)
			}
			if ch != tt.channels {
				t.Errorf("channel configuration: got %v; want %v", ch, tt.channels)
			}
			info, err := parseASC(asc)
			if err != nil {
				t.Fatalf("parseASC(%x): %v", asc, err)
			}
			if info.sampleRate != tt.rate || info.channels != tt.channels {
				t.Errorf("parseASC: got %d Hz %d ch; want %d Hz %d ch", info.sampleRate, info.channels, tt.rate, tt.channels)
			}
			// Config returns a copy.
			asc[0] = 0xff
			if got := e.Config()[0]; got == 0xff {
				t.Errorf("Config()[0] after modifying a previous result: got %#x; want unchanged", got)
			}
		})
	}
}

func TestParseASC(t *testing.T) {
	tests := []struct {
		name     string
		asc      []byte
		rate     int
		channels int
		wantErr  bool
	}{
		{"LC 44100 stereo", []byte{0x12, 0x10}, 44100, 2, false},
		{"LC 16000 mono", []byte{0x14, 0x08}, 16000, 1, false},
		{"HE-AAC 24000 to 48000 stereo", []byte{0x2b, 0x11, 0x88, 0x00}, 48000, 2, false},
		{"HE-AAC v2 mono core to stereo", []byte{0xeb, 0x8a, 0x08, 0x00}, 44100, 2, false},
		{"LC 22050 with SBR sync extension", []byte{0x13, 0x90, 0x56, 0xe5, 0xa0}, 44100, 2, false},
		{"explicit rate", []byte{0x17, 0x80, 0x0f, 0xa0, 0x08}, 8000, 1, false},
		{"nil", nil, 0, 0, true},
		{"one byte", []byte{0x12}, 0, 0, true},
		{"object type 0", []byte{0x02, 0x10}, 0, 0, true},
		{"object type 3 SSR", []byte{0x1a, 0x10}, 0, 0, true},
		{"ER AAC-LD (23)", []byte{0xba, 0x10}, 0, 0, true},
		{"escaped object type 42 (USAC)", []byte{0xf9, 0x48, 0x40, 0x00}, 0, 0, true},
		{"reserved rate index 13", []byte{0x16, 0x90}, 0, 0, true},
		{"channel configuration 0 (PCE)", []byte{0x12, 0x00}, 0, 0, true},
		{"5.1 channels", []byte{0x12, 0x30}, 0, 0, true},
		{"truncated explicit rate", []byte{0x17, 0x80, 0x0f}, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := parseASC(tt.asc)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("parseASC(%x) error: got %v; want error %v", tt.asc, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if info.sampleRate != tt.rate {
				t.Errorf("sample rate: got %v; want %v", info.sampleRate, tt.rate)
			}
			if info.channels != tt.channels {
				t.Errorf("channels: got %v; want %v", info.channels, tt.channels)
			}
		})
	}
}

func TestFrameSizes(t *testing.T) {
	t.Run("opus packets decode to 960 samples per channel", func(t *testing.T) {
		for _, ch := range []int{1, 2} {
			e, err := NewOpusEncoder(ch, 48000)
			if err != nil {
				t.Fatalf("NewOpusEncoder: %v", err)
			}
			defer e.Close()
			d, err := NewOpusDecoder(ch)
			if err != nil {
				t.Fatalf("NewOpusDecoder: %v", err)
			}
			defer d.Close()
			// decodeOpus checks every packet's size.
			pcm := decodeOpus(t, d, encodeOpus(t, e, sine(48000, ch, 0.5, toneHz), ch), ch)
			if got, want := len(pcm), 25*960*ch; got != want {
				t.Errorf("%d ch: total samples: got %v; want %v", ch, got, want)
			}
		}
	})
	t.Run("opus encoder buffers partial frames", func(t *testing.T) {
		e, err := NewOpusEncoder(2, 48000)
		if err != nil {
			t.Fatalf("NewOpusEncoder: %v", err)
		}
		defer e.Close()
		pcm := sine(48000, 2, 0.1, toneHz) // 4800 frames = 5 packets
		steps := []struct {
			frames, packets int
		}{{959, 0}, {1, 1}, {1919, 1}, {1921, 3}, {0, 0}}
		off := 0
		for i, s := range steps {
			got, err := e.Encode(pcm[off : off+2*s.frames])
			if err != nil {
				t.Fatalf("step %d: Encode: %v", i, err)
			}
			off += 2 * s.frames
			if len(got) != s.packets {
				t.Errorf("step %d (%d frames): got %v packets; want %v", i, s.frames, len(got), s.packets)
			}
		}
	})
	t.Run("aac access units decode to 1024 samples per channel", func(t *testing.T) {
		for _, ch := range []int{1, 2} {
			e := mustAACEncoder(t, 44100, ch, 64000)
			defer e.Close()
			aus := encodeAAC(t, e, sine(44100, ch, 1, toneHz), ch)
			// 44100 samples = 43 full frames, minus the encoder's delay.
			if len(aus) < 40 || len(aus) > 43 {
				t.Errorf("%d ch: got %d access units; want 40..43", ch, len(aus))
			}
			d, err := NewAACDecoder(e.Config())
			if err != nil {
				t.Fatalf("NewAACDecoder: %v", err)
			}
			defer d.Close()
			// decodeAAC checks every access unit's size.
			if got := len(decodeAAC(t, d, aus)); got == 0 {
				t.Errorf("%d ch: decoded nothing", ch)
			}
		}
	})
}

func TestResampler(t *testing.T) {
	tests := []struct {
		name               string
		inRate, inCh       int
		outRate, outCh     int
		chunk              int
		wantMinRMS, maxRMS float64
	}{
		{"16000 mono to 48000 stereo", 16000, 1, 48000, 2, 320, 6000, 7500},
		{"44100 stereo to 48000 stereo", 44100, 2, 48000, 2, 1024, 6000, 7500},
		{"48000 stereo to 16000 mono", 48000, 2, 16000, 1, 960, 6000, 7500},
		{"48000 mono to 48000 mono (copy)", 48000, 1, 48000, 1, 333, 6000, 7500},
		{"48000 stereo to 48000 mono", 48000, 2, 48000, 1, 960, 6000, 7500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewResampler(tt.inRate, tt.inCh, tt.outRate, tt.outCh)
			if err != nil {
				t.Fatalf("NewResampler: %v", err)
			}
			defer r.Close()
			var out []int16
			in := sine(tt.inRate, tt.inCh, 1, toneHz)
			for _, c := range chunks(in, tt.inCh, tt.chunk) {
				got, err := r.Convert(c)
				if err != nil {
					t.Fatalf("Convert: %v", err)
				}
				if len(got)%tt.outCh != 0 {
					t.Fatalf("Convert: got %d samples; want a multiple of %d", len(got), tt.outCh)
				}
				out = append(out, got...)
			}
			// All but the filter delay (a few ms) comes out.
			frames := len(out) / tt.outCh
			if want := tt.outRate; frames > want || frames < want-tt.outRate/50 {
				t.Errorf("output frames: got %v; want %v minus at most 20 ms", frames, want)
			}
			checkTone(t, out, tt.outRate, tt.outCh, 0.1)
			for c := range tt.outCh {
				x := channel(out, tt.outCh, c)[tt.outRate/10 : tt.outRate/2]
				if got := rms(x); got < tt.wantMinRMS || got > tt.maxRMS {
					t.Errorf("channel %d RMS: got %v; want %v..%v (no level change)", c, got, tt.wantMinRMS, tt.maxRMS)
				}
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	aacEnc := mustAACEncoder(t, 48000, 2, 64000)
	goodASC := aacEnc.Config()
	aacEnc.Close()

	constructors := []struct {
		name    string
		open    func() (func(), error)
		wantErr error
	}{
		{"NewAACDecoder(nil)", func() (func(), error) { d, err := NewAACDecoder(nil); return closer(d, err) }, ErrInvalidConfig},
		{"NewAACDecoder(empty)", func() (func(), error) { d, err := NewAACDecoder([]byte{}); return closer(d, err) }, ErrInvalidConfig},
		{"NewAACDecoder(random)", func() (func(), error) {
			d, err := NewAACDecoder([]byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02})
			return closer(d, err)
		}, ErrInvalidConfig},
		{"NewAACDecoder(object type 3 SSR)", func() (func(), error) { d, err := NewAACDecoder([]byte{0x1a, 0x10}); return closer(d, err) }, ErrInvalidConfig},
		{"NewAACDecoder(object type 42 USAC)", func() (func(), error) {
			d, err := NewAACDecoder([]byte{0xf9, 0x48, 0x40, 0x00})
			return closer(d, err)
		}, ErrInvalidConfig},
		{"NewResampler(0, 1, 48000, 1)", func() (func(), error) { r, err := NewResampler(0, 1, 48000, 1); return closer(r, err) }, ErrInvalidConfig},
		{"NewResampler(48000, 3, 48000, 1)", func() (func(), error) { r, err := NewResampler(48000, 3, 48000, 1); return closer(r, err) }, ErrInvalidConfig},
		{"NewResampler(48000, 1, -1, 1)", func() (func(), error) { r, err := NewResampler(48000, 1, -1, 1); return closer(r, err) }, ErrInvalidConfig},
		{"NewOpusEncoder(3, 64000)", func() (func(), error) { e, err := NewOpusEncoder(3, 64000); return closer(e, err) }, ErrInvalidConfig},
		{"NewOpusEncoder(2, 0)", func() (func(), error) { e, err := NewOpusEncoder(2, 0); return closer(e, err) }, ErrInvalidConfig},
		{"NewOpusDecoder(0)", func() (func(), error) { d, err := NewOpusDecoder(0); return closer(d, err) }, ErrInvalidConfig},
		{"NewAACEncoder(44000, 2, 64000)", func() (func(), error) { e, err := NewAACEncoder(44000, 2, 64000); return closer(e, err) }, ErrInvalidConfig},
		{"NewAACEncoder(48000, 6, 64000)", func() (func(), error) { e, err := NewAACEncoder(48000, 6, 64000); return closer(e, err) }, ErrInvalidConfig},
		{"NewAACEncoder(48000, 2, -5)", func() (func(), error) { e, err := NewAACEncoder(48000, 2, -5); return closer(e, err) }, ErrInvalidConfig},
	}
	for _, tt := range constructors {
		t.Run(tt.name, func(t *testing.T) {
			closeFn, err := tt.open()
			if closeFn != nil {
				defer closeFn()
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v; want %v", err, tt.wantErr)
			}
		})
	}

	garbage := [][]byte{
		{0x00},
		{0xff, 0xff, 0xff, 0xff},
		{0x21, 0x10, 0x04, 0x60, 0x8c, 0x1c},
		make([]byte, 700),
		randomBytes(1, 50),
		randomBytes(2, 1500),
		randomBytes(3, maxPacket),
	}
	decoders := []struct {
		name   string
		decode func(t *testing.T) (func([]byte) ([]int16, error), func())
	}{
		{"AACDecoder", func(t *testing.T) (func([]byte) ([]int16, error), func()) {
			d, err := NewAACDecoder(goodASC)
			if err != nil {
				t.Fatalf("NewAACDecoder: %v", err)
			}
			return d.Decode, d.Close
		}},
		{"OpusDecoder", func(t *testing.T) (func([]byte) ([]int16, error), func()) {
			d, err := NewOpusDecoder(2)
			if err != nil {
				t.Fatalf("NewOpusDecoder: %v", err)
			}
			return d.Decode, d.Close
		}},
	}
	for _, tt := range decoders {
		t.Run(tt.name+" garbage", func(t *testing.T) {
			decode, closeFn := tt.decode(t)
			defer closeFn()
			for i, g := range garbage {
				pcm, err := decode(g)
				if err != nil && !errors.Is(err, ErrDecode) {
					t.Errorf("garbage %d: got %v; want nil or %v", i, err, ErrDecode)
				}
				if len(pcm)%2 != 0 {
					t.Errorf("garbage %d: got %d samples; want whole stereo frames", i, len(pcm))
				}
			}
			if _, err := decode(nil); !errors.Is(err, ErrDecode) {
				t.Errorf("Decode(nil): got %v; want %v", err, ErrDecode)
			}
			if _, err := decode(make([]byte, maxPacket+1)); !errors.Is(err, ErrDecode) {
				t.Errorf("Decode(oversized): got %v; want %v", err, ErrDecode)
			}
		})
	}

	t.Run("AACDecoder random configs and access units", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 7))
		opened := 0
		for i := range 300 {
			asc := []byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}
			if i%2 == 0 { // bias half of them towards something parseASC accepts
				asc[0] = 0x10 | asc[0]&0x07
				asc[1] = asc[1]&0x87 | 0x08<<((i/2)%2)
			}
			d, err := NewAACDecoder(asc)
			if err != nil {
				if !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("NewAACDecoder(%x): got %v; want %v", asc, err, ErrInvalidConfig)
				}
				continue
			}
			opened++
			for range 5 {
				au := make([]byte, 1+rng.IntN(800))
				for j := range au {
					au[j] = byte(rng.IntN(256))
				}
				pcm, err := d.Decode(au)
				if err != nil && !errors.Is(err, ErrDecode) {
					t.Fatalf("Decode: got %v; want nil or %v", err, ErrDecode)
				}
				if len(pcm)%d.Channels() != 0 {
					t.Fatalf("Decode: got %d samples; want a multiple of %d", len(pcm), d.Channels())
				}
			}
			d.Close()
		}
		if opened == 0 {
			t.Errorf("opened decoders: got 0; want some")
		}
	})

	t.Run("odd-length PCM", func(t *testing.T) {
		oe, err := NewOpusEncoder(2, 64000)
		if err != nil {
			t.Fatalf("NewOpusEncoder: %v", err)
		}
		defer oe.Close()
		ae := mustAACEncoder(t, 48000, 2, 64000)
		defer ae.Close()
		rs, err := NewResampler(44100, 2, 48000, 2)
		if err != nil {
			t.Fatalf("NewResampler: %v", err)
		}
		defer rs.Close()
		odd := make([]int16, 1001)
		calls := []struct {
			name string
			call func() error
		}{
			{"OpusEncoder.Encode", func() error { _, err := oe.Encode(odd); return err }},
			{"AACEncoder.Encode", func() error { _, err := ae.Encode(odd); return err }},
			{"Resampler.Convert", func() error { _, err := rs.Convert(odd); return err }},
		}
		for _, c := range calls {
			if err := c.call(); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("%s: got %v; want %v", c.name, err, ErrInvalidInput)
			}
		}
	})

	t.Run("empty PCM", func(t *testing.T) {
		oe, err := NewOpusEncoder(1, 32000)
		if err != nil {
			t.Fatalf("NewOpusEncoder: %v", err)
		}
		defer oe.Close()
		rs, err := NewResampler(16000, 1, 48000, 1)
		if err != nil {
			t.Fatalf("NewResampler: %v", err)
		}
		defer rs.Close()
		if pkts, err := oe.Encode(nil); err != nil || len(pkts) != 0 {
			t.Errorf("Encode(nil): got %d packets, %v; want 0, <nil>", len(pkts), err)
		}
		if pcm, err := rs.Convert(nil); err != nil || len(pcm) != 0 {
			t.Errorf("Convert(nil): got %d samples, %v; want 0, <nil>", len(pcm), err)
		}
	})
}

func randomBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	return b
}

// closer turns a constructor's result into a close function for the table.
func closer[T interface{ Close() }](v T, err error) (func(), error) {
	if err != nil {
		return nil, err
	}
	return v.Close, nil
}

func TestUseAfterClose(t *testing.T) {
	aacEnc := mustAACEncoder(t, 44100, 2, 64000)
	asc := aacEnc.Config()
	aacDec, err := NewAACDecoder(asc)
	if err != nil {
		t.Fatalf("NewAACDecoder: %v", err)
	}
	opusEnc, err := NewOpusEncoder(2, 64000)
	if err != nil {
		t.Fatalf("NewOpusEncoder: %v", err)
	}
	opusDec, err := NewOpusDecoder(2)
	if err != nil {
		t.Fatalf("NewOpusDecoder: %v", err)
	}
	rs, err := NewResampler(44100, 2, 48000, 2)
	if err != nil {
		t.Fatalf("NewResampler: %v", err)
	}
	// Leave a partial frame buffered in the encoders.
	if _, err := opusEnc.Encode(make([]int16, 100)); err != nil {
		t.Fatalf("OpusEncoder.Encode: %v", err)
	}
	if _, err := aacEnc.Encode(make([]int16, 100)); err != nil {
		t.Fatalf("AACEncoder.Encode: %v", err)
	}
	for range 2 { // Close is idempotent
		aacEnc.Close()
		aacDec.Close()
		opusEnc.Close()
		opusDec.Close()
		rs.Close()
	}
	pcm := make([]int16, 2048)
	calls := []struct {
		name string
		call func() error
	}{
		{"AACEncoder.Encode", func() error { _, err := aacEnc.Encode(pcm); return err }},
		{"AACDecoder.Decode", func() error { _, err := aacDec.Decode([]byte{1, 2, 3}); return err }},
		{"OpusEncoder.Encode", func() error { _, err := opusEnc.Encode(pcm); return err }},
		{"OpusDecoder.Decode", func() error { _, err := opusDec.Decode([]byte{0xfc, 0xff, 0xfe}); return err }},
		{"Resampler.Convert", func() error { _, err := rs.Convert(pcm); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, ErrClosed) {
				t.Errorf("got %v; want %v", err, ErrClosed)
			}
		})
	}
	if got := aacEnc.Config(); len(got) < 2 {
		t.Errorf("Config() after Close: got %x; want the ASC", got)
	}
}

// TestParallel runs independent pipelines on several goroutines at once.
func TestParallel(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rate := []int{44100, 48000, 16000, 32000}[i]
			e, err := NewAACEncoder(rate, 1, 48000)
			if err != nil {
				t.Errorf("NewAACEncoder: %v", err)
				return
			}
			defer e.Close()
			d, err := NewAACDecoder(e.Config())
			if err != nil {
				t.Errorf("NewAACDecoder: %v", err)
				return
			}
			defer d.Close()
			rs, err := NewResampler(rate, 1, 48000, 2)
			if err != nil {
				t.Errorf("NewResampler: %v", err)
				return
			}
			defer rs.Close()
			oe, err := NewOpusEncoder(2, 64000)
			if err != nil {
				t.Errorf("NewOpusEncoder: %v", err)
				return
			}
			defer oe.Close()
			od, err := NewOpusDecoder(2)
			if err != nil {
				t.Errorf("NewOpusDecoder: %v", err)
				return
			}
			defer od.Close()
			var out []int16
			for _, c := range chunks(sine(rate, 1, 1, toneHz), 1, 1024) {
				aus, err := e.Encode(c)
				if err != nil {
					t.Errorf("Encode: %v", err)
					return
				}
				for _, au := range aus {
					pcm, err := d.Decode(au)
					if err != nil {
						t.Errorf("Decode: %v", err)
						return
					}
					pcm48, err := rs.Convert(pcm)
					if err != nil {
						t.Errorf("Convert: %v", err)
						return
					}
					pkts, err := oe.Encode(pcm48)
					if err != nil {
						t.Errorf("Opus Encode: %v", err)
						return
					}
					for _, p := range pkts {
						got, err := od.Decode(p)
						if err != nil {
							t.Errorf("Opus Decode: %v", err)
							return
						}
						out = append(out, got...)
					}
				}
			}
			x := channel(out, 2, 1)
			if len(x) < 30000 {
				t.Errorf("rate %d: got %d output samples; want ≥ 30000", rate, len(x))
				return
			}
			if got := dominantFreq(x[9600:], 48000); math.Abs(got-toneHz) > 5 {
				t.Errorf("rate %d: dominant frequency: got %v; want %v ±5", rate, got, toneHz)
			}
		}()
	}
	wg.Wait()
}

// TestOpusImplementations checks libopus and FFmpeg's native Opus codec
// (the fallback when libopus is not built in) against each other.
func TestOpusImplementations(t *testing.T) {
	tests := []struct {
		name     string
		enc, dec string
		channels int
	}{
		{"libopus to libopus", "libopus", "libopus", 2},
		{"native to native", "opus", "opus", 2},
		{"native to libopus", "opus", "libopus", 1},
		{"libopus to native", "libopus", "opus", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := newOpusEncoder(tt.channels, 64000, tt.enc)
			if err != nil {
				t.Fatalf("newOpusEncoder(%q): %v", tt.enc, err)
			}
			defer e.Close()
			if got := e.e.name; got != tt.enc {
				t.Errorf("encoder implementation: got %v; want %v", got, tt.enc)
			}
			d, err := newOpusDecoder(tt.channels, tt.dec)
			if err != nil {
				t.Fatalf("newOpusDecoder(%q): %v", tt.dec, err)
			}
			defer d.Close()
			if got := d.d.name; got != tt.dec {
				t.Errorf("decoder implementation: got %v; want %v", got, tt.dec)
			}
			pkts := encodeOpus(t, e, sine(48000, tt.channels, 1, toneHz), tt.channels)
			if len(pkts) < 45 || len(pkts) > 50 {
				t.Errorf("packets for 1 s: got %v; want 45..50", len(pkts))
			}
			checkTone(t, decodeOpus(t, d, pkts, tt.channels), 48000, tt.channels, 0.1)
		})
	}
}
