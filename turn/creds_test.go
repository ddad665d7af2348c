package turn

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openroom/openroom/config"
	pturn "github.com/pion/turn/v5"
)

func TestCredentials(t *testing.T) {
	expires := time.Unix(1893456000, 0)
	user, pass := Credentials(testSecret, "alice", expires)
	if want := "1893456000:alice"; user != want {
		t.Errorf("username: got %q; want %q", user, want)
	}
	// pion's own TURN REST handler must accept them: the same key for the same password.
	_, key, ok := pturn.LongTermTURNRESTAuthHandler(string(testSecret), nil)(&pturn.RequestAttributes{Username: user, Realm: "openroom"})
	if !ok {
		t.Fatalf("pion's LongTermTURNRESTAuthHandler refused %q", user)
	}
	if want := pturn.GenerateAuthKey(user, "openroom", pass); !bytes.Equal(key, want) {
		t.Errorf("pion's key for %q: got %x; want %x (the key of our password)", user, key, want)
	}
	if _, other := Credentials([]byte("another secret"), "alice", expires); other == pass {
		t.Errorf("passwords of two secrets: got the same %q; want different", pass)
	}
}

func TestParseUsername(t *testing.T) {
	tests := []struct {
		name     string
		username string
		user     string
		expires  int64
		ok       bool
	}{
		{name: "plain", username: "1893456000:alice", user: "alice", expires: 1893456000, ok: true},
		{name: "colon in user id", username: "1893456000:a:b", user: "a:b", expires: 1893456000, ok: true},
		{name: "no colon", username: "alice", ok: false},
		{name: "empty user", username: "1893456000:", ok: false},
		{name: "empty expiry", username: ":alice", ok: false},
		{name: "negative expiry", username: "-5:alice", ok: false},
		{name: "expiry with letters", username: "12ab:alice", ok: false},
		{name: "expiry overflow", username: "99999999999999999999:alice", ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			user, expires, err := ParseUsername(tc.username)
			if !tc.ok {
				if !errors.Is(err, ErrBadUsername) {
					t.Errorf("ParseUsername(%q): got %v; want %v", tc.username, err, ErrBadUsername)
				}
				return
			}
			if err != nil || user != tc.user || expires.Unix() != tc.expires {
				t.Errorf("ParseUsername(%q): got %q, %v, %v; want %q, %v, nil", tc.username, user, expires.Unix(), err, tc.user, tc.expires)
			}
		})
	}
}

