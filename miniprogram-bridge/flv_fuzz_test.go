package bridge

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/openroom/openroom/internal/h264"
)

// fzFLVTag is one tag as read back.
type fzFLVTag struct {
	typ  byte
	ms   uint32
	body []byte
}

// fzReadFLV is a strict FLV reader: the header with the given flags and
// PreviousTagSize0, then whole tags, each followed by its PreviousTagSize,
// stream ID 0, and nothing after the last.
func fzReadFLV(b []byte, flags byte) ([]fzFLVTag, error) {
	if len(b) < 13 || string(b[:3]) != "FLV" || b[3] != 1 || b[4] != flags ||
		binary.BigEndian.Uint32(b[5:9]) != 9 || binary.BigEndian.Uint32(b[9:13]) != 0 {
		return nil, fmt.Errorf("bad FLV header % x (want flags %#x)", b[:min(len(b), 13)], flags)
	}
	b = b[13:]
	var tags []fzFLVTag
	for len(b) > 0 {
		if len(b) < 11 {
			return tags, fmt.Errorf("tag %d: %d bytes left for an 11-byte header", len(tags), len(b))
		}
		size := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		ms := uint32(b[7])<<24 | uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6])
		if b[8] != 0 || b[9] != 0 || b[10] != 0 {
			return tags, fmt.Errorf("tag %d: stream ID % x, want 0", len(tags), b[8:11])
		}
		if len(b) < 11+size+4 {
			return tags, fmt.Errorf("tag %d: %d bytes left for a %d-byte tag", len(tags), len(b), size)
		}
		if prev := binary.BigEndian.Uint32(b[11+size:]); prev != uint32(11+size) {
			return tags, fmt.Errorf("tag %d: PreviousTagSize %d, want %d", len(tags), prev, 11+size)
		}
		tags = append(tags, fzFLVTag{typ: b[0], ms: ms, body: b[11 : 11+size]})
		b = b[11+size+4:]
	}
	return tags, nil
}

// fzWantTag is a tag the model expects, its body in parts (a 16 MiB frame
// is not copied to be compared).
type fzWantTag struct {
	typ   byte
	ms    uint32
	parts [][]byte
}

func (w fzWantTag) size() int {
	n := 0
	for _, p := range w.parts {
		n += len(p)
	}
	return n
}

// is reports whether body is the parts, joined.
func (w fzWantTag) is(body []byte) bool {
	for _, p := range w.parts {
		if len(body) < len(p) || !bytes.Equal(body[:len(p)], p) {
			return false
		}
		body = body[len(p):]
	}
	return len(body) == 0
}

// fzFLVModel is what flvOut must write for a run of units: nothing before
// the first keyframe that has a configuration (audio-only streams start at
// once), an AVC sequence header before the first picture and whenever the
// configuration changes, one AAC sequence header before the first audio,
// times relative to the first unit written (0 for earlier ones).
type fzFLVModel struct {
	aacCfg, avcCfg []byte
	started        bool
	aacSent        bool
	baseSet        bool
	base           uint32
	tags           []fzWantTag
}

func (m *fzFLVModel) ms(src uint32) uint32 {
	if !m.baseSet {
		m.baseSet, m.base = true, src
	}
	if src < m.base {
		return 0
	}
	return src - m.base
}

func (m *fzFLVModel) write(u unit) {
	if u.video {
		if !m.started && (!u.keyframe || u.avcCfg == nil) {
			return
		}
		ms := m.ms(u.ms)
		if u.avcCfg != nil && !bytes.Equal(u.avcCfg, m.avcCfg) {
			m.tags = append(m.tags, fzWantTag{flvVideo, ms, [][]byte{{0x17, 0, 0, 0, 0}, u.avcCfg}})
			m.avcCfg = u.avcCfg
		}
		m.started = true
		head := byte(0x27)
		if u.keyframe {
			head = 0x17
		}
		parts := [][]byte{{head, 1, 0, 0, 0}}
		for _, n := range u.nalus { // AVCC framing
			parts = append(parts, binary.BigEndian.AppendUint32(nil, uint32(len(n))), n)
		}
		m.tags = append(m.tags, fzWantTag{flvVideo, ms, parts})
		return
	}
	if !m.started {
		return
	}
	ms := m.ms(u.ms)
	if !m.aacSent {
		m.tags = append(m.tags, fzWantTag{flvAudio, ms, [][]byte{{0xaf, 0}, m.aacCfg}})
		m.aacSent = true
	}
	m.tags = append(m.tags, fzWantTag{flvAudio, ms, [][]byte{{0xaf, 1}, u.aac}})
}

// fzHugeNAL backs the frames of FuzzFLVRoundTrip near FLV's 16 MiB tag limit.
var fzHugeNAL = make([]byte, 1<<24)

