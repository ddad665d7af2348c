package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// fakeEnv is a lookup func over a fixed map, standing in for os.LookupEnv.
func fakeEnv(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func loadYAML(t *testing.T, doc string) (Config, error) {
	t.Helper()
	c := Default()
	err := c.LoadYAML(strings.NewReader(doc), "test.yaml")
	return c, err
}

func TestDefaultValidates(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate(): got %v; want nil", err)
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "http", got: c.HTTP, want: ":8080"},
		{name: "rtc_port", got: c.RTCPort, want: 7882},
		{name: "open_login", got: c.OpenLogin, want: true},
		{name: "sdk_app_id", got: c.SDKAppID, want: uint32(1400000000)},
		{name: "token_ttl", got: c.TokenTTL, want: 24 * time.Hour},
		{name: "room_capacity", got: c.RoomCapacity, want: 16},
		{name: "member_timeout", got: c.MemberTimeout, want: 20 * time.Second},
		{name: "ping_interval", got: c.PingInterval, want: 5 * time.Second},
		{name: "allowed_origins", got: c.AllowedOrigins, want: []string(nil)},
		{name: "origins in dev mode", got: c.Origins(), want: []string{"*"}},
		{name: "max_connections", got: c.MaxConnections, want: 10000},
		{name: "max_connections_per_ip", got: c.MaxConnectionsPerIP, want: 256},
		{name: "http_header_timeout", got: c.HTTPHeaderTimeout, want: 10 * time.Second},
		{name: "http_body_timeout", got: c.HTTPBodyTimeout, want: 30 * time.Second},
		{name: "http_idle_timeout", got: c.HTTPIdleTimeout, want: 60 * time.Second},
		{name: "join_timeout", got: c.JoinTimeout, want: 15 * time.Second},
		{name: "viewer_write_timeout", got: c.ViewerWriteTimeout, want: 10 * time.Second},
		{name: "max_sdp_bytes", got: c.MaxSDPBytes, want: 32768},
		{name: "max_sdp_media", got: c.MaxSDPMedia, want: 16},
		{name: "log_level", got: c.LogLevel, want: "info"},
		{name: "secret", got: c.Secret, want: ""},
		{name: "turn", got: c.TURN, want: ":3478"},
		{name: "turn_tls", got: c.TURNTLS, want: ":5349"},
		{name: "turn tls enabled", got: c.TURNTLSEnabled(), want: false},
		{name: "turn_realm", got: c.TURNRealm, want: "openroom"},
		{name: "turn_ttl", got: c.TURNTTL, want: 24 * time.Hour},
		{name: "turn_relay_ports", got: c.TURNRelayPorts, want: "49152-65535"},
		{name: "turn_ip_quota", got: c.TURNIPQuota, want: 64},
		{name: "turn_user_quota", got: c.TURNUserQuota, want: 10},
		{name: "turn_total_quota", got: c.TURNTotalQuota, want: 1000},
		{name: "turn_bandwidth", got: c.TURNBandwidth, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("got %v; want %v", tc.got, tc.want)
			}
		})
	}
}

func TestDefaultIsFresh(t *testing.T) {
	a := Default()
	a.AllowedOrigins = append(a.AllowedOrigins, "https://example.com")
	a.Origins()[0] = "https://example.com"
	if got := Default().Origins(); !reflect.DeepEqual(got, []string{"*"}) {
		t.Errorf("Default().Origins() after mutating a copy: got %v; want [*]", got)
	}
}

func TestOrigins(t *testing.T) {
	tests := []struct {
		name       string
		production bool
		set        []string
		want       []string
	}{
		{"dev, unset: any", false, nil, []string{"*"}},
		{"production, unset: own only", true, nil, nil},
		{"production, set", true, []string{"https://a.example"}, []string{"https://a.example"}},
		{"production, any on purpose", true, []string{"*"}, []string{"*"}},
		{"dev, set", false, []string{"https://a.example"}, []string{"https://a.example"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Production, c.AllowedOrigins = tc.production, tc.set
			if got := c.Origins(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v; want %v", got, tc.want)
			}
		})
	}
}

