package bridge

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/pion/rtp/codecs"
)

func synthNAL(typ byte, size int) []byte {
	n := make([]byte, size)
	n[0] = 0x60 | typ
	for i := 1; i < size; i++ {
		n[i] = byte(i*7 + int(typ))
	}
	return n
}

// packetize runs pion's H.264 payloader, as the RTMP ingest does.
func packetize(au [][]byte, mtu uint16) [][]byte {
	var p codecs.H264Payloader
	return p.Payload(mtu, annexB(au))
}

func TestH264RTPRoundTrip(t *testing.T) {
	sps, pps := synthNAL(naluSPS, 12), synthNAL(naluPPS, 4)
	tests := []struct {
		name string
		aus  [][][]byte
	}{
		{"keyframe with parameter sets, fragmented", [][][]byte{{sps, pps, synthNAL(naluIDR, 5000)}}},
		{"keyframe then small P frames", [][][]byte{{sps, pps, synthNAL(naluIDR, 900)}, {synthNAL(naluNonIDR, 300)}, {synthNAL(naluNonIDR, 40)}}},
		{"several slices per frame", [][][]byte{{sps, pps, synthNAL(naluIDR, 1500), synthNAL(naluIDR, 2500)}, {synthNAL(naluNonIDR, 1400), synthNAL(naluNonIDR, 10)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDepacketizer()
			seq := uint16(65530) // wraps around
			var got [][][]byte
			for i, au := range tc.aus {
				pkts := packetize(au, 1200)
				for j, p := range pkts {
					if out := d.push(seq, uint32(i*3000), j == len(pkts)-1, p); out != nil {
						got = append(got, out)
					}
					seq++
				}
			}
			if !reflect.DeepEqual(got, tc.aus) {
				t.Fatalf("access units: got %d (%v); want %d", len(got), shape(got), len(tc.aus))
			}
			// And AVCC framing round-trips.
			for _, au := range got {
				back, err := splitAVCC(avcc(au))
				if err != nil || !reflect.DeepEqual(back, au) {
					t.Fatalf("avcc round trip: got %v, %v; want the same NAL units", shape([][][]byte{back}), err)
				}
			}
		})
	}
}

func shape(aus [][][]byte) [][]int {
	var s [][]int
	for _, au := range aus {
		var l []int
		for _, n := range au {
			l = append(l, len(n))
		}
		s = append(s, l)
	}
	return s
}

func TestDepacketizerLossWaitsForKeyframe(t *testing.T) {
	sps, pps := synthNAL(naluSPS, 12), synthNAL(naluPPS, 4)
	idr := packetize([][]byte{sps, pps, synthNAL(naluIDR, 3000)}, 1200)
	p1 := packetize([][]byte{synthNAL(naluNonIDR, 2000)}, 1200)
	p2 := packetize([][]byte{synthNAL(naluNonIDR, 100)}, 1200)
	d := newDepacketizer()
	seq := uint16(0)
	feed := func(pkts [][]byte, ts uint32, skip int) [][]byte {
		var out [][]byte
		for i, p := range pkts {
			if i != skip {
				out = d.push(seq, ts, i == len(pkts)-1, p)
			}
			seq++
		}
		return out
	}
	steps := []struct {
		name    string
		pkts    [][]byte
		skip    int
		wantAU  bool
		wantPLI bool
	}{
		{"P frame before any keyframe is dropped", p2, -1, false, false},
		{"keyframe passes", idr, -1, true, false},
		{"P frame passes", p2, -1, true, false},
		{"lost fragment drops the frame and asks for a keyframe", p1, 0, false, true},
		{"following P frame is dropped", p2, -1, false, false},
		{"next keyframe resumes", idr, -1, true, false},
	}
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			d.needKeyframe = false
			out := feed(s.pkts, uint32(i*3000), s.skip)
			if got := out != nil; got != s.wantAU {
				t.Errorf("access unit: got %v; want %v", got, s.wantAU)
			}
			if d.needKeyframe != s.wantPLI {
				t.Errorf("needKeyframe: got %v; want %v", d.needKeyframe, s.wantPLI)
			}
		})
	}
}