func TestICEServer(t *testing.T) {
	now := time.Unix(1700000000, 0)
	base := func(mod func(*config.Config)) config.Config {
		c := config.Default()
		c.Secret = string(testSecret)
		if mod != nil {
			mod(&c)
		}
		return c
	}
	tls := func(c *config.Config) { c.TURNCert, c.TURNKey = "c.pem", "k.pem" }
	tests := []struct {
		name    string
		cfg     config.Config
		reqHost string
		urls    []string // nil: no entry
	}{
		{name: "request host", cfg: base(nil), reqHost: "rooms.example.com:8080",
			urls: []string{"turn:rooms.example.com:3478?transport=udp", "turn:rooms.example.com:3478?transport=tcp"}},
		{name: "node ip beats request host", cfg: base(func(c *config.Config) { c.NodeIP = "203.0.113.9" }), reqHost: "localhost:8080",
			urls: []string{"turn:203.0.113.9:3478?transport=udp", "turn:203.0.113.9:3478?transport=tcp"}},
		{name: "turn host beats node ip", cfg: base(func(c *config.Config) { c.NodeIP, c.TURNHost = "203.0.113.9", "turn.example.com" }),
			reqHost: "localhost", urls: []string{"turn:turn.example.com:3478?transport=udp", "turn:turn.example.com:3478?transport=tcp"}},
		{name: "ipv6 request host", cfg: base(nil), reqHost: "[2001:db8::7]:8080",
			urls: []string{"turn:[2001:db8::7]:3478?transport=udp", "turn:[2001:db8::7]:3478?transport=tcp"}},
		{name: "ipv6 node ip", cfg: base(func(c *config.Config) { c.NodeIP = "2001:db8::9" }), reqHost: "x",
			urls: []string{"turn:[2001:db8::9]:3478?transport=udp", "turn:[2001:db8::9]:3478?transport=tcp"}},
		{name: "port from listen address", cfg: base(func(c *config.Config) { c.TURN = "0.0.0.0:3479" }), reqHost: "h",
			urls: []string{"turn:h:3479?transport=udp", "turn:h:3479?transport=tcp"}},
		{name: "tls with request host", cfg: base(func(c *config.Config) { tls(c); c.NodeIP = "203.0.113.9" }), reqHost: "rooms.example.com",
			urls: []string{"turn:203.0.113.9:3478?transport=udp", "turn:203.0.113.9:3478?transport=tcp", "turns:rooms.example.com:5349?transport=tcp"}},
		{name: "tls on 443 with turn host", cfg: base(func(c *config.Config) { tls(c); c.TURNTLS, c.TURNHost = ":443", "turn.example.com" }),
			reqHost: "rooms.example.com", urls: []string{"turn:turn.example.com:3478?transport=udp", "turn:turn.example.com:3478?transport=tcp",
				"turns:turn.example.com:443?transport=tcp"}},
		{name: "tls only", cfg: base(func(c *config.Config) { tls(c); c.TURN = "" }), reqHost: "rooms.example.com",
			urls: []string{"turns:rooms.example.com:5349?transport=tcp"}},
		{name: "tls address without certificate", cfg: base(nil), reqHost: "h",
			urls: []string{"turn:h:3478?transport=udp", "turn:h:3478?transport=tcp"}},
		{name: "turn off", cfg: base(func(c *config.Config) { c.TURN = "" }), reqHost: "h"},
		{name: "unresolved port", cfg: base(func(c *config.Config) { c.TURN = ":0" }), reqHost: "h"},
		{name: "no host known", cfg: base(nil), reqHost: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ICEServer(tc.cfg, tc.reqHost, "alice", now)
			if ok != (tc.urls != nil) {
				t.Fatalf("ICEServer ok: got %v (%+v); want %v", ok, got, tc.urls != nil)
			}
			if !ok {
				return
			}
			if !reflect.DeepEqual(got.URLs, tc.urls) {
				t.Errorf("urls: got %v; want %v", got.URLs, tc.urls)
			}
			wantUser, wantPass := Credentials(testSecret, "alice", now.Add(24*time.Hour))
			if got.Username != wantUser || got.Credential != wantPass {
				t.Errorf("credentials: got %q / %q; want %q / %q", got.Username, got.Credential, wantUser, wantPass)
			}
		})
	}
	t.Run("ttl", func(t *testing.T) {
		got, _ := ICEServer(base(func(c *config.Config) { c.TURNTTL = 2 * time.Hour }), "h", "bob", now)
		exp, user, _ := strings.Cut(got.Username, ":")
		if want := strconv.FormatInt(now.Add(2*time.Hour).Unix(), 10); exp != want || user != "bob" {
			t.Errorf("username: got %q; want %s:bob", got.Username, want)
		}
	})
}

