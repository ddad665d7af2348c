package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/internal/testclient"
)

func TestParseStreamPath(t *testing.T) {
	tests := []struct {
		name, path, query, ext string
		want                   streamRef
		wantErr                error
	}{
		{"rtmp push", "/live/r1/alice", "sig=abc", "", streamRef{Room: "r1", User: "alice", Sig: "abc"}, nil},
		{"flv", "/live/r1/alice.flv", "sig=abc", ".flv", streamRef{Room: "r1", User: "alice", Sig: "abc"}, nil},
		{"numeric room, no sig", "/live/123456/bob", "", "", streamRef{Room: "123456", User: "bob", Sig: ""}, nil},
		{"screen flv", "/live/r1/alice.screen.flv", "sig=abc", ".flv", streamRef{Room: "r1", User: "alice", Sig: "abc", Screen: true}, nil},
		{"screen rtmp", "/live/r1/alice.screen", "", "", streamRef{Room: "r1", User: "alice", Screen: true}, nil},
		{"screen alone", "/live/r1/.screen.flv", "", ".flv", streamRef{}, nil},
		{"flv without extension", "/live/r1/alice", "", ".flv", streamRef{}, ErrBadPath},
		{"wrong app", "/app/r1/alice", "", "", streamRef{}, ErrBadPath},
		{"too short", "/live/r1", "", "", streamRef{}, ErrBadPath},
		{"too long", "/live/r1/a/b", "", "", streamRef{}, ErrBadPath},
		{"bad room", "/live/r%201/alice", "", "", streamRef{}, nil},
		{"bad user", "/live/r1/al ice", "", "", streamRef{}, nil},
		{"bad query", "/live/r1/alice", "sig=%zz", "", streamRef{}, ErrBadPath},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStreamPath(tc.path, tc.query, tc.ext)
			if tc.want == (streamRef{}) {
				if err == nil {
					t.Fatalf("got %v, nil error; want an error", got)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("error: got %v; want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestURLs(t *testing.T) {
	tests := []struct {
		name           string
		u              URLs
		host           string
		push, flv, rtm string
	}{
		{"derived from host", URLs{RTMPPort: 1935}, "rooms.example.com:8080",
			"rtmp://rooms.example.com:1935/live/r1/alice?sig=k", "http://rooms.example.com:8080/live/r1/bob.flv?sig=k", "rtmp://rooms.example.com:1935/live/r1/bob?sig=k"},
		{"configured bases", URLs{RTMPBase: "rtmp://media.example.com/", FLVBase: "https://rooms.example.com"}, "ignored:1",
			"rtmp://media.example.com/live/r1/alice?sig=k", "https://rooms.example.com/live/r1/bob.flv?sig=k", "rtmp://media.example.com/live/r1/bob?sig=k"},
		{"IPv6 host", URLs{RTMPPort: 1935}, "[::1]:8080",
			"rtmp://[::1]:1935/live/r1/alice?sig=k", "http://[::1]:8080/live/r1/bob.flv?sig=k", "rtmp://[::1]:1935/live/r1/bob?sig=k"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.u.PushURL(tc.host, "r1", "alice", "k"); got != tc.push {
				t.Errorf("push: got %s; want %s", got, tc.push)
			}
			flv, rtmp := tc.u.PlayURLs(tc.host, "r1", "bob", "k")
			if flv != tc.flv || rtmp != tc.rtm {
				t.Errorf("play: got %s, %s; want %s, %s", flv, rtmp, tc.flv, tc.rtm)
			}
		})
	}
}

// TestRTMPPushReachesWebRTCMembers: ffmpeg pushes H.264 + AAC; a WebRTC member
// of the room receives H.264 video and Opus audio from the pusher.
func TestRTMPPushReachesWebRTCMembers(t *testing.T) {
	needFFmpeg(t)
	st := startStack(t)
	// The browser member creates the room; the pusher joins it with its own key.
	c := st.join(t, "r1", "browser", testclient.Options{})
	push(t, st.rtmpURL("r1", "pusher", st.key(t, "pusher", "r1", auth.PrivAll)), 20)
	eventually(t, 15*time.Second, "video and audio from the pusher", func() bool {
		return c.Received("pusher", "video") > 60 && c.Received("pusher", "audio") > 50
	})
	codecs := map[string]bool{}
	for _, m := range c.Messages() {
		if m["type"] == "track_published" && m["userID"] == "pusher" {
			codecs[m["codec"].(string)] = true
		}
	}
	if !codecs["video/H264"] || !codecs["audio/opus"] {
		t.Errorf("published codecs: got %v; want video/H264 and audio/opus", codecs)
	}
	// A bare pusher stays a member while it streams, past the member timeout (3 s here).
	time.Sleep(4 * time.Second)
	kind, err := st.Rooms.Kind("r1", "pusher")
	if err != nil || kind != "rtmp" {
		t.Errorf("pusher kind: got %q, %v; want rtmp", kind, err)
	}
}

// TestLateMemberSeesPusherAtOnce: a browser member that joins mid-GOP gets
// the pusher's video at once (the GOP replayed from the cache), not at the
// next keyframe, which the pusher here sends every 10 s. (Without the replay
// even the member there first waits: its subscription is negotiated after
// the pusher's first keyframe went by.)
func TestLateMemberSeesPusherAtOnce(t *testing.T) {
	needFFmpeg(t)
	st := startStack(t)
	early := st.join(t, "r1", "early", testclient.Options{})
	push(t, st.rtmpURL("r1", "pusher", st.key(t, "pusher", "r1", auth.PrivAll)), 20,
		"-profile:v", "baseline", "-bf", "0", "-g", "300")
	eventually(t, 10*time.Second, "video from the pusher", func() bool { return early.Received("pusher", "video") > 30 })
	late := st.join(t, "r1", "late", testclient.Options{})
	eventually(t, 3*time.Second, "video at once for a member joining mid-GOP", func() bool {
		return late.Received("pusher", "video") > 30
	})
}

type probed struct {
	Streams []struct {
		CodecName    string `json:"codec_name"`
		CodecType    string `json:"codec_type"`
		SampleRate   string `json:"sample_rate"`
		NbReadFrames string `json:"nb_read_frames"`
	} `json:"streams"`
}

func probeLive(t *testing.T, url string) (map[string]int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rw_timeout", "10000000", "-read_intervals", "%+4",
		"-count_frames", "-show_streams", "-of", "json", url).Output()
	if err != nil {
		return nil, err.Error()
	}
	var p probed
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	frames := map[string]int{}
	for _, s := range p.Streams {
		n, _ := strconv.Atoi(s.NbReadFrames)
		frames[s.CodecName] = n
	}
	return frames, string(out)
}

// TestFLVAndRTMPOutput: what one member publishes (here a pusher, so the bytes
// go RTMP -> RTP -> FLV through the whole bridge) plays as HTTP-FLV and RTMP:
// H.264 and AAC, at least 60 frames decoded.
func TestFLVAndRTMPOutput(t *testing.T) {
	needFFmpeg(t)
	st := startStack(t)
	if _, err := st.Rooms.Create("r2", ""); err != nil {
		t.Fatal(err)
	}
	push(t, st.rtmpURL("r2", "pusher", st.key(t, "pusher", "r2", auth.PrivAll)), 30)
	eventually(t, 10*time.Second, "the pusher to publish", func() bool {
		tr, err := st.Rooms.Tracks("r2", "pusher")
		return err == nil && len(tr) == 2
	})
	viewerKey := st.key(t, "viewer", "r2", auth.PrivJoin|auth.PrivReceiveAudio|auth.PrivReceiveVideo)
	for _, tc := range []struct{ name, url string }{
		{"http-flv", st.flvURL("r2", "pusher", viewerKey)},
		{"rtmp", st.rtmpURL("r2", "pusher", viewerKey)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames, raw := probeLive(t, tc.url)
			if frames["h264"] < 60 {
				t.Errorf("h264 frames: got %d; want at least 60 (%s)", frames["h264"], raw)
			}
			if frames["aac"] < 60 {
				t.Errorf("aac frames: got %d; want at least 60 (%s)", frames["aac"], raw)
			}
		})
	}
}

func TestPushRefusals(t *testing.T) {
	needFFmpeg(t)
	st := startStack(t)
	if _, err := st.Rooms.Create("r3", ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		user    string
		sig     string
		extra   []string
		wantLog string
	}{
		{"no sig", "p1", "", nil, "missing sig"},
		{"userSig of a non-member", "p5", st.userSig(t, "p5"), nil, "works only for a member"},
		{"receive-only key", "p2", st.key(t, "p2", "r3", auth.PrivJoin|auth.PrivReceiveAudio|auth.PrivReceiveVideo), nil, "no send audio or send video privilege"},
		{"key of another user", "p3", st.key(t, "someone", "r3", auth.PrivAll), nil, "another user"},
		{"B-frames", "p4", st.key(t, "p4", "r3", auth.PrivAll), []string{"-profile:v", "main", "-bf", "2"}, "B-frames"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, _ := push(t, st.rtmpURL("r3", tc.user, tc.sig), 20, tc.extra...)
			eventually(t, 15*time.Second, "the refusal in the log", func() bool {
				return strings.Contains(st.Logs.String(), tc.wantLog)
			})
			_ = cmd
			eventually(t, 10*time.Second, tc.user+" gone from the room", func() bool {
				_, err := st.Rooms.Kind("r3", tc.user)
				return err != nil
			})
		})
	}
}

