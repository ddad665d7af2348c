package turn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	pturn "github.com/pion/turn/v5"
)

func TestAllocateCredentials(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, nil)
	goodUser, goodPass := creds("alice")
	expiredUser, expiredPass := Credentials(testSecret, "alice", time.Now().Add(-time.Minute))
	otherUser, otherPass := Credentials([]byte("another secret, not the server's"), "alice", time.Now().Add(time.Hour))
	// Forged: alice's password with the user swapped, and a far expiry with alice's password.
	forgedUser := strings.Replace(goodUser, ":alice", ":mallory", 1)
	exp, _, _ := strings.Cut(goodUser, ":")
	later, _ := strconv.ParseInt(exp, 10, 64)
	extendedUser := strconv.FormatInt(later+365*24*3600, 10) + ":alice"
	tests := []struct {
		name       string
		network    string
		user, pass string
		ok         bool
	}{
		{name: "good credentials udp", network: "udp", user: goodUser, pass: goodPass, ok: true},
		{name: "good credentials tcp", network: "tcp", user: goodUser, pass: goodPass, ok: true},
		{name: "wrong password", network: "udp", user: goodUser, pass: "d3JvbmcgcGFzc3dvcmQ=", ok: false},
		{name: "wrong password tcp", network: "tcp", user: goodUser, pass: goodPass + "x", ok: false},
		{name: "expired username", network: "udp", user: expiredUser, pass: expiredPass, ok: false},
		{name: "forged user in username", network: "udp", user: forgedUser, pass: goodPass, ok: false},
		{name: "forged expiry in username", network: "udp", user: extendedUser, pass: goodPass, ok: false},
		{name: "signed with another secret", network: "udp", user: otherUser, pass: otherPass, ok: false},
		{name: "username without expiry", network: "udp", user: "alice", pass: password(testSecret, "alice"), ok: false},
	}
	var refused uint64
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dialClient(t, ts, tc.network, tc.user, tc.pass, 0)
			_, err := c.allocate(t)
			if tc.ok {
				if err != nil {
					t.Fatalf("Allocate: got %v; want nil", err)
				}
				return
			}
			refused++
			if got := errorCode(err); got != int(stun.CodeUnauthorized) {
				t.Errorf("Allocate error code: got %v (%v); want %v", got, err, stun.CodeUnauthorized)
			}
		})
	}
	if got := ts.Stats().AuthFailures; got < refused {
		t.Errorf("Stats().AuthFailures: got %v; want at least %v", got, refused)
	}
	if got := ts.Stats().AllocationsTotal; got != 2 {
		t.Errorf("Stats().AllocationsTotal: got %v; want %v", got, 2)
	}
}

// forbiddenPeers4 and forbiddenPeers6 are refused by default (IPv4 peers on an
// IPv4 allocation, IPv6 ones on an IPv6 allocation).
var forbiddenPeers4 = []string{
	"127.0.0.1", "127.255.0.9", "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.99.0.1", "172.16.0.1", "172.31.255.254",
	"192.168.1.1", "100.64.0.1", "100.127.255.254", "169.254.169.254", "192.0.0.170", "198.18.0.1", "198.19.255.1",
	"224.0.0.251", "239.255.255.250", "240.0.0.1", "255.255.255.255",
}

var forbiddenPeers6 = []string{
	"::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1", "ff05::1:3", "fec0::1", "::127.0.0.1",
	"64:ff9b::7f00:1", "64:ff9b::a00:1",
}

