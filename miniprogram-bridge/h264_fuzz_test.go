package bridge

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"
	pioncodecs "github.com/pion/rtp/codecs"

	"github.com/openroom/openroom/internal/h264"
)

// fzReader hands out a fuzz input's bytes, then zeros.
type fzReader struct{ b []byte }

func (r *fzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fzReader) uint16() uint16 { return uint16(r.byte())<<8 | uint16(r.byte()) }

// bytes returns the next n bytes (fewer if the input ends).
func (r *fzReader) bytes(n int) []byte {
	n = min(n, len(r.b))
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *fzReader) empty() bool { return len(r.b) == 0 }

// fzNAL makes a well-formed NAL unit of type typ from any bytes, as an
// encoder writes them: forbidden bit clear, no start code emulation (no
// 00 00 0x with x <= 3: emulation prevention) and a non-zero last byte
// (the RBSP stop bit).
func fzNAL(typ, nri byte, body []byte) []byte {
	n := append([]byte{nri&0x60 | typ&0x1f}, body...)
	for i := 3; i < len(n); i++ {
		if n[i-2] == 0 && n[i-1] == 0 && n[i] <= 3 {
			n[i] = 4
		}
	}
	if n[len(n)-1] == 0 {
		n[len(n)-1] = 0x80
	}
	return n
}

// fzNALTypes are the types fzAUs draws from: slices, SEI, parameter sets,
// and what pion's payloader drops (access unit delimiter, filler).
var fzNALTypes = []byte{h264.NonIDR, h264.IDR, h264.SPS, h264.PPS, h264.SEI, h264.NonIDR, h264.IDR, h264.AUD, 12, 2}

// fzAUs turns fuzz bytes into access units of well-formed NAL units: per
// access unit a byte (1-4 NAL units), per NAL unit a selector (type, and in
// bits 5-7 a size multiplier), a size byte and a seed for its bytes (zeros
// among them, for the start code rules). Up to about 2 KB a NAL unit: many
// RTP packets at a small MTU.
func fzAUs(r *fzReader, maxAUs int) [][][]byte {
	var aus [][][]byte
	for len(aus) < maxAUs && !r.empty() {
		var au [][]byte
		for n := 1 + int(r.byte()%4); n > 0; n-- {
			sel, size, seed := r.byte(), int(r.byte()), r.byte()
			body := make([]byte, size*(1+int(sel>>5)))
			x := uint32(seed)*2654435761 + 1
			for i := range body {
				x ^= x << 13
				x ^= x >> 17
				x ^= x << 5
				if body[i] = byte(x); x&0x300 == 0 {
					body[i] = 0
				}
			}
			au = append(au, fzNAL(fzNALTypes[int(sel&0x1f)%len(fzNALTypes)], sel, body))
		}
		aus = append(aus, au)
	}
	return aus
}

// fzPayloadModel is what pion's H.264 payloader makes of an access unit,
// as NAL units: access unit delimiters and filler dropped; SPS and PPS held
// back and sent (as one STAP-A, if it fits the MTU) before the next other
// NAL unit, possibly in a later access unit.
type fzPayloadModel struct {
	mtu      int
	sps, pps []byte
}

func (m *fzPayloadModel) au(au [][]byte) [][]byte {
	var out [][]byte
	for _, n := range au {
		switch h264.NALType(n) {
		case h264.AUD, 12:
			continue
		case h264.SPS:
			m.sps = n
			continue
		case h264.PPS:
			m.pps = n
			continue
		}
		if m.sps != nil && m.pps != nil {
			if 1+2+len(m.sps)+2+len(m.pps) <= m.mtu {
				out = append(out, m.sps, m.pps)
			}
			m.sps, m.pps = nil, nil
		}
		out = append(out, n)
	}
	return out
}

