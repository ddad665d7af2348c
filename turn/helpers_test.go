package turn

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	pturn "github.com/pion/turn/v5"

	"github.com/openroom/openroom/internal/pionlog"
	"go.uber.org/goleak"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// testDeadline bounds every network step of a test: a safety net for a hung
// exchange, not a timing assumption (everything runs on loopback).
const testDeadline = 10 * time.Second

// requireNetns skips unless the test runs inside scripts/netns-run.sh's private
// network namespace: these tests open TURN relays.
func requireNetns(t *testing.T) {
	t.Helper()
	if os.Getenv("OPENROOM_NETNS") != "1" {
		t.Skip("opens TURN relays: run inside the private network namespace (scripts/test.sh, or scripts/netns-run.sh go test ./turn/)")
	}
}

// noLeaks fails the test if it leaves goroutines behind. Call it first, so its
// cleanup runs last.
func noLeaks(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a Server on 127.0.0.1 over UDP and TCP.
type testServer struct {
	*Server
	UDP, TCP string // listen addresses
	Logs     *syncBuffer
}

// testConfig relays on 127.0.0.1 (and ::1) from a port range of its own.
func testConfig() Config {
	return Config{
		Secret:       testSecret,
		Relays:       []RelayAddress{{IP: netip.MustParseAddr("127.0.0.1")}, {IP: netip.MustParseAddr("::1")}},
		RelayPortMin: 42000, RelayPortMax: 42999,
	}
}

// startServer runs a Server built from testConfig() changed by mod; it is closed,
// and its Serve calls are waited for, when the test ends.
func startServer(t *testing.T, mod func(*Config)) *testServer {
	t.Helper()
	requireNetns(t)
	cfg := testConfig()
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: got %v; want nil", err)
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: s, UDP: pc.LocalAddr().String(), TCP: ln.Addr().String(), Logs: logs}
	var wg sync.WaitGroup
	for _, serve := range []func() error{func() error { return s.ServePacket(pc) }, func() error { return s.Serve(ln) }} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := serve(); !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve: got %v; want %v", err, ErrServerClosed)
			}
		}()
	}
	t.Cleanup(func() {
		_ = s.Close()
		wg.Wait()
	})
	return ts
}

// creds returns valid credentials for user.
func creds(user string) (string, string) {
	return Credentials(testSecret, user, time.Now().Add(time.Hour))
}

// client is a pion TURN client.
type client struct {
	*pturn.Client
	conn net.PacketConn
}

// dialClient connects a pion TURN client to the server over network ("udp" or
// "tcp"); it is closed when the test ends.
func dialClient(t *testing.T, ts *testServer, network, user, pass string, family pturn.RequestedAddressFamily) *client {
	t.Helper()
	return dialClientFrom(t, ts, "127.0.0.1", network, user, pass, family)
}

// dialClientFrom is dialClient from the local address localIP (UDP only; TCP
// always from 127.0.0.1).
func dialClientFrom(t *testing.T, ts *testServer, localIP, network, user, pass string, family pturn.RequestedAddressFamily) *client {
	t.Helper()
	var conn net.PacketConn
	addr := ts.UDP
	switch network {
	case "udp":
		c, err := net.ListenPacket("udp4", net.JoinHostPort(localIP, "0"))
		if err != nil {
			t.Fatal(err)
		}
		conn = c
	case "tcp":
		addr = ts.TCP
		c, err := net.DialTimeout("tcp4", addr, testDeadline)
		if err != nil {
			t.Fatal(err)
		}
		conn = pturn.NewSTUNConn(c)
	default:
		t.Fatalf("network %q", network)
	}
	c, err := pturn.NewClient(&pturn.ClientConfig{
		STUNServerAddr: addr, TURNServerAddr: addr, Username: user, Password: pass,
		Realm: DefaultRealm, Conn: conn, RequestedAddressFamily: family,
		LoggerFactory: pionlog.Factory{Log: slog.New(slog.DiscardHandler)},
	})
	if err != nil {
		_ = conn.Close()
		t.Fatalf("NewClient: got %v; want nil", err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		_ = conn.Close()
	})
	return &client{Client: c, conn: conn}
}

// allocate asks for a UDP relay; the relay is released when the test ends.
func (c *client) allocate(t *testing.T) (net.PacketConn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	relay, err := c.AllocateWithContext(ctx)
	if err == nil {
		t.Cleanup(func() { _ = relay.Close() })
	}
	return relay, err
}

// mustAllocate is allocate that fails the test on error.
func (c *client) mustAllocate(t *testing.T) net.PacketConn {
	t.Helper()
	relay, err := c.allocate(t)
	if err != nil {
		t.Fatalf("Allocate: got %v; want nil", err)
	}
	return relay
}

// errorCode is the STUN error code in err (0 when err carries none).
func errorCode(err error) int {
	var te *stun.TurnError
	if errors.As(err, &te) {
		return int(te.ErrorCodeAttr.Code)
	}
	return 0
}

// within runs f and fails the test if it takes longer than testDeadline.
func within(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(testDeadline):
		t.Fatalf("%s: no answer within %v", what, testDeadline)
		return nil
	}
}

// udpPeer is a UDP socket on 127.0.0.1 standing in for a peer (the SFU).
func udpPeer(t *testing.T) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

// readWithin reads one packet, or returns an error after d.
func readWithin(pc net.PacketConn, d time.Duration) (string, net.Addr, error) {
	_ = pc.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 2048)
	n, from, err := pc.ReadFrom(buf)
	return string(buf[:n]), from, err
}

func addrPort(t *testing.T, a net.Addr) netip.AddrPort {
	t.Helper()
	ap, ok := addrPortOf(a)
	if !ok {
		t.Fatalf("address %v is not ip:port", a)
	}
	return ap
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
