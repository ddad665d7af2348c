package turn

import (
	"net/netip"
	"testing"
)

func TestPolicyCheckIP(t *testing.T) {
	own := []netip.AddrPort{netip.MustParseAddrPort("10.99.0.1:7882"), netip.MustParseAddrPort("[fd00::5]:7882")}
	tests := []struct {
		name   string
		policy Policy
		ip     string
		ok     bool
		reason string
	}{
		{name: "public ipv4", ip: "203.0.113.9", ok: true},
		{name: "public ipv6", ip: "2001:db8::1", ok: true},
		{name: "loopback", ip: "127.0.0.1", reason: "loopback"},
		{name: "loopback range", ip: "127.8.9.10", reason: "loopback"},
		{name: "mapped loopback", ip: "::ffff:127.0.0.1", reason: "loopback"},
		{name: "mapped unspecified", ip: "::ffff:0.0.0.0", reason: "unspecified"},
		{name: "mapped private", ip: "::ffff:192.168.0.1", reason: "private"},
		{name: "mapped public", ip: "::ffff:203.0.113.9", ok: true},
		{name: "unspecified v4", ip: "0.0.0.0", reason: "unspecified"},
		{name: "this network", ip: "0.255.1.2", reason: "unspecified"},
		{name: "unspecified v6", ip: "::", reason: "unspecified"},
		{name: "loopback v6", ip: "::1", reason: "loopback"},
		{name: "ipv4 compatible", ip: "::127.0.0.1", reason: "IPv4-compatible"},
		{name: "rfc1918 10", ip: "10.1.2.3", reason: "private"},
		{name: "rfc1918 172", ip: "172.20.0.1", reason: "private"},
		{name: "172.32 is public", ip: "172.32.0.1", ok: true},
		{name: "rfc1918 192.168", ip: "192.168.255.255", reason: "private"},
		{name: "ula", ip: "fd00::1", reason: "private"},
		{name: "ula fc", ip: "fc00::1", reason: "private"},
		{name: "link-local v4", ip: "169.254.169.254", reason: "link-local"},
		{name: "link-local v6", ip: "fe80::1", reason: "link-local"},
		{name: "link-local v6 with zone", ip: "fe80::1%eth0", reason: "link-local"},
		{name: "multicast v4", ip: "224.0.0.1", reason: "multicast"},
		{name: "multicast v6", ip: "ff02::1", reason: "multicast"},
		{name: "cgnat", ip: "100.64.0.1", reason: "carrier-grade NAT"},
		{name: "cgnat end", ip: "100.127.255.255", reason: "carrier-grade NAT"},
		{name: "100.128 is public", ip: "100.128.0.1", ok: true},
		{name: "ietf assignments", ip: "192.0.0.8", reason: "IETF protocol assignments"},
		{name: "benchmarking", ip: "198.19.0.1", reason: "benchmarking"},
		{name: "reserved", ip: "240.0.0.1", reason: "reserved"},
		{name: "broadcast", ip: "255.255.255.255", reason: "reserved"},
		{name: "nat64 of loopback", ip: "64:ff9b::7f00:1", reason: "NAT64 to loopback"},
		{name: "nat64 of public", ip: "64:ff9b::cb00:7109", ok: true},
		{name: "own private address", policy: Policy{Own: own}, ip: "10.99.0.1", ok: true},
		{name: "own address mapped", policy: Policy{Own: own}, ip: "::ffff:10.99.0.1", ok: true},
		{name: "own ula address", policy: Policy{Own: own}, ip: "fd00::5", ok: true},
		{name: "next to own address", policy: Policy{Own: own}, ip: "10.99.0.2", reason: "private"},
		{name: "allowed private", policy: Policy{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, ip: "10.2.3.4", ok: true},
		{name: "allowed loopback mapped", policy: Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, ip: "::ffff:127.0.0.1", ok: true},
		{name: "denied public", policy: Policy{Deny: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}, ip: "203.0.113.9", reason: "turn_deny"},
		{name: "denied beats allowed", policy: Policy{
			Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, Deny: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")},
		}, ip: "10.1.0.1", reason: "turn_deny"},
		{name: "denied beats own", policy: Policy{Own: own, Deny: []netip.Prefix{netip.MustParsePrefix("10.99.0.0/24")}}, ip: "10.99.0.1", reason: "turn_deny"},
		{name: "invalid", ip: "", reason: "invalid address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ip netip.Addr
			if tc.ip != "" {
				ip = netip.MustParseAddr(tc.ip)
			}
			ok, reason := tc.policy.CheckIP(ip)
			if ok != tc.ok || reason != tc.reason {
				t.Errorf("CheckIP(%v): got %v, %q; want %v, %q", tc.ip, ok, reason, tc.ok, tc.reason)
			}
		})
	}
}

func TestPolicyCheckEndpoint(t *testing.T) {
	p := Policy{
		Own:   []netip.AddrPort{netip.MustParseAddrPort("10.99.0.1:7882"), netip.MustParseAddrPort("198.51.100.7:7882")},
		Allow: []netip.Prefix{netip.MustParsePrefix("10.50.0.0/16")},
		Deny:  []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
	}
	tests := []struct {
		name string
		ap   string
		ok   bool
	}{
		{name: "own private sfu port", ap: "10.99.0.1:7882", ok: true},
		{name: "own private other port", ap: "10.99.0.1:22", ok: false},
		{name: "own mapped sfu port", ap: "[::ffff:10.99.0.1]:7882", ok: true},
		{name: "own public sfu port", ap: "198.51.100.7:7882", ok: true},
		{name: "own public other port", ap: "198.51.100.7:3478", ok: false},
		{name: "allowed private any port", ap: "10.50.1.1:5000", ok: true},
		{name: "public any port", ap: "203.0.113.5:9", ok: true},
		{name: "denied public", ap: "192.0.2.1:7882", ok: false},
		{name: "loopback", ap: "127.0.0.1:7882", ok: false},
		{name: "mapped loopback", ap: "[::ffff:127.0.0.1]:7882", ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.CheckEndpoint(netip.MustParseAddrPort(tc.ap)); got != tc.ok {
				t.Errorf("CheckEndpoint(%v): got %v; want %v", tc.ap, got, tc.ok)
			}
		})
	}
}
