package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/config"
)

const testSecret = "0123456789abcdef0123456789abcdef"

// runDeadline bounds how long a server run may take to start or stop; it is a
// safety net for a hung test, not a timing assumption.
const runDeadline = 10 * time.Second

// fakeEnv stands in for os.Environ.
func fakeEnv(vars map[string]string) environ {
	var e environ
	for k, v := range vars {
		e = append(e, k+"="+v)
	}
	return e
}

// syncBuffer is an io.Writer safe for the server's goroutines. It closes seen
// the first time the written text contains want.
type syncBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func newSyncBuffer(want string) *syncBuffer {
	return &syncBuffer{want: want, seen: make(chan struct{})}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if b.want != "" && strings.Contains(b.buf.String(), b.want) {
		select {
		case <-b.seen:
		default:
			close(b.seen)
		}
	}
	return n, err
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatalf("WriteFile: got %v; want nil", err)
	}
	return p
}

// runTokenCmd runs `openroom token args...` and returns the exit code, stdout and stderr.
func runTokenCmd(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"token"}, args...), &stdout, &stderr, fakeEnv(env))
	return code, stdout.String(), stderr.String()
}

type tokenOutput struct {
	UserID        string `json:"userID"`
	SDKAppID      uint32 `json:"sdkAppID"`
	Expires       string `json:"expires"`
	UserSig       string `json:"userSig"`
	RoomID        string `json:"roomID"`
	PrivateMapKey string `json:"privateMapKey"`
	Privileges    uint32 `json:"privileges"`
}

func decodeToken(t *testing.T, stdout string) tokenOutput {
	t.Helper()
	var out tokenOutput
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("decode %q: got %v; want nil", stdout, err)
	}
	return out
}