func TestConfigFrom(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*config.Config)
		relays []RelayAddress // nil: only check there is one
		own    []netip.AddrPort
		check  func(t *testing.T, c Config)
	}{
		{
			name:   "node ip",
			mod:    func(c *config.Config) { c.NodeIP = "203.0.113.9"; c.RTCPort = 7882 },
			relays: []RelayAddress{{IP: netip.MustParseAddr("203.0.113.9")}},
			own:    []netip.AddrPort{netip.MustParseAddrPort("203.0.113.9:7882")},
		},
		{
			name:   "webrtc off: no own endpoint",
			mod:    func(c *config.Config) { c.NodeIP = "10.0.0.5"; c.RTCPort = 0 },
			relays: []RelayAddress{{IP: netip.MustParseAddr("10.0.0.5")}},
		},
		{
			name: "keys",
			mod: func(c *config.Config) {
				c.NodeIP = "10.0.0.5"
				c.TURNRelayPorts, c.TURNAllow, c.TURNDeny = "40000-40009", []string{"10.1.0.0/16", "::ffff:127.0.0.1"}, []string{"192.0.2.1"}
				c.TURNUserQuota, c.TURNTotalQuota, c.TURNBandwidth, c.TURNRealm = 3, 30, 1000, "example"
				c.TURNIPQuota, c.TURNTTL = 7, 2*time.Hour
			},
			relays: []RelayAddress{{IP: netip.MustParseAddr("10.0.0.5")}},
			own:    []netip.AddrPort{netip.MustParseAddrPort("10.0.0.5:7882")},
			check: func(t *testing.T, c Config) {
				t.Helper()
				want := Config{
					Realm: "example", Secret: testSecret, RelayPortMin: 40000, RelayPortMax: 40009,
					Policy: Policy{
						Allow: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("127.0.0.1/32")},
						Deny:  []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")},
					},
					UserQuota: 3, TotalQuota: 30, IPQuota: 7, TTL: 2 * time.Hour, Bandwidth: 1000,
				}
				got := c
				got.Relays, got.Policy.Own, got.Logger = nil, nil, nil
				if !reflect.DeepEqual(got, want) {
					t.Errorf("config: got %+v; want %+v", got, want)
				}
			},
		},
		{
			name: "detected addresses",
			mod:  func(c *config.Config) { c.NodeIP = "" },
			check: func(t *testing.T, c Config) {
				t.Helper()
				for _, o := range c.Policy.Own {
					if o.Addr().IsLoopback() || o.Port() != 7882 {
						t.Errorf("own endpoint %v: want a non-loopback address with port 7882", o)
					}
				}
				for _, r := range c.Relays {
					if r.IP.IsLoopback() || r.IP.IsLinkLocalUnicast() {
						t.Errorf("relay %v: want neither loopback nor link-local", r.IP)
					}
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Secret = string(testSecret)
			tc.mod(&cfg)
			c, err := ConfigFrom(cfg, nil)
			if err != nil {
				if tc.relays == nil && strings.Contains(err.Error(), "no usable IP address") {
					t.Skipf("this machine has no address to detect: %v", err)
				}
				t.Fatalf("ConfigFrom: got %v; want nil", err)
			}
			if tc.relays != nil && !reflect.DeepEqual(c.Relays, tc.relays) {
				t.Errorf("relays: got %v; want %v", c.Relays, tc.relays)
			}
			if tc.relays != nil && !reflect.DeepEqual(c.Policy.Own, tc.own) {
				t.Errorf("own endpoints: got %v; want %v", c.Policy.Own, tc.own)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestDetectRelays(t *testing.T) {
	addr := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	tests := []struct {
		name  string
		local []netip.Addr
		want  []string
	}{
		{name: "public first", local: addr("127.0.0.1", "10.0.0.5", "203.0.113.9"), want: []string{"203.0.113.9"}},
		{name: "private when no public", local: addr("127.0.0.1", "169.254.1.1", "10.0.0.5", "10.0.0.6"), want: []string{"10.0.0.5"}},
		{name: "ipv6 public only", local: addr("10.0.0.5", "fe80::1", "fd00::1", "2001:db8::1"), want: []string{"10.0.0.5", "2001:db8::1"}},
		{name: "nothing usable", local: addr("127.0.0.1", "::1", "fe80::1"), want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, r := range detectRelays(tc.local) {
				got = append(got, r.IP.String())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("detectRelays: got %v; want %v", got, tc.want)
			}
		})
	}
}
