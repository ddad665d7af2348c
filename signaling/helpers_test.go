package signaling

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/config"
	"github.com/openroom/openroom/internal/testutil"
	"github.com/openroom/openroom/internal/udpbatch"
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

// startServer runs the signaling server (and, with media, the SFU) on
// 127.0.0.1; opts change its Options last.
func startServer(t *testing.T, media bool, mod func(*config.Config), opts ...func(*Options)) *testServer {
	t.Helper()
	cfg := config.Default()
	cfg.HTTP = "127.0.0.1:0"
	if mod != nil {
		mod(&cfg)
	}
	issuer, err := auth.NewIssuer([]byte(testSecret), cfg.SDKAppID, nil)
	if err != nil {
		t.Fatal(err)
	}
	rooms := room.NewManager(room.Options{Capacity: cfg.RoomCapacity, Timeout: cfg.MemberTimeout})
	var engine *sfu.Engine
	var udp net.PacketConn
	if media {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		bc, err := udpbatch.New(pc) // batched sends, as the server has them
		if err != nil {
			t.Fatal(err)
		}
		udp = bc
		if engine, err = sfu.NewEngine(sfu.EngineConfig{UDP: bc, Batch: bc, IncludeLoopback: true}); err != nil {
			t.Fatal(err)
		}
	}
	o := Options{Config: cfg, Issuer: issuer, Rooms: rooms, Engine: engine}
	for _, f := range opts {
		f(&o)
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
	ctx, cancel := context.WithCancel(context.Background())
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		rooms.Run(ctx, 100*time.Millisecond)
	}()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = hs.Shutdown(sctx)
		srv.Close()
		cancel()
		<-done
		<-sweepDone
		if udp != nil {
			_ = udp.Close()
		}
	})
	return &testServer{URL: "http://" + ln.Addr().String(), Rooms: rooms, Issuer: issuer, Server: srv}
}

func (ts *testServer) userSig(t *testing.T, user string) string {
	t.Helper()
	s, err := ts.Issuer.UserSig(user, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, d, what, cond)
}
