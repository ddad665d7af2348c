package bridge

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/internal/h264"
	"github.com/openroom/openroom/internal/testutil"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

// TestMiniProgramMember: a mini-program joins over signaling, pushes to the
// pushURL it is given (publishing as itself, not as a second member), and is
// told the playURL of another pusher, which plays.
func TestMiniProgramMember(t *testing.T) {
	needFFmpeg(t)
	st := startStack(t)
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(st.HTTP, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	msgs := make(chan map[string]any, 64)
	go func() {
		defer close(msgs)
		for {
			var m map[string]any
			if err := ws.ReadJSON(&m); err != nil {
				return
			}
			msgs <- m
		}
	}()
	expect := func(typ string, cond func(map[string]any) bool) map[string]any {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case m, ok := <-msgs:
				if !ok {
					t.Fatalf("socket closed waiting for %s", typ)
				}
				if m["type"] == typ && (cond == nil || cond(m)) {
					return m
				}
			case <-deadline:
				t.Fatalf("timed out waiting for %s", typ)
			}
		}
	}
	if _, err := st.Rooms.Create("mp", ""); err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteJSON(map[string]any{"type": "join", "room": "mp", "client": "miniprogram",
		"userSig": st.userSig(t, "wxuser"), "privateMapKey": st.key(t, "wxuser", "mp", auth.PrivAll)}); err != nil {
		t.Fatal(err)
	}
	joined := expect("joined", nil)
	pushURL, _ := joined["pushURL"].(string)
	if !strings.HasPrefix(pushURL, "rtmp://127.0.0.1:") || !strings.Contains(pushURL, "/live/mp/wxuser?sig=") {
		t.Fatalf("pushURL: got %q; want rtmp://127.0.0.1:PORT/live/mp/wxuser?sig=...", pushURL)
	}
	expect("userlist", func(m map[string]any) bool { return len(m["userlist"].([]any)) == 0 })

	push(t, pushURL, 30) // the mini-program's live-pusher
	push(t, st.rtmpURL("mp", "other", st.key(t, "other", "mp", auth.PrivAll)), 30)
	list := expect("userlist", func(m map[string]any) bool {
		for _, e := range m["userlist"].([]any) {
			if e.(map[string]any)["userID"] == "other" {
				return true
			}
		}
		return false
	})
	var playURL string
	for _, e := range list["userlist"].([]any) {
		entry := e.(map[string]any)
		if entry["userID"] == "wxuser" {
			t.Errorf("userlist: got the member itself; want only others")
		}
		if entry["userID"] == "other" {
			playURL, _ = entry["playURL"].(string)
			if rtmp, _ := entry["rtmpURL"].(string); !strings.HasPrefix(rtmp, "rtmp://") {
				t.Errorf("rtmpURL: got %q; want an rtmp:// URL", rtmp)
			}
		}
	}
	if !strings.HasPrefix(playURL, st.HTTP+"/live/mp/other.flv?sig=") {
		t.Fatalf("playURL: got %q; want %s/live/mp/other.flv?sig=...", playURL, st.HTTP)
	}
	eventually(t, 10*time.Second, "wxuser publishing as itself", func() bool {
		tr, err := st.Rooms.Tracks("mp", "wxuser")
		return err == nil && len(tr) == 2
	})
	if kind, _ := st.Rooms.Kind("mp", "wxuser"); kind != "rtmp" {
		t.Errorf("kind: got %q; want rtmp", kind)
	}
	frames, raw := probeLive(t, playURL)
	if frames["h264"] < 60 || frames["aac"] < 60 {
		t.Errorf("playURL frames: got %v; want h264 and aac >= 60 (%s)", frames, raw)
	}
}

type countSink struct{ n int }

func (c *countSink) WriteRTP(*sfu.ExtPacket) error { c.n++; return nil }