func TestLoadYAMLOverlay(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		check func(t *testing.T, c Config)
	}{
		{
			name: "duration",
			doc:  "member_timeout: 30s\nping_interval: 10s\n",
			check: func(t *testing.T, c Config) {
				t.Helper()
				if c.MemberTimeout != 30*time.Second {
					t.Errorf("MemberTimeout: got %v; want %v", c.MemberTimeout, 30*time.Second)
				}
				if c.PingInterval != 10*time.Second {
					t.Errorf("PingInterval: got %v; want %v", c.PingInterval, 10*time.Second)
				}
			},
		},
		{
			name: "scalars and untouched keys keep defaults",
			doc:  "http: 127.0.0.1:9090\nrtc_port: 9000\nopen_login: false\nsecret: abcdefghijklmnopqrstuvwxyz\nlog_level: debug\n",
			check: func(t *testing.T, c Config) {
				t.Helper()
				if c.HTTP != "127.0.0.1:9090" {
					t.Errorf("HTTP: got %v; want %v", c.HTTP, "127.0.0.1:9090")
				}
				if c.RTCPort != 9000 {
					t.Errorf("RTCPort: got %v; want %v", c.RTCPort, 9000)
				}
				if c.OpenLogin {
					t.Errorf("OpenLogin: got %v; want %v", c.OpenLogin, false)
				}
				if c.Secret != "abcdefghijklmnopqrstuvwxyz" {
					t.Errorf("Secret: got %v; want %v", c.Secret, "abcdefghijklmnopqrstuvwxyz")
				}
				if c.LogLevel != "debug" {
					t.Errorf("LogLevel: got %v; want %v", c.LogLevel, "debug")
				}
				if c.RoomCapacity != 16 {
					t.Errorf("RoomCapacity: got %v; want %v", c.RoomCapacity, 16)
				}
				if c.MemberTimeout != 20*time.Second {
					t.Errorf("MemberTimeout: got %v; want %v", c.MemberTimeout, 20*time.Second)
				}
			},
		},
		{
			name: "list replaces the default",
			doc:  "allowed_origins:\n  - https://a.example\n  - https://b.example\n",
			check: func(t *testing.T, c Config) {
				t.Helper()
				want := []string{"https://a.example", "https://b.example"}
				if !reflect.DeepEqual(c.AllowedOrigins, want) {
					t.Errorf("AllowedOrigins: got %v; want %v", c.AllowedOrigins, want)
				}
			},
		},
		{
			name: "flow list",
			doc:  "allowed_origins: [\"https://a.example\"]\n",
			check: func(t *testing.T, c Config) {
				t.Helper()
				want := []string{"https://a.example"}
				if !reflect.DeepEqual(c.AllowedOrigins, want) {
					t.Errorf("AllowedOrigins: got %v; want %v", c.AllowedOrigins, want)
				}
			},
		},
		{
			name: "ice servers",
			doc:  "ice_servers:\n  - urls: [\"stun:stun.example:3478\"]\n  - urls: [\"turn:turn.example\"]\n    username: u\n    credential: p\n",
			check: func(t *testing.T, c Config) {
				t.Helper()
				want := []ICEServer{
					{URLs: []string{"stun:stun.example:3478"}},
					{URLs: []string{"turn:turn.example"}, Username: "u", Credential: "p"},
				}
				if !reflect.DeepEqual(c.ICEServers, want) {
					t.Errorf("ICEServers: got %+v; want %+v", c.ICEServers, want)
				}
			},
		},
		{
			name: "empty http disables it",
			doc:  "http: \"\"\n",
			check: func(t *testing.T, c Config) {
				t.Helper()
				if c.HTTP != "" {
					t.Errorf("HTTP: got %q; want %q", c.HTTP, "")
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadYAML(t, tc.doc)
			if err != nil {
				t.Fatalf("LoadYAML: got %v; want nil", err)
			}
			tc.check(t, c)
		})
	}
}

func TestLoadYAMLEmpty(t *testing.T) {
	tests := []struct {
		name string
		doc  string
	}{
		{name: "empty", doc: ""},
		{name: "whitespace", doc: "  \n\n\t\n"},
		{name: "document marker", doc: "---\n"},
		{name: "only comments", doc: "# openroom config\n# http: :8080\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadYAML(t, tc.doc)
			if err != nil {
				t.Fatalf("LoadYAML: got %v; want nil", err)
			}
			if !reflect.DeepEqual(c, Default()) {
				t.Errorf("config: got %+v; want %+v", c, Default())
			}
		})
	}
}

