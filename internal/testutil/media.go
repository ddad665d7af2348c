package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// SynthNAL makes an H.264 NAL unit of type typ and size bytes (NRI 3), its
// bytes a simple pattern.
func SynthNAL(typ byte, size int) []byte {
	n := make([]byte, size)
	n[0] = 0x60 | typ
	for i := 1; i < size; i++ {
		n[i] = byte(i*7 + int(typ))
	}
	return n
}

// SplitAnnexB cuts an Annex-B stream into NAL units.
func SplitAnnexB(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+3 <= len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				if end > start && b[end-1] == 0 {
					end--
				}
				out = append(out, b[start:end])
			}
			start = i + 3
			i += 2
		}
	}
	if start >= 0 && start < len(b) {
		out = append(out, b[start:])
	}
	return out
}

// EncodeH264 makes a real baseline H.264 stream of 320x240 at 30 frames/s
// with ffmpeg (a keyframe every 30 frames, no B-frames) and returns its
// access units, each a list of NAL units; the access unit delimiters
// ffmpeg writes to tell them apart are left out. It skips the test when
// ffmpeg is not installed.
func EncodeH264(t testing.TB, frames int) [][][]byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "v.h264")
	FFmpeg(t, "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30",
		"-frames:v", strconv.Itoa(frames), "-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-g", "30",
		"-x264-params", "aud=1", "-f", "h264", out)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	const aud = 9
	var aus [][][]byte
	for _, n := range SplitAnnexB(data) {
		if len(n) > 0 && n[0]&0x1f == aud {
			aus = append(aus, nil)
			continue
		}
		if len(aus) > 0 {
			aus[len(aus)-1] = append(aus[len(aus)-1], n)
		}
	}
	return aus
}

// FFmpeg runs ffmpeg with args, quietly; it skips the test when ffmpeg is not installed.
func FFmpeg(t testing.TB, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (scripts/test.sh installs it)")
	}
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, b)
	}
}
