package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// bannerLocal stands in for the machine's interfaces: loopback, two LAN
// addresses, a link-local and a global IPv6 address.
var bannerLocal = []localAddr{
	{IP: netip.MustParseAddr("127.0.0.1"), Loopback: true},
	{IP: netip.MustParseAddr("::1"), Loopback: true},
	{IP: netip.MustParseAddr("192.168.1.20")},
	{IP: netip.MustParseAddr("fe80::1")},
	{IP: netip.MustParseAddr("2001:db8::20")},
	{IP: netip.MustParseAddr("10.0.0.5")},
}

func tcpAddr(t *testing.T, s string) net.Addr {
	t.Helper()
	return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s))
}

func TestBanner(t *testing.T) {
	tests := []struct {
		name string
		info func(t *testing.T) startInfo
		want string
	}{
		{
			name: "dev defaults",
			info: func(t *testing.T) startInfo {
				return startInfo{http: tcpAddr(t, "[::]:8080"), adminToken: "0123456789abcdef", rtc: []string{"192.168.1.20:7882", "10.0.0.5:7882"},
					turn: "[::]:3478", rtmp: "[::]:1935"}
			},
			want: `openroom is ready
  open     http://localhost:8080/
  LAN      http://192.168.1.20:8080/
           http://10.0.0.5:8080/
           http://[2001:db8::20]:8080/
  note     browsers on other machines allow the camera only over https (--https, docs/deploy.md)
  admin    http://localhost:8080/admin with token 0123456789abcdef (generated for this run; set --admin-token to keep one)
  webrtc   udp 192.168.1.20:7882, 10.0.0.5:7882
  turn     udp+tcp [::]:3478
  rtmp     [::]:1935 (mini-program bridge; HTTP-FLV at /live/{room}/{user}.flv)
`,
		},
		{
			name: "https, configured token, behind NAT",
			info: func(t *testing.T) startInfo {
				return startInfo{http: tcpAddr(t, "[::]:8080"), https: tcpAddr(t, "0.0.0.0:8443"), rtc: []string{"0.0.0.0:7882"},
					nodeIP: "203.0.113.9", turn: "[::]:3478", turnTLS: "[::]:5349"}
			},
			want: `openroom is ready
  open     https://localhost:8443/
  LAN      https://192.168.1.20:8443/
           https://10.0.0.5:8443/
  admin    https://localhost:8443/admin with the admin_token you configured
  webrtc   udp 0.0.0.0:7882 (announced as 203.0.113.9)
  turn     udp+tcp [::]:3478, tls [::]:5349
  rtmp     off
`,
		},
		{
			name: "one address, media off",
			info: func(t *testing.T) startInfo {
				return startInfo{http: tcpAddr(t, "127.0.0.1:8080"), adminToken: "tok-tok-tok-tok"}
			},
			want: `openroom is ready
  open     http://127.0.0.1:8080/
  admin    http://127.0.0.1:8080/admin with token tok-tok-tok-tok (generated for this run; set --admin-token to keep one)
  webrtc   off (--rtc-port 0)
  turn     off
  rtmp     off
`,
		},
		{
			name: "node ip is the socket's",
			info: func(t *testing.T) startInfo {
				return startInfo{http: tcpAddr(t, "10.0.0.5:80"), rtc: []string{"10.0.0.5:7882"}, nodeIP: "10.0.0.5"}
			},
			want: `openroom is ready
  open     http://10.0.0.5:80/
  admin    http://10.0.0.5:80/admin with the admin_token you configured
  webrtc   udp 10.0.0.5:7882
  turn     off
  rtmp     off
`,
		},
		{
			name: "no web listener",
			info: func(t *testing.T) startInfo { return startInfo{rtmp: "[::]:1935"} },
			want: `openroom is ready
  open     nothing: http and https are off (set --http)
  webrtc   off (--rtc-port 0)
  turn     off
  rtmp     [::]:1935 (mini-program bridge; HTTP-FLV at /live/{room}/{user}.flv)
`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatBanner(bannerLines(tc.info(t), bannerLocal)); got != tc.want {
				t.Errorf("banner: got\n%s; want\n%s", got, tc.want)
			}
		})
	}
}

func TestAnnounce(t *testing.T) {
	info := startInfo{http: tcpAddr(t, "0.0.0.0:8080"), adminToken: "0123456789abcdef"}
	tests := []struct {
		name    string
		level   slog.Level
		format  string
		wantOut string // the block on out
		wantLog string // in the log
	}{
		{name: "text", level: slog.LevelInfo, format: "text", wantOut: "openroom is ready\n  open     http://localhost:8080/\n"},
		{name: "json", level: slog.LevelInfo, format: "json", wantLog: `"msg":"openroom is ready","open":"http://localhost:8080/",` +
			`"lan":["http://192.168.1.20:8080/","http://10.0.0.5:8080/"]`},
		{name: "quiet below info", level: slog.LevelWarn, format: "text"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, logs bytes.Buffer
			log := newLogger(&logs, strings.ToLower(tc.level.String()), tc.format)
			announce(log, tc.format, &out, info, bannerLocal)
			if !strings.HasPrefix(out.String(), tc.wantOut) || (tc.wantOut == "") != (out.Len() == 0) {
				t.Errorf("out: got %q; want it to start with %q", out.String(), tc.wantOut)
			}
			if !strings.Contains(logs.String(), tc.wantLog) || (tc.wantLog == "") != (logs.Len() == 0) {
				t.Errorf("log: got %q; want it to contain %q", logs.String(), tc.wantLog)
			}
			if tc.format == "json" && !json.Valid(logs.Bytes()) {
				t.Errorf("log: got %q; want one JSON record", logs.String())
			}
		})
	}
}