func fzEqualAU(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func fzShape(au [][]byte) []int {
	s := make([]int, len(au))
	for i, n := range au {
		s[i] = int(h264.NALType(n))<<16 | len(n)
	}
	return s
}

// FuzzDepacketizer pushes any RTP payloads (single NAL units, STAP-A, FU-A,
// garbage), with any sequence numbers, timestamps and markers. The
// depacketizer does not panic and returns an access unit only at a marker:
// not empty, no empty NAL unit, no more bytes than the packets since the
// last marker carried; the first one, the first after it asked for a
// keyframe and the first after a sequence gap are keyframes.
func FuzzDepacketizer(f *testing.F) {
	stap := []byte{h264.STAPA, 0, 3, 0x67, 1, 2, 0, 2, 0x68, 1}
	f.Add([]byte{0, 1, 6, 0x65, 1, 2, 3, 4, 5, 0, 1, 3, 0x41, 1, 2})
	f.Add(append([]byte{0, 0, byte(len(stap))}, append(stap, 0, 1, 2, 0x65, 9)...))
	f.Add([]byte{0, 0, 4, 0x7c, 0x85, 1, 2, 0, 0, 3, 0x7c, 0x05, 3, 0, 1, 3, 0x7c, 0x45, 4})
	f.Add([]byte{0, 0, 4, 0x7c, 0x85, 1, 2, 9, 4, 3, 0x7c, 0x45, 4, 0, 1, 2, 0x65, 1})
	f.Add([]byte{0, 1, 0, 0, 1, 2, 0x65, 1, 0, 2, 2, 0x65, 2, 0, 1, 2, 0x65, 3})
	f.Add([]byte{0, 1, 3, 0x78, 0, 9, 0, 1, 2, 0x7e, 1, 0, 1, 1, 0x7c})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fzReader{b: data}
		d := h264.NewDepacketizer()
		seq, ts := uint16(65530), uint32(0)
		first, wantKey := true, true
		pending := 0
		for i := 0; i < 256 && !r.empty(); i++ {
			jump, flags, size := r.byte(), r.byte(), int(r.byte())
			payload := r.bytes(size)
			marker := flags&1 != 0
			if flags&2 != 0 {
				ts += 3000
			}
			if flags&4 != 0 {
				seq += uint16(jump) + 1 // a gap: packets lost
				if !first {
					wantKey = true
				}
			}
			first = false
			pending += len(payload)
			au := d.Push(seq, ts, marker, payload)
			seq++
			if d.TakeKeyframeRequest() {
				wantKey = true
			}
			if !marker && au != nil {
				t.Fatalf("packet %d: got an access unit without a marker", i)
			}
			if au == nil {
				if marker && len(payload) > 0 { // padding, even with a marker, ends nothing
					pending = 0
				}
				continue
			}
			size = 0
			for _, n := range au {
				if len(n) == 0 {
					t.Fatalf("packet %d: got an empty NAL unit in %v", i, fzShape(au))
				}
				size += len(n)
			}
			if len(au) == 0 || size > pending {
				t.Fatalf("packet %d: got %d NAL units of %d bytes from %d bytes of payload; want at least one, no more bytes", i, len(au), size, pending)
			}
			if wantKey && !h264.IsKeyframe(au) {
				t.Fatalf("packet %d: got a non-keyframe %v first, or after a loss; want a keyframe", i, fzShape(au))
			}
			wantKey, pending = false, 0
		}
	})
}