func TestForbiddenPeers(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, nil)
	user, pass := creds("alice")
	c4 := dialClient(t, ts, "udp", user, pass, pturn.RequestedAddressFamilyIPv4)
	c4.mustAllocate(t)
	c6 := dialClient(t, ts, "udp", user, pass, pturn.RequestedAddressFamilyIPv6)
	c6.mustAllocate(t)
	type peer struct {
		ip string
		c  *client
	}
	var peers []peer
	for _, ip := range forbiddenPeers4 {
		peers = append(peers, peer{ip, c4})
	}
	for _, ip := range forbiddenPeers6 {
		peers = append(peers, peer{ip, c6})
	}
	for _, p := range peers {
		t.Run(p.ip, func(t *testing.T) {
			addr := &net.UDPAddr{IP: net.ParseIP(p.ip), Port: 3480}
			err := within(t, "CreatePermission", func() error { return p.c.CreatePermission(addr) })
			if got := errorCode(err); got != int(stun.CodeForbidden) {
				t.Errorf("CreatePermission(%v): got %v (%v); want %v", addr, got, err, stun.CodeForbidden)
			}
		})
	}
	// IPv4-mapped IPv6 on the wire (family IPv6, ::ffff:a.b.c.d): pion's client would
	// send these as plain IPv4, so a raw client sends them.
	raw := dialRaw(t, ts.UDP, user, pass)
	for _, ip := range []string{"::ffff:127.0.0.1", "::ffff:0.0.0.0", "::ffff:10.0.0.1", "::ffff:169.254.169.254"} {
		t.Run("mapped "+ip, func(t *testing.T) {
			res := raw.request(t, stun.MethodCreatePermission, mappedPeer{ip: netip.MustParseAddr(ip), port: 3480})
			if got := resultCode(res); got != int(stun.CodeForbidden) {
				t.Errorf("CreatePermission(%s): got %v; want %v", ip, got, stun.CodeForbidden)
			}
		})
	}
	t.Run("channel bind to loopback", func(t *testing.T) {
		res := raw.request(t, stun.MethodChannelBind, channelNumber(0x4000),
			mappedPeer{ip: netip.MustParseAddr("::ffff:127.0.0.1"), port: 3480})
		if res.Type.Class != stun.ClassErrorResponse {
			t.Errorf("ChannelBind to ::ffff:127.0.0.1: got %v; want an error response", res.Type)
		}
	})
	t.Run("public peer allowed", func(t *testing.T) {
		// Permissions are bookkeeping only: nothing is sent to the peer.
		for _, ip := range []string{"192.0.2.10", "203.0.113.7", "8.8.8.8"} {
			addr := &net.UDPAddr{IP: net.ParseIP(ip), Port: 3480}
			if err := within(t, "CreatePermission", func() error { return c4.CreatePermission(addr) }); err != nil {
				t.Errorf("CreatePermission(%v): got %v; want nil", addr, err)
			}
		}
	})
	want := uint64(len(forbiddenPeers4) + len(forbiddenPeers6) + 4 + 1)
	if got := ts.Stats().PeersRefused; got != want {
		t.Errorf("Stats().PeersRefused: got %v; want %v", got, want)
	}
	if logs := ts.Logs.String(); !containsAll(logs, "turn: peer refused", "peer=127.0.0.1", "reason=loopback", "user=alice") {
		t.Errorf("logs: got %q; want a refusal naming the peer, the reason and the user", logs)
	}
}

