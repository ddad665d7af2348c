// Package config holds openroom's settings: one Default() value, overlaid by a YAML
// file, then by OPENROOM_* environment variables, then by command-line flags.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"reflect"
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
	// HTTPS is the listen address of the same API, signaling (wss) and demo over TLS,
	// e.g. ":443" or ":8443". It needs tls_cert and tls_key, or tls_domains. Empty
	// disables it. Default "".
	HTTPS string `yaml:"https"`
	// TLSCert and TLSKey are the PEM certificate chain and key files for https
	// (reloaded when they change). TURN over TLS uses them too when turn_cert and
	// turn_key are not set. Default "" (no certificate files).
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// TLSDomains gets certificates for https automatically (ACME, Let's Encrypt) for
	// these DNS names; instead of tls_cert and tls_key. The CA must reach this server
	// on port 80 (http) or 443 (https). Default none.
	TLSDomains []string `yaml:"tls_domains"`
	// TLSCacheDir keeps the automatic certificates and the ACME account key across
	// restarts. Default "/var/lib/openroom/certs".
	TLSCacheDir string `yaml:"tls_cache_dir"`
	// TLSRedirect makes the http listener answer every request with a 308 redirect
	// to https while https is on, except /healthz and ACME HTTP-01 challenges.
	// Default true.
	TLSRedirect bool `yaml:"tls_redirect"`
	// RTCPort is the one UDP port carrying all WebRTC (ICE) traffic. 0 disables WebRTC.
	// Default 7882.
	RTCPort int `yaml:"rtc_port"`
	// RTMP is the listen address of the mini-program bridge's RTMP ingest and playback.
	// Empty disables the bridge. Default ":1935".
	RTMP string `yaml:"rtmp"`
	// RTMPURL is the public base of RTMP URLs handed to mini-programs, e.g.
	// "rtmp://rooms.example.com:1935". Default "" (rtmp://{host the client used}:{rtmp port}).
	RTMPURL string `yaml:"rtmp_url"`
	// RTMPPushGrace keeps an RTMP pusher's member and tracks this long after its
	// connection ends, so a pusher that reconnects (live-pusher after a network blip)
	// is not seen leaving and joining. At most member_timeout; 0 turns it off. Default 5s.
	RTMPPushGrace time.Duration `yaml:"rtmp_push_grace"`
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
	// AllowedOrigins lists the Origins (like https://app.example.com) allowed to call
	// the API, open /ws and play HTTP-FLV from a page; "*" allows any. Unset, dev mode
	// allows any and production only the server's own origin. Default unset.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxConnections caps the TCP connections open at once over HTTP(S), RTMP and TURN
	// TCP/TLS together; past it new ones are refused (HTTP 503). It is also held under
	// the file-descriptor limit, less a reserve. Default 10000.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerIP caps the TCP connections one client address holds at once;
	// past it new ones are refused (HTTP 429). 0 means no cap. Default 256.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
	// HTTPHeaderTimeout is how long a client may take to send a request's headers.
	// Default 10s.
	HTTPHeaderTimeout time.Duration `yaml:"http_header_timeout"`
	// HTTPBodyTimeout is how long a client may take to send a request's body. Default 30s.
	HTTPBodyTimeout time.Duration `yaml:"http_body_timeout"`
	// HTTPIdleTimeout closes a keep-alive connection idle this long. Default 60s.
	HTTPIdleTimeout time.Duration `yaml:"http_idle_timeout"`
	// JoinTimeout closes a WebSocket that has not sent join (or resume) this long after
	// it opened (close code 4408). Default 15s.
	JoinTimeout time.Duration `yaml:"join_timeout"`
	// ViewerWriteTimeout cuts an HTTP-FLV or RTMP player that has not taken its data
	// for this long (a stalled or vanished viewer). Default 10s.
	ViewerWriteTimeout time.Duration `yaml:"viewer_write_timeout"`
	// MaxSDPBytes is the largest SDP offer or answer a client may send (error 4100).
	// Default 32768.
	MaxSDPBytes int `yaml:"max_sdp_bytes"`
	// MaxSDPMedia is the most media sections (m= lines) an SDP may have (error 4100).
	// Default 16.
	MaxSDPMedia int `yaml:"max_sdp_media"`
	// ICEServers are extra STUN/TURN servers handed to clients. Default none.
	ICEServers []ICEServer `yaml:"ice_servers"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
	// LogFormat is text or json. Default text.
	LogFormat string `yaml:"log_format"`
	// Production refuses dev-mode shortcuts: open_login must be off and a secret set.
	// Default false.
	Production bool `yaml:"production"`
	// AdminToken guards /admin and its API (Authorization: Bearer <token>).
	// Default "" (a random one is generated and printed at start).
	AdminToken string `yaml:"admin_token"`
	// RecordDir is where room recordings go (docs/recording.md): a directory per room,
	// holding a fragmented MP4 file and a JSON sidecar per member and session. Empty
	// disables recording. Default "recordings" (relative to the working directory).
	RecordDir string `yaml:"record_dir"`
	// AutoRecord records every room from its start, as if an operator had pressed
	// Record. Needs record_dir. Default false.
	AutoRecord bool `yaml:"auto_record"`
	// Drain is how long a shutdown waits for members to leave after telling them the
	// server is going away. Default 10s.
	Drain time.Duration `yaml:"drain"`

	// RedisURL turns on cluster mode (docs/deploy.md): nodes sharing one Redis 7
	// register there, each room lives on one node, and a member that reaches another
	// node is sent to it. redis://[:password@]host:port/db, or rediss:// for TLS.
	// Default "" (one node on its own).
	RedisURL string `yaml:"redis_url"`
	// NodeID names this node in the cluster; it must differ between nodes.
	// Default "" (a random one at each start).
	NodeID string `yaml:"node_id"`
	// PublicURL is the base URL clients reach this very node on (not the load
	// balancer's), e.g. "https://node1.example.com": members are sent there when
	// their room lives here. Default "" (http://{node_ip}:{http port}).
	PublicURL string `yaml:"public_url"`
	// NodeCapacity is how many members this node hosts before the rooms that
	// live here take new members on other nodes, which relay the room's tracks
	// from here (a room that spans nodes). Default 0 (no limit: rooms never span).
	NodeCapacity int `yaml:"node_capacity"`

	// TURN is the listen address of the bundled TURN server, over UDP and TCP on the
	// same port. Empty disables it. Default ":3478". See docs/turn.md.
	TURN string `yaml:"turn"`
	// TURNTLS is the listen address of TURN over TLS (e.g. ":5349", or ":443"), used
	// when turn_cert and turn_key are set, or https is on (its certificate is then
	// shared). Empty disables it. Default ":5349".
	TURNTLS string `yaml:"turn_tls"`
	// TURNCert and TURNKey are the PEM certificate chain and key files for TURN over
	// TLS (reloaded when they change). Default "" (https's certificate when https is
	// on, else no TLS).
	TURNCert string `yaml:"turn_cert"`
	TURNKey  string `yaml:"turn_key"`
	// TURNHost is the host name or IP put in the turn: URLs handed to clients (for
	// turns:, the name on the certificate). Default "" (node_ip, else the Host the
	// client reached signaling on).
	TURNHost string `yaml:"turn_host"`
	// TURNRealm is the realm of the TURN credentials. Default "openroom".
	TURNRealm string `yaml:"turn_realm"`
	// TURNTTL is how long TURN credentials handed out at login and join stay valid.
	// The server checks it on every TURN request (refreshes too), so it must outlive
	// the longest call. Default 24h.
	TURNTTL time.Duration `yaml:"turn_ttl"`
	// TURNRelayPorts is the UDP port range of relay addresses, "min-max"; one port per
	// allocation, so turn_total_quota is held to its size. Default "49152-65535".
	TURNRelayPorts string `yaml:"turn_relay_ports"`
	// TURNAllow lists CIDRs (or IPs) relays may reach although they are private,
	// loopback or otherwise refused by default. Default none.
	TURNAllow []string `yaml:"turn_allow"`
	// TURNDeny lists CIDRs (or IPs) relays may never reach; it wins over turn_allow.
	// Default none.
	TURNDeny []string `yaml:"turn_deny"`
	// TURNUserQuota is the most TURN allocations one user holds at once. Default 10.
	TURNUserQuota int `yaml:"turn_user_quota"`
	// TURNTotalQuota is the most TURN allocations the server holds at once (never more
	// than turn_relay_ports has ports). Default 1000.
	TURNTotalQuota int `yaml:"turn_total_quota"`
	// TURNIPQuota is the most TURN allocations one client address holds at once, so one
	// address cannot take them all. 0 means no cap. Default 64.
	TURNIPQuota int `yaml:"turn_ip_quota"`
	// TURNBandwidth caps each allocation's relayed bytes per second (both directions);
	// 0 means no cap. Default 0.
	TURNBandwidth int `yaml:"turn_bandwidth"`
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
		HTTP:                ":8080",
		TLSCacheDir:         "/var/lib/openroom/certs",
		TLSRedirect:         true,
		RTCPort:             7882,
		RTMP:                ":1935",
		RTMPPushGrace:       5 * time.Second,
		OpenLogin:           true,
		SDKAppID:            1400000000,
		TokenTTL:            24 * time.Hour,
		RoomCapacity:        16,
		MemberTimeout:       20 * time.Second,
		PingInterval:        5 * time.Second,
		MaxConnections:      10000,
		MaxConnectionsPerIP: 256,
		HTTPHeaderTimeout:   10 * time.Second,
		HTTPBodyTimeout:     30 * time.Second,
		HTTPIdleTimeout:     60 * time.Second,
		JoinTimeout:         15 * time.Second,
		ViewerWriteTimeout:  10 * time.Second,
		MaxSDPBytes:         32768,
		MaxSDPMedia:         16,
		LogLevel:            "info",
		LogFormat:           "text",
		Drain:               10 * time.Second,
		RecordDir:           "recordings",
		TURN:                ":3478",
		TURNTLS:             ":5349",
		TURNRealm:           "openroom",
		TURNTTL:             24 * time.Hour,
		TURNRelayPorts:      "49152-65535",
		TURNUserQuota:       10,
		TURNTotalQuota:      1000,
		TURNIPQuota:         64,
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
		return fmt.Errorf("%w: %s: %s", ErrInvalid, name, friendlyYAML(err, data))
	}
	return nil
}

var unknownField = regexp.MustCompile(`line (\d+): field (\S+) not found in type \S+`)

var typeError = regexp.MustCompile(`line (\d+): cannot unmarshal !!(\w+) ` + "`" + `([^` + "`" + `]*)` + "`" + ` into (\S+)`)

