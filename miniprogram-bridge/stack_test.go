package bridge

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/config"
	"github.com/openroom/openroom/internal/testclient"
	"github.com/openroom/openroom/internal/testutil"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
	"github.com/openroom/openroom/signaling"
)

const testSecret = "0123456789abcdef0123456789abcdef"

// syncBuffer collects logs from many goroutines.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// stack is the whole server in-process on 127.0.0.1: signaling, SFU and bridge.
type stack struct {
	HTTP     string // http://127.0.0.1:port
	RTMPPort int
	Rooms    *room.Manager
	Issuer   *auth.Issuer
	Logs     *syncBuffer
	Bridge   *Server
}

func (st *stack) rtmpURL(roomName, user, sig string) string {
	return streamURL("rtmp://127.0.0.1:"+strconv.Itoa(st.RTMPPort), roomName, user, "", sig)
}

func (st *stack) flvURL(roomName, user, sig string) string {
	return streamURL(st.HTTP, roomName, user, ".flv", sig)
}

func (st *stack) key(t *testing.T, user, roomName string, priv uint32) string {
	t.Helper()
	k, err := st.Issuer.PrivateMapKey(user, roomName, priv, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (st *stack) userSig(t *testing.T, user string) string {
	t.Helper()
	k, err := st.Issuer.UserSig(user, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// join connects a pion member (testclient) to roomName as user, with a room key
// for every privilege; o adds what it publishes. It is closed when the test ends.
func (st *stack) join(t *testing.T, roomName, user string, o testclient.Options) *testclient.Client {
	t.Helper()
	o.URL, o.Room, o.UserSig, o.RoomKey = st.HTTP, roomName, st.userSig(t, user), st.key(t, user, roomName, auth.PrivAll)
	return testclient.JoinTest(t, o)
}

func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (scripts/test.sh installs ffmpeg)", tool)
		}
	}
}

// testPushGrace is the stack's grace for a pusher's reconnect (under its 3 s member timeout).
const testPushGrace = 2 * time.Second

// startStack runs everything with open_login off, so every stream needs a sig.
func startStack(t *testing.T, mods ...func(*Options)) *stack {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := config.Default()
	cfg.OpenLogin = false
	// Short liveness, so a test notices a member that nothing keeps alive.
	cfg.MemberTimeout, cfg.PingInterval = 3*time.Second, 500*time.Millisecond
	issuer, err := auth.NewIssuer([]byte(testSecret), cfg.SDKAppID, nil)
	if err != nil {
		t.Fatal(err)
	}
	rooms := room.NewManager(room.Options{Capacity: 16, Timeout: cfg.MemberTimeout, Logger: log})
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	engine, err := sfu.NewEngine(sfu.EngineConfig{UDP: udp, IncludeLoopback: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	rtmpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bo := Options{Rooms: rooms, Issuer: issuer, Transcoders: FFmpegTranscoders{}, Logger: log, PushGrace: testPushGrace}
	for _, m := range mods {
		m(&bo)
	}
	br := New(bo)
	port := rtmpLn.Addr().(*net.TCPAddr).Port
	sig := signaling.New(signaling.Options{Config: cfg, Issuer: issuer, Rooms: rooms, Engine: engine, Logger: log,
		StreamURLs: URLs{RTMPPort: port}})
	mux := http.NewServeMux()
	sig.Register(mux)
	mux.Handle("GET /live/{room}/{file}", br)
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	var wg sync.WaitGroup
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	wg.Add(3)
	go func() {
		defer wg.Done()
		rooms.Run(sweepCtx, 200*time.Millisecond)
	}()
	go func() {
		defer wg.Done()
		if err := hs.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("http: %v", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := br.ServeRTMP(rtmpLn); err != nil {
			t.Errorf("rtmp: %v", err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		sig.Close()
		stopSweep()
		_ = rtmpLn.Close()
		br.Close()
		wg.Wait()
		_ = udp.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &stack{HTTP: "http://" + httpLn.Addr().String(), RTMPPort: port, Rooms: rooms, Issuer: issuer, Logs: logs, Bridge: br}
}

// pushArgs is a pusher like WeChat's live-pusher: H.264 baseline without
// B-frames, AAC, FLV over RTMP, in real time, with a test pattern and a tone.
func pushArgs(url string, seconds int, extra ...string) []string {
	args := []string{"-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", strconv.Itoa(seconds), "-pix_fmt", "yuv420p",
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "30"}
	if len(extra) == 0 {
		extra = []string{"-profile:v", "baseline", "-bf", "0"}
	}
	args = append(args, extra...)
	return append(args, "-c:a", "aac", "-b:a", "64k", "-f", "flv", url)
}

// push starts ffmpeg pushing to url; the process is killed at cleanup.
func push(t *testing.T, url string, seconds int, extra ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command("ffmpeg", pushArgs(url, seconds, extra...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	return cmd, out
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, d, what, cond)
}
