package whip

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/config"
	"github.com/openroom/openroom/internal/testclient"
	"github.com/openroom/openroom/internal/testutil"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

const testSecret = "0123456789abcdef0123456789abcdef"

type testServer struct {
	URL    string
	Rooms  *room.Manager
	Issuer *auth.Issuer
	Server *Server
}

// startServer runs a WHIP/WHEP server with a real SFU on 127.0.0.1. Run it
// inside the test network namespace (scripts/netns-run.sh), as every WebRTC test.
func startServer(t *testing.T, mod func(*Options)) *testServer {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
	issuer, err := auth.NewIssuer([]byte(testSecret), 1400000000, nil)
	if err != nil {
		t.Fatal(err)
	}
	rooms := room.NewManager(room.Options{})
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	engine, err := sfu.NewEngine(sfu.EngineConfig{UDP: udp, IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Rooms: rooms, Issuer: issuer, Engine: engine,
		ICEServers: func(host, user string) []config.ICEServer {
			return []config.ICEServer{{URLs: []string{"turn:" + host + "?transport=udp"}, Username: "u-" + user, Credential: "c"}}
		}}
	if mod != nil {
		mod(&o)
	}
	srv := New(o)
	mux := http.NewServeMux()
	srv.Register(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		<-done
		srv.Close()
		_ = udp.Close()
	})
	return &testServer{URL: "http://" + ln.Addr().String(), Rooms: rooms, Issuer: issuer, Server: srv}
}

func (ts *testServer) key(t *testing.T, user, roomName string, priv uint32) string {
	t.Helper()
	k, err := ts.Issuer.PrivateMapKey(user, roomName, priv, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// request sends one HTTP request and returns the response with its body read.
func request(t *testing.T, method, url, token, ctype, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func newPC(t *testing.T) *webrtc.PeerConnection {
	t.Helper()
	api, err := testclient.API()
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

// publisher is a pion WHIP client sending synthetic H.264 and Opus.
type publisher struct {
	pc           *webrtc.PeerConnection
	video, audio *webrtc.TrackLocalStaticRTP
	stop         chan struct{}
	wg           sync.WaitGroup
}

func newPublisher(t *testing.T, videoMime string) *publisher {
	t.Helper()
	p := &publisher{pc: newPC(t), stop: make(chan struct{})}
	vc := webrtc.RTPCodecCapability{MimeType: videoMime, ClockRate: 90000}
	if videoMime == webrtc.MimeTypeH264 {
		vc.SDPFmtpLine = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
	}
	var err error
	if p.video, err = webrtc.NewTrackLocalStaticRTP(vc, "video", "whip"); err != nil {
		t.Fatal(err)
	}
	if p.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "whip"); err != nil {
		t.Fatal(err)
	}
	for _, tr := range []webrtc.TrackLocal{p.video, p.audio} {
		if _, err := p.pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(p.close)
	return p
}

// offer returns the publisher's offer: with every candidate (gathered), or
// none (the client trickles them with PATCH).
func offerOf(t *testing.T, pc *webrtc.PeerConnection, gathered bool) string {
	t.Helper()
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !gathered {
		return o.SDP
	}
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-done
	return pc.LocalDescription().SDP
}

// pump sends a keyframe every 15 frames at 50 fps, and Opus at 50 pps.
func (p *publisher) pump() {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var n uint32
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
			n++
			_ = p.audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(n), Timestamp: n * 960, PayloadType: 111},
				Payload: []byte{0xfc, 0xff, 0xfe}})
			nal := []byte{0x41, 0x9a, 0x00, 0x11} // a P slice
			if n%15 == 1 {
				// STAP-A: SPS, PPS, IDR
				nal = []byte{0x78, 0x00, 0x04, 0x67, 0x42, 0xe0, 0x1f, 0x00, 0x02, 0x68, 0xce, 0x00, 0x03, 0x65, 0x88, 0x84}
			}
			_ = p.video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(n), Timestamp: n * 1800, Marker: true, PayloadType: 102},
				Payload: nal})
		}
	}()
}

func (p *publisher) close() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.wg.Wait()
	_ = p.pc.Close()
}

// player is a pion WHEP client counting what it receives by kind.
type player struct {
	pc       *webrtc.PeerConnection
	received sync.Map // kind -> *atomic.Int64
}

func newPlayer(t *testing.T) *player {
	t.Helper()
	pl := &player{pc: newPC(t)}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pl.pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	pl.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		n, _ := pl.received.LoadOrStore(tr.Kind().String(), &atomic.Int64{})
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			n.(*atomic.Int64).Add(1)
		}
	})
	return pl
}

func (pl *player) count(kind string) int64 {
	n, ok := pl.received.Load(kind)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, d, what, cond)
}
