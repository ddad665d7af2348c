package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// startInfo is what the start banner tells: where to open the server and
// the admin page, and the ports the media use.
type startInfo struct {
	http, https   net.Addr // nil when off
	adminToken    string   // "" unless generated for this run (a configured one is not printed)
	rtc           []string // the WebRTC port's sockets; none when off
	nodeIP        string
	turn, turnTLS string // bound addresses, "" when off
	rtmp          string // "" when off
}

// bannerLine is one labelled line of the banner; values after the first go on
// lines of their own.
type bannerLine struct {
	label  string
	values []string
}

// bannerLines builds the banner from info and the machine's addresses (local:
// localAddresses, or a test's).
func bannerLines(info startInfo, local []localAddr) []bannerLine {
	var lines []bannerLine
	add := func(label string, values ...string) { lines = append(lines, bannerLine{label, values}) }
	scheme, site := "https", info.https // the camera needs https anywhere but on localhost
	if site == nil {
		scheme, site = "http", info.http
	}
	if site == nil {
		add("open", "nothing: http and https are off (set --http)")
	} else {
		here, lan := siteURLs(scheme, site, local)
		add("open", here)
		if len(lan) > 0 {
			add("LAN", lan...)
			if scheme == "http" {
				add("note", "browsers on other machines allow the camera only over https (--https, docs/deploy.md)")
			}
		}
		admin := here + "admin"
		if info.adminToken != "" {
			admin += " with token " + info.adminToken + " (generated for this run; set --admin-token to keep one)"
		} else {
			admin += " with the admin_token you configured"
		}
		add("admin", admin)
	}
	if len(info.rtc) == 0 {
		add("webrtc", "off (--rtc-port 0)")
	} else {
		rtc := "udp " + strings.Join(info.rtc, ", ")
		if info.nodeIP != "" && !slices.ContainsFunc(info.rtc, func(a string) bool { return addrHost(a) == info.nodeIP }) {
			rtc += " (announced as " + info.nodeIP + ")"
		}
		add("webrtc", rtc)
	}
	var turn []string
	if info.turn != "" {
		turn = append(turn, "udp+tcp "+info.turn)
	}
	if info.turnTLS != "" {
		turn = append(turn, "tls "+info.turnTLS)
	}
	if len(turn) == 0 {
		turn = []string{"off"}
	}
	add("turn", strings.Join(turn, ", "))
	if info.rtmp == "" {
		add("rtmp", "off")
	} else {
		add("rtmp", info.rtmp+" (mini-program bridge; HTTP-FLV at /live/{room}/{user}.flv)")
	}
	return lines
}

// addrHost is the host of a host:port address.
func addrHost(addr string) string {
	h, _, _ := net.SplitHostPort(addr)
	return h
}

// siteURLs are where a browser reaches a listener on addr: on this machine,
// and from the LAN at each address of an interface that is neither loopback
// nor link-local, when it listens on every address.
func siteURLs(scheme string, addr net.Addr, local []localAddr) (here string, lan []string) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return scheme + "://" + addr.String() + "/", nil
	}
	port := strconv.Itoa(tcp.Port)
	ip, _ := netip.AddrFromSlice(tcp.IP)
	if ip = ip.Unmap(); ip.IsValid() && !ip.IsUnspecified() {
		return scheme + "://" + net.JoinHostPort(ip.String(), port) + "/", nil
	}
	dualStack := tcp.IP == nil || tcp.IP.To4() == nil // ":8080" listens on [::], IPv4 too
	var v4, v6 []string
	for _, l := range local {
		if l.Loopback || l.IP.IsLoopback() || l.IP.IsLinkLocalUnicast() {
			continue
		}
		u := scheme + "://" + net.JoinHostPort(l.IP.String(), port) + "/"
		switch {
		case l.IP.Is4():
			v4 = append(v4, u)
		case dualStack:
			v6 = append(v6, u)
		}
	}
	return scheme + "://localhost:" + port + "/", slices.Concat(v4, v6)
}

// formatBanner lays the lines out as a block for a terminal.
func formatBanner(lines []bannerLine) string {
	var b strings.Builder
	b.WriteString("openroom is ready\n")
	for _, l := range lines {
		for i, v := range l.values {
			label := ""
			if i == 0 {
				label = l.label
			}
			fmt.Fprintf(&b, "  %-8s %s\n", label, v)
		}
	}
	return b.String()
}

// announce tells where the server is, once every listener is up: a block on
// out with text logs, one record with JSON logs; nothing below info level.
func announce(log *slog.Logger, format string, out io.Writer, info startInfo, local []localAddr) {
	if !log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	lines := bannerLines(info, local)
	if format != "json" {
		_, _ = io.WriteString(out, formatBanner(lines))
		return
	}
	attrs := make([]any, 0, len(lines))
	for _, l := range lines {
		if len(l.values) == 1 {
			attrs = append(attrs, slog.String(strings.ToLower(l.label), l.values[0]))
		} else {
			attrs = append(attrs, slog.Any(strings.ToLower(l.label), l.values))
		}
	}
	log.Info("openroom is ready", attrs...)
}

// startInfo gathers what the banner tells from the running app.
func (a *app) startInfo() startInfo {
	info := startInfo{nodeIP: a.cfg.NodeIP}
	if a.httpLn != nil {
		info.http = a.httpLn.Addr()
	}
	if a.https != nil {
		info.https = a.https.ln.Addr()
	}
	if a.generatedAdminToken {
		info.adminToken = a.cfg.AdminToken
	}
	for _, c := range a.udp {
		info.rtc = append(info.rtc, c.LocalAddr().String())
	}
	if a.turnTCP != nil {
		info.turn = a.turnTCP.Addr().String()
	}
	if a.turnTLS != nil {
		info.turnTLS = a.turnTLS.Addr().String()
	}
	if a.rtmpLn != nil {
		info.rtmp = a.rtmpLn.Addr().String()
	}
	return info
}
