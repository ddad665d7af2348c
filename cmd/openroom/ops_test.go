package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: runDeadline}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestOpsEndpoints(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := newSyncBuffer("openroom listening")
	done := startRun(t, ctx, []string{"--http", "127.0.0.1:0", "--rtc-port", "0", "--rtmp", "", "--turn", "",
		"--log-format", "json"}, stderr, nil)
	waitStarted(t, stderr, done)
	if !strings.Contains(stderr.String(), `"msg":"openroom listening"`) {
		t.Fatalf("log format: got %s; want JSON lines", stderr.String())
	}
	addr := strings.SplitN(strings.SplitN(stderr.String(), `"http":"`, 2)[1], `"`, 2)[0]
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/healthz", 200, "ok"},
		{"/readyz", 200, "ready"},
		{"/metrics", 200, "openroom_rooms 0"},
		{"/metrics", 200, "go_goroutines"},
	}
	for _, tc := range tests {
		t.Run(tc.path+" "+tc.body, func(t *testing.T) {
			status, body := get(t, "http://"+addr+tc.path)
			if status != tc.status || !strings.Contains(body, tc.body) {
				t.Errorf("got %d %.80q; want %d containing %q", status, body, tc.status, tc.body)
			}
		})
	}
	cancel()
	if code := waitCode(t, done, stderr); code != 0 {
		t.Errorf("exit code: got %d; want 0", code)
	}
}

func TestProductionProfile(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no secret", []string{"--production"}, 2, "secret is required"},
		{"open login kept on", []string{"--production", "--open-login=true", "--secret", testSecret}, 2, "open_login must be false"},
		{"closed login without secret", []string{"--open-login=false"}, 2, "no secret is set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), append(tc.args, "--http", "127.0.0.1:0", "--rtc-port", "0", "--rtmp", "", "--turn", ""),
				&out, &errb, fakeEnv(nil))
			if code != tc.wantCode || !strings.Contains(errb.String(), tc.wantErr) {
				t.Errorf("got %d %q; want %d containing %q", code, errb.String(), tc.wantCode, tc.wantErr)
			}
		})
	}
}

func TestConfigPrint(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    []string
		notWant string
	}{
		{"defaults with a flag", []string{"--rtc-port", "9000"}, nil, []string{"rtc_port: 9000", "http: :8080", "drain: 10s"}, ""},
		{"secrets masked", []string{"--secret", testSecret}, nil, []string{"secret: '********'"}, testSecret},
		{"secrets shown on request", []string{"--secret", testSecret, "--show-secrets"}, nil, []string{testSecret}, ""},
		{"env applies", nil, map[string]string{"OPENROOM_LOG_FORMAT": "json"}, []string{"log_format: json"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), append([]string{"config", "print"}, tc.args...), &out, &errb, fakeEnv(tc.env)); code != 0 {
				t.Fatalf("exit: got %d (%s); want 0", code, errb.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("got no %q in\n%s", w, out.String())
				}
			}
			if tc.notWant != "" && strings.Contains(out.String(), tc.notWant) {
				t.Errorf("got %q printed; want it masked", tc.notWant)
			}
		})
	}
}

// TestDrainWithMembersLeavesNothingRunning: the in-process twin of the SIGTERM
// e2e test: members connected, shutdown drains and closes them, and no
// goroutine of the server is left.
func TestDrainWithMembersLeavesNothingRunning(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := newSyncBuffer("openroom listening")
	done := startRun(t, ctx, []string{"--http", "127.0.0.1:0", "--rtc-port", "0", "--rtmp", "", "--turn", "",
		"--drain", "1s"}, stderr, nil)
	waitStarted(t, stderr, done)
	addr := listenRE.FindStringSubmatch(stderr.String())[1]
	_, sig := loginInfo(t, addr, "alice")
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteJSON(map[string]any{"type": "join", "room": "drain", "userSig": sig}); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	_ = ws.SetReadDeadline(time.Now().Add(runDeadline))
	cancelled := false
	var closeErr error
	for {
		var m map[string]any
		if err := ws.ReadJSON(&m); err != nil {
			closeErr = err // the server closed the socket after the drain
			break
		}
		got[m["type"].(string)] = true
		if m["type"] == "joined" && !cancelled {
			cancel() // as SIGTERM does
			cancelled = true
		}
	}
	for _, want := range []string{"joined", "going_away"} {
		if !got[want] {
			t.Errorf("messages: got %v; want %q among them", got, want)
		}
	}
	// Not a kick: the close says "come back" (1012, service restart), so clients resume or rejoin.
	var ce *websocket.CloseError
	if !errors.As(closeErr, &ce) || ce.Code != websocket.CloseServiceRestart || got["kicked"] {
		t.Errorf("close: got %v (kicked %v); want close code 1012 and no kick", closeErr, got["kicked"])
	}
	if code := waitCode(t, done, stderr); code != 0 {
		t.Errorf("exit code: got %d; want 0", code)
	}
}

func TestBadValueNamesFileLine(t *testing.T) {
	file := writeFile(t, "openroom.yaml", "http: \":8080\"\nrtc_port: 70000\n")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--config", file}, &out, &errb, fakeEnv(nil))
	if code != 2 || !strings.Contains(errb.String(), "rtc_port 70000: want 1-65535") || !strings.Contains(errb.String(), "line 2") {
		t.Errorf("got %d %q; want 2 naming rtc_port, what is allowed and line 2", code, errb.String())
	}
}