func TestTokenCommand(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		config   string // YAML written to a temp file and passed with --config
		args     []string
		secret   string // the secret the tokens must verify with
		room     string
		wantPriv uint32
		ttl      time.Duration
	}{
		{
			name:     "flag secret with room",
			args:     []string{"--user", "alice", "--room", "r1", "--ttl", "1h", "--secret", testSecret},
			secret:   testSecret,
			room:     "r1",
			wantPriv: auth.PrivAll,
			ttl:      time.Hour,
		},
		{
			name:   "user only",
			args:   []string{"--user", "alice", "--secret", testSecret},
			secret: testSecret,
			ttl:    time.Hour,
		},
		{
			name:     "legacy receive-only privileges",
			args:     []string{"--user", "alice", "--room", "r1", "--privileges", "42", "--ttl", "30m", "--secret", testSecret},
			secret:   testSecret,
			room:     "r1",
			wantPriv: 42,
			ttl:      30 * time.Minute,
		},
		{
			name:     "secret from env",
			env:      map[string]string{"OPENROOM_SECRET": "env-secret-env-secret"},
			args:     []string{"--user", "bob", "--room", "r2"},
			secret:   "env-secret-env-secret",
			room:     "r2",
			wantPriv: auth.PrivAll,
			ttl:      time.Hour,
		},
		{
			name:     "secret from config file",
			config:   "secret: file-secret-file-secret\n",
			args:     []string{"--user", "bob", "--room", "r2"},
			secret:   "file-secret-file-secret",
			room:     "r2",
			wantPriv: auth.PrivAll,
			ttl:      time.Hour,
		},
		{
			name:     "flag secret beats env and file",
			env:      map[string]string{"OPENROOM_SECRET": "env-secret-env-secret"},
			config:   "secret: file-secret-file-secret\n",
			args:     []string{"--user", "bob", "--room", "r2", "--secret", testSecret},
			secret:   testSecret,
			room:     "r2",
			wantPriv: auth.PrivAll,
			ttl:      time.Hour,
		},
		{
			name:     "env secret beats file",
			env:      map[string]string{"OPENROOM_SECRET": "env-secret-env-secret"},
			config:   "secret: file-secret-file-secret\n",
			args:     []string{"--user", "bob", "--room", "r2"},
			secret:   "env-secret-env-secret",
			room:     "r2",
			wantPriv: auth.PrivAll,
			ttl:      time.Hour,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.config != "" {
				args = append([]string{"--config", writeFile(t, "openroom.yaml", tc.config)}, args...)
			}
			code, stdout, stderr := runTokenCmd(t, tc.env, args...)
			if code != 0 {
				t.Fatalf("exit code: got %v; want %v (stderr %q)", code, 0, stderr)
			}
			out := decodeToken(t, stdout)
			user := args[indexOf(args, "--user")+1]
			if out.UserID != user || out.SDKAppID != 1400000000 {
				t.Errorf("userID/sdkAppID: got %v/%v; want %v/%v", out.UserID, out.SDKAppID, user, 1400000000)
			}
			if _, err := time.Parse(time.RFC3339, out.Expires); err != nil {
				t.Errorf("expires %q: got %v; want RFC 3339", out.Expires, err)
			}
			is, err := auth.NewIssuer([]byte(tc.secret), 1400000000, nil)
			if err != nil {
				t.Fatal(err)
			}
			uc, err := is.VerifyUserSig(out.UserSig, user)
			if err != nil {
				t.Fatalf("VerifyUserSig: got %v; want nil", err)
			}
			if uc.App != 1400000000 {
				t.Errorf("userSig app: got %v; want %v", uc.App, 1400000000)
			}
			if got := uc.ExpiresAt.Sub(uc.IssuedAt.Time); got != tc.ttl {
				t.Errorf("userSig lifetime: got %v; want %v", got, tc.ttl)
			}
			if tc.room == "" {
				if out.PrivateMapKey != "" || out.RoomID != "" {
					t.Errorf("room key without --room: got %q/%q; want none", out.RoomID, out.PrivateMapKey)
				}
				return
			}
			if out.RoomID != tc.room || out.Privileges != tc.wantPriv {
				t.Errorf("roomID/privileges: got %v/%v; want %v/%v", out.RoomID, out.Privileges, tc.room, tc.wantPriv)
			}
			rc, err := is.VerifyPrivateMapKey(out.PrivateMapKey, user, tc.room)
			if err != nil {
				t.Fatalf("VerifyPrivateMapKey: got %v; want nil", err)
			}
			if rc.Privileges != tc.wantPriv {
				t.Errorf("key privileges: got %v; want %v", rc.Privileges, tc.wantPriv)
			}
			// Another secret must not accept these tokens.
			other, _ := auth.NewIssuer([]byte("another-secret-entirely"), 1400000000, nil)
			if _, err := other.VerifyUserSig(out.UserSig, user); !errors.Is(err, auth.ErrForged) {
				t.Errorf("VerifyUserSig with another secret: got %v; want %v", err, auth.ErrForged)
			}
		})
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestTokenCommandErrors(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		contains string
	}{
		{name: "no user", args: []string{"--room", "r1", "--secret", testSecret}, contains: "--user is required"},
		{name: "empty user", args: []string{"--user", "", "--secret", testSecret}, contains: "--user is required"},
		{name: "bad user", args: []string{"--user", "al ice", "--secret", testSecret}, contains: "bad userID"},
		{name: "bad room", args: []string{"--user", "alice", "--room", "r/1", "--secret", testSecret}, contains: "bad room"},
		{name: "no secret anywhere", args: []string{"--user", "alice", "--room", "r1"}, contains: "no secret"},
		{name: "empty env secret", env: map[string]string{"OPENROOM_SECRET": ""}, args: []string{"--user", "alice"}, contains: "no secret"},
		{name: "short secret", args: []string{"--user", "alice", "--secret", "short"}, contains: "16"},
		{name: "privileges out of range", args: []string{"--user", "alice", "--room", "r1", "--privileges", "256", "--secret", testSecret}, contains: "--privileges 256"},
		{name: "unknown flag", args: []string{"--user", "alice", "--nope"}, contains: "nope"},
		{name: "bad ttl", args: []string{"--user", "alice", "--ttl", "forever", "--secret", testSecret}, contains: "ttl"},
		{name: "missing config file", args: []string{"--user", "alice", "--config", "/nonexistent/openroom.yaml"}, contains: "openroom.yaml"},
		{name: "bad env", env: map[string]string{"OPENROOM_RTC_PORT": "x"}, args: []string{"--user", "alice", "--secret", testSecret}, contains: "OPENROOM_RTC_PORT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runTokenCmd(t, tc.env, tc.args...)
			if code != 2 {
				t.Errorf("exit code: got %v; want %v", code, 2)
			}
			if !strings.Contains(stderr, tc.contains) {
				t.Errorf("stderr: got %q; want it to contain %q", stderr, tc.contains)
			}
			if stdout != "" {
				t.Errorf("stdout: got %q; want nothing", stdout)
			}
		})
	}
}