func TestLoadYAMLErrors(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		contains []string
	}{
		{name: "unknown key", doc: "rtc_prot: 9000\n", contains: []string{"rtc_prot", "unknown key", "test.yaml"}},
		{name: "unknown key later line", doc: "http: :1\nlog_lvl: debug\n", contains: []string{"log_lvl", "line 2"}},
		{name: "unknown nested key", doc: "ice_servers:\n  - urls: [stun:x]\n    usernme: a\n", contains: []string{"usernme"}},
		{name: "string for int", doc: "rtc_port: abc\n", contains: []string{"abc"}},
		{name: "int for duration", doc: "member_timeout: 30\n", contains: []string{"member_timeout on line 1", "a duration like 20s"}},
		{name: "bad duration", doc: "member_timeout: soon\n", contains: []string{"soon"}},
		{name: "scalar for list", doc: "allowed_origins: https://a.example\n", contains: []string{"allowed_origins on line 1", "a list"}},
		{name: "list for string", doc: "http: [a, b]\n", contains: []string{"string"}},
		{name: "not a bool", doc: "open_login: maybe\n", contains: []string{"maybe"}},
		{name: "syntax error", doc: "http: \"unterminated\n", contains: []string{"test.yaml"}},
		{name: "not a mapping", doc: "- a\n- b\n", contains: []string{"test.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadYAML(t, tc.doc)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("LoadYAML: got %v; want %v", err, ErrInvalid)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message: got %q; want it to contain %q", err.Error(), s)
				}
			}
		})
	}
}

func TestLoadYAMLReadError(t *testing.T) {
	c := Default()
	err := c.LoadYAML(iotest.ErrReader(errors.New("disk on fire")), "broken.yaml")
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("LoadYAML: got %v; want %v", err, ErrInvalid)
	}
	if !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("message: got %q; want it to contain %q", err.Error(), "disk on fire")
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("rtc_port: 1234\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("rtc_prot: 1234\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		path     string
		wantErr  bool
		contains string
		wantPort int
	}{
		{name: "good", path: good, wantPort: 1234},
		{name: "unknown key names file and key", path: bad, wantErr: true, contains: "rtc_prot"},
		{name: "missing", path: filepath.Join(dir, "nope.yaml"), wantErr: true, contains: "nope.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			err := c.LoadFile(tc.path)
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("LoadFile: got %v; want nil", err)
				}
				if c.RTCPort != tc.wantPort {
					t.Errorf("RTCPort: got %v; want %v", c.RTCPort, tc.wantPort)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("LoadFile: got %v; want %v", err, ErrInvalid)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("message: got %q; want it to contain %q", err.Error(), tc.contains)
			}
		})
	}
}

