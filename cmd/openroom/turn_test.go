package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/openroom/openroom/config"
	"github.com/pion/stun/v4"
	pturn "github.com/pion/turn/v5"
)

var turnLogRE = regexp.MustCompile(`msg=turn .*udp_tcp=(\S+)`)

// loginInfo calls get_login_info and returns the answer's iceServers and userSig.
func loginInfo(t *testing.T, httpAddr, user string) ([]config.ICEServer, string) {
	t.Helper()
	client := &http.Client{Timeout: runDeadline}
	defer client.CloseIdleConnections()
	resp, err := client.Post("http://"+httpAddr+"/weapp/webrtc_room/get_login_info", "application/json",
		strings.NewReader(`{"userID":"`+user+`"}`))
	if err != nil {
		t.Fatalf("get_login_info: got %v; want nil", err)
	}
	defer resp.Body.Close()
	var res struct {
		Code       int                `json:"code"`
		UserSig    string             `json:"userSig"`
		ICEServers []config.ICEServer `json:"iceServers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || res.Code != 0 {
		t.Fatalf("get_login_info: got code %v, %v; want 0, nil", res.Code, err)
	}
	return res.ICEServers, res.UserSig
}

// joinedICE joins a room over the WebSocket and returns the joined answer's iceServers.
func joinedICE(t *testing.T, httpAddr, userSig string) []config.ICEServer {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: runDeadline}
	ws, resp, err := d.Dial("ws://"+httpAddr+"/ws", nil)
	if err != nil {
		t.Fatalf("dial /ws: got %v; want nil", err)
	}
	resp.Body.Close()
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(runDeadline))
	if err := ws.WriteJSON(map[string]any{"type": "join", "room": "turnroom", "userSig": userSig}); err != nil {
		t.Fatal(err)
	}
	for {
		var msg struct {
			Type       string             `json:"type"`
			ICEServers []config.ICEServer `json:"iceServers"`
		}
		if err := ws.ReadJSON(&msg); err != nil {
			t.Fatalf("waiting for joined: %v", err)
		}
		if msg.Type == "joined" {
			_ = ws.WriteJSON(map[string]any{"type": "leave"})
			return msg.ICEServers
		}
	}
}

// turnAllocate allocates with the given credentials over network ("udp" or
// "tcp") and returns the client and its relay; both close when the test ends.
func turnAllocate(t *testing.T, network, server, user, pass string) (*pturn.Client, net.PacketConn) {
	t.Helper()
	var conn net.PacketConn
	if network == "udp" {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn = c
	} else {
		c, err := net.DialTimeout("tcp4", server, runDeadline)
		if err != nil {
			t.Fatalf("dial %s: %v", server, err)
		}
		conn = pturn.NewSTUNConn(c)
	}
	client, err := pturn.NewClient(&pturn.ClientConfig{STUNServerAddr: server, TURNServerAddr: server,
		Username: user, Password: pass, Conn: conn})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runDeadline)
	defer cancel()
	relay, err := client.AllocateWithContext(ctx)
	if err != nil {
		client.Close()
		_ = conn.Close()
		t.Fatalf("Allocate over %s with the handed-out credentials: got %v; want nil", network, err)
	}
	t.Cleanup(func() {
		_ = relay.Close()
		client.Close()
		_ = conn.Close()
	})
	return client, relay
}

// serverOf extracts host:port from a "turn:host:port?transport=x" URL.
func serverOf(t *testing.T, url string) (hostport, transport string) {
	t.Helper()
	rest, ok := strings.CutPrefix(url, "turn:")
	if !ok {
		t.Fatalf("url %q: want turn:", url)
	}
	hostport, query, _ := strings.Cut(rest, "?")
	return hostport, strings.TrimPrefix(query, "transport=")
}

func TestRunServerTURN(t *testing.T) {
	if os.Getenv("OPENROOM_NETNS") != "1" {
		t.Skip("opens TURN relays: run inside the private network namespace (scripts/test.sh)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := newSyncBuffer("msg=turn ")   // logged after "openroom listening"
	rtcPort := freeUDPPort(t, "127.0.0.1") // the SFU's
	done := startRun(t, ctx, []string{"--http", "127.0.0.1:0", "--rtmp", "", "--rtc-port", strconv.Itoa(rtcPort),
		"--node-ip", "127.0.0.1", "--turn", "127.0.0.1:0", "--turn-relay-ports", "43000-43099", "--secret", testSecret}, stderr, nil)
	waitStarted(t, stderr, done)
	httpAddr := listenRE.FindStringSubmatch(stderr.String())[1]
	m := turnLogRE.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("turn listener in the log: got none; want one in\n%s", stderr.String())
	}
	_, turnPort, _ := net.SplitHostPort(m[1])

	ice, userSig := loginInfo(t, httpAddr, "alice")
	if len(ice) != 1 {
		t.Fatalf("get_login_info iceServers: got %+v; want one TURN entry", ice)
	}
	wantURLs := []string{"turn:127.0.0.1:" + turnPort + "?transport=udp", "turn:127.0.0.1:" + turnPort + "?transport=tcp"}
	if strings.Join(ice[0].URLs, " ") != strings.Join(wantURLs, " ") {
		t.Errorf("iceServers urls: got %v; want %v", ice[0].URLs, wantURLs)
	}
	exp, user, _ := strings.Cut(ice[0].Username, ":")
	expires, _ := strconv.ParseInt(exp, 10, 64)
	if user != "alice" || time.Until(time.Unix(expires, 0)) < 23*time.Hour {
		t.Errorf("username: got %q; want expiry:alice about 24h ahead", ice[0].Username)
	}

	t.Run("joined answer has credentials", func(t *testing.T) {
		got := joinedICE(t, httpAddr, userSig)
		if len(got) != 1 || strings.Join(got[0].URLs, " ") != strings.Join(wantURLs, " ") || got[0].Username == "" || got[0].Credential == "" {
			t.Errorf("joined iceServers: got %+v; want the TURN urls with credentials", got)
		}
	})
	for _, url := range ice[0].URLs {
		server, transport := serverOf(t, url)
		t.Run("allocate over "+transport, func(t *testing.T) {
			client, _ := turnAllocate(t, transport, server, ice[0].Username, ice[0].Credential)
			sfu := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: rtcPort}
			if err := client.CreatePermission(sfu); err != nil {
				t.Errorf("CreatePermission(the SFU %v): got %v; want nil", sfu, err)
			}
			other := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: rtcPort}
			var te *stun.TurnError
			if err := client.CreatePermission(other); !errors.As(err, &te) || te.ErrorCodeAttr.Code != stun.CodeForbidden {
				t.Errorf("CreatePermission(%v): got %v; want 403", other, err)
			}
		})
	}
	cancel()
	if code := waitCode(t, done, stderr); code != 0 {
		t.Errorf("exit code: got %v; want %v; stderr:\n%s", code, 0, stderr.String())
	}
	if !strings.Contains(stderr.String(), "turn: peer refused") {
		t.Errorf("stderr: want the refusal logged in\n%s", stderr.String())
	}
}

func TestRunServerTURNDisabled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := newSyncBuffer("openroom listening")
	done := startRun(t, ctx, []string{"--http", "127.0.0.1:0", "--rtmp", "", "--rtc-port", "0", "--turn", ""}, stderr, nil)
	waitStarted(t, stderr, done)
	httpAddr := listenRE.FindStringSubmatch(stderr.String())[1]
	if ice, _ := loginInfo(t, httpAddr, "bob"); ice == nil || len(ice) != 0 {
		t.Errorf("iceServers with TURN off: got %#v; want []", ice)
	}
	cancel()
	if code := waitCode(t, done, stderr); code != 0 {
		t.Errorf("exit code: got %v; want %v", code, 0)
	}
	if turnLogRE.MatchString(stderr.String()) {
		t.Errorf("stderr: got a turn listener with --turn \"\":\n%s", stderr.String())
	}
}

func TestRunServerTURNPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stderr := newSyncBuffer("")
	done := startRun(t, context.Background(), []string{"--http", "127.0.0.1:0", "--rtc-port", "0", "--rtmp", "",
		"--turn", ln.Addr().String()}, stderr, nil)
	if code := waitCode(t, done, stderr); code != 1 {
		t.Errorf("exit code: got %v; want %v", code, 1)
	}
	if !strings.Contains(stderr.String(), "--turn") {
		t.Errorf("stderr: got %q; want it to suggest --turn", stderr.String())
	}
}

func TestTURNFlags(t *testing.T) {
	var stderr bytes.Buffer
	c, err := loadConfig([]string{"--turn", ":3479", "--turn-tls", ":443", "--turn-cert", "c.pem", "--turn-key", "k.pem",
		"--turn-host", "turn.example.com", "--turn-relay-ports", "40000-40100", "--turn-allow", "10.0.0.0/8, 192.168.1.5"},
		&stderr, fakeEnv(map[string]string{"OPENROOM_TURN_ALLOW": "172.16.0.0/12"}))
	if err != nil {
		t.Fatalf("loadConfig: got %v; want nil", err)
	}
	want := config.Default()
	want.TURN, want.TURNTLS, want.TURNCert, want.TURNKey = ":3479", ":443", "c.pem", "k.pem"
	want.TURNHost, want.TURNRelayPorts, want.TURNAllow = "turn.example.com", "40000-40100", []string{"10.0.0.0/8", "192.168.1.5"}
	if c.TURN != want.TURN || c.TURNTLS != want.TURNTLS || c.TURNCert != want.TURNCert || c.TURNKey != want.TURNKey ||
		c.TURNHost != want.TURNHost || c.TURNRelayPorts != want.TURNRelayPorts || strings.Join(c.TURNAllow, ",") != strings.Join(want.TURNAllow, ",") {
		t.Errorf("config: got %+v; want %+v", c, want)
	}
}