func TestLoadConfigPrecedence(t *testing.T) {
	file := writeFile(t, "openroom.yaml", "rtc_port: 1000\nhttp: 127.0.0.1:1111\nlog_level: warn\nopen_login: false\nsecret: 0123456789abcdef0123\n")
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		check func(t *testing.T, c config.Config)
	}{
		{
			name: "defaults",
			check: func(t *testing.T, c config.Config) {
				t.Helper()
				def := config.Default()
				if c.RTCPort != def.RTCPort || c.HTTP != def.HTTP || c.OpenLogin != def.OpenLogin || c.LogLevel != def.LogLevel {
					t.Errorf("config: got %+v; want %+v", c, def)
				}
			},
		},
		{
			name: "file over defaults",
			args: []string{"--config", file},
			check: func(t *testing.T, c config.Config) {
				t.Helper()
				if c.RTCPort != 1000 || c.HTTP != "127.0.0.1:1111" || c.LogLevel != "warn" || c.OpenLogin {
					t.Errorf("rtc/http/log/open: got %v/%v/%v/%v; want %v/%v/%v/%v", c.RTCPort, c.HTTP, c.LogLevel, c.OpenLogin,
						1000, "127.0.0.1:1111", "warn", false)
				}
				if c.RoomCapacity != 16 {
					t.Errorf("RoomCapacity: got %v; want %v", c.RoomCapacity, 16)
				}
			},
		},
		{
			name: "env over file",
			env:  map[string]string{"OPENROOM_RTC_PORT": "2000"},
			args: []string{"--config", file},
			check: func(t *testing.T, c config.Config) {
				t.Helper()
				if c.RTCPort != 2000 {
					t.Errorf("RTCPort: got %v; want %v", c.RTCPort, 2000)
				}
				if c.HTTP != "127.0.0.1:1111" {
					t.Errorf("HTTP: got %v; want %v", c.HTTP, "127.0.0.1:1111")
				}
			},
		},
		{
			name: "flag over env over file",
			env:  map[string]string{"OPENROOM_RTC_PORT": "2000"},
			args: []string{"--config", file, "--rtc-port", "3000"},
			check: func(t *testing.T, c config.Config) {
				t.Helper()
				if c.RTCPort != 3000 {
					t.Errorf("RTCPort: got %v; want %v", c.RTCPort, 3000)
				}
			},
		},
		{
			name: "flag order does not matter",
			env:  map[string]string{"OPENROOM_RTC_PORT": "2000"},
			args: []string{"--rtc-port", "3000", "--config", file},
			check: func(t *testing.T, c config.Config) {
				t.Helper()
				if c.RTCPort != 3000 {
					t.Errorf("RTCPort: got %v; want %v", c.RTCPort, 3000)
				}
			},
		},
		{
			name: "unset flags do not override",
			env:  map[string]string{"OPENROOM_OPEN_LOGIN": "false", "OPENROOM_ROOM_CAPACITY": "3", "OPENROOM_SECRET": testSecret},
			check: func(t *testing.T, c config.Config) {
				t.Helper()
				if c.OpenLogin {
					t.Errorf("OpenLogin: got %v; want %v", c.OpenLogin, false)
				}
				if c.RoomCapacity != 3 {
					t.Errorf("RoomCapacity: got %v; want %v", c.RoomCapacity, 3)
				}
				if c.RTCPort != 7882 {
					t.Errorf("RTCPort: got %v; want %v", c.RTCPort, 7882)
				}
			},
		},
		{
			name: "empty http flag disables http",
			env:  map[string]string{"OPENROOM_HTTP": "127.0.0.1:2222"},
			args: []string{"--config", file, "--http", ""},
			check: func(t *testing.T, c config.Config) {
				t.Helper()
				if c.HTTP != "" {
					t.Errorf("HTTP: got %q; want %q", c.HTTP, "")
				}
			},
		},
		{
			name: "zero rtc port flag disables webrtc",
			env:  map[string]string{"OPENROOM_RTC_PORT": "2000"},
			args: []string{"--rtc-port", "0"},
			check: func(t *testing.T, c config.Config) {
				t.Helper()
				if c.RTCPort != 0 {
					t.Errorf("RTCPort: got %v; want %v", c.RTCPort, 0)
				}
			},
		},
		{
			name: "every flag",
			args: []string{"--http", "127.0.0.1:0", "--rtc-port", "4000", "--node-ip", "203.0.113.9", "--secret", testSecret,
				"--open-login=false", "--room-capacity", "5", "--member-timeout", "40s", "--log-level", "debug"},
			check: func(t *testing.T, c config.Config) {
				t.Helper()
				want := config.Default()
				want.HTTP, want.RTCPort, want.NodeIP, want.Secret = "127.0.0.1:0", 4000, "203.0.113.9", testSecret
				want.OpenLogin, want.RoomCapacity, want.MemberTimeout, want.LogLevel = false, 5, 40*time.Second, "debug"
				if c.HTTP != want.HTTP || c.RTCPort != want.RTCPort || c.NodeIP != want.NodeIP || c.Secret != want.Secret ||
					c.OpenLogin != want.OpenLogin || c.RoomCapacity != want.RoomCapacity || c.MemberTimeout != want.MemberTimeout ||
					c.LogLevel != want.LogLevel {
					t.Errorf("config: got %+v; want %+v", c, want)
				}
			},
		},
		{
			name: "open login flag beats env",
			env:  map[string]string{"OPENROOM_OPEN_LOGIN": "false"},
			args: []string{"--open-login"},
			check: func(t *testing.T, c config.Config) {
				t.Helper()
				if !c.OpenLogin {
					t.Errorf("OpenLogin: got %v; want %v", c.OpenLogin, true)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			c, err := loadConfig(tc.args, &stderr, fakeEnv(tc.env))
			if err != nil {
				t.Fatalf("loadConfig: got %v; want nil (stderr %q)", err, stderr.String())
			}
			tc.check(t, c)
		})
	}
}

