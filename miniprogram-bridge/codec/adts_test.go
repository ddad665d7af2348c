package codec

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// adtsFrame is one access unit split out of an ADTS stream.
type adtsFrame struct {
	objectType, rateIndex, channelConfig int
	payload                              []byte
}

// splitADTS splits an ADTS byte stream (ISO/IEC 13818-7 / 14496-3 1.A.2)
// into raw access units. It handles one raw data block per frame, which is
// what FFmpeg writes.
func splitADTS(b []byte) ([]adtsFrame, error) {
	var frames []adtsFrame
	for off := 0; off < len(b); {
		h := b[off:]
		if len(h) < 7 {
			return nil, fmt.Errorf("offset %d: %d trailing bytes, need a 7-byte header", off, len(h))
		}
		if h[0] != 0xff || h[1]&0xf0 != 0xf0 {
			return nil, fmt.Errorf("offset %d: no ADTS syncword (% x)", off, h[:2])
		}
		protectionAbsent := h[1] & 1
		profile := int(h[2] >> 6)
		rateIndex := int(h[2]>>2) & 0x0f
		channelConfig := int(h[2]&1)<<2 | int(h[3]>>6)
		length := int(h[3]&0x03)<<11 | int(h[4])<<3 | int(h[5]>>5)
		blocks := int(h[6]&0x03) + 1
		headerLen := 7
		if protectionAbsent == 0 {
			headerLen = 9
		}
		if blocks != 1 {
			return nil, fmt.Errorf("offset %d: %d raw data blocks per frame, want 1", off, blocks)
		}
		if length < headerLen || length > len(h) {
			return nil, fmt.Errorf("offset %d: frame length %d, header %d, %d bytes left", off, length, headerLen, len(h))
		}
		frames = append(frames, adtsFrame{
			objectType:    profile + 1,
			rateIndex:     rateIndex,
			channelConfig: channelConfig,
			payload:       h[headerLen:length],
		})
		off += length
	}
	return frames, nil
}

// ascFromADTS builds the 2-byte AudioSpecificConfig that an ADTS header
// implies (objectType, samplingFrequencyIndex, channelConfiguration,
// and a GASpecificConfig of zeros).
func ascFromADTS(f adtsFrame) []byte {
	v := f.objectType<<11 | f.rateIndex<<7 | f.channelConfig<<3
	return []byte{byte(v >> 8), byte(v)}
}

func TestDecodeFFmpegADTS(t *testing.T) {
	tests := []struct {
		name     string
		rate     int
		channels int
	}{
		{"44100 Hz mono", 44100, 1},
		{"44100 Hz stereo", 44100, 2},
		{"16000 Hz mono", 16000, 1},
	}
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skipf("ffmpeg CLI not on PATH (apt-get install ffmpeg): skipping decode of FFmpeg-made ADTS files")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.aac")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
				"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:sample_rate=%d", toneHz, tt.rate),
				"-t", "1", "-ac", fmt.Sprint(tt.channels), "-c:a", "aac", "-b:a", "64k", out)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", cmd, err, msg)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("reading ffmpeg output: %v", err)
			}
			frames, err := splitADTS(data)
			if err != nil {
				t.Fatalf("splitADTS: %v", err)
			}
			if want := tt.rate/1024 - 1; len(frames) < want {
				t.Fatalf("got %d ADTS frames; want ≥ %d for 1 s", len(frames), want)
			}
			asc := ascFromADTS(frames[0])
			d, err := NewAACDecoder(asc)
			if err != nil {
				t.Fatalf("NewAACDecoder(%x): %v", asc, err)
			}
			defer d.Close()
			if got := d.SampleRate(); got != tt.rate {
				t.Errorf("SampleRate(): got %v; want %v", got, tt.rate)
			}
			if got := d.Channels(); got != tt.channels {
				t.Errorf("Channels(): got %v; want %v", got, tt.channels)
			}
			aus := make([][]byte, len(frames))
			for i, f := range frames {
				aus[i] = f.payload
			}
			pcm := decodeAAC(t, d, aus)
			// lavfi's sine source has amplitude 1/8: RMS ≈ 2900.
			start, n := tt.rate/5, tt.rate/2
			for c := range tt.channels {
				x := channel(pcm, tt.channels, c)[start : start+n]
				if got := dominantFreq(x, float64(tt.rate)); got < toneHz-5 || got > toneHz+5 {
					t.Errorf("channel %d: dominant frequency: got %v; want %v ±5", c, got, toneHz)
				}
				if got := rms(x); got < 1500 {
					t.Errorf("channel %d: RMS: got %v; want > 1500", c, got)
				}
			}
		})
	}
}

func TestSplitADTS(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		frames  int
		wantErr bool
	}{
		{"one frame, no CRC", []byte{0xff, 0xf1, 0x50, 0x80, 0x01, 0x3f, 0xfc, 0xaa, 0xbb}, 1, false},
		{"empty", nil, 0, false},
		{"no syncword", []byte{0x00, 0xf1, 0x50, 0x80, 0x01, 0x3f, 0xfc}, 0, true},
		{"length past end", []byte{0xff, 0xf1, 0x50, 0x80, 0x02, 0x3f, 0xfc, 0xaa}, 0, true},
		{"short header", []byte{0xff, 0xf1, 0x50}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, err := splitADTS(tt.data)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("error: got %v; want error %v", err, tt.wantErr)
			}
			if len(frames) != tt.frames {
				t.Errorf("frames: got %v; want %v", len(frames), tt.frames)
			}
		})
	}
}
