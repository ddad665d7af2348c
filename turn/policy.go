package turn

import (
	"net"
	"net/netip"
)

// forbidden lists the peer ranges refused by default: relaying to them would let
// anyone with credentials reach this host's own services or the networks behind it.
// IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible forms are unmapped first, and
// IPv4 embedded in the well-known NAT64 prefix is checked as IPv4.
var forbidden = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible"}, // deprecated form of IPv4 in IPv6
	{netip.MustParsePrefix("fc00::/7"), "private"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Policy decides which peers an allocation may talk to. Its zero value refuses
// the forbidden ranges and allows every other address.
type Policy struct {
	// Allow lists extra prefixes that are reachable even though they are in a
	// forbidden range (a LAN service, a test peer). Deny wins over Allow.
	Allow []netip.Prefix
	// Deny lists extra prefixes that are never reachable.
	Deny []netip.Prefix
	// Own are the SFU's announced endpoints. Their addresses are reachable even
	// when private (LAN and container deployments), but only on these ports:
	// the relay refuses packets to or from any other port of an own address.
	Own []netip.AddrPort
}

// canonical unmaps IPv4-mapped IPv6 addresses and drops any zone, so
// ::ffff:127.0.0.1 and 127.0.0.1 are the same peer.
func canonical(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// builtinReason reports whether a (canonical) is in a forbidden range, and which.
// A NAT64 address (64:ff9b::/96) counts as the IPv4 address it embeds.
func builtinReason(a netip.Addr) (string, bool) {
	if nat64.Contains(a) {
		b := a.As16()
		if reason, bad := builtinReason(netip.AddrFrom4([4]byte(b[12:16]))); bad {
			return "NAT64 to " + reason, true
		}
		return "", false
	}
	for _, f := range forbidden {
		if f.prefix.Contains(a) {
			return f.reason, true
		}
	}
	return "", false
}

func contains(list []netip.Prefix, a netip.Addr) bool {
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (p *Policy) isOwn(a netip.Addr) bool {
	for _, o := range p.Own {
		if o.Addr().Unmap() == a {
			return true
		}
	}
	return false
}

// CheckIP is the permission check (CreatePermission, ChannelBind): it reports
// whether an allocation may open a permission to ip, and if not, why.
func (p *Policy) CheckIP(ip netip.Addr) (ok bool, reason string) {
	if !ip.IsValid() {
		return false, "invalid address"
	}
	a := canonical(ip)
	switch {
	case contains(p.Deny, a):
		return false, "turn_deny"
	case contains(p.Allow, a):
		return true, ""
	case p.isOwn(a):
		return true, ""
	}
	if reason, bad := builtinReason(a); bad {
		return false, reason
	}
	return true, ""
}

// CheckEndpoint is the data-path check for every relayed packet: CheckIP, and on
// an own address (not explicitly allowed) only the SFU's own ports.
func (p *Policy) CheckEndpoint(ap netip.AddrPort) bool {
	a := canonical(ap.Addr())
	if contains(p.Deny, a) {
		return false
	}
	if contains(p.Allow, a) {
		return true
	}
	if p.isOwn(a) {
		for _, o := range p.Own {
			if o.Addr().Unmap() == a && o.Port() == ap.Port() {
				return true
			}
		}
		return false
	}
	_, bad := builtinReason(a)
	return !bad
}

// addrPortOf converts a net.Addr (UDP or TCP) to a netip.AddrPort.
func addrPortOf(addr net.Addr) (netip.AddrPort, bool) {
	switch a := addr.(type) {
	case *net.UDPAddr:
		return a.AddrPort(), true
	case *net.TCPAddr:
		return a.AddrPort(), true
	}
	ap, err := netip.ParseAddrPort(addr.String())
	return ap, err == nil
}

// ipOf converts a net.IP to a netip.Addr (invalid for a malformed one).
func ipOf(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a
}