func TestLoadConfigErrors(t *testing.T) {
	unknown := writeFile(t, "unknown.yaml", "rtc_port: 1000\nrtc_prot: 2000\n")
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		contains string
		invalid  bool // wraps config.ErrInvalid
	}{
		{name: "unknown yaml key", args: []string{"--config", unknown}, contains: "rtc_prot", invalid: true},
		{name: "missing file", args: []string{"--config", filepath.Join(t.TempDir(), "missing.yaml")}, contains: "missing.yaml", invalid: true},
		{name: "stray positional", args: []string{"--rtc-port", "0", "serve"}, contains: `unexpected argument "serve"`},
		{name: "bool flag with separate value", args: []string{"--open-login", "false"}, contains: `unexpected argument "false"`},
		{name: "unknown flag", args: []string{"--rtc-prot", "1"}, contains: "rtc-prot"},
		{name: "bad flag value", args: []string{"--rtc-port", "many"}, contains: "rtc-port"},
		{name: "invalid after flags", args: []string{"--rtc-port", "70000"}, contains: "rtc_port 70000", invalid: true},
		{name: "invalid env", env: map[string]string{"OPENROOM_RTC_PORT": "x"}, contains: "OPENROOM_RTC_PORT", invalid: true},
		{name: "invalid node ip flag", args: []string{"--node-ip", "abc"}, contains: "node_ip", invalid: true},
		{name: "short secret flag", args: []string{"--secret", "short"}, contains: "secret", invalid: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			_, err := loadConfig(tc.args, &stderr, fakeEnv(tc.env))
			if err == nil {
				t.Fatalf("loadConfig: got nil; want an error containing %q", tc.contains)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error: got %q; want it to contain %q", err.Error(), tc.contains)
			}
			if tc.invalid && !errors.Is(err, config.ErrInvalid) {
				t.Errorf("error: got %v; want %v", err, config.ErrInvalid)
			}
		})
	}
}

func TestRunUsageAndBadArgs(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "help", args: []string{"help"}, wantCode: 0, wantStdout: "openroom token --user U"},
		{name: "--help", args: []string{"--help"}, wantCode: 0, wantStdout: "Usage:"},
		{name: "-h", args: []string{"-h"}, wantCode: 0, wantStdout: "Usage:"},
		{name: "help after a flag", args: []string{"--rtc-port", "0", "-help"}, wantCode: 0, wantStderr: "Usage:"},
		{name: "stray argument", args: []string{"serve"}, wantCode: 2, wantStderr: `unexpected argument "serve"`},
		{name: "invalid config", args: []string{"--room-capacity", "0"}, wantCode: 2, wantStderr: "room_capacity 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr, fakeEnv(nil))
			if code != tc.wantCode {
				t.Errorf("exit code: got %v; want %v (stderr %q)", code, tc.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantStdout) {
				t.Errorf("stdout: got %q; want it to contain %q", stdout.String(), tc.wantStdout)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr: got %q; want it to contain %q", stderr.String(), tc.wantStderr)
			}
		})
	}
}