func friendlyYAML(err error, data []byte) string {
	msg := err.Error()
	if m := unknownField.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("unknown key %q on line %s (see openroom.example.yaml for every key)", m[2], m[1])
	}
	if m := typeError.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s on line %s: %q is not %s", keyOnLine(data, m[1]), m[1], m[3], typeName(m[4]))
	}
	return strings.TrimPrefix(msg, "yaml: ")
}

// keyOnLine names the key written on a (1-based) line of a YAML document.
func keyOnLine(data []byte, line string) string {
	n, _ := strconv.Atoi(line)
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		return "a value"
	}
	key, _, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lines[n-1]), "-")), ":")
	return key
}

func typeName(goType string) string {
	switch goType {
	case "int", "uint32", "int64":
		return "a whole number"
	case "bool":
		return "true or false"
	case "time.Duration":
		return "a duration like 20s or 1h"
	case "[]string":
		return "a list"
	}
	return "a " + goType
}

// LineOf finds the line of a YAML document where key is set, or 0.
func LineOf(data []byte, key string) int {
	for i, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, key+":") {
			return i + 1
		}
	}
	return 0
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

// envFields pairs each key that an environment variable can set (strings,
// numbers, booleans, durations, comma-separated lists) with its variable,
// OPENROOM_ and the YAML key in capitals, sorted by name.
func envFields(c *Config) (names []string, fields map[string]reflect.Value) {
	v := reflect.ValueOf(c).Elem()
	fields = map[string]reflect.Value{}
	for i := 0; i < v.NumField(); i++ {
		switch v.Field(i).Addr().Interface().(type) {
		case *string, *int, *bool, *time.Duration, *[]string:
			name := EnvPrefix + strings.ToUpper(v.Type().Field(i).Tag.Get("yaml"))
			names = append(names, name)
			fields[name] = v.Field(i)
		}
	}
	sort.Strings(names) // report the first bad variable the same way every run
	return names, fields
}