func TestViewerRefusals(t *testing.T) {
	st := startStack(t)
	st.join(t, "r4", "vp8user", testclient.Options{Publish: true, VideoMime: "video/VP8"})
	eventually(t, 10*time.Second, "the VP8 track", func() bool {
		tr, err := st.Rooms.Tracks("r4", "vp8user")
		return err == nil && len(tr) == 2
	})
	good := st.key(t, "viewer", "r4", auth.PrivJoin|auth.PrivReceiveVideo|auth.PrivReceiveAudio)
	tests := []struct {
		name       string
		url        string
		wantStatus int
		wantBody   string
	}{
		{"VP8 publisher", st.flvURL("r4", "vp8user", good), http.StatusUnsupportedMediaType, "H.264"},
		{"no receive privilege", st.flvURL("r4", "vp8user", st.key(t, "viewer", "r4", auth.PrivJoin|auth.PrivSendVideo)), http.StatusForbidden, "receive video"},
		{"key for another room", st.flvURL("r4", "vp8user", st.key(t, "viewer", "r9", auth.PrivAll)), http.StatusForbidden, "another room"},
		{"no sig", st.flvURL("r4", "vp8user", ""), http.StatusForbidden, "missing sig"},
		{"a member's userSig is accepted", st.flvURL("r4", "vp8user", st.userSig(t, "vp8user")), http.StatusUnsupportedMediaType, "H.264"},
		{"a non-member's userSig is not", st.flvURL("r4", "vp8user", st.userSig(t, "stranger")), http.StatusForbidden, "only for a member"},
		{"nobody there", st.flvURL("r4", "ghost", good), http.StatusNotFound, "not in room"},
		{"bad path", st.HTTP + "/live/r4/vp8user", http.StatusBadRequest, ".flv"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("got %d %q; want %d containing %q", resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
		})
	}
}

