package bridge

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/internal/h264"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

// fzReadRTMP sends raw messages through an RTMP chunk stream and reads them
// back with the library's message reader, as ingest's sc.Read does: what
// comes back is what a pusher's bytes make. It stops at the first error.
func fzReadRTMP(raws []*rawmessage.Message) ([]message.Message, error) {
	var buf bytes.Buffer
	w := rawmessage.NewWriter(&buf, bytecounter.NewWriter(io.Discard), false)
	for _, m := range raws {
		if err := w.Write(m); err != nil {
			return nil, err
		}
	}
	bcr := bytecounter.NewReader(&buf)
	r := message.NewReader(bcr, bcr, func(uint32) error { return nil })
	var out []message.Message
	for range raws {
		m, err := r.Read()
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
	return out, nil
}

// fzRTP is one packet a track received.
type fzRTP struct {
	seq, pt  uint16
	ts, ssrc uint32
	marker   bool
	payload  []byte
}

// fzWatcher watches the room like an FLV viewer and records every packet
// of the pusher's tracks.
type fzWatcher struct{ video, audio []fzRTP }

type fzSink struct {
	w     *fzWatcher
	video bool
}

func (k fzSink) WriteRTP(p *sfu.ExtPacket) error {
	r := fzRTP{seq: p.SequenceNumber, pt: uint16(p.PayloadType), ts: p.Timestamp, ssrc: p.SSRC, marker: p.Marker,
		payload: append([]byte(nil), p.Payload...)}
	if k.video {
		k.w.video = append(k.w.video, r)
	} else {
		k.w.audio = append(k.w.audio, r)
	}
	return nil
}

func (w *fzWatcher) ID() string { return "fz-watcher" }
func (w *fzWatcher) AddTrack(t *sfu.Track) {
	t.AddSink(fzSink{w: w, video: t.Kind() == webrtc.RTPCodecTypeVideo})
}
func (w *fzWatcher) RemoveTrack(*sfu.Track) {}

// fzTranscoders stand in for libavcodec: an AAC access unit becomes
// len(au)%3 "Opus packets", each the access unit behind its index.
type fzTranscoders struct{ ascs *[][]byte }

func (f fzTranscoders) NewAACToOpus(asc []byte) (AACToOpus, error) {
	*f.ascs = append(*f.ascs, append([]byte(nil), asc...))
	return fzAACToOpus{}, nil
}

func (f fzTranscoders) NewOpusToAAC() (OpusToAAC, error) { return nil, errors.New("fuzz: not used") }

type fzAACToOpus struct{}

func (fzAACToOpus) Convert(au []byte) ([][]byte, error) {
	out := make([][]byte, len(au)%3)
	for i := range out {
		out[i] = append([]byte{byte(i)}, au...)
	}
	return out, nil
}

func (fzAACToOpus) Close() {}

// fzSession is the pusher's room session.
type fzSession struct{}

func (fzSession) Notify(room.Event) {}
func (fzSession) Kick(string)       {}

// fzIngestMessages turns fuzz bytes into RTMP video and audio messages:
// per message a kind byte (bit 0: audio), a 16-bit time step in ms, a
// 16-bit length and the body.
func fzIngestMessages(data []byte) []*rawmessage.Message {
	r := &fzReader{b: data}
	var out []*rawmessage.Message
	ms := uint32(0)
	for len(out) < 64 && !r.empty() {
		kind := r.byte()
		ms += uint32(r.uint16())
		body := r.bytes(int(r.uint16()))
		m := &rawmessage.Message{ChunkStreamID: message.VideoChunkStreamID, Type: uint8(message.TypeVideo),
			MessageStreamID: 1, Timestamp: time.Duration(ms) * time.Millisecond, Body: body}
		if kind&1 != 0 {
			m.ChunkStreamID, m.Type = message.AudioChunkStreamID, uint8(message.TypeAudio)
		}
		out = append(out, m)
	}
	return out
}

// fzIngestSeed encodes messages for FuzzIngestRTMP: video (false) or audio (true), time step, body.
func fzIngestSeed(msgs ...any) []byte {
	var b []byte
	for i := 0; i < len(msgs); i += 3 {
		kind := byte(0)
		if msgs[i].(bool) {
			kind = 1
		}
		step, body := msgs[i+1].(int), msgs[i+2].([]byte)
		b = append(b, kind, byte(step>>8), byte(step), byte(len(body)>>8), byte(len(body)))
		b = append(b, body...)
	}
	return b
}

// fzWellFormed reports whether the NAL units are ones pion's payloader
// passes through unchanged (see fzNAL): otherwise Annex B start codes
// inside them split them differently, which only garbage can do.
func fzWellFormed(au [][]byte) bool {
	for _, n := range au {
		t := h264.NALType(n)
		if len(n) == 0 || n[0]&0x80 != 0 || t < 1 || t > 23 || n[len(n)-1] == 0 {
			return false
		}
		for i := 2; i < len(n); i++ {
			if n[i-2] == 0 && n[i-1] == 0 && n[i] <= 3 {
				return false
			}
		}
	}
	return true
}

// FuzzIngestRTMP feeds RTMP video and audio messages, as the RTMP library
// reads them from a pusher's bytes, to the ingest (ingestStream.handle) of
// a pusher with any privileges, and watches its tracks like a viewer.
// handle does not panic and fails only for B-frames; a track appears only
// with its privilege; video RTP is H.264 with consecutive sequence numbers,
// one timestamp (the message's DTS at 90 kHz) and one marker (the last
// packet) per access unit, and depacketizes to exactly the access unit sent
// (parameter sets added to keyframes that lack them, as pion's payloader
// sends them: fzPayloadModel); every AAC sequence header reaches the
// transcoder as the library's AudioSpecificConfig, every access unit after
// one is converted, and its Opus packets follow on at 960 samples each.
func FuzzIngestRTMP(f *testing.F) {
	sps := []byte{0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	cfg, err := h264.DecoderConfig(sps, pps)
	if err != nil {
		f.Fatal(err)
	}
	vcfg := append([]byte{0x17, 0, 0, 0, 0}, cfg...)
	idr := append([]byte{0x17, 1, 0, 0, 0}, h264.AVCC([][]byte{{0x09, 0xf0}, {0x65, 0x88, 0x84, 0x21}})...)
	p := append([]byte{0x27, 1, 0, 0, 0}, h264.AVCC([][]byte{{0x41, 0x9a, 0x02}})...)
	idrPS := append([]byte{0x17, 1, 0, 0, 0}, h264.AVCC([][]byte{sps, pps, {0x06, 5, 1, 0x80}, {0x65, 0x88, 0x80}})...)
	big := append([]byte{0x17, 1, 0, 0, 0}, h264.AVCC([][]byte{fzNAL(h264.IDR, 0x60, bytes.Repeat([]byte{0xab, 0, 0}, 1000))})...)
	asc := append([]byte{0xaf, 0}, 0x12, 0x10)  // AAC-LC 44.1 kHz stereo
	asc2 := append([]byte{0xaf, 0}, 0x11, 0x90) // AAC-LC 48 kHz stereo
	aac := []byte{0xaf, 1, 0x21, 0x10, 0x05}
	all := uint8(auth.PrivAll)
	f.Add(fzIngestSeed(false, 0, vcfg, false, 0, idr, true, 0, asc, true, 23, aac, false, 10, p, true, 23, aac[:4]), all)
	f.Add(fzIngestSeed(false, 0, idrPS, false, 33, p, false, 33, big, false, 33, p), all)
	f.Add(fzIngestSeed(false, 0, p, false, 33, idr, false, 33, []byte{0x27, 1, 0, 0, 40, 0, 0, 0, 2, 0x41, 1}), all)
	f.Add(fzIngestSeed(true, 0, aac, true, 0, asc, true, 0, asc, true, 21, aac, true, 21, asc2, true, 21, aac, true, 0, []byte{0xaf, 0}), all)
	f.Add(fzIngestSeed(false, 0, vcfg, false, 0, idr, true, 0, asc, true, 10, aac), uint8(auth.PrivJoin|auth.PrivSendAudio))
	f.Add(fzIngestSeed(false, 0, vcfg, false, 0, idr, true, 0, asc, true, 10, aac), uint8(auth.PrivJoin|auth.PrivSendVideo))
	f.Add(fzIngestSeed(false, 0, []byte{0x17, 1, 0, 0, 0, 0, 0, 0, 9, 0x65}, false, 0, []byte{0x12, 1, 0, 0, 0, 1}, true, 0, []byte{0x2f, 1, 1},
		false, 0, []byte{0x97, 0, 0, 0, 0}, true, 0, []byte{0xaf, 0, 0xf8, 0}), all)
	f.Fuzz(func(t *testing.T, data []byte, priv uint8) {
		rooms := room.NewManager(room.Options{})
		var ascs [][]byte
		s := New(Options{Rooms: rooms, Transcoders: fzTranscoders{ascs: &ascs}})
		sess := fzSession{}
		if _, err := rooms.Enter(room.EnterRequest{Room: "r1", UserID: "pusher", Kind: room.KindRTMP, Session: sess, Create: true,
			Privileges: uint32(priv)}); err != nil {
			t.Fatal(err)
		}
		watcher := &fzWatcher{}
		detach, err := rooms.Watch("r1", watcher)
		if err != nil {
			t.Fatal(err)
		}
		defer detach()
		in := &ingestStream{s: s, ref: streamRef{Room: "r1", User: "pusher"}, sess: sess, log: slog.New(slog.DiscardHandler),
			priv: uint32(priv), warned: map[string]bool{}}
		defer in.close()

		msgs, _ := fzReadRTMP(fzIngestMessages(data)) // a read error ends the stream
		model := fzPayloadModel{mtu: rtpMTU}
		regular := true // every access unit so far was well-formed: the exact comparison holds
		var wantAUs [][][]byte
		var wantAUTimes []uint32
		var wantAudio [][]byte
		var firstAudioMS int64 = -1
		ascSeen := false
		for _, msg := range msgs {
			before := len(watcher.video)
			err := in.handle(msg)
			switch m := msg.(type) {
			case *message.Video:
				sent := watcher.video[before:]
				if err != nil {
					if !errors.Is(err, ErrBFrames) || m.PTSDelta == 0 {
						t.Fatalf("video message: got %v; want nil, or ErrBFrames for a composition offset", err)
					}
					if len(sent) > 0 {
						t.Fatalf("a refused frame sent %d packets; want none", len(sent))
					}
					return // the stream ends
				}
				if m.Codec != message.CodecH264 || uint32(priv)&auth.PrivSendVideo == 0 || m.Type != message.VideoTypeAU {
					if len(sent) > 0 {
						t.Fatalf("video message (codec %d, type %d, privileges %d): got %d packets; want none", m.Codec, m.Type, priv, len(sent))
					}
					continue
				}
				au, err := h264.SplitAVCC(m.AU)
				if err != nil || !in.params.Update(append([][]byte(nil), au...)) {
					if len(sent) > 0 {
						t.Fatalf("frame without slices or with bad AVCC (%v): got %d packets; want none", err, len(sent))
					}
					continue
				}
				full := h264.WithParameterSets(au, in.params.SPS, in.params.PPS)
				regular = regular && fzWellFormed(full)
				if !regular {
					continue
				}
				want := model.au(full)
				if len(want) > 0 && len(sent) == 0 {
					t.Fatalf("access unit %v: got no packets; want some", fzShape(want))
				}
				if len(sent) > 0 {
					wantAUs = append(wantAUs, want)
					wantAUTimes = append(wantAUTimes, uint32(int64(m.DTS)*90000/int64(time.Second)))
				}
			case *message.Audio:
				if err != nil {
					// A config the library reads but cannot write back again ends the stream.
					if !errors.Is(err, ErrUnsupported) || m.AACType != message.AudioAACTypeConfig {
						t.Fatalf("audio message: got %v; want nil", err)
					}
					return
				}
				if m.Codec != message.CodecMPEG4Audio || uint32(priv)&auth.PrivSendAudio == 0 {
					continue
				}
				if m.AACType == message.AudioAACTypeConfig {
					if m.AACConfig != nil {
						want, err := m.AACConfig.Marshal()
						var back mpeg4audio.AudioSpecificConfig
						if err != nil || back.Unmarshal(want) != nil || len(ascs) == 0 || !bytes.Equal(ascs[len(ascs)-1], want) {
							t.Fatalf("AAC sequence header %+v: the transcoder got %x; want %x (%v)", *m.AACConfig, ascs, want, err)
						}
						ascSeen = true
					}
					continue
				}
				if !ascSeen {
					continue
				}
				if firstAudioMS < 0 {
					firstAudioMS = int64(m.DTS / time.Millisecond)
				}
				out, _ := fzAACToOpus{}.Convert(m.AU)
				wantAudio = append(wantAudio, out...)
			default:
				if err != nil {
					t.Fatalf("%T: got %v; want nil", msg, err)
				}
			}
		}
		if (in.video != nil) && uint32(priv)&auth.PrivSendVideo == 0 || (in.audio != nil) && uint32(priv)&auth.PrivSendAudio == 0 {
			t.Fatalf("privileges %d: got video track %v, audio track %v; want only what may be sent", priv, in.video != nil, in.audio != nil)
		}
		fzCheckVideoRTP(t, watcher.video, wantAUs, wantAUTimes, regular)
		fzCheckAudioRTP(t, watcher.audio, wantAudio, firstAudioMS)
	})
}

// fzCheckVideoRTP checks the video packets: H.264 on one SSRC, consecutive
// sequence numbers, per access unit one timestamp and a marker on its last
// packet; depacketized, exactly the access units expected (when regular).
func fzCheckVideoRTP(t *testing.T, pkts []fzRTP, wantAUs [][][]byte, times []uint32, regular bool) {
	t.Helper()
	d := &h264.Depacketizer{} // not waiting for a keyframe: every access unit comes back
	var got [][][]byte
	var gotTimes []uint32
	for i, p := range pkts {
		if p.pt != sfu.PayloadTypeH264 || p.ssrc != pkts[0].ssrc || (i > 0 && p.seq != pkts[i-1].seq+1) || len(p.payload) > rtpMTU {
			t.Fatalf("video packet %d: got pt %d, ssrc %d, seq %d after %d, %d bytes; want H.264, one SSRC, consecutive, within the MTU",
				i, p.pt, p.ssrc, p.seq, pkts[max(i-1, 0)].seq, len(p.payload))
		}
		if i > 0 && !pkts[i-1].marker && p.ts != pkts[i-1].ts {
			t.Fatalf("video packet %d: timestamp %d within an access unit at %d; want one timestamp per access unit", i, p.ts, pkts[i-1].ts)
		}
		if au := d.Push(p.seq, p.ts, p.marker, p.payload); au != nil {
			got = append(got, au)
			gotTimes = append(gotTimes, p.ts)
		}
	}
	if len(pkts) > 0 && !pkts[len(pkts)-1].marker {
		t.Fatalf("the last video packet has no marker; want every access unit to end with one")
	}
	if !regular {
		return
	}
	if len(got) != len(wantAUs) {
		t.Fatalf("depacketized %d access units; want %d", len(got), len(wantAUs))
	}
	for i := range got {
		if !fzEqualAU(got[i], wantAUs[i]) || gotTimes[i] != times[i] {
			t.Fatalf("access unit %d: got %v at %d; want %v at %d", i, fzShape(got[i]), gotTimes[i], fzShape(wantAUs[i]), times[i])
		}
	}
}

// fzCheckAudioRTP checks the Opus packets: one SSRC, consecutive sequence
// numbers, the transcoder's packets in order, the first at the first AAC
// frame's time (48 kHz) and each 960 samples after the one before.
func fzCheckAudioRTP(t *testing.T, pkts []fzRTP, want [][]byte, firstMS int64) {
	t.Helper()
	if len(pkts) != len(want) {
		t.Fatalf("got %d Opus packets; want %d", len(pkts), len(want))
	}
	for i, p := range pkts {
		wantTS := uint32(firstMS*48) + uint32(i)*opusFrame
		if p.pt != sfu.PayloadTypeOpus || p.ssrc != pkts[0].ssrc || (i > 0 && p.seq != pkts[i-1].seq+1) || p.ts != wantTS || !bytes.Equal(p.payload, want[i]) {
			t.Fatalf("Opus packet %d: got pt %d, ssrc %d, seq %d, ts %d, %x; want Opus, one SSRC, consecutive, ts %d, %x",
				i, p.pt, p.ssrc, p.seq, p.ts, p.payload, wantTS, want[i])
		}
	}
}