// startRun runs the server in a goroutine and returns its exit code channel.
func startRun(t *testing.T, ctx context.Context, args []string, stderr io.Writer, env map[string]string) <-chan int {
	t.Helper()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, args, io.Discard, stderr, fakeEnv(env))
	}()
	return done
}

// waitStarted waits until the server's stderr shows what it was made to
// watch for (newSyncBuffer), failing if run returns first or it takes too long.
func waitStarted(t *testing.T, stderr *syncBuffer, done <-chan int) {
	t.Helper()
	select {
	case <-stderr.seen:
	case code := <-done:
		t.Fatalf("run returned %v before starting; stderr:\n%s", code, stderr.String())
	case <-time.After(runDeadline):
		t.Fatalf("server did not start within %v; stderr:\n%s", runDeadline, stderr.String())
	}
}

// freeUDPPort returns a UDP port on ip that nothing listened on a moment ago.
func freeUDPPort(t *testing.T, ip string) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func waitCode(t *testing.T, done <-chan int, stderr *syncBuffer) int {
	t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(runDeadline):
		t.Fatalf("run did not return within %v; stderr:\n%s", runDeadline, stderr.String())
		return -1
	}
}

var listenRE = regexp.MustCompile(`msg="openroom listening" http=(\S+)`)

func TestRunServer(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantHTTP bool
	}{
		{name: "http only", args: []string{"--http", "127.0.0.1:0", "--rtc-port", "0", "--rtmp", "", "--turn", ""}, wantHTTP: true},
		{name: "with bridge", args: []string{"--http", "127.0.0.1:0", "--rtc-port", "0", "--rtmp", "127.0.0.1:0", "--turn", ""}, wantHTTP: true},
		{name: "with secret and closed login", args: []string{"--http", "127.0.0.1:0", "--rtc-port", "0", "--rtmp", "", "--turn", "", "--secret", testSecret, "--open-login=false"}, wantHTTP: true},
		{name: "nothing enabled", args: []string{"--http", "", "--rtc-port", "0", "--rtmp", "", "--turn", ""}, env: map[string]string{"OPENROOM_HTTP": "127.0.0.1:0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			want := "openroom listening"
			if !tc.wantHTTP {
				want = "open_login is on"
			}
			stderr := newSyncBuffer(want)
			done := startRun(t, ctx, tc.args, stderr, tc.env)
			waitStarted(t, stderr, done)
			if tc.wantHTTP {
				m := listenRE.FindStringSubmatch(stderr.String())
				if m == nil {
					t.Fatalf("listen address in log: got none; want one in\n%s", stderr.String())
				}
				client := &http.Client{Timeout: runDeadline}
				resp, err := client.Get("http://" + m[1] + "/")
				if err != nil {
					t.Fatalf("GET /: got %v; want nil", err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET / status: got %v; want %v", resp.StatusCode, http.StatusOK)
				}
				client.CloseIdleConnections()
			} else if strings.Contains(stderr.String(), "openroom listening") {
				t.Errorf("stderr: got %q; want no HTTP listener", stderr.String())
			}
			cancel()
			if code := waitCode(t, done, stderr); code != 0 {
				t.Errorf("exit code: got %v; want %v; stderr:\n%s", code, 0, stderr.String())
			}
			if !strings.Contains(stderr.String(), "shutting down") {
				t.Errorf("stderr: got %q; want it to contain %q", stderr.String(), "shutting down")
			}
			if strings.Contains(stderr.String(), "no secret configured") == (indexOf(tc.args, "--secret") >= 0) {
				t.Errorf("generated-secret warning: got stderr %q; want it only without --secret", stderr.String())
			}
		})
	}
}

func TestRunServerCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stderr := newSyncBuffer("")
	done := startRun(t, ctx, []string{"--http", "127.0.0.1:0", "--rtc-port", "0", "--rtmp", "", "--turn", ""}, stderr, nil)
	if code := waitCode(t, done, stderr); code != 0 {
		t.Errorf("exit code: got %v; want %v; stderr:\n%s", code, 0, stderr.String())
	}
}