func TestLoadEnv(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{
			name: "none set keeps defaults",
			env:  nil,
			check: func(t *testing.T, c Config) {
				t.Helper()
				if !reflect.DeepEqual(c, Default()) {
					t.Errorf("config: got %+v; want %+v", c, Default())
				}
			},
		},
		{
			name: "rtc port and open login",
			env:  map[string]string{"OPENROOM_RTC_PORT": "9000", "OPENROOM_OPEN_LOGIN": "false"},
			check: func(t *testing.T, c Config) {
				t.Helper()
				if c.RTCPort != 9000 {
					t.Errorf("RTCPort: got %v; want %v", c.RTCPort, 9000)
				}
				if c.OpenLogin {
					t.Errorf("OpenLogin: got %v; want %v", c.OpenLogin, false)
				}
			},
		},
		{
			name: "surrounding spaces are trimmed",
			env:  map[string]string{"OPENROOM_RTC_PORT": " 9001 ", "OPENROOM_MEMBER_TIMEOUT": " 45s"},
			check: func(t *testing.T, c Config) {
				t.Helper()
				if c.RTCPort != 9001 {
					t.Errorf("RTCPort: got %v; want %v", c.RTCPort, 9001)
				}
				if c.MemberTimeout != 45*time.Second {
					t.Errorf("MemberTimeout: got %v; want %v", c.MemberTimeout, 45*time.Second)
				}
			},
		},
		{
			name: "strings durations and ints",
			env: map[string]string{
				"OPENROOM_HTTP":          "",
				"OPENROOM_NODE_IP":       "203.0.113.7",
				"OPENROOM_SECRET":        "0123456789abcdef",
				"OPENROOM_ROOM_CAPACITY": "4",
				"OPENROOM_TOKEN_TTL":     "2h",
				"OPENROOM_LOG_LEVEL":     "warn",
			},
			check: func(t *testing.T, c Config) {
				t.Helper()
				if c.HTTP != "" {
					t.Errorf("HTTP: got %q; want %q", c.HTTP, "")
				}
				if c.NodeIP != "203.0.113.7" {
					t.Errorf("NodeIP: got %v; want %v", c.NodeIP, "203.0.113.7")
				}
				if c.Secret != "0123456789abcdef" {
					t.Errorf("Secret: got %v; want %v", c.Secret, "0123456789abcdef")
				}
				if c.RoomCapacity != 4 {
					t.Errorf("RoomCapacity: got %v; want %v", c.RoomCapacity, 4)
				}
				if c.TokenTTL != 2*time.Hour {
					t.Errorf("TokenTTL: got %v; want %v", c.TokenTTL, 2*time.Hour)
				}
				if c.LogLevel != "warn" {
					t.Errorf("LogLevel: got %v; want %v", c.LogLevel, "warn")
				}
			},
		},
		{
			name: "origins list",
			env:  map[string]string{"OPENROOM_ALLOWED_ORIGINS": " https://a.example, ,https://b.example ,"},
			check: func(t *testing.T, c Config) {
				t.Helper()
				want := []string{"https://a.example", "https://b.example"}
				if !reflect.DeepEqual(c.AllowedOrigins, want) {
					t.Errorf("AllowedOrigins: got %v; want %v", c.AllowedOrigins, want)
				}
			},
		},
		{
			name: "turn keys",
			env: map[string]string{
				"OPENROOM_TURN": "", "OPENROOM_TURN_TLS": ":443", "OPENROOM_TURN_CERT": "/c.pem", "OPENROOM_TURN_KEY": "/k.pem",
				"OPENROOM_TURN_HOST": "turn.example.com", "OPENROOM_TURN_REALM": "r", "OPENROOM_TURN_TTL": "48h",
				"OPENROOM_TURN_RELAY_PORTS": "40000-40010", "OPENROOM_TURN_ALLOW": "10.0.0.0/8, 192.0.2.1",
				"OPENROOM_TURN_DENY": "198.51.100.0/24", "OPENROOM_TURN_USER_QUOTA": "3", "OPENROOM_TURN_TOTAL_QUOTA": "30",
				"OPENROOM_TURN_BANDWIDTH": "250000",
			},
			check: func(t *testing.T, c Config) {
				t.Helper()
				want := Default()
				want.TURN, want.TURNTLS, want.TURNCert, want.TURNKey = "", ":443", "/c.pem", "/k.pem"
				want.TURNHost, want.TURNRealm, want.TURNTTL, want.TURNRelayPorts = "turn.example.com", "r", 48*time.Hour, "40000-40010"
				want.TURNAllow, want.TURNDeny = []string{"10.0.0.0/8", "192.0.2.1"}, []string{"198.51.100.0/24"}
				want.TURNUserQuota, want.TURNTotalQuota, want.TURNBandwidth = 3, 30, 250000
				if !reflect.DeepEqual(c, want) {
					t.Errorf("config: got %+v; want %+v", c, want)
				}
				if !c.TURNTLSEnabled() {
					t.Errorf("TURNTLSEnabled: got %v; want %v", false, true)
				}
			},
		},
		{
			name: "unrelated variables ignored",
			env:  map[string]string{"OPENROOM_RTC_PROT": "1", "HOME": "/root"},
			check: func(t *testing.T, c Config) {
				t.Helper()
				if c.RTCPort != 7882 {
					t.Errorf("RTCPort: got %v; want %v", c.RTCPort, 7882)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			if err := c.LoadEnv(fakeEnv(tc.env)); err != nil {
				t.Fatalf("LoadEnv: got %v; want nil", err)
			}
			tc.check(t, c)
		})
	}
}

