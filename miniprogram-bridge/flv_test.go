package bridge

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/openroom/openroom/internal/h264"
	"github.com/openroom/openroom/internal/testutil"
)

type probe struct {
	Streams []struct {
		CodecName    string `json:"codec_name"`
		CodecType    string `json:"codec_type"`
		Profile      string `json:"profile"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		SampleRate   string `json:"sample_rate"`
		Channels     int    `json:"channels"`
		NbReadFrames string `json:"nb_read_frames"`
	} `json:"streams"`
}

// ffprobe decodes every frame of file and reports its streams.
func ffprobe(t *testing.T, file string) probe {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed (scripts/test.sh installs ffmpeg)")
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_streams", "-of", "json", file).Output()
	if err != nil {
		t.Fatalf("ffprobe refused %s: %v", file, err)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFLVMuxerOutputAcceptedByFFprobe(t *testing.T) {
	aus := testutil.EncodeH264(t, 60)
	var sps, pps []byte
	for _, n := range aus[0] {
		switch h264.NALType(n) {
		case h264.SPS:
			sps = n
		case h264.PPS:
			pps = n
		}
	}
	config, err := h264.DecoderConfig(sps, pps)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	f := newFLVWriter(&buf)
	if err := f.header(true, false); err != nil {
		t.Fatal(err)
	}
	if err := f.avcSequenceHeader(0, config); err != nil {
		t.Fatal(err)
	}
	for i, au := range aus {
		if err := f.avc(uint32(i*1000/30), h264.IsKeyframe(au), h264.AVCC(au)); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "out.flv")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	p := ffprobe(t, file)
	if len(p.Streams) != 1 {
		t.Fatalf("streams: got %d; want 1", len(p.Streams))
	}
	s := p.Streams[0]
	if s.CodecName != "h264" || s.Width != 320 || s.Height != 240 {
		t.Errorf("stream: got %s %dx%d; want h264 320x240", s.CodecName, s.Width, s.Height)
	}
	if n, _ := strconv.Atoi(s.NbReadFrames); n != 60 {
		t.Errorf("frames decoded: got %d; want 60", n)
	}
}

func TestAVCDecoderConfigRefusesBadParameterSets(t *testing.T) {
	tests := []struct {
		name     string
		sps, pps []byte
	}{
		{"no SPS", nil, []byte{0x68, 1}},
		{"short SPS", []byte{0x67, 1}, []byte{0x68, 1}},
		{"PPS in SPS place", []byte{0x68, 1, 2, 3}, []byte{0x68, 1}},
		{"no PPS", []byte{0x67, 0x42, 0xc0, 0x1e}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := h264.DecoderConfig(tc.sps, tc.pps); err == nil {
				t.Errorf("got nil error; want one")
			}
		})
	}
}