// FuzzH264RoundTrip packetizes access units of well-formed NAL units with
// pion's payloader at any MTU (64-1500), loses any of the first 64 packets
// but the first, and depacketizes what arrives. Every access unit returned
// is exactly what was sent (as the payloader sends it, fzPayloadModel) and
// lost none of its packets; the first after a loss is a keyframe; without
// loss every access unit from the first keyframe on comes back; and a
// keyframe whose packets and the packet before them arrived comes back.
// Each access unit also survives AVCC framing (avcc, splitAVCC).
func FuzzH264RoundTrip(f *testing.F) {
	// Access units: [SPS PPS IDR] [P] [P of 400 bytes]; with SEI, AUD and filler; at MTUs from 64 up.
	gop := []byte{2, 2, 20, 1, 3, 8, 2, 1, 90, 3, 0, 0, 200, 4, 0, 0x20, 200, 5}
	f.Add(gop, uint16(1200), uint64(0))
	f.Add(gop, uint16(0), uint64(0))
	f.Add(gop, uint16(0), uint64(0b100))
	f.Add([]byte{3, 7, 1, 0, 2, 10, 1, 3, 4, 2, 1, 255, 3, 1, 4, 5, 6, 0, 60, 7, 1, 8, 3, 9, 0x41, 150, 8}, uint16(30), uint64(0))
	f.Add(append(gop, 1, 2, 12, 6, 0xe1, 250, 7, 0, 0, 9, 8), uint16(100), uint64(0b1010))
	f.Add(append(gop, gop...), uint16(500), uint64(1<<63|1<<5))
	f.Fuzz(func(t *testing.T, data []byte, mtu16 uint16, loss uint64) {
		mtu := 64 + int(mtu16)%1437
		aus := fzAUs(&fzReader{b: data}, 12)
		pay := pioncodecs.H264Payloader{}
		model := fzPayloadModel{mtu: mtu}
		type pkt struct {
			au     int
			seq    uint16
			marker bool
			data   []byte
		}
		var pkts []pkt
		var want [][][]byte
		seq := uint16(65520)
		for i, au := range aus {
			b := h264.AVCC(au)
			back, err := h264.SplitAVCC(b)
			if err != nil || !fzEqualAU(back, au) {
				t.Fatalf("AU %d: AVCC round trip: got %v, %v; want %v", i, fzShape(back), err, fzShape(au))
			}
			want = append(want, model.au(au))
			ps := pay.Payload(uint16(mtu), h264.AnnexB(au))
			for j, p := range ps {
				if len(p) > mtu {
					t.Fatalf("AU %d: a %d-byte payload for MTU %d", i, len(p), mtu)
				}
				pkts = append(pkts, pkt{au: i, seq: seq, marker: j == len(ps)-1, data: p})
				seq++
			}
			if (len(ps) == 0) != (len(want[i]) == 0) {
				t.Fatalf("AU %d: %d packets for %v; the model says %v", i, len(ps), fzShape(au), fzShape(want[i]))
			}
		}
		lost := func(i int) bool { return i > 0 && i < 64 && loss&(1<<i) != 0 }
		first := map[int]int{} // AU -> index of its first packet
		lostIn := map[int]bool{}
		for i := len(pkts) - 1; i >= 0; i-- {
			first[pkts[i].au] = i
			if lost(i) {
				lostIn[pkts[i].au] = true
			}
		}
		d := h264.NewDepacketizer()
		returned := map[int]bool{}
		anyLoss, lossSince := false, false
		var got []int
		for i, p := range pkts {
			if lost(i) {
				anyLoss, lossSince = true, true
				continue
			}
			au := d.Push(p.seq, uint32(p.au)*3000, p.marker, p.data)
			d.TakeKeyframeRequest()
			if au == nil {
				continue
			}
			if !p.marker || lostIn[p.au] || !fzEqualAU(au, want[p.au]) {
				t.Fatalf("AU %d (lost packets: %v): got %v; want %v", p.au, lostIn[p.au], fzShape(au), fzShape(want[p.au]))
			}
			if lossSince && !h264.IsKeyframe(au) {
				t.Fatalf("AU %d: got a non-keyframe first after a loss", p.au)
			}
			lossSince = false
			returned[p.au] = true
			got = append(got, p.au)
		}
		for k, i := range first {
			if h264.IsKeyframe(want[k]) && !lostIn[k] && (i == 0 || !lost(i-1)) && !returned[k] {
				t.Fatalf("AU %d: a keyframe that arrived whole, after the packet before it, was not returned (loss %b)", k, loss)
			}
		}
		if anyLoss {
			return
		}
		var wantAll []int
		for i, w := range want {
			if len(w) > 0 && (len(wantAll) > 0 || h264.IsKeyframe(w)) {
				wantAll = append(wantAll, i)
			}
		}
		if !slices.Equal(got, wantAll) {
			t.Fatalf("without loss: got AUs %v; want %v", got, wantAll)
		}
	})
}

