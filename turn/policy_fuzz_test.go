package turn

import (
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/time/rate"

	"github.com/openroom/openroom/config"
)

// fzAddr reads an address from raw bytes: 16 make an IPv6 address, 4 an
// IPv4 one, fewer none (invalid), as a peer address attribute carries them.
func fzAddr(b []byte) netip.Addr {
	switch {
	case len(b) >= 16:
		return netip.AddrFrom16([16]byte(b[:16]))
	case len(b) >= 4:
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.Addr{}
}

// fzPolicy builds a policy from comma-separated lists, as turn_allow and
// turn_deny are parsed (config.ParsePrefixes); a list that does not parse is
// left out, as config validation would have refused it.
func fzPolicy(allow, deny, own string) Policy {
	var p Policy
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	if ps, err := config.ParsePrefixes(split(allow)); err == nil {
		p.Allow = ps
	}
	if ps, err := config.ParsePrefixes(split(deny)); err == nil {
		p.Deny = ps
	}
	for _, s := range split(own) {
		if ap, err := netip.ParseAddrPort(strings.TrimSpace(s)); err == nil {
			p.Own = append(p.Own, ap)
		}
	}
	return p
}

// FuzzPolicy checks peer addresses against a policy made of any allow,
// deny and own lists: the decision for an IPv4 address is the same for its
// IPv4-mapped IPv6 form (and an IPv6 address's with a zone), and for the
// 4- and 16-byte forms pion hands to permit; deny wins, then allow; the
// data-path check (CheckEndpoint) is never looser than the permission check
// and differs only on own addresses, which it opens only on their ports.
// Without lists, an allowed address is none of the special kinds the
// standard library knows (loopback, private, link-local, multicast,
// unspecified), a NAT64 address gets its IPv4 address's decision, and an
// IPv4-compatible one is refused.
func FuzzPolicy(f *testing.F) {
	v6 := func(s string) []byte { a := netip.MustParseAddr(s).As16(); return a[:] }
	v4 := func(s string) []byte { a := netip.MustParseAddr(s).As4(); return a[:] }
	f.Add(v4("127.0.0.1"), "", "", "", uint16(7882))
	f.Add(v6("::ffff:127.0.0.1"), "127.0.0.1/32", "", "", uint16(80))
	f.Add(v4("10.99.0.1"), "", "", "10.99.0.1:7882,[fd00::5]:7882", uint16(7882))
	f.Add(v6("::ffff:10.99.0.1"), "", "", "10.99.0.1:7882", uint16(22))
	f.Add(v4("203.0.113.9"), "", "203.0.113.0/24", "", uint16(9))
	f.Add(v6("::ffff:203.0.113.9"), "", "::ffff:203.0.113.0/120", "", uint16(9))
	f.Add(v4("10.1.0.1"), "10.0.0.0/8", "10.1.0.0/16", "", uint16(1))
	f.Add(v6("64:ff9b::7f00:1"), "", "", "", uint16(1))
	f.Add(v6("64:ff9b::cb00:7109"), "", "", "", uint16(1))
	f.Add(v6("::127.0.0.1"), "", "", "", uint16(1))
	f.Add(v6("fe80::1"), "fe80::/10", "", "", uint16(1))
	f.Add(v6("2001:db8::1"), "", "::/0", "", uint16(1))
	f.Add(v4("100.64.0.1"), "", "", "", uint16(1))
	f.Add([]byte{1, 2}, "bogus", "", "", uint16(1))
	s := &Server{log: slog.New(slog.DiscardHandler), logLim: rate.NewLimiter(5, 20)}
	f.Fuzz(func(t *testing.T, ip []byte, allow, deny, own string, port uint16) {
		p := fzPolicy(allow, deny, own)
		a := fzAddr(ip)
		ok, reason := p.CheckIP(a)
		if !a.IsValid() {
			if ok || reason != "invalid address" {
				t.Fatalf("CheckIP(invalid): got %v, %q; want refused as invalid", ok, reason)
			}
			return
		}
		same := func(what string, b netip.Addr) {
			t.Helper()
			if ok2, reason2 := p.CheckIP(b); ok2 != ok || reason2 != reason {
				t.Fatalf("CheckIP(%v) = %v, %q but CheckIP(%v) (%s) = %v, %q; want the same", a, ok, reason, b, what, ok2, reason2)
			}
		}
		c := a.Unmap()
		if c.Is4() {
			same("IPv4", c)
			same("IPv4-mapped", netip.AddrFrom16(c.As16()))
		} else {
			same("with a zone", c.WithZone("eth0"))
		}
		s.cfg.Policy = p
		client := &net.UDPAddr{IP: net.IPv4(198, 51, 100, 1), Port: 5000}
		if got := s.permit(client, net.IP(a.AsSlice())); got != ok {
			t.Fatalf("permit(%v): got %v; want %v as CheckIP", a, got, ok)
		}
		if c.Is4() {
			if got := s.permit(client, net.IP(c.AsSlice()).To16()); got != ok {
				t.Fatalf("permit(16-byte %v): got %v; want %v as CheckIP", c, got, ok)
			}
		}

		denied, allowed, isOwn := contains(p.Deny, c), contains(p.Allow, c), p.isOwn(c)
		switch {
		case denied && (ok || reason != "turn_deny"):
			t.Fatalf("CheckIP(%v) in turn_deny %v: got %v, %q; want refused by turn_deny", a, p.Deny, ok, reason)
		case !denied && allowed && !ok:
			t.Fatalf("CheckIP(%v) in turn_allow %v: got refused (%q); want allowed", a, p.Allow, reason)
		}
		ap := netip.AddrPortFrom(a, port)
		ep := p.CheckEndpoint(ap)
		switch {
		case ep && !ok:
			t.Fatalf("CheckEndpoint(%v) allowed what CheckIP refuses (%q)", ap, reason)
		case ok && (allowed || !isOwn) && !ep:
			t.Fatalf("CheckEndpoint(%v) refused an address CheckIP allows", ap)
		case ok && isOwn && !allowed:
			onPort := false
			for _, o := range p.Own {
				onPort = onPort || (o.Addr().Unmap() == c && o.Port() == port)
			}
			if ep != onPort {
				t.Fatalf("CheckEndpoint(%v) on an own address: got %v; want %v (only the own ports)", ap, ep, onPort)
			}
		}

		var zero Policy
		ok0, reason0 := zero.CheckIP(a)
		if ok0 && (c.IsLoopback() || c.IsPrivate() || c.IsLinkLocalUnicast() || c.IsLinkLocalMulticast() ||
			c.IsInterfaceLocalMulticast() || c.IsMulticast() || c.IsUnspecified()) {
			t.Fatalf("CheckIP(%v) without lists: allowed; want a special address refused", a)
		}
		if c.Is4() {
			b := nat64.Addr().As16()
			v4 := c.As4()
			copy(b[12:], v4[:])
			n64 := netip.AddrFrom16(b)
			okN, reasonN := zero.CheckIP(n64)
			if okN != ok0 || (!ok0 && reasonN != "NAT64 to "+reason0) {
				t.Fatalf("CheckIP(%v) = %v, %q but its NAT64 form %v = %v, %q; want the same decision", c, ok0, reason0, n64, okN, reasonN)
			}
			var compat [16]byte
			copy(compat[12:], v4[:])
			if okC, _ := zero.CheckIP(netip.AddrFrom16(compat)); okC {
				t.Fatalf("CheckIP(%v), IPv4-compatible: allowed; want refused", netip.AddrFrom16(compat))
			}
		}
	})
}
