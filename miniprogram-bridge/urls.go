package bridge

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// URLs builds the stream addresses handed to mini-program members. Empty bases
// are derived from the Host the client used to reach signaling.
type URLs struct {
	RTMPBase string // e.g. "rtmp://rooms.example.com:1935"; default rtmp://{host}:{RTMPPort}
	FLVBase  string // e.g. "https://rooms.example.com"; default http://{host}
	RTMPPort int
}

func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		if strings.Contains(h, ":") {
			return "[" + h + "]"
		}
		return h
	}
	return host
}

func (u URLs) rtmpBase(host string) string {
	if u.RTMPBase != "" {
		return strings.TrimSuffix(u.RTMPBase, "/")
	}
	return fmt.Sprintf("rtmp://%s:%d", hostOnly(host), u.RTMPPort)
}

func (u URLs) flvBase(host string) string {
	if u.FLVBase != "" {
		return strings.TrimSuffix(u.FLVBase, "/")
	}
	return "http://" + host
}

// streamURL is base + /live/{room}/{user}{ext}?sig=...
func streamURL(base, room, user, ext, sig string) string {
	u := base + "/live/" + url.PathEscape(room) + "/" + url.PathEscape(user) + ext
	if sig != "" {
		u += "?sig=" + url.QueryEscape(sig)
	}
	return u
}

// PushURL is where a mini-program's <live-pusher> publishes.
func (u URLs) PushURL(host, room, user, sig string) string {
	return streamURL(u.rtmpBase(host), room, user, "", sig)
}

// PlayURLs are where a <live-player> plays publisher: HTTP-FLV and RTMP.
func (u URLs) PlayURLs(host, room, publisher, sig string) (flv, rtmp string) {
	return streamURL(u.flvBase(host), room, publisher, ".flv", sig), streamURL(u.rtmpBase(host), room, publisher, "", sig)
}

// ScreenPlayURLs are where a <live-player> plays publisher's shared screen.
func (u URLs) ScreenPlayURLs(host, room, publisher, sig string) (flv, rtmp string) {
	return streamURL(u.flvBase(host), room, publisher, screenSuffix+".flv", sig),
		streamURL(u.rtmpBase(host), room, publisher, screenSuffix, sig)
}