// FuzzAVCDecoderConfig builds the AVC sequence header (FLV/RTMP) from any
// SPS and PPS, one of them grown by up to 128 KiB (grow: bit 31 picks the
// PPS) so the record's 16-bit lengths are tried too. It is refused (h264.ErrMalformed) unless the parameter sets are
// usable; what it builds reads back to the same SPS and PPS, both with
// parametersFromConfig (RTMP play) and with the RTMP library a player or
// pusher uses (gortmplib, go-mp4), which also finds the SPS's profile and
// level. parametersFromConfig never panics on any record.
func FuzzAVCDecoderConfig(f *testing.F) {
	f.Add([]byte{0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40}, []byte{0x68, 0xce, 0x3c, 0x80}, uint32(0))
	f.Add([]byte{0x67, 0x64, 0x00, 0x28}, []byte{0x68}, uint32(1000))
	f.Add([]byte{0x67, 0x42}, []byte{0x68}, uint32(0))
	f.Add([]byte{0x65, 0x42, 0xc0, 0x1f}, []byte{0x68}, uint32(0))
	f.Add([]byte{0x67, 0x42, 0xc0, 0x1f}, []byte{}, uint32(0))
	f.Add([]byte{0x67, 0x42, 0xc0, 0x1f}, []byte{0x68, 1}, uint32(0xfffb))
	f.Add([]byte{1, 0x42, 0xc0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0xc0, 0x1f, 1, 0, 1, 0x68}, []byte{}, uint32(0))
	f.Fuzz(func(t *testing.T, sps, pps []byte, grow uint32) {
		if sp, pp, err := parametersFromConfig(sps); err == nil && (len(sp)+len(pp) > len(sps)) {
			t.Fatalf("parametersFromConfig(%x): got %d + %d bytes from a %d-byte record", sps, len(sp), len(pp), len(sps))
		}
		if grow&(1<<31) == 0 {
			sps = append(sps, make([]byte, grow%(1<<17))...)
		} else {
			pps = append(pps, make([]byte, grow%(1<<17))...)
		}
		cfg, err := h264.DecoderConfig(sps, pps)
		usable := len(sps) >= 4 && len(sps) <= 0xffff && h264.NALType(sps) == h264.SPS && len(pps) >= 1 && len(pps) <= 0xffff && h264.NALType(pps) == h264.PPS
		if err != nil {
			if !errors.Is(err, h264.ErrMalformed) || usable {
				t.Fatalf("h264.DecoderConfig(%d-byte SPS, %d-byte PPS): got %v; want nil for usable ones, else h264.ErrMalformed", len(sps), len(pps), err)
			}
			return
		}
		if !usable {
			t.Fatalf("h264.DecoderConfig(%d-byte SPS type %d, %d-byte PPS type %d): got a record; want h264.ErrMalformed", len(sps), h264.NALType(sps), len(pps), h264.NALType(pps))
		}
		gotSPS, gotPPS, err := parametersFromConfig(cfg)
		if err != nil || !bytes.Equal(gotSPS, sps) || !bytes.Equal(gotPPS, pps) {
			t.Fatalf("parametersFromConfig: got %d-byte SPS, %d-byte PPS, %v; want the %d and %d bytes put in", len(gotSPS), len(gotPPS), err, len(sps), len(pps))
		}
		// The RTMP library reads the record as a pusher's sequence header.
		body := append([]byte{0x17, byte(message.VideoTypeConfig), 0, 0, 0}, cfg...)
		msgs, err := fzReadRTMP([]*rawmessage.Message{{ChunkStreamID: message.VideoChunkStreamID, Type: uint8(message.TypeVideo), MessageStreamID: 1, Body: body}})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("gortmplib reading the sequence header: got %d messages, %v; want 1", len(msgs), err)
		}
		v, ok := msgs[0].(*message.Video)
		if !ok || v.AVCConfig == nil || len(v.AVCConfig.SequenceParameterSets) != 1 || len(v.AVCConfig.PictureParameterSets) != 1 {
			t.Fatalf("gortmplib reading the sequence header: got %#v; want one SPS and one PPS", msgs[0])
		}
		c := v.AVCConfig
		if !bytes.Equal(c.SequenceParameterSets[0].NALUnit, sps) || !bytes.Equal(c.PictureParameterSets[0].NALUnit, pps) ||
			c.Profile != sps[1] || c.ProfileCompatibility != sps[2] || c.Level != sps[3] {
			t.Fatalf("gortmplib reading the sequence header: got profile %d/%d level %d and %d-byte SPS, %d-byte PPS; want %d/%d %d, %d, %d",
				c.Profile, c.ProfileCompatibility, c.Level, len(c.SequenceParameterSets[0].NALUnit), len(c.PictureParameterSets[0].NALUnit),
				sps[1], sps[2], sps[3], len(sps), len(pps))
		}
	})
}