func TestLoadEnvErrors(t *testing.T) {
	tests := []struct {
		name     string
		variable string
		value    string
		hint     string
	}{
		{name: "port not int", variable: "OPENROOM_RTC_PORT", value: "ninety", hint: "not an integer"},
		{name: "capacity not int", variable: "OPENROOM_ROOM_CAPACITY", value: "1.5", hint: "not an integer"},
		{name: "open login not bool", variable: "OPENROOM_OPEN_LOGIN", value: "nope", hint: "not true or false"},
		{name: "timeout not duration", variable: "OPENROOM_MEMBER_TIMEOUT", value: "20", hint: "not a duration"},
		{name: "ttl not duration", variable: "OPENROOM_TOKEN_TTL", value: "a day", hint: "not a duration"},
		{name: "turn ttl not duration", variable: "OPENROOM_TURN_TTL", value: "1 day", hint: "not a duration"},
		{name: "turn quota not int", variable: "OPENROOM_TURN_USER_QUOTA", value: "ten", hint: "not an integer"},
		{name: "turn bandwidth not int", variable: "OPENROOM_TURN_BANDWIDTH", value: "1MB", hint: "not an integer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			err := c.LoadEnv(fakeEnv(map[string]string{tc.variable: tc.value}))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("LoadEnv: got %v; want %v", err, ErrInvalid)
			}
			for _, s := range []string{tc.variable, tc.value, tc.hint} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message: got %q; want it to contain %q", err.Error(), s)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		mod      func(c *Config)
		contains string // empty: valid
	}{
		{name: "default", mod: func(*Config) {}},
		{name: "http disabled", mod: func(c *Config) { c.HTTP = "" }},
		{name: "http host and port", mod: func(c *Config) { c.HTTP = "127.0.0.1:0" }},
		{name: "http ipv6", mod: func(c *Config) { c.HTTP = "[::1]:8080" }},
		{name: "http without port", mod: func(c *Config) { c.HTTP = "localhost" }, contains: "http"},
		{name: "http port only number", mod: func(c *Config) { c.HTTP = "8080" }, contains: "http"},
		{name: "rtc port disabled", mod: func(c *Config) { c.RTCPort = 0 }},
		{name: "rtc port max", mod: func(c *Config) { c.RTCPort = 65535 }},
		{name: "rtc port 70000", mod: func(c *Config) { c.RTCPort = 70000 }, contains: "rtc_port 70000"},
		{name: "rtc port negative", mod: func(c *Config) { c.RTCPort = -1 }, contains: "rtc_port"},
		{name: "node ip v4", mod: func(c *Config) { c.NodeIP = "203.0.113.7" }},
		{name: "node ip v6", mod: func(c *Config) { c.NodeIP = "2001:db8::1" }},
		{name: "node ip abc", mod: func(c *Config) { c.NodeIP = "abc" }, contains: `node_ip "abc"`},
		{name: "node ip hostname", mod: func(c *Config) { c.NodeIP = "example.com" }, contains: "node_ip"},
		{name: "cluster with node ip", mod: func(c *Config) { c.RedisURL, c.NodeIP = "redis://127.0.0.1:6379/0", "10.0.0.5" }},
		{name: "cluster with public url", mod: func(c *Config) { c.RedisURL, c.PublicURL = "rediss://:pw@redis:6380/1", "https://node1.example.com" }},
		{name: "cluster without any own url", mod: func(c *Config) { c.RedisURL = "redis://127.0.0.1:6379/0" }, contains: "needs public_url"},
		{name: "cluster with http off", mod: func(c *Config) { c.RedisURL, c.NodeIP, c.HTTP = "redis://r:6379", "10.0.0.5", "" }, contains: "needs public_url"},
		{name: "redis url http", mod: func(c *Config) { c.RedisURL = "http://127.0.0.1:6379" }, contains: "redis_url"},
		{name: "redis url password hidden", mod: func(c *Config) { c.RedisURL = "tcp://:hunter2@r:6379" }, contains: `redis_url "tcp://:xxxxx@r:6379"`},
		{name: "node id", mod: func(c *Config) { c.NodeID = "node-1.eu" }},
		{name: "node id with space", mod: func(c *Config) { c.NodeID = "node 1" }, contains: "node_id"},
		{name: "public url without scheme", mod: func(c *Config) { c.PublicURL = "node1:8080" }, contains: "public_url"},
		{name: "secret 16", mod: func(c *Config) { c.Secret = strings.Repeat("s", 16) }},
		{name: "secret short", mod: func(c *Config) { c.Secret = "short" }, contains: "secret"},
		{name: "capacity 1", mod: func(c *Config) { c.RoomCapacity = 1 }},
		{name: "capacity 0", mod: func(c *Config) { c.RoomCapacity = 0 }, contains: "room_capacity 0"},
		{name: "member timeout below 1s", mod: func(c *Config) { c.MemberTimeout = 500 * time.Millisecond }, contains: "member_timeout"},
		{name: "ping equals timeout", mod: func(c *Config) { c.PingInterval = c.MemberTimeout }, contains: "ping_interval"},
		{name: "ping above timeout", mod: func(c *Config) { c.PingInterval = time.Minute }, contains: "ping_interval"},
		{name: "ping zero", mod: func(c *Config) { c.PingInterval = 0 }, contains: "ping_interval"},
		{name: "token ttl short", mod: func(c *Config) { c.TokenTTL = time.Second }, contains: "token_ttl"},
		{name: "log level debug", mod: func(c *Config) { c.LogLevel = "debug" }},
		{name: "log level error", mod: func(c *Config) { c.LogLevel = "error" }},
		{name: "log level bad", mod: func(c *Config) { c.LogLevel = "verbose" }, contains: `log_level "verbose"`},
		{name: "log level uppercase", mod: func(c *Config) { c.LogLevel = "INFO" }, contains: "log_level"},
		{name: "ice server ok", mod: func(c *Config) { c.ICEServers = []ICEServer{{URLs: []string{"stun:x"}}} }},
		{name: "ice server no urls", mod: func(c *Config) { c.ICEServers = []ICEServer{{URLs: []string{"stun:x"}}, {}} }, contains: "ice_servers[1]"},
		{name: "turn disabled", mod: func(c *Config) { c.TURN, c.TURNTLS = "", "" }},
		{name: "turn host and port", mod: func(c *Config) { c.TURN = "0.0.0.0:3478" }},
		{name: "turn without port", mod: func(c *Config) { c.TURN = "3478" }, contains: `turn "3478"`},
		{name: "turn tls on 443", mod: func(c *Config) { c.TURNTLS, c.TURNCert, c.TURNKey = ":443", "c.pem", "k.pem" }},
		{name: "turn tls bad", mod: func(c *Config) { c.TURNTLS = "443" }, contains: `turn_tls "443"`},
		{name: "turn cert without key", mod: func(c *Config) { c.TURNCert = "c.pem" }, contains: "turn_cert and turn_key"},
		{name: "turn key without cert", mod: func(c *Config) { c.TURNKey = "k.pem" }, contains: "turn_cert and turn_key"},
		{name: "turn host name", mod: func(c *Config) { c.TURNHost = "turn.example.com" }},
		{name: "turn host ipv6", mod: func(c *Config) { c.TURNHost = "2001:db8::1" }},
		{name: "turn host with port", mod: func(c *Config) { c.TURNHost = "turn.example.com:3478" }, contains: "turn_host"},
		{name: "turn host with scheme", mod: func(c *Config) { c.TURNHost = "turn://x" }, contains: "turn_host"},
		{name: "turn realm empty", mod: func(c *Config) { c.TURNRealm = "" }, contains: "turn_realm"},
		{name: "turn ttl short", mod: func(c *Config) { c.TURNTTL = 30 * time.Second }, contains: "turn_ttl"},
		{name: "turn relay ports one", mod: func(c *Config) { c.TURNRelayPorts = "50000-50000" }},
		{name: "turn relay ports reversed", mod: func(c *Config) { c.TURNRelayPorts = "50100-50000" }, contains: "turn_relay_ports"},
		{name: "turn relay ports word", mod: func(c *Config) { c.TURNRelayPorts = "many" }, contains: "turn_relay_ports"},
		{name: "turn relay ports zero", mod: func(c *Config) { c.TURNRelayPorts = "0-10" }, contains: "turn_relay_ports"},
		{name: "turn allow ok", mod: func(c *Config) { c.TURNAllow = []string{"10.0.0.0/8", "::1", "fd00::/8"} }},
		{name: "turn allow bad", mod: func(c *Config) { c.TURNAllow = []string{"10.0.0.0/33"} }, contains: "turn_allow"},
		{name: "turn deny bad", mod: func(c *Config) { c.TURNDeny = []string{"example.com"} }, contains: "turn_deny"},
		{name: "turn user quota zero", mod: func(c *Config) { c.TURNUserQuota = 0 }, contains: "turn_user_quota"},
		{name: "turn total quota zero", mod: func(c *Config) { c.TURNTotalQuota = 0 }, contains: "turn_total_quota"},
		{name: "turn bandwidth negative", mod: func(c *Config) { c.TURNBandwidth = -1 }, contains: "turn_bandwidth"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.mod(&c)
			err := c.Validate()
			if tc.contains == "" {
				if err != nil {
					t.Fatalf("Validate: got %v; want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate: got %v; want %v", err, ErrInvalid)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("message: got %q; want it to contain %q", err.Error(), tc.contains)
			}
		})
	}
}