func TestDepacketizerRefusesGarbage(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
	}{
		{"empty", nil},
		{"truncated STAP-A", []byte{naluSTAPA, 0, 50, 1}},
		{"FU-A continuation without start", []byte{naluFUA, 0x05, 1, 2}},
		{"reserved type", []byte{30, 1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDepacketizer()
			d.waitKeyframe = false
			if au := d.push(1, 0, true, tc.payload); au != nil {
				t.Errorf("got access unit %v; want none", shape([][][]byte{au}))
			}
		})
	}
}

func TestWithParameterSets(t *testing.T) {
	sps, pps, aud := synthNAL(naluSPS, 8), synthNAL(naluPPS, 4), []byte{0x09, 0xf0}
	idr, p := synthNAL(naluIDR, 10), synthNAL(naluNonIDR, 10)
	tests := []struct {
		name string
		in   [][]byte
		want [][]byte
	}{
		{"IDR gets SPS and PPS", [][]byte{idr}, [][]byte{sps, pps, idr}},
		{"IDR that has them is unchanged", [][]byte{sps, pps, idr}, [][]byte{sps, pps, idr}},
		{"P frame untouched", [][]byte{p}, [][]byte{p}},
		{"AUD dropped", [][]byte{aud, p}, [][]byte{p}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := withParameterSets(tc.in, sps, pps); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v; want %v", shape([][][]byte{got}), shape([][][]byte{tc.want}))
			}
		})
	}
}

// splitAnnexB cuts an Annex-B stream into NAL units.
func splitAnnexB(b []byte) [][]byte {
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

// encodeH264 makes a real baseline H.264 stream with ffmpeg, one AUD per frame.
func encodeH264(t testing.TB, frames int) [][][]byte {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (scripts/test.sh installs it)")
	}
	out := filepath.Join(t.TempDir(), "v.h264")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30",
		"-frames:v", strconv.Itoa(frames), "-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-g", "30",
		"-x264-params", "aud=1", "-f", "h264", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var aus [][][]byte
	for _, n := range splitAnnexB(data) {
		if naluType(n) == naluAUD {
			aus = append(aus, nil)
			continue
		}
		if len(aus) > 0 {
			aus[len(aus)-1] = append(aus[len(aus)-1], n)
		}
	}
	return aus
}

func TestDepacketizerSkipsPadding(t *testing.T) {
	sps, pps := synthNAL(naluSPS, 12), synthNAL(naluPPS, 4)
	key := packetize([][]byte{sps, pps, synthNAL(naluIDR, 3000)}, 1200)
	p := packetize([][]byte{synthNAL(naluNonIDR, 100)}, 1200)
	d := newDepacketizer()
	seq := uint16(100)
	var got int
	feed := func(pkts [][]byte, ts uint32) {
		for i, pl := range pkts {
			if d.push(seq, ts, i == len(pkts)-1, pl) != nil {
				got++
			}
			seq++
		}
	}
	feed(key, 0)
	feed([][]byte{nil, nil}, 0) // padding-only packets between frames (bandwidth probing)
	feed(p, 3000)
	feed([][]byte{{}}, 3000)
	feed(p, 6000)
	if got != 3 || d.needKeyframe {
		t.Errorf("frames: got %d (needKeyframe %v); want 3 and no keyframe request", got, d.needKeyframe)
	}
}

// TestDepacketizerBoundsAnAccessUnit: an access unit that never ends (FU-A
// fragments without an end, or without a marker) is dropped past
// maxAccessUnit instead of growing without bound; the next keyframe passes.
func TestDepacketizerBoundsAnAccessUnit(t *testing.T) {
	d := newDepacketizer()
	seq := uint16(1)
	frag := make([]byte, 1200)
	frag[0], frag[1] = 0x60|naluFUA, 0x80|naluIDR // FU-A start of an IDR
	d.push(seq, 0, false, frag)
	frag[1] = naluIDR // middle fragments, for ever
	for range (maxAccessUnit / 1198) + 10 {
		seq++
		d.push(seq, 0, false, frag)
		if d.size > maxAccessUnit {
			t.Fatalf("access unit held %d bytes; want at most %d", d.size, maxAccessUnit)
		}
	}
	key := packetize([][]byte{synthNAL(naluSPS, 12), synthNAL(naluPPS, 4), synthNAL(naluIDR, 3000)}, 1200)
	var got [][]byte
	for i, pl := range key {
		seq++
		if au := d.push(seq, 9000, i == len(key)-1, pl); au != nil {
			got = au
		}
	}
	if got == nil {
		t.Errorf("the keyframe after the oversized access unit: got nothing; want it")
	}
}
