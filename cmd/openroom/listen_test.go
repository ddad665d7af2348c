package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/openroom/openroom/config"
)

// freeTCPAddr returns a 127.0.0.1 TCP address that nothing listened on a moment ago.
func freeTCPAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestOpenSocketsReportsEveryBusyAddress: with the HTTP and WebRTC ports taken,
// one error names both with the settings that move them, and the listeners
// that did open are closed again.
func TestOpenSocketsReportsEveryBusyAddress(t *testing.T) {
	busyTCP, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busyTCP.Close()
	busyUDP, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busyUDP.Close()
	rtcPort := busyUDP.LocalAddr().(*net.UDPAddr).Port
	cfg := config.Default()
	cfg.HTTP, cfg.RTCPort = busyTCP.Addr().String(), rtcPort
	cfg.RTMP, cfg.TURN = freeTCPAddr(t), freeTCPAddr(t)

	s, err := openSockets(cfg, []string{"127.0.0.1"})
	if s != nil {
		s.close()
		t.Fatalf("openSockets: got sockets; want none")
	}
	var le listenError
	if !errors.As(err, &le) || len(le) != 2 {
		t.Fatalf("openSockets: got %v; want a listenError of 2", err)
	}
	want := fmt.Sprintf("2 addresses are in use: udp 127.0.0.1:%d (WebRTC; change with --rtc-port or OPENROOM_RTC_PORT), "+
		"%s (HTTP; change with --http or OPENROOM_HTTP)", rtcPort, busyTCP.Addr())
	if got := err.Error(); got != want {
		t.Errorf("error: got %q; want %q", got, want)
	}
	for _, addr := range []string{cfg.RTMP, cfg.TURN} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("listen %s after the failure: got %v; want it closed by openSockets", addr, err)
			continue
		}
		ln.Close()
	}
}

func TestListenErrorMessage(t *testing.T) {
	inUse := &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EADDRINUSE)}
	denied := &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EACCES)}
	noAddr := &net.OpError{Op: "listen", Net: "udp", Err: os.NewSyscallError("bind", syscall.EADDRNOTAVAIL)}
	tests := []struct {
		name string
		err  listenError
		want string
	}{
		{
			name: "one in use",
			err:  listenError{{what: "RTMP", network: "tcp", addr: ":1935", key: "rtmp", err: inUse}},
			want: "1 address is in use: :1935 (RTMP; change with --rtmp or OPENROOM_RTMP, or \"\" to turn it off)",
		},
		{
			name: "TURN over UDP and TLS",
			err: listenError{{what: "TURN over UDP", network: "udp", addr: ":3478", key: "turn", err: inUse},
				{what: "TURN over TLS", network: "tcp", addr: ":5349", key: "turn_tls", err: inUse}},
			want: "2 addresses are in use: udp :3478 (TURN over UDP; change with --turn or OPENROOM_TURN, or \"\" to turn it off), " +
				":5349 (TURN over TLS; change with --turn-tls or OPENROOM_TURN_TLS, or \"\" to turn it off)",
		},
		{
			name: "not only in use",
			err: listenError{{what: "HTTPS", network: "tcp", addr: ":443", key: "https", err: denied},
				{what: "WebRTC", network: "udp", addr: "192.0.2.1:7882", key: "rtc_port", err: noAddr},
				{what: "HTTP", network: "tcp", addr: ":8080", key: "http", err: inUse}},
			want: "cannot listen on 3 addresses: :443 (HTTPS: permission denied: ports below 1024 need CAP_NET_BIND_SERVICE" +
				" (docs/deploy.md); change with --https or OPENROOM_HTTPS), udp 192.0.2.1:7882 (WebRTC: cannot assign requested" +
				" address; change with --rtc-port or OPENROOM_RTC_PORT), :8080 (HTTP; change with --http or OPENROOM_HTTP)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

// TestRunServerPortsInUse: busy HTTP and RTMP ports end the start with one
// error naming both, and the flags to change them.
func TestRunServerPortsInUse(t *testing.T) {
	var busy []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		busy = append(busy, ln.Addr().String())
	}
	stderr := newSyncBuffer("")
	done := startRun(t, t.Context(), []string{"--http", busy[0], "--rtmp", busy[1], "--rtc-port", "0", "--turn", ""}, stderr, nil)
	if code := waitCode(t, done, stderr); code != 1 {
		t.Errorf("exit code: got %v; want %v", code, 1)
	}
	want := `msg="cannot start" err="2 addresses are in use: ` + busy[1] + ` (RTMP; change with --rtmp or OPENROOM_RTMP, or \"\" to turn it off), ` +
		busy[0] + ` (HTTP; change with --http or OPENROOM_HTTP)"` + "\n"
	if got := stderr.String(); !strings.Contains(got, want) {
		t.Errorf("stderr: got %q; want a line ending %q", got, want)
	}
}
