package main

import (
	"net/netip"
	"slices"
	"testing"
)

func TestRTCAddresses(t *testing.T) {
	t.Parallel()
	addr := func(s string, lo bool) localAddr { return localAddr{IP: netip.MustParseAddr(s), Loopback: lo} }
	local := []localAddr{addr("127.0.0.1", true), addr("203.0.113.7", true), addr("10.0.0.5", false),
		addr("172.17.0.1", false), addr("169.254.3.4", false), addr("fe80::1", false), addr("2001:db8::5", false)}
	tests := []struct {
		name         string
		nodeIP       string
		local        []localAddr
		want         []string
		wantLoopback bool
	}{
		{"node_ip on an interface: that address alone", "10.0.0.5", local, []string{"10.0.0.5"}, false},
		{"node_ip on loopback (tests)", "127.0.0.1", local, []string{"127.0.0.1"}, true},
		{"node_ip behind NAT: any address, candidates rewritten", "198.51.100.9", local, []string{"0.0.0.0"}, false},
		{"public node_ip on lo for hairpinning: any address", "203.0.113.7", local, []string{"0.0.0.0"}, false},
		{"IPv6 node_ip: any address", "2001:db8::5", local, []string{"0.0.0.0"}, false},
		{"no node_ip: every usable address", "", local, []string{"10.0.0.5", "172.17.0.1"}, false},
		{"no node_ip, only loopback: any address", "", local[:2], []string{"0.0.0.0"}, false},
		{"no interfaces known", "", nil, []string{"0.0.0.0"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, loopback := rtcAddresses(tc.nodeIP, tc.local)
			if !slices.Equal(got, tc.want) || loopback != tc.wantLoopback {
				t.Errorf("rtcAddresses(%q): got %v, loopback %v; want %v, %v", tc.nodeIP, got, loopback, tc.want, tc.wantLoopback)
			}
		})
	}
}