// fzFLVUnits turns fuzz bytes into media units: per unit an op byte (bit 0
// video, 1 keyframe, 2 a new AVC configuration, 3 no configuration, bits 4-5
// NAL units), a signed time step and the payloads.
func fzFLVUnits(r *fzReader) []unit {
	var units []unit
	var cfg []byte
	ms := uint32(100000)
	for len(units) < 32 && !r.empty() {
		op := r.byte()
		ms += uint32(int32(int16(r.uint16())) * 600) // steps of up to ±5.5 h: times past 24 bits and going back
		u := unit{video: op&1 != 0, keyframe: op&2 != 0, ms: ms}
		if u.video {
			if op&4 != 0 {
				cfg = append([]byte(nil), r.bytes(int(r.byte()))...)
			}
			if op&8 == 0 {
				u.avcCfg = cfg
			}
			for n := int(op>>4) % 4; n > 0; n-- {
				u.nalus = append(u.nalus, r.bytes(int(r.byte())))
			}
		} else {
			u.aac = r.bytes(int(r.byte()))
		}
		units = append(units, u)
	}
	return units
}

// FuzzFLVRoundTrip writes units (H.264 access units and AAC frames, with
// and without configurations, keyframes, times going back and past 24 bits)
// through flvOut, as the HTTP-FLV viewer does, reads the stream back with a
// strict FLV reader and checks it is exactly what was put in (fzFLVModel).
// A big of 251-255 adds a keyframe whose tag is 16 MiB - 1 + (big - 253)
// bytes, around FLV's limit (most inputs stay small and fast): a tag over
// the 24-bit size must be refused, not written with a wrapped size.
func FuzzFLVRoundTrip(f *testing.F) {
	cfg, err := h264.DecoderConfig([]byte{0x67, 0x42, 0xc0, 0x1f}, []byte{0x68, 0xce})
	if err != nil {
		f.Fatal(err)
	}
	seed := func(flags byte, aacCfg []byte, units ...[]byte) []byte {
		b := []byte{flags, byte(len(aacCfg))}
		b = append(b, aacCfg...)
		for _, u := range units {
			b = append(b, u...)
		}
		return b
	}
	key := append(append([]byte{0x17, 0, 0, byte(len(cfg))}, cfg...), 3, 0x65, 1, 2, 2, 0x06, 5)
	f.Add(seed(0, []byte{0x11, 0x90}, []byte{0, 0, 1, 2, 0xde, 0xad}, key, []byte{0x10, 0, 33, 2, 0x41, 9}, []byte{0, 0, 21, 3, 1, 2, 3}), uint8(0))
	f.Add(seed(0, []byte{0x11, 0x90}, []byte{0x11, 0, 0, 1, 0x41}, []byte{0x1b, 0, 0, 1, 0x65}, key, []byte{0, 0xff, 0xff, 1, 1},
		[]byte{0x17, 0x7f, 0xff, 2, 1, 2, 1, 0x65}, []byte{0x13, 0x80, 0, 1, 0x65}), uint8(0))
	f.Add(seed(4, []byte{0x12, 0x10}, []byte{0, 0, 0, 1, 7}, []byte{0, 0, 21, 0}), uint8(0))
	f.Add(seed(0, nil, key), uint8(252)) // a 16 MiB - 2 tag (testdata/fuzz holds the limit and one byte over)
	f.Fuzz(func(t *testing.T, data []byte, big uint8) {
		r := &fzReader{b: data}
		flags := r.byte()
		audioOnly, hasAudio := flags&4 != 0, flags&2 != 0
		aacCfg := r.bytes(int(r.byte() % 8))
		units := fzFLVUnits(r)
		if big > 250 {
			// A keyframe whose video tag body (5 + 4 + NAL) is 16 MiB - 1 + (big - 253) bytes.
			n := 0xffffff + int(big) - 253 - 9
			units = append(units, unit{video: true, keyframe: true, ms: 1, nalus: [][]byte{fzHugeNAL[:n]}, avcCfg: cfg})
		}
		var buf bytes.Buffer
		out := &flvOut{w: newFLVWriter(&buf), aacCfg: aacCfg, started: audioOnly}
		model := &fzFLVModel{aacCfg: aacCfg, started: audioOnly}
		if err := out.w.header(!audioOnly, hasAudio); err != nil {
			t.Fatal(err)
		}
		for i, u := range units {
			n := len(model.tags)
			model.write(u)
			tooBig := -1 // the first tag of the unit over FLV's 24-bit size
			for j, tag := range model.tags[n:] {
				if tag.size() > 0xffffff && tooBig < 0 {
					tooBig = n + j
				}
			}
			err := out.write(u)
			if tooBig >= 0 {
				if err == nil {
					t.Fatalf("unit %d: a %d-byte tag was written; want an error (FLV sizes are 24 bits)", i, model.tags[tooBig].size())
				}
				model.tags = model.tags[:tooBig] // what came before it is written; the viewer ends there
				break
			}
			if err != nil {
				t.Fatalf("unit %d: got %v; want nil", i, err)
			}
		}
		wantFlags := byte(0)
		if !audioOnly {
			wantFlags |= 1
		}
		if hasAudio {
			wantFlags |= 4
		}
		got, err := fzReadFLV(buf.Bytes(), wantFlags)
		if err != nil {
			t.Fatalf("reading the FLV back: %v", err)
		}
		if len(got) != len(model.tags) {
			t.Fatalf("got %d tags; want %d", len(got), len(model.tags))
		}
		for i, w := range model.tags {
			g := got[i]
			if g.typ != w.typ || g.ms != w.ms || !w.is(g.body) {
				t.Fatalf("tag %d: got type %d at %d ms, %d bytes; want type %d at %d ms, %d bytes", i, g.typ, g.ms, len(g.body), w.typ, w.ms, w.size())
			}
		}
	})
}