// TestPusherReconnectsWithinGrace: live-pusher's reconnect after a blip is
// invisible to the room: the member and its tracks stay (same track IDs) and
// media continues on them. A pusher that does not come back leaves after the
// grace period.
func TestPusherReconnectsWithinGrace(t *testing.T) {
	needFFmpeg(t)
	st := startStack(t)
	c := st.join(t, "r1", "browser", testclient.Options{})
	url := st.rtmpURL("r1", "pusher", st.key(t, "pusher", "r1", auth.PrivAll))
	first, _ := push(t, url, 30)
	eventually(t, 15*time.Second, "video from the pusher", func() bool { return c.Received("pusher", "video") > 30 })
	tracks := func() []string {
		ts, _ := st.Rooms.Tracks("r1", "pusher")
		var ids []string
		for _, tr := range ts {
			ids = append(ids, tr.ID())
		}
		slices.Sort(ids)
		return ids
	}
	before := tracks()
	_ = first.Process.Kill() // the network blips: the connection just ends
	time.Sleep(500 * time.Millisecond)
	push(t, url, 30)
	n := c.Received("pusher", "video")
	eventually(t, 15*time.Second, "video again after the reconnect", func() bool { return c.Received("pusher", "video") > n+60 })
	if after := tracks(); !slices.Equal(after, before) {
		t.Errorf("tracks after the reconnect: %v; want the same %v", after, before)
	}
	for _, m := range c.Messages() {
		if (m["type"] == "member_left" || m["type"] == "track_unpublished") && m["userID"] == "pusher" {
			t.Errorf("the browser saw %v: a reconnect within the grace period must not show", m)
		}
	}
	if !strings.Contains(st.Logs.String(), "the pusher is back") {
		t.Error("no log line says the pusher came back")
	}

	// No reconnect: after the grace period it leaves.
	t.Run("gone for good", func(t *testing.T) {
		c2 := st.join(t, "r2", "browser", testclient.Options{})
		cmd, _ := push(t, st.rtmpURL("r2", "pusher", st.key(t, "pusher", "r2", auth.PrivAll)), 30)
		eventually(t, 15*time.Second, "video from the pusher", func() bool { return c2.Received("pusher", "video") > 30 })
		_ = cmd.Process.Kill()
		start := time.Now()
		eventually(t, 10*time.Second, "the pusher to leave", func() bool {
			for _, m := range c2.Messages() {
				if m["type"] == "member_left" && m["userID"] == "pusher" {
					return true
				}
			}
			return false
		})
		if d := time.Since(start); d < testPushGrace-300*time.Millisecond {
			t.Errorf("left %v after its connection ended; want the %v grace period", d, testPushGrace)
		}
	})
}