func TestIngestRefusesBFramesAndBadFrames(t *testing.T) {
	tests := []struct {
		name     string
		ptsDelta time.Duration
		au       []byte
		wantErr  error
		wantRTP  bool
	}{
		{"plain frame", 0, h264.AVCC([][]byte{testutil.SynthNAL(h264.IDR, 50)}), nil, true},
		{"composition offset (B-frames)", 40 * time.Millisecond, h264.AVCC([][]byte{testutil.SynthNAL(h264.IDR, 50)}), ErrBFrames, false},
		{"truncated AVCC", 0, []byte{0, 0, 0, 9, 0x65}, nil, false},
		{"parameter sets only", 0, h264.AVCC([][]byte{testutil.SynthNAL(h264.SPS, 8), testutil.SynthNAL(h264.PPS, 4)}), nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			track := sfu.NewTrack(sfu.TrackOptions{ID: "v", Owner: "p", Kind: webrtc.RTPCodecTypeVideo, Codec: h264Capability})
			sink := &countSink{}
			track.AddSink(sink)
			in := &ingestStream{s: New(Options{}), log: slog.New(slog.DiscardHandler), priv: auth.PrivAll,
				warned: map[string]bool{}, video: track}
			err := in.handle(&message.Video{Codec: message.CodecH264, Type: message.VideoTypeAU, PTSDelta: tc.ptsDelta, AU: tc.au})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error: got %v; want %v", err, tc.wantErr)
			}
			if (sink.n > 0) != tc.wantRTP {
				t.Errorf("RTP packets: got %d; want some=%v", sink.n, tc.wantRTP)
			}
		})
	}
}

// TestUserlistScreenShare: a member sharing its screen is two userlist entries
// for a mini-program: its camera, then its screen with source "screen" and
// the .screen stream URLs.
func TestUserlistScreenShare(t *testing.T) {
	st := startStack(t)
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(st.HTTP, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if _, err := st.Rooms.Create("share", ""); err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteJSON(map[string]any{"type": "join", "room": "share", "client": "miniprogram",
		"userSig": st.userSig(t, "wxuser"), "privateMapKey": st.key(t, "wxuser", "share", auth.PrivAll)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Rooms.Enter(room.EnterRequest{Room: "share", UserID: "sharer", Kind: room.KindHTTP}); err != nil {
		t.Fatal(err)
	}
	h264Cap := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000}
	for _, tr := range []*sfu.Track{
		sfu.NewTrack(sfu.TrackOptions{ID: "cam", Owner: "sharer", Kind: webrtc.RTPCodecTypeVideo, Codec: h264Cap}),
		sfu.NewTrack(sfu.TrackOptions{ID: "scr", Owner: "sharer", Kind: webrtc.RTPCodecTypeVideo, Codec: h264Cap, Source: sfu.SourceScreen}),
	} {
		defer tr.Close()
		if err := st.Rooms.Publish("share", "sharer", nil, tr); err != nil {
			t.Fatal(err)
		}
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var m map[string]any
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("waiting for a userlist with the screen: %v", err)
		}
		if m["type"] != "userlist" {
			continue
		}
		list, _ := m["userlist"].([]any)
		if len(list) < 2 {
			continue
		}
		camera, screen := list[0].(map[string]any), list[1].(map[string]any)
		if camera["userID"] != "sharer" || camera["source"] != nil || !strings.Contains(camera["playURL"].(string), "/live/share/sharer.flv?sig=") {
			t.Errorf("userlist[0]: got %v; want sharer's camera, /live/share/sharer.flv", camera)
		}
		if screen["userID"] != "sharer" || screen["source"] != "screen" ||
			!strings.Contains(screen["playURL"].(string), "/live/share/sharer.screen.flv?sig=") ||
			!strings.Contains(screen["rtmpURL"].(string), "/live/share/sharer.screen?sig=") {
			t.Errorf("userlist[1]: got %v; want sharer's screen, source screen, /live/share/sharer.screen(.flv)", screen)
		}
		return
	}
}
