// Package config holds openroom's settings: one Default() value, overlaid by a YAML
// file, then by OPENROOM_* environment variables, then by command-line flags.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ErrInvalid wraps every validation and parse error.
var ErrInvalid = errors.New("invalid config")

// Config is the whole server configuration. The YAML keys are the field tags.
type Config struct {
	// HTTP is the listen address of the room API, signaling and web demo. Empty disables it.
	// Default ":8080".
	HTTP string `yaml:"http"`
	// RTCPort is the one UDP port carrying all WebRTC (ICE) traffic. 0 disables WebRTC.
	// Default 7882.
	RTCPort int `yaml:"rtc_port"`
	// RTMP is the listen address of the mini-program bridge's RTMP ingest and playback.
	// Empty disables the bridge. Default ":1935".
	RTMP string `yaml:"rtmp"`
	// RTMPURL is the public base of RTMP URLs handed to mini-programs, e.g.
	// "rtmp://rooms.example.com:1935". Default "" (rtmp://{host the client used}:{rtmp port}).
	RTMPURL string `yaml:"rtmp_url"`
	// FLVURL is the public base of HTTP-FLV URLs, e.g. "https://rooms.example.com"
	// (WeChat requires HTTPS on a registered domain). Default "" (http://{host the client used}).
	FLVURL string `yaml:"flv_url"`
	// NodeIP is the address announced in ICE candidates (for NAT and containers).
	// Default "" (announce the machine's interface addresses).
	NodeIP string `yaml:"node_ip"`
	// Secret signs userSig and privateMapKey tokens. Default "" (a random one is
	// generated and printed at start; tokens then die with the process).
	Secret string `yaml:"secret"`
	// OpenLogin lets anyone get tokens from get_login_info and join any room, as the legacy
	// demo server did. Turn it off in production and mint tokens with `openroom token`.
	// Default true.
	OpenLogin bool `yaml:"open_login"`
	// SDKAppID is the number reported as sdkAppID to legacy clients. Default 1400000000.
	SDKAppID uint32 `yaml:"sdk_app_id"`
	// TokenTTL is how long minted tokens live. Default 24h.
	TokenTTL time.Duration `yaml:"token_ttl"`
	// RoomCapacity is the most members one room holds (room full: code 5001). Default 16.
	RoomCapacity int `yaml:"room_capacity"`
	// MemberTimeout removes a member silent this long (no pong, no message, no heartbeat).
	// Default 20s.
	MemberTimeout time.Duration `yaml:"member_timeout"`
	// PingInterval is how often the server pings each WebSocket. Default 5s.
	PingInterval time.Duration `yaml:"ping_interval"`
	// AllowedOrigins lists the Origins allowed to call the API and open /ws; "*" allows any.
	// Default ["*"].
	AllowedOrigins []string `yaml:"allowed_origins"`
	// ICEServers are extra STUN/TURN servers handed to clients. Default none.
	ICEServers []ICEServer `yaml:"ice_servers"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
}

// ICEServer is one RTCIceServer entry handed to clients.
type ICEServer struct {
	URLs       []string `yaml:"urls" json:"urls"`
	Username   string   `yaml:"username" json:"username,omitempty"`
	Credential string   `yaml:"credential" json:"credential,omitempty"`
}

// Default returns the embedded dev-mode configuration.
func Default() Config {
	return Config{
		HTTP:           ":8080",
		RTCPort:        7882,
		RTMP:           ":1935",
		OpenLogin:      true,
		SDKAppID:       1400000000,
		TokenTTL:       24 * time.Hour,
		RoomCapacity:   16,
		MemberTimeout:  20 * time.Second,
		PingInterval:   5 * time.Second,
		AllowedOrigins: []string{"*"},
		LogLevel:       "info",
	}
}

// LoadYAML overlays the YAML document r onto c. Unknown keys are an error naming the key.
func (c *Config) LoadYAML(r io.Reader, name string) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("%w: read %s: %v", ErrInvalid, name, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) { // only comments: no document at all
			return nil
		}
		return fmt.Errorf("%w: %s: %s", ErrInvalid, name, friendlyYAML(err))
	}
	return nil
}

var unknownField = regexp.MustCompile(`line (\d+): field (\S+) not found in type \S+`)

func friendlyYAML(err error) string {
	msg := err.Error()
	if m := unknownField.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("unknown key %q on line %s", m[2], m[1])
	}
	return strings.TrimPrefix(msg, "yaml: ")
}

// LoadFile overlays the YAML file at path.
func (c *Config) LoadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	defer f.Close()
	return c.LoadYAML(f, path)
}

// envVars maps OPENROOM_* variables to setters.
func envVars(c *Config) map[string]func(string) error {
	return map[string]func(string) error{
		"OPENROOM_HTTP":           func(v string) error { c.HTTP = v; return nil },
		"OPENROOM_RTC_PORT":       func(v string) error { return setInt(&c.RTCPort, v) },
		"OPENROOM_NODE_IP":        func(v string) error { c.NodeIP = v; return nil },
		"OPENROOM_RTMP":           func(v string) error { c.RTMP = v; return nil },
		"OPENROOM_RTMP_URL":       func(v string) error { c.RTMPURL = v; return nil },
		"OPENROOM_FLV_URL":        func(v string) error { c.FLVURL = v; return nil },
		"OPENROOM_SECRET":         func(v string) error { c.Secret = v; return nil },
		"OPENROOM_OPEN_LOGIN":     func(v string) error { return setBool(&c.OpenLogin, v) },
		"OPENROOM_ROOM_CAPACITY":  func(v string) error { return setInt(&c.RoomCapacity, v) },
		"OPENROOM_MEMBER_TIMEOUT": func(v string) error { return setDuration(&c.MemberTimeout, v) },
		"OPENROOM_TOKEN_TTL":      func(v string) error { return setDuration(&c.TokenTTL, v) },
		"OPENROOM_LOG_LEVEL":      func(v string) error { c.LogLevel = v; return nil },
		"OPENROOM_ALLOWED_ORIGINS": func(v string) error {
			c.AllowedOrigins = splitList(v)
			return nil
		},
	}
}

// LoadEnv overlays OPENROOM_* variables found by lookup (os.LookupEnv in main).
func (c *Config) LoadEnv(lookup func(string) (string, bool)) error {
	vars := envVars(c)
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names) // report the first bad variable the same way every run
	for _, name := range names {
		set := vars[name]
		v, ok := lookup(name)
		if !ok {
			continue
		}
		if err := set(v); err != nil {
			return fmt.Errorf("%w: %s=%q: %v", ErrInvalid, name, v, err)
		}
	}
	return nil
}

func setInt(dst *int, v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return errors.New("not an integer")
	}
	*dst = n
	return nil
}

func setBool(dst *bool, v string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return errors.New("not true or false")
	}
	*dst = b
	return nil
}

func setDuration(dst *time.Duration, v string) error {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return errors.New("not a duration like 20s or 1h")
	}
	*dst = d
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Validate reports the first setting that cannot work, saying what to fix.
func (c *Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
	}
	if c.HTTP != "" {
		if _, _, err := net.SplitHostPort(c.HTTP); err != nil {
			return bad("http %q: want host:port or :port", c.HTTP)
		}
	}
	if c.RTMP != "" {
		if _, _, err := net.SplitHostPort(c.RTMP); err != nil {
			return bad("rtmp %q: want host:port or :port, or empty to disable the bridge", c.RTMP)
		}
	}
	for key, u := range map[string]string{"rtmp_url": c.RTMPURL, "flv_url": c.FLVURL} {
		if u != "" && !strings.Contains(u, "://") {
			return bad("%s %q: want a URL like rtmp://host:1935 or https://host", key, u)
		}
	}
	if c.RTCPort < 0 || c.RTCPort > 65535 {
		return bad("rtc_port %d: want 1-65535, or 0 to disable WebRTC", c.RTCPort)
	}
	if c.NodeIP != "" && net.ParseIP(c.NodeIP) == nil {
		return bad("node_ip %q is not an IP address", c.NodeIP)
	}
	if c.Secret != "" && len(c.Secret) < 16 {
		return bad("secret must be at least 16 characters")
	}
	if c.RoomCapacity < 1 {
		return bad("room_capacity %d: want at least 1", c.RoomCapacity)
	}
	if c.MemberTimeout < time.Second {
		return bad("member_timeout %v: want at least 1s", c.MemberTimeout)
	}
	if c.PingInterval <= 0 || c.PingInterval >= c.MemberTimeout {
		return bad("ping_interval %v: want more than 0 and less than member_timeout %v", c.PingInterval, c.MemberTimeout)
	}
	if c.TokenTTL < time.Minute {
		return bad("token_ttl %v: want at least 1m", c.TokenTTL)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("log_level %q: want debug, info, warn or error", c.LogLevel)
	}
	for i, s := range c.ICEServers {
		if len(s.URLs) == 0 {
			return bad("ice_servers[%d]: urls is empty", i)
		}
	}
	return nil
}