func TestOwnEndpointAllowed(t *testing.T) {
	noLeaks(t)
	sfu := udpPeer(t)   // the SFU's UDP port: reachable although on loopback
	other := udpPeer(t) // another port of the same address: not reachable
	sfuAP := addrPort(t, sfu.LocalAddr())
	ts := startServer(t, func(c *Config) { c.Policy.Own = []netip.AddrPort{sfuAP} })
	user, pass := creds("alice")
	c := dialClient(t, ts, "udp", user, pass, 0)
	relay := c.mustAllocate(t)

	if err := within(t, "CreatePermission", func() error { return c.CreatePermission(sfu.LocalAddr()) }); err != nil {
		t.Fatalf("CreatePermission(%v): got %v; want nil", sfu.LocalAddr(), err)
	}
	t.Run("another loopback address refused", func(t *testing.T) {
		addr := &net.UDPAddr{IP: net.ParseIP("127.0.0.2"), Port: int(sfuAP.Port())}
		err := within(t, "CreatePermission", func() error { return c.CreatePermission(addr) })
		if got := errorCode(err); got != int(stun.CodeForbidden) {
			t.Errorf("CreatePermission(%v): got %v (%v); want %v", addr, got, err, stun.CodeForbidden)
		}
	})
	t.Run("relays both ways to the sfu port", func(t *testing.T) {
		if _, err := relay.WriteTo([]byte("to sfu"), sfu.LocalAddr()); err != nil {
			t.Fatalf("relay WriteTo: got %v; want nil", err)
		}
		got, from, err := readWithin(sfu, testDeadline)
		if err != nil || got != "to sfu" {
			t.Fatalf("sfu read: got %q, %v; want %q, nil", got, err, "to sfu")
		}
		if from.String() != relay.LocalAddr().String() {
			t.Errorf("sfu read from: got %v; want the relay address %v", from, relay.LocalAddr())
		}
		if _, err := sfu.WriteTo([]byte("to client"), from); err != nil {
			t.Fatal(err)
		}
		got, _, err = readWithin(relay, testDeadline)
		if err != nil || got != "to client" {
			t.Fatalf("client read: got %q, %v; want %q, nil", got, err, "to client")
		}
	})
	t.Run("other port of the sfu address dropped", func(t *testing.T) {
		before := ts.Stats().PacketsRefused
		if _, err := relay.WriteTo([]byte("to other"), other.LocalAddr()); err != nil {
			t.Fatalf("relay WriteTo: got %v; want nil", err)
		}
		if _, err := other.WriteTo([]byte("from other"), relay.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		// Both packets pass the permission (same IP) but not the port check. Send a
		// marker through the allowed port afterwards: once it arrives, the dropped
		// packets would have arrived too.
		if _, err := sfu.WriteTo([]byte("marker"), relay.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		got, from, err := readWithin(relay, testDeadline)
		if err != nil || got != "marker" {
			t.Errorf("client read: got %q from %v, %v; want %q from the sfu", got, from, err, "marker")
		}
		if got, _, err := readWithin(other, 200*time.Millisecond); err == nil {
			t.Errorf("other port read: got %q; want nothing", got)
		}
		if got := ts.Stats().PacketsRefused - before; got != 2 {
			t.Errorf("Stats().PacketsRefused grew by %v; want %v", got, 2)
		}
	})
}

func TestAllowAndDenyLists(t *testing.T) {
	noLeaks(t)
	peer := udpPeer(t)
	ts := startServer(t, func(c *Config) {
		c.Policy.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
		c.Policy.Deny = []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("192.0.2.0/24")}
	})
	user, pass := creds("alice")
	c := dialClient(t, ts, "udp", user, pass, 0)
	relay := c.mustAllocate(t)
	tests := []struct {
		peer string
		ok   bool
	}{
		{peer: "127.0.0.1", ok: true},
		{peer: "10.2.3.4", ok: true},
		{peer: "10.1.2.3", ok: false},   // deny wins over allow
		{peer: "192.0.2.55", ok: false}, // denied public address
		{peer: "192.168.0.1", ok: false},
		{peer: "203.0.113.1", ok: true},
	}
	for _, tc := range tests {
		t.Run(tc.peer, func(t *testing.T) {
			addr := &net.UDPAddr{IP: net.ParseIP(tc.peer), Port: 9}
			err := within(t, "CreatePermission", func() error { return c.CreatePermission(addr) })
			if tc.ok && err != nil {
				t.Errorf("CreatePermission(%v): got %v; want nil", addr, err)
			}
			if !tc.ok && errorCode(err) != int(stun.CodeForbidden) {
				t.Errorf("CreatePermission(%v): got %v; want %v", addr, err, stun.CodeForbidden)
			}
		})
	}
	t.Run("allowed loopback peer relays", func(t *testing.T) {
		if _, err := relay.WriteTo([]byte("hello"), peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if got, _, err := readWithin(peer, testDeadline); err != nil || got != "hello" {
			t.Errorf("peer read: got %q, %v; want %q, nil", got, err, "hello")
		}
	})
}

func TestQuotas(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, func(c *Config) { c.UserQuota, c.TotalQuota = 2, 3 })
	alice, alicePass := creds("alice")
	bob, bobPass := creds("bob")
	carol, carolPass := creds("carol")
	a1 := dialClient(t, ts, "udp", alice, alicePass, 0).mustAllocate(t)
	dialClient(t, ts, "tcp", alice, alicePass, 0).mustAllocate(t)
	steps := []struct {
		name       string
		user, pass string
		wantCode   int // 0: allocates
	}{
		{name: "third allocation of one user", user: alice, pass: alicePass, wantCode: int(stun.CodeAllocQuotaReached)},
		{name: "another user within the total", user: bob, pass: bobPass},
		{name: "over the total", user: carol, pass: carolPass, wantCode: int(stun.CodeAllocQuotaReached)},
	}
	for _, st := range steps { // in order, without subtests: allocations must outlive each step
		_, err := dialClient(t, ts, "udp", st.user, st.pass, 0).allocate(t)
		if got := errorCode(err); got != st.wantCode {
			t.Errorf("%s: Allocate: got code %v (%v); want %v", st.name, got, err, st.wantCode)
		}
	}
	if got := ts.Stats().Allocations; got != 3 {
		t.Errorf("Stats().Allocations: got %v; want %v", got, 3)
	}
	if got := ts.Stats().QuotaRefused; got != 2 {
		t.Errorf("Stats().QuotaRefused: got %v; want %v", got, 2)
	}
	t.Run("released allocation frees the quota", func(t *testing.T) {
		if err := a1.Close(); err != nil { // sends Refresh with lifetime 0
			t.Fatal(err)
		}
		deadline := time.Now().Add(testDeadline)
		for ts.Stats().Allocations != 2 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if _, err := dialClient(t, ts, "udp", alice, alicePass, 0).allocate(t); err != nil {
			t.Errorf("Allocate after release: got %v; want nil", err)
		}
	})
}

func TestBandwidthCap(t *testing.T) {
	noLeaks(t)
	const limit = 64 << 10 // bytes/s; the burst is one second of it
	peer := udpPeer(t)
	ts := startServer(t, func(c *Config) {
		c.Bandwidth = limit
		c.Policy.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	user, pass := creds("alice")
	c := dialClient(t, ts, "udp", user, pass, 0)
	relay := c.mustAllocate(t)
	if err := within(t, "CreatePermission", func() error { return c.CreatePermission(peer.LocalAddr()) }); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 1000)
	// Unsolicited traffic (from a peer the client never sent to) does not use up the
	// budget: after 100 kB of it, 60 kB from the client still pass whole.
	stranger := udpPeer(t)
	for range 100 {
		if _, err := stranger.WriteTo(payload, relay.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	for range 60 {
		if _, err := relay.WriteTo(payload, peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 60 {
		if _, _, err := readWithin(peer, testDeadline); err != nil {
			t.Fatalf("packet %d of 60 within the budget: got %v; want it delivered", i, err)
		}
	}
	if st := ts.Stats(); st.PacketsOverLimit != 0 || st.BytesRelayed != 60*1000 {
		t.Errorf("after 60 kB within the budget: got %v dropped, %v bytes counted; want 0, %v", st.PacketsOverLimit, st.BytesRelayed, 60*1000)
	}
	const sent = 200 // 200 kB more in well under a second: only the rest of the burst passes
	for range sent {
		if _, err := relay.WriteTo(payload, peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	received := 0
	for {
		if _, _, err := readWithin(peer, 300*time.Millisecond); err != nil {
			break
		}
		received++
	}
	st := ts.Stats()
	if received == 0 || received >= sent {
		t.Errorf("packets through the cap: got %v of %v; want some, not all", received, sent)
	}
	if st.PacketsOverLimit == 0 || st.PacketsOverLimit > sent {
		t.Errorf("Stats().PacketsOverLimit: got %v; want 1..%v", st.PacketsOverLimit, sent)
	}
	// At most the burst, plus what the rate refilled while we sent, plus one packet.
	if max := uint64(limit + float64(limit)*elapsed.Seconds() + 1000); st.BytesRelayed > max {
		t.Errorf("Stats().BytesRelayed: got %v; want at most %v (the burst and %v of refill)", st.BytesRelayed, max, elapsed)
	}
}

func TestTCPRelayRefused(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, nil)
	user, pass := creds("alice")
	c := dialClient(t, ts, "udp", user, pass, 0)
	err := within(t, "AllocateTCP", func() error {
		a, err := c.AllocateTCP()
		if err == nil {
			_ = a.Close()
		}
		return err
	})
	if err == nil {
		t.Fatalf("AllocateTCP: got nil; want an error (RFC 6062 relays are not offered)")
	}
	if got := ts.Stats().Allocations; got != 0 {
		t.Errorf("Stats().Allocations: got %v; want %v", got, 0)
	}
}

func TestSilentTCPClientDropped(t *testing.T) {
	noLeaks(t)
	saved := firstReadTimeout
	firstReadTimeout = 300 * time.Millisecond
	ts := startServer(t, nil) // New copies firstReadTimeout
	firstReadTimeout = saved
	conn, err := net.DialTimeout("tcp4", ts.TCP, testDeadline)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(testDeadline))
	start := time.Now()
	_, err = conn.Read(make([]byte, 1))
	if err == nil {
		t.Fatalf("Read: got data; want the server to close a silent connection")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("Read: got %v; want the server to close the connection within %v", err, ts.first)
	}
	if d := time.Since(start); d < ts.first/2 {
		t.Errorf("closed after %v; want about %v", d, ts.first)
	}
}

func TestServeAfterClose(t *testing.T) {
	noLeaks(t)
	s, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: got %v; want nil", err)
	}
	requireNetns(t)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ServePacket(pc); !errors.Is(err, ErrServerClosed) {
		t.Errorf("ServePacket after Close: got %v; want %v", err, ErrServerClosed)
	}
	if _, err := pc.WriteTo([]byte("x"), pc.LocalAddr()); err == nil {
		t.Errorf("the PacketConn is still open after ServePacket returned")
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{name: "no secret", mod: func(c *Config) { c.Secret = nil }},
		{name: "no relay", mod: func(c *Config) { c.Relays = nil }},
		{name: "unspecified relay", mod: func(c *Config) { c.Relays = []RelayAddress{{IP: netip.IPv4Unspecified()}} }},
		{name: "two ipv4 relays", mod: func(c *Config) {
			c.Relays = []RelayAddress{{IP: netip.MustParseAddr("192.0.2.1")}, {IP: netip.MustParseAddr("192.0.2.2")}}
		}},
		{name: "reversed ports", mod: func(c *Config) { c.RelayPortMin, c.RelayPortMax = 2000, 1000 }},
		{name: "port over 65535", mod: func(c *Config) { c.RelayPortMax = 70000 }},
		{name: "negative bandwidth", mod: func(c *Config) { c.Bandwidth = -1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			tc.mod(&cfg)
			if _, err := New(cfg); !errors.Is(err, ErrConfig) {
				t.Errorf("New: got %v; want %v", err, ErrConfig)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// A raw STUN client, for what pion's client cannot send: IPv4-mapped IPv6 peer
// addresses encoded as IPv6.

type rawClient struct {
	conn               net.PacketConn
	server             net.Addr
	user, realm, nonce string
	integrity          stun.MessageIntegrity
}

// dialRaw authenticates and allocates a UDP relay over UDP.
func dialRaw(t *testing.T, server, user, pass string) *rawClient {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	addr, err := net.ResolveUDPAddr("udp4", server)
	if err != nil {
		t.Fatal(err)
	}
	r := &rawClient{conn: conn, server: addr, user: user}
	udp := rawAttr{t: stun.AttrRequestedTransport, v: []byte{17, 0, 0, 0}}
	res := r.exchange(t, stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), udp)
	var realm stun.Realm
	var nonce stun.Nonce
	if err := realm.GetFrom(res); err != nil {
		t.Fatalf("401 without REALM: %v", err)
	}
	if err := nonce.GetFrom(res); err != nil {
		t.Fatalf("401 without NONCE: %v", err)
	}
	r.realm, r.nonce = realm.String(), nonce.String()
	r.integrity = stun.NewLongTermIntegrity(user, r.realm, pass)
	if res := r.request(t, stun.MethodAllocate, udp); res.Type.Class != stun.ClassSuccessResponse {
		t.Fatalf("raw Allocate: got %v (code %v); want success", res.Type, resultCode(res))
	}
	t.Cleanup(func() { r.request(t, stun.MethodRefresh, rawAttr{t: stun.AttrLifetime, v: []byte{0, 0, 0, 0}}) })
	return r
}

// request sends an authenticated request and returns the answer.
func (r *rawClient) request(t *testing.T, method stun.Method, attrs ...stun.Setter) *stun.Message {
	t.Helper()
	setters := append([]stun.Setter{stun.TransactionID, stun.NewType(method, stun.ClassRequest)}, attrs...)
	setters = append(setters, stun.NewUsername(r.user), stun.NewRealm(r.realm), stun.NewNonce(r.nonce), r.integrity, stun.Fingerprint)
	return r.exchange(t, setters...)
}

func (r *rawClient) exchange(t *testing.T, setters ...stun.Setter) *stun.Message {
	t.Helper()
	req, err := stun.Build(setters...)
	if err != nil {
		t.Fatalf("stun.Build: %v", err)
	}
	if _, err := r.conn.WriteTo(req.Raw, r.server); err != nil {
		t.Fatal(err)
	}
	_ = r.conn.SetReadDeadline(time.Now().Add(testDeadline))
	buf := make([]byte, 1500)
	for {
		n, _, err := r.conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("waiting for the answer to %v: %v", req.Type, err)
		}
		res := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if err := res.Decode(); err != nil || res.TransactionID != req.TransactionID {
			continue
		}
		return res
	}
}

func resultCode(m *stun.Message) int {
	var code stun.ErrorCodeAttribute
	if err := code.GetFrom(m); err != nil {
		return 0
	}
	return int(code.Code)
}

type rawAttr struct {
	t stun.AttrType
	v []byte
}

func (a rawAttr) AddTo(m *stun.Message) error {
	m.Add(a.t, a.v)
	return nil
}

type channelNumber uint16

func (c channelNumber) AddTo(m *stun.Message) error {
	m.Add(stun.AttrChannelNumber, []byte{byte(c >> 8), byte(c), 0, 0})
	return nil
}

// magicCookie is STUN's fixed cookie (RFC 5389), the XOR key of addresses.
const magicCookie = 0x2112A442

// mappedPeer is an XOR-PEER-ADDRESS with the IPv6 family and all 16 bytes, even
// for an IPv4-mapped address (which stun's own encoder would shorten to IPv4).
type mappedPeer struct {
	ip   netip.Addr
	port uint16
}

func (p mappedPeer) AddTo(m *stun.Message) error {
	v := make([]byte, 20)
	binary.BigEndian.PutUint16(v[0:2], 0x02)
	binary.BigEndian.PutUint16(v[2:4], p.port^uint16(magicCookie>>16))
	key := make([]byte, 16)
	binary.BigEndian.PutUint32(key[0:4], magicCookie)
	copy(key[4:], m.TransactionID[:])
	ip := p.ip.As16()
	for i := range 16 {
		v[4+i] = ip[i] ^ key[i]
	}
	m.Add(stun.AttrXORPeerAddress, v)
	return nil
}

func (p mappedPeer) String() string { return fmt.Sprintf("[%v]:%d", p.ip, p.port) }

// TestIPQuota: a flood of allocations from one address, each with its own
// credentials, leaves allocations for a user on another address.
func TestIPQuota(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, func(c *Config) { c.IPQuota, c.TotalQuota = 3, 10 })
	for i := range 5 {
		user, pass := creds(fmt.Sprintf("flood%d", i))
		_, err := dialClientFrom(t, ts, "127.0.0.1", "udp", user, pass, 0).allocate(t)
		want := 0
		if i >= 3 {
			want = int(stun.CodeAllocQuotaReached)
		}
		if got := errorCode(err); got != want {
			t.Errorf("allocation %d from 127.0.0.1: got code %d (%v); want %d", i, got, err, want)
		}
	}
	user, pass := creds("dora")
	if _, err := dialClientFrom(t, ts, "127.0.0.2", "udp", user, pass, 0).allocate(t); err != nil {
		t.Errorf("a user on another address: got %v; want an allocation", err)
	}
	if got := ts.Stats().Refusals[RefusedQuotaIP]; got != 2 {
		t.Errorf("refusals %s: got %d; want 2", RefusedQuotaIP, got)
	}
	if !strings.Contains(ts.Logs.String(), "turn_ip_quota") {
		t.Errorf("log: got no refusal naming turn_ip_quota in\n%s", ts.Logs.String())
	}
}

// TestQuotaHeldToRelayPorts: a total quota larger than the relay range is
// held to it, so a flood gets 486 (quota) and is counted, instead of 508s.
func TestQuotaHeldToRelayPorts(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, func(c *Config) { c.RelayPortMin, c.RelayPortMax, c.TotalQuota, c.UserQuota = 42100, 42103, 1000, 100 })
	user, pass := creds("flood")
	var codes []int
	for range 6 {
		_, err := dialClient(t, ts, "udp", user, pass, 0).allocate(t)
		codes = append(codes, errorCode(err))
	}
	if want := []int{0, 0, 0, 0, 486, 486}; fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Errorf("allocation codes: got %v; want %v", codes, want)
	}
	if got := ts.Stats().Refusals[RefusedQuotaTotal]; got != 2 {
		t.Errorf("refusals %s: got %d; want 2", RefusedQuotaTotal, got)
	}
	if !strings.Contains(ts.Logs.String(), "turn_total_quota held to the relay ports") {
		t.Errorf("log: got no warning about the quota in\n%s", ts.Logs.String())
	}
}

// TestRelayPortsTaken: a relay range whose ports another program holds
// answers 508, logged and counted.
func TestRelayPortsTaken(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, func(c *Config) { c.RelayPortMin, c.RelayPortMax = 42200, 42201 })
	for _, port := range []string{"42200", "42201"} {
		pc, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", port))
		if err != nil {
			t.Skip(err)
		}
		t.Cleanup(func() { _ = pc.Close() })
	}
	user, pass := creds("alice")
	_, err := dialClient(t, ts, "udp", user, pass, 0).allocate(t)
	if got := errorCode(err); got != int(stun.CodeInsufficientCapacity) {
		t.Errorf("allocation: got code %d (%v); want %d", got, err, stun.CodeInsufficientCapacity)
	}
	if got := ts.Stats().Refusals[RefusedPorts]; got != 1 {
		t.Errorf("refusals %s: got %d; want 1", RefusedPorts, got)
	}
	if !strings.Contains(ts.Logs.String(), "no relay port free") {
		t.Errorf("log: got no 508 line in\n%s", ts.Logs.String())
	}
}

// TestCredentialsTooLongLived: a username expiring further ahead than the
// TTL allows was not issued by this server's rules and is refused.
func TestCredentialsTooLongLived(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, func(c *Config) { c.TTL = time.Hour })
	tests := []struct {
		name    string
		expires time.Duration
		want    int
	}{
		{"within the ttl", 50 * time.Minute, 0},
		{"within the ttl and the skew", time.Hour + 3*time.Minute, 0},
		{"a hundred years", 100 * 365 * 24 * time.Hour, int(stun.CodeUnauthorized)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			user, pass := Credentials(testSecret, strings.ReplaceAll(tc.name, " ", "-"), time.Now().Add(tc.expires))
			_, err := dialClient(t, ts, "udp", user, pass, 0).allocate(t)
			if got := errorCode(err); got != tc.want {
				t.Errorf("got code %d (%v); want %d", got, err, tc.want)
			}
		})
	}
	if got := ts.Stats().Refusals[RefusedAuth]; got < 1 {
		t.Errorf("refusals %s: got %d; want at least 1", RefusedAuth, got)
	}
}
