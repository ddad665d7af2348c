package turn

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/openroom/openroom/config"
)

// ICEServer returns the RTCIceServer entry that lets userID use the bundled TURN
// server cfg describes, with credentials valid for cfg.TURNTTL from now. reqHost
// is the Host the client reached signaling on. ok is false when TURN is off or
// no host is known for the URLs.
//
// URLs: turn:HOST:PORT?transport=udp and ?transport=tcp when cfg.TURN is set,
// turns:HOST:TLSPORT?transport=tcp when TLS is on. HOST is turn_host, else
// node_ip, else reqHost's host; for turns: reqHost's host comes before node_ip,
// since a certificate names a host, rarely an IP.
func ICEServer(cfg config.Config, reqHost, userID string, now time.Time) (config.ICEServer, bool) {
	reqHost = hostOnly(reqHost)
	var urls []string
	if port := portOf(cfg.TURN); port != "" {
		if host := firstNonEmpty(cfg.TURNHost, cfg.NodeIP, reqHost); host != "" {
			hp := net.JoinHostPort(host, port)
			urls = append(urls, "turn:"+hp+"?transport=udp", "turn:"+hp+"?transport=tcp")
		}
	}
	if port := portOf(cfg.TURNTLS); port != "" && cfg.TURNTLSEnabled() {
		if host := firstNonEmpty(cfg.TURNHost, reqHost, cfg.NodeIP); host != "" {
			urls = append(urls, "turns:"+net.JoinHostPort(host, port)+"?transport=tcp")
		}
	}
	if len(urls) == 0 {
		return config.ICEServer{}, false
	}
	username, credential := Credentials([]byte(cfg.Secret), userID, now.Add(cfg.TURNTTL))
	return config.ICEServer{URLs: urls, Username: username, Credential: credential}, true
}

// portOf is the port of a listen address, "" when disabled or unresolved (":0").
func portOf(addr string) string {
	if addr == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" {
		return ""
	}
	return port
}

// hostOnly strips the port (and IPv6 brackets) from a Host header.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// ConfigFrom builds a Server Config from openroom's config: relay addresses on
// node_ip (else detected from the interfaces), the SFU's endpoints (node_ip, else
// every interface address, with rtc_port) as own endpoints, and the operator's
// allow and deny lists. cfg must have passed Validate.
func ConfigFrom(cfg config.Config, log *slog.Logger) (Config, error) {
	lo, hi, err := config.ParsePortRange(cfg.TURNRelayPorts)
	if err != nil {
		return Config{}, fmt.Errorf("%w: turn_relay_ports: %v", ErrConfig, err)
	}
	allow, err := config.ParsePrefixes(cfg.TURNAllow)
	if err != nil {
		return Config{}, fmt.Errorf("%w: turn_allow: %v", ErrConfig, err)
	}
	deny, err := config.ParsePrefixes(cfg.TURNDeny)
	if err != nil {
		return Config{}, fmt.Errorf("%w: turn_deny: %v", ErrConfig, err)
	}
	local := interfaceAddrs()
	var relays []RelayAddress
	var own []netip.AddrPort
	if cfg.NodeIP != "" {
		ip, err := netip.ParseAddr(cfg.NodeIP)
		if err != nil {
			return Config{}, fmt.Errorf("%w: node_ip %q: %v", ErrConfig, cfg.NodeIP, err)
		}
		relays = []RelayAddress{{IP: ip.Unmap()}}
		if cfg.RTCPort != 0 {
			own = []netip.AddrPort{netip.AddrPortFrom(ip.Unmap(), uint16(cfg.RTCPort))}
		}
	} else {
		relays = detectRelays(local)
		if cfg.RTCPort != 0 {
			for _, a := range local {
				if !a.IsLoopback() {
					own = append(own, netip.AddrPortFrom(a, uint16(cfg.RTCPort)))
				}
			}
		}
	}
	if len(relays) == 0 {
		return Config{}, fmt.Errorf("%w: no relay address: this machine has no usable IP address; set node_ip", ErrConfig)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return Config{
		Realm: cfg.TURNRealm, Secret: []byte(cfg.Secret), Relays: relays,
		RelayPortMin: lo, RelayPortMax: hi,
		Policy:    Policy{Allow: allow, Deny: deny, Own: own},
		UserQuota: cfg.TURNUserQuota, TotalQuota: cfg.TURNTotalQuota, IPQuota: cfg.TURNIPQuota, Bandwidth: cfg.TURNBandwidth,
		TTL:    cfg.TURNTTL,
		Logger: log,
	}, nil
}

// interfaceAddrs lists this machine's unicast addresses.
func interfaceAddrs() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && !p.Addr().IsMulticast() {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out
}

// detectRelays picks one relay address per family: a public address first, else
// a private one (IPv6: only public ones). Loopback and link-local never.
func detectRelays(local []netip.Addr) []RelayAddress {
	var v4pub, v4priv, v6pub netip.Addr
	for _, a := range local {
		if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() {
			continue
		}
		_, special := builtinReason(a)
		switch {
		case a.Is4() && !special && !v4pub.IsValid():
			v4pub = a
		case a.Is4() && special && !v4priv.IsValid():
			v4priv = a
		case a.Is6() && !special && !v6pub.IsValid():
			v6pub = a
		}
	}
	var out []RelayAddress
	if v4pub.IsValid() {
		out = append(out, RelayAddress{IP: v4pub})
	} else if v4priv.IsValid() {
		out = append(out, RelayAddress{IP: v4priv})
	}
	if v6pub.IsValid() {
		out = append(out, RelayAddress{IP: v6pub})
	}
	return out
}