func TestParsePortRange(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		lo, hi int
		ok     bool
	}{
		{name: "default", in: "50000-50100", lo: 50000, hi: 50100, ok: true},
		{name: "spaces", in: " 1 - 2 ", lo: 1, hi: 2, ok: true},
		{name: "single port", in: "7-7", lo: 7, hi: 7, ok: true},
		{name: "no dash", in: "50000", ok: false},
		{name: "reversed", in: "2-1", ok: false},
		{name: "too high", in: "1-65536", ok: false},
		{name: "empty", in: "", ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi, err := ParsePortRange(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ParsePortRange(%q) error: got %v; want ok=%v", tc.in, err, tc.ok)
			}
			if tc.ok && (lo != tc.lo || hi != tc.hi) {
				t.Errorf("ParsePortRange(%q): got %d-%d; want %d-%d", tc.in, lo, hi, tc.lo, tc.hi)
			}
		})
	}
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
		ok   bool
	}{
		{name: "cidr masked", in: []string{"10.1.2.3/8"}, want: []string{"10.0.0.0/8"}, ok: true},
		{name: "bare ipv4", in: []string{"192.0.2.1"}, want: []string{"192.0.2.1/32"}, ok: true},
		{name: "bare ipv6", in: []string{"2001:db8::1"}, want: []string{"2001:db8::1/128"}, ok: true},
		{name: "mapped ip unmapped", in: []string{"::ffff:127.0.0.1"}, want: []string{"127.0.0.1/32"}, ok: true},
		{name: "mapped cidr unmapped", in: []string{"::ffff:10.0.0.0/104"}, want: []string{"10.0.0.0/8"}, ok: true},
		{name: "empty list", in: nil, want: []string{}, ok: true},
		{name: "host name", in: []string{"example.com"}, ok: false},
		{name: "bad bits", in: []string{"10.0.0.0/40"}, ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePrefixes(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ParsePrefixes(%q) error: got %v; want ok=%v", tc.in, err, tc.ok)
			}
			if !tc.ok {
				return
			}
			strs := make([]string, 0, len(got))
			for _, p := range got {
				strs = append(strs, p.String())
			}
			if !reflect.DeepEqual(strs, tc.want) {
				t.Errorf("ParsePrefixes(%q): got %v; want %v", tc.in, strs, tc.want)
			}
		})
	}
}

func TestNodePublicURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                 string
		public, nodeIP, port string
		want                 string
	}{
		{name: "set", public: "https://node1.example.com/", port: "8080", want: "https://node1.example.com"},
		{name: "built from node_ip and http", nodeIP: "10.0.0.5", port: "8081", want: "http://10.0.0.5:8081"},
		{name: "ipv6", nodeIP: "2001:db8::1", port: "8080", want: "http://[2001:db8::1]:8080"},
		{name: "no node_ip", port: "8080", want: ""},
		{name: "port unknown", nodeIP: "10.0.0.5", port: "0", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			c.PublicURL, c.NodeIP = tt.public, tt.nodeIP
			if got := c.NodePublicURL(tt.port); got != tt.want {
				t.Errorf("NodePublicURL(%q) = %q; want %q", tt.port, got, tt.want)
			}
		})
	}
}