// LoadEnv overlays OPENROOM_* variables found by lookup (os.LookupEnv in main).
func (c *Config) LoadEnv(lookup func(string) (string, bool)) error {
	names, fields := envFields(c)
	for _, name := range names {
		v, ok := lookup(name)
		if !ok {
			continue
		}
		var err error
		switch p := fields[name].Addr().Interface().(type) {
		case *string:
			*p = v
		case *int:
			err = setInt(p, v)
		case *bool:
			err = setBool(p, v)
		case *time.Duration:
			err = setDuration(p, v)
		case *[]string:
			*p = splitList(v)
		}
		if err != nil {
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
	if err := c.validateCluster(); err != nil {
		return err
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
	if c.MaxConnections < 1 {
		return bad("max_connections %d: want at least 1", c.MaxConnections)
	}
	if c.MaxConnectionsPerIP < 0 {
		return bad("max_connections_per_ip %d: want 0 (no cap) or more", c.MaxConnectionsPerIP)
	}
	for key, d := range map[string]time.Duration{"http_header_timeout": c.HTTPHeaderTimeout, "http_body_timeout": c.HTTPBodyTimeout,
		"http_idle_timeout": c.HTTPIdleTimeout, "join_timeout": c.JoinTimeout, "viewer_write_timeout": c.ViewerWriteTimeout} {
		if d <= 0 {
			return bad("%s %v: want a positive duration like 10s", key, d)
		}
	}
	if c.MaxSDPBytes < 1024 {
		return bad("max_sdp_bytes %d: want at least 1024 (a browser's offer is 5-15 KB)", c.MaxSDPBytes)
	}
	if c.MaxSDPMedia < 2 {
		return bad("max_sdp_media %d: want at least 2 (audio and video)", c.MaxSDPMedia)
	}
	if c.AutoRecord && c.RecordDir == "" {
		return bad("auto_record needs record_dir (the directory recordings go to)")
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
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return bad("log_format %q: want text or json", c.LogFormat)
	}
	if c.RTMPPushGrace < 0 || c.RTMPPushGrace > time.Minute {
		return bad("rtmp_push_grace %v: want 0 (off) to 1m", c.RTMPPushGrace)
	}
	if c.Drain < 0 || c.Drain > 10*time.Minute {
		return bad("drain %v: want 0 to 10m", c.Drain)
	}
	if c.AdminToken != "" && len(c.AdminToken) < 12 {
		return bad("admin_token must be at least 12 characters")
	}
	if c.Production {
		if c.OpenLogin {
			return bad("production: open_login must be false (anyone could get tokens): set open_login: false")
		}
		if c.Secret == "" {
			return bad("production: secret is required: set secret (e.g. the output of `openssl rand -hex 32`) in the config file or OPENROOM_SECRET, and give your backend the same one for `openroom token`")
		}
	}
	if !c.OpenLogin && c.Secret == "" {
		return bad("open_login is off but no secret is set: tokens from your backend could never verify; set secret (e.g. `openssl rand -hex 32`) or OPENROOM_SECRET")
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
	if err := c.validateHTTPS(); err != nil {
		return err
	}
	return c.validateTURN()
}

func (c *Config) validateHTTPS() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
	}
	if c.HTTPS != "" {
		if _, _, err := net.SplitHostPort(c.HTTPS); err != nil {
			return bad("https %q: want host:port or :port (e.g. :443), or empty to disable", c.HTTPS)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return bad("tls_cert and tls_key: set both (the PEM certificate chain and its key) or neither")
	}
	if c.TLSCert != "" && len(c.TLSDomains) > 0 {
		return bad("tls_cert/tls_key and tls_domains are both set: use certificate files or automatic certificates for tls_domains, not both")
	}
	for _, d := range c.TLSDomains {
		if !isDNSName(d) {
			return bad("tls_domains: %q is not a DNS name like rooms.example.com (no scheme, port, path, wildcard or IP address)", d)
		}
	}
	if len(c.TLSDomains) > 0 && c.TLSCacheDir == "" {
		return bad("tls_cache_dir is empty: automatic certificates need a directory to keep them across restarts (default /var/lib/openroom/certs)")
	}
	if c.HTTPS != "" && c.TLSCert == "" && len(c.TLSDomains) == 0 {
		return bad("https %q needs a certificate: set tls_cert and tls_key (PEM files), or tls_domains (automatic certificates from Let's Encrypt)", c.HTTPS)
	}
	return nil
}

// isDNSName reports whether s looks like a fully qualified host name an ACME CA
// issues certificates for: dot-separated labels of letters, digits and hyphens.
func isDNSName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if len(s) > 253 || !strings.Contains(s, ".") || net.ParseIP(s) != nil {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// HTTPSEnabled reports whether the https listener runs: an address and a source
// of certificates (files or tls_domains).
func (c *Config) HTTPSEnabled() bool {
	return c.HTTPS != "" && ((c.TLSCert != "" && c.TLSKey != "") || len(c.TLSDomains) > 0)
}

func (c *Config) validateTURN() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
	}
	for _, kv := range [][2]string{{"turn", c.TURN}, {"turn_tls", c.TURNTLS}} {
		if kv[1] != "" {
			if _, _, err := net.SplitHostPort(kv[1]); err != nil {
				return bad("%s %q: want host:port or :port, or empty to disable", kv[0], kv[1])
			}
		}
	}
	if (c.TURNCert == "") != (c.TURNKey == "") {
		return bad("turn_cert and turn_key: set both (TURN over TLS) or neither")
	}
	if c.TURNHost != "" {
		if strings.ContainsAny(c.TURNHost, "/ []") || (strings.Contains(c.TURNHost, ":") && net.ParseIP(c.TURNHost) == nil) {
			return bad("turn_host %q: want a host name or an IP address, without scheme or port", c.TURNHost)
		}
	}
	if c.TURNRealm == "" || strings.ContainsAny(c.TURNRealm, "\"\r\n") {
		return bad("turn_realm %q: want a non-empty name without quotes", c.TURNRealm)
	}
	if c.TURNTTL < time.Minute {
		return bad("turn_ttl %v: want at least 1m (24h outlives any call)", c.TURNTTL)
	}
	if _, _, err := ParsePortRange(c.TURNRelayPorts); err != nil {
		return bad("turn_relay_ports %q: %v", c.TURNRelayPorts, err)
	}
	if _, err := ParsePrefixes(c.TURNAllow); err != nil {
		return bad("turn_allow: %v", err)
	}
	if _, err := ParsePrefixes(c.TURNDeny); err != nil {
		return bad("turn_deny: %v", err)
	}
	if c.TURNUserQuota < 1 || c.TURNTotalQuota < 1 {
		return bad("turn_user_quota %d, turn_total_quota %d: want at least 1", c.TURNUserQuota, c.TURNTotalQuota)
	}
	if c.TURNIPQuota < 0 {
		return bad("turn_ip_quota %d: want 0 (no cap) or more", c.TURNIPQuota)
	}
	if c.TURNBandwidth < 0 {
		return bad("turn_bandwidth %d: want bytes per second, or 0 for no cap", c.TURNBandwidth)
	}
	return nil
}

// TURNTLSEnabled reports whether TURN over TLS runs: an address and a certificate,
// its own (turn_cert, turn_key) or, without one, https's.
func (c *Config) TURNTLSEnabled() bool {
	return c.TURNTLS != "" && ((c.TURNCert != "" && c.TURNKey != "") || c.HTTPSEnabled())
}

// ParsePortRange parses "min-max" (inclusive, 1-65535).
func ParsePortRange(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if ok {
		lo, err = strconv.Atoi(strings.TrimSpace(a))
		if err == nil {
			hi, err = strconv.Atoi(strings.TrimSpace(b))
		}
	}
	if !ok || err != nil {
		return 0, 0, errors.New("want a port range like 50000-50100")
	}
	if lo < 1 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("want 1 <= %d <= %d <= 65535", lo, hi)
	}
	return lo, hi, nil
}

// ParsePrefixes parses CIDRs; a bare IP is its own /32 or /128. IPv4-mapped IPv6
// prefixes (::ffff:10.0.0.0/104) become the IPv4 prefixes they stand for.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%q is not a CIDR like 192.0.2.0/24 or an IP", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Origins is the effective allowed_origins: as set, or when unset any origin
// ("*") in dev mode and none but the server's own in production.
func (c Config) Origins() []string {
	switch {
	case len(c.AllowedOrigins) > 0:
		return c.AllowedOrigins
	case c.Production:
		return nil
	}
	return []string{"*"}
}
