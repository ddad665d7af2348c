package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/openroom/openroom/config"
)

// sockets are every listener the configuration asks for, opened before the
// rest of the server is wired so that all busy ports are found in one start.
type sockets struct {
	rtc     []net.PacketConn // the WebRTC port, one per address (rtcAddresses)
	https   net.Listener
	turnUDP net.PacketConn
	turnTCP net.Listener
	turnTLS net.Listener
	rtmp    net.Listener
	http    net.Listener
}

// listenFailure is one address that could not be opened.
type listenFailure struct {
	what    string // what listens there, e.g. "HTTP"
	network string // "tcp" or "udp"
	addr    string
	key     string // the config key that sets it: --key (with dashes), OPENROOM_KEY
	err     error
}

// optionalListeners are the keys of listeners a server can do without (the
// mini-program bridge, TURN), so the error may say how to turn them off.
var optionalListeners = map[string]bool{"rtmp": true, "turn": true, "turn_tls": true}

// listenError is every address that could not be opened.
type listenError []listenFailure

func (e listenError) Error() string {
	inUse := true
	items := make([]string, len(e))
	for i, f := range e {
		flagName := "--" + strings.ReplaceAll(f.key, "_", "-")
		env := config.EnvPrefix + strings.ToUpper(f.key)
		addr := f.addr
		if f.network == "udp" {
			addr = "udp " + addr
		}
		why := ""
		if !errors.Is(f.err, syscall.EADDRINUSE) {
			inUse = false
			why = ": " + listenReason(f.err)
		}
		off := ""
		if optionalListeners[f.key] {
			off = `, or "" to turn it off`
		}
		items[i] = fmt.Sprintf("%s (%s%s; change with %s or %s%s)", addr, f.what, why, flagName, env, off)
	}
	list := strings.Join(items, ", ")
	switch {
	case inUse && len(e) == 1:
		return "1 address is in use: " + list
	case inUse:
		return fmt.Sprintf("%d addresses are in use: %s", len(e), list)
	case len(e) == 1:
		return "cannot listen on 1 address: " + list
	}
	return fmt.Sprintf("cannot listen on %d addresses: %s", len(e), list)
}

// listenReason is the system's reason without the address it already names,
// with what to do about a port below 1024.
func listenReason(err error) string {
	if errors.Is(err, os.ErrPermission) {
		return "permission denied: ports below 1024 need CAP_NET_BIND_SERVICE (docs/deploy.md)"
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	return err.Error()
}

// openSockets opens every listener cfg asks for, the WebRTC port on each of
// rtcIPs. On any failure it closes what did open and returns a listenError
// naming every address that failed and the setting that moves it.
func openSockets(cfg config.Config, rtcIPs []string) (*sockets, error) {
	s := &sockets{}
	var failed listenError
	listen := func(what, key, addr string) net.Listener {
		ln, err := net.Listen("tcp", addr)
		if err != nil && sharedDefault(cfg, key, addr, err) {
			ln, err = net.Listen("tcp", anyPort(addr))
		}
		if err != nil {
			failed = append(failed, listenFailure{what: what, network: "tcp", addr: addr, key: key, err: err})
		}
		return ln
	}
	if cfg.RTCPort != 0 {
		for _, ip := range rtcIPs {
			addr := net.JoinHostPort(ip, strconv.Itoa(cfg.RTCPort))
			pc, err := net.ListenPacket("udp4", addr)
			if err != nil {
				failed = append(failed, listenFailure{what: "WebRTC", network: "udp", addr: addr, key: "rtc_port", err: err})
				continue
			}
			s.rtc = append(s.rtc, pc)
		}
	}
	if cfg.HTTPSEnabled() {
		s.https = listen("HTTPS", "https", cfg.HTTPS)
	}
	if cfg.TURN != "" {
		var network string
		var err error
		s.turnUDP, s.turnTCP, network, err = listenUDPAndTCP(cfg.TURN)
		if err != nil && sharedDefault(cfg, "turn", cfg.TURN, err) {
			s.turnUDP, s.turnTCP, network, err = listenUDPAndTCP(anyPort(cfg.TURN))
		}
		if err != nil {
			what := map[string]string{"udp": "TURN over UDP", "tcp": "TURN over TCP"}[network]
			failed = append(failed, listenFailure{what: what, network: network, addr: cfg.TURN, key: "turn", err: err})
		}
	}
	if cfg.TURNTLSEnabled() {
		s.turnTLS = listen("TURN over TLS", "turn_tls", cfg.TURNTLS)
	}
	if cfg.RTMP != "" {
		s.rtmp = listen("RTMP", "rtmp", cfg.RTMP)
	}
	if cfg.HTTP != "" {
		s.http = listen("HTTP", "http", cfg.HTTP)
	}
	if len(failed) > 0 {
		s.close()
		return nil, failed
	}
	return s, nil
}

// close closes every socket that opened.
func (s *sockets) close() {
	for _, pc := range s.rtc {
		_ = pc.Close()
	}
	for _, c := range []io.Closer{s.https, s.turnUDP, s.turnTCP, s.turnTLS, s.rtmp, s.http} {
		if c != nil {
			_ = c.Close()
		}
	}
}

// listenUDPAndTCP binds addr over UDP and TCP on the same port; with port 0 it
// tries a few ports until both are free. On failure it says which network failed.
func listenUDPAndTCP(addr string) (_ net.PacketConn, _ net.Listener, failed string, _ error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, "udp", err
	}
	for try := 0; ; try++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, "udp", err
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)))
		if err == nil {
			return pc, ln, "", nil
		}
		_ = pc.Close()
		if port != "0" || try == 20 {
			return nil, nil, "tcp", err
		}
	}
}

// sharedDefault reports whether a listener that could not bind its address
// may take another port: in cluster mode, the default RTMP and TURN ports
// of a second node on the same host are the first node's (the issue's
// contract: such nodes need no more than --http, --rtc-port, --node-ip,
// --secret and --redis-url). The port bound is announced to clients and the
// cluster; an address set on purpose is never moved.
func sharedDefault(cfg config.Config, key, addr string, err error) bool {
	if cfg.RedisURL == "" || !errors.Is(err, syscall.EADDRINUSE) {
		return false
	}
	d := config.Default()
	want := map[string]string{"rtmp": d.RTMP, "turn": d.TURN, "turn_tls": d.TURNTLS}[key]
	return want != "" && addr == want
}

// anyPort is addr's host with port 0.
func anyPort(addr string) string {
	host, _, _ := net.SplitHostPort(addr)
	return net.JoinHostPort(host, "0")
}