// TestStalledViewerCut: an HTTP-FLV viewer that stops reading is cut once
// its writes block for the write timeout, and its goroutines are released; the
// pusher and another viewer go on.
func TestStalledViewerCut(t *testing.T) {
	needFFmpeg(t)
	st := startStack(t, func(o *Options) { o.ViewerWriteTimeout = 500 * time.Millisecond })
	if _, err := st.Rooms.Create("stall", ""); err != nil {
		t.Fatal(err)
	}
	// Noise at a high constant bitrate fills the socket buffers in a second or two.
	args := pushArgs(st.rtmpURL("stall", "pusher", st.key(t, "pusher", "stall", auth.PrivAll)), 60,
		"-profile:v", "baseline", "-bf", "0", "-b:v", "20M", "-minrate", "20M", "-maxrate", "20M", "-bufsize", "4M")
	for i, a := range args { // the test pattern with noise on it
		if strings.HasPrefix(a, "testsrc=") {
			args[i] = a + ",noise=alls=100:allf=t"
		}
	}
	cmd := exec.Command("ffmpeg", args...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	eventually(t, 10*time.Second, "the pusher to publish", func() bool {
		tr, err := st.Rooms.Tracks("stall", "pusher")
		return err == nil && len(tr) == 2
	})
	u, err := url.Parse(st.flvURL("stall", "pusher", st.key(t, "viewer", "stall", auth.PrivJoin|auth.PrivReceiveAudio|auth.PrivReceiveVideo)))
	if err != nil {
		t.Fatal(err)
	}
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, err := d.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", u.RequestURI(), u.Host); err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 12)
	if _, err := io.ReadFull(c, head); err != nil || string(head) != "HTTP/1.1 200" {
		t.Fatalf("viewer: got %q, %v; want HTTP/1.1 200", head, err)
	}
	// Now it reads nothing more.
	eventually(t, 30*time.Second, "the stalled viewer to be cut", func() bool { return st.Bridge.Stats().ViewerTimeouts >= 1 })
	eventually(t, 5*time.Second, "no viewer left", func() bool { return st.Bridge.Stats().Viewers == 0 })
	if !strings.Contains(st.Logs.String(), "flv: viewer cut") {
		t.Errorf("log: got no line about the cut viewer")
	}
	// The server closed its side: what is buffered drains, then EOF.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Errorf("stalled viewer's connection: got %v; want it closed by the server", err)
	}
}
