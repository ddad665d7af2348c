// Package turn is openroom's bundled TURN server (RFC 8656 over UDP, TCP and TLS),
// built on pion/turn. It adds what a public deployment needs around pion:
//
//   - ephemeral credentials in the TURN REST scheme: username "expiry:userID",
//     password base64(HMAC-SHA1(secret, username)), checked on every request;
//   - a peer policy that refuses loopback, private, link-local, multicast and other
//     special ranges (after unmapping IPv4-mapped IPv6), except the SFU's own
//     endpoints and operator-listed prefixes, so the server is no open relay;
//   - relay sockets from a fixed port range, on the node's address;
//   - allocation quotas per user and in total, and an optional bandwidth cap
//     per allocation;
//   - counters (Stats) and rate-limited logs of every refusal.
//
// A Server serves connections it is given (ServePacket for UDP, Serve for TCP or
// TLS listeners), like net/http.
package turn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	pturn "github.com/pion/turn/v5"
	"golang.org/x/time/rate"

	"github.com/openroom/openroom/internal/netguard"
	"github.com/openroom/openroom/internal/pionlog"
)

// Package errors; every error this package returns wraps one of them.
var (
	// ErrConfig means the Config cannot work.
	ErrConfig = errors.New("turn: invalid config")
	// ErrServerClosed is returned by ServePacket and Serve after Close.
	ErrServerClosed = errors.New("turn: server closed")
	// ErrQuota means an allocation would exceed the per-user or total quota.
	ErrQuota = errors.New("turn: allocation quota reached")
	// ErrNoRelayPort means every port of the relay range is in use.
	ErrNoRelayPort = errors.New("turn: no free port in the relay range")
	// ErrNoRelayAddress means no relay address of the requested family is configured.
	ErrNoRelayAddress = errors.New("turn: no relay address for this address family")
	// ErrTCPRelay means a client asked for a TCP relay (RFC 6062), which is not offered:
	// browsers relay UDP only, over any client transport.
	ErrTCPRelay = errors.New("turn: TCP relay allocations are not supported")
)

// Defaults applied by New to zero fields of Config.
const (
	DefaultRealm        = "openroom"
	DefaultRelayPortMin = 49152 // the IANA dynamic range, as coturn uses
	DefaultRelayPortMax = 65535
	DefaultUserQuota    = 10
	DefaultTotalQuota   = 1000
)

// firstReadTimeout bounds how long a TCP or TLS client may take to complete the
// TLS handshake and send its first bytes. A variable for tests; New copies it.
var firstReadTimeout = 10 * time.Second

const (
	// idleTimeout closes a TCP or TLS connection silent this long: longer than an
	// allocation lives (10 minutes) without a refresh.
	idleTimeout = 11 * time.Minute
	// writeTimeout bounds one write to a TCP client that stopped reading.
	writeTimeout = 10 * time.Second
)

// RelayAddress is one address family's relay address.
type RelayAddress struct {
	// IP is the address handed to clients in XOR-RELAYED-ADDRESS: the node IP (the
	// public one behind a 1:1 NAT).
	IP netip.Addr
	// Bind is the local address relay sockets listen on. Zero means IP when IP is
	// assigned to a local interface, else the unspecified address of its family.
	Bind netip.Addr
}

// Config configures a Server. Secret and Relays are required.
type Config struct {
	// Realm of the long-term credentials. Default "openroom".
	Realm string
	// Secret signs the ephemeral credentials (see Credentials).
	Secret []byte
	// Relays lists at most one relay address per family (IPv4, IPv6). An allocation
	// of a family without one is refused.
	Relays []RelayAddress
	// RelayPortMin and RelayPortMax bound the relay ports (inclusive).
	// Default 49152-65535.
	RelayPortMin, RelayPortMax int
	// Policy decides which peers are reachable.
	Policy Policy
	// UserQuota is the most allocations one user holds at once. Default 10.
	UserQuota int
	// TotalQuota is the most allocations the server holds at once. Default 1000;
	// never more than the relay range has ports.
	TotalQuota int
	// IPQuota is the most allocations one client address holds at once; 0: no cap.
	IPQuota int
	// TTL is the longest lifetime credentials are issued with: a username that
	// expires further ahead (beyond a few minutes of clock skew) is refused.
	// 0: no such check.
	TTL time.Duration
	// Bandwidth caps each allocation's relayed payload, both directions together
	// (with the peers the client sent to), in bytes per second; packets over it are
	// dropped. 0 means no cap.
	Bandwidth int
	// Logger receives refusals (rate-limited) and pion's messages. Default: discard.
	Logger *slog.Logger
	// Now is the clock credentials are checked against. Default time.Now.
	Now func() time.Time
}

// Stats are the server's counters since New.
type Stats struct {
	// Allocations is the number of relay sockets open now.
	Allocations int
	// AllocationsTotal counts allocations created.
	AllocationsTotal uint64
	// AuthFailures counts requests refused for bad, expired or forged credentials.
	AuthFailures uint64
	// PeersRefused counts CreatePermission, ChannelBind and Connect requests refused by the policy.
	PeersRefused uint64
	// QuotaRefused counts allocations refused by a quota.
	QuotaRefused uint64
	// Refusals counts every refusal by reason (Refused* constants): credentials,
	// peers, each quota, and relay ports exhausted.
	Refusals map[string]uint64
	// PacketsRefused counts relayed packets dropped because their peer endpoint is
	// refused (another port of an own address, or a refused address).
	PacketsRefused uint64
	// PacketsOverLimit counts relayed packets dropped by the bandwidth cap.
	PacketsOverLimit uint64
	// BytesRelayed counts relayed payload bytes, both directions, with the peers
	// clients sent to (unsolicited packets pion drops are not counted).
	BytesRelayed uint64
}

type counters struct {
	allocationsTotal, packetsRefused, packetsOverLimit, bytesRelayed atomic.Uint64
	refusals                                                         reasonCounts // every refusal, by reason
}

// reasonCounts counts refusals by reason.
type reasonCounts struct {
	mu sync.Mutex        // guards m
	m  map[string]uint64 // by reason
}

func (r *reasonCounts) add(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]uint64{}
	}
	r.m[reason]++
}

func (r *reasonCounts) snapshot() map[string]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.m)
}

// refused counts a quota refusal under its reason.
func (s *Server) refused(err error) {
	var qe *quotaError
	if errors.As(err, &qe) {
		s.stats.refusals.add(qe.reason)
	}
}

// Server is a TURN server. Create it with New, give it connections with
// ServePacket and Serve, and stop it with Close.
type Server struct {
	cfg    Config
	log    *slog.Logger
	gen    *relayGen
	quota  quota
	stats  counters
	logLim *rate.Limiter // refusal logs: an authenticated client could otherwise flood them
	first  time.Duration // firstReadTimeout when New ran
	users  sync.Map      // client address string -> userID, for logs

	mu      sync.Mutex
	closed  bool
	done    chan struct{}
	servers map[*pturn.Server]struct{}
	conns   map[*trackedConn]struct{}
}

// New checks cfg, applies its defaults and returns a Server serving nothing yet.
func New(cfg Config) (*Server, error) {
	if cfg.Realm == "" {
		cfg.Realm = DefaultRealm
	}
	if cfg.RelayPortMin == 0 && cfg.RelayPortMax == 0 {
		cfg.RelayPortMin, cfg.RelayPortMax = DefaultRelayPortMin, DefaultRelayPortMax
	}
	if cfg.UserQuota == 0 {
		cfg.UserQuota = DefaultUserQuota
	}
	if cfg.TotalQuota == 0 {
		cfg.TotalQuota = DefaultTotalQuota
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch {
	case len(cfg.Secret) == 0:
		return nil, fmt.Errorf("%w: the secret is empty", ErrConfig)
	case cfg.RelayPortMin < 1 || cfg.RelayPortMax > 65535 || cfg.RelayPortMin > cfg.RelayPortMax:
		return nil, fmt.Errorf("%w: relay ports %d-%d: want 1 <= min <= max <= 65535", ErrConfig, cfg.RelayPortMin, cfg.RelayPortMax)
	case cfg.UserQuota < 0 || cfg.TotalQuota < 0 || cfg.IPQuota < 0 || cfg.Bandwidth < 0:
		return nil, fmt.Errorf("%w: quotas and bandwidth must not be negative", ErrConfig)
	case len(cfg.Relays) == 0:
		return nil, fmt.Errorf("%w: no relay address", ErrConfig)
	}
	// One port per allocation: a quota past the range would end in 508s that
	// leave nothing for anyone.
	if ports := cfg.RelayPortMax - cfg.RelayPortMin + 1; cfg.TotalQuota > ports {
		cfg.Logger.Warn("turn: turn_total_quota held to the relay ports", "turn_total_quota", cfg.TotalQuota, "now", ports,
			"turn_relay_ports", fmt.Sprintf("%d-%d", cfg.RelayPortMin, cfg.RelayPortMax))
		cfg.TotalQuota = ports
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger,
		quota: quota{perUser: map[string]int{}, perIP: map[netip.Addr]int{},
			maxUser: cfg.UserQuota, maxTotal: cfg.TotalQuota, maxIP: cfg.IPQuota},
		logLim:  rate.NewLimiter(5, 20),
		first:   firstReadTimeout,
		done:    make(chan struct{}),
		servers: map[*pturn.Server]struct{}{},
		conns:   map[*trackedConn]struct{}{},
	}
	gen, err := newRelayGen(s, cfg)
	if err != nil {
		return nil, err
	}
	s.gen = gen
	return s, nil
}

// Realm is the realm clients authenticate in.
func (s *Server) Realm() string { return s.cfg.Realm }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	r := s.stats.refusals.snapshot()
	return Stats{
		Allocations:      s.quota.open(),
		AllocationsTotal: s.stats.allocationsTotal.Load(),
		AuthFailures:     r[RefusedAuth],
		PeersRefused:     r[RefusedPeer],
		QuotaRefused:     r[RefusedQuotaUser] + r[RefusedQuotaIP] + r[RefusedQuotaTotal],
		Refusals:         r,
		PacketsRefused:   s.stats.packetsRefused.Load(),
		PacketsOverLimit: s.stats.packetsOverLimit.Load(),
		BytesRelayed:     s.stats.bytesRelayed.Load(),
	}
}

// ServePacket serves TURN over UDP on pc until pc fails or Close is called, and
// returns ErrServerClosed after Close. The server closes pc.
func (s *Server) ServePacket(pc net.PacketConn) error {
	w := &servedPacketConn{PacketConn: pc, done: make(chan struct{})}
	return s.run(pturn.ServerConfig{PacketConnConfigs: []pturn.PacketConnConfig{{
		PacketConn: w, RelayAddressGenerator: s.gen, PermissionHandler: s.permit,
	}}}, pc.Close, w.done, func() error { return fmt.Errorf("turn: udp %s: %w", pc.LocalAddr(), w.err) })
}

// Serve serves TURN over the stream connections ln accepts (TCP, or TLS from
// tls.NewListener) until ln fails or Close is called, and returns
// ErrServerClosed after Close. The server closes ln and every connection.
func (s *Server) Serve(ln net.Listener) error {
	w := &servedListener{Listener: ln, s: s, done: make(chan struct{})}
	return s.run(pturn.ServerConfig{ListenerConfigs: []pturn.ListenerConfig{{
		Listener: w, RelayAddressGenerator: s.gen, PermissionHandler: s.permit,
	}}}, ln.Close, w.done, func() error { return fmt.Errorf("turn: %s %s: %w", ln.Addr().Network(), ln.Addr(), w.err) })
}

// run starts a pion server for one socket and waits until the socket fails
// (done) or the Server closes.
func (s *Server) run(cfg pturn.ServerConfig, closeSocket func() error, done <-chan struct{}, failure func() error) error {
	ps, err := s.start(cfg)
	if err != nil {
		_ = closeSocket()
		return err
	}
	select {
	case <-done:
	case <-s.done:
	}
	s.stop(ps)
	if s.isClosed() {
		return ErrServerClosed
	}
	return failure()
}

// Close stops serving: it closes every connection and listener given to the
// server, every TCP connection and every allocation.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	servers := make([]*pturn.Server, 0, len(s.servers))
	for ps := range s.servers {
		servers = append(servers, ps)
	}
	s.mu.Unlock()
	for _, ps := range servers {
		s.stop(ps)
	}
	return nil
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// start creates one pion server for one listener, sharing this Server's
// credentials, policy, quotas and relay ports.
func (s *Server) start(pc pturn.ServerConfig) (*pturn.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrServerClosed
	}
	pc.Realm = s.cfg.Realm
	pc.AuthHandler = s.authenticate
	pc.QuotaHandler = s.allowAllocation
	pc.LoggerFactory = pionlog.Factory{Log: s.log}
	pc.EventHandler = pturn.EventHandler{
		OnAuth:              s.onAuth,
		OnAllocationCreated: s.onAllocationCreated,
		OnAllocationDeleted: s.onAllocationDeleted,
	}
	ps, err := pturn.NewServer(pc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	s.servers[ps] = struct{}{}
	return ps, nil
}

// stop closes one pion server and, once the Server is closed, every TCP or TLS
// connection still open.
func (s *Server) stop(ps *pturn.Server) {
	s.mu.Lock()
	_, live := s.servers[ps]
	delete(s.servers, ps)
	var conns []*trackedConn
	if s.closed {
		for c := range s.conns {
			conns = append(conns, c)
		}
	}
	s.mu.Unlock()
	if live {
		_ = ps.Close() // closes its PacketConn or Listener; pion then closes its allocations
	}
	for _, c := range conns {
		_ = c.Close()
	}
}

// authenticate is pion's AuthHandler: it checks the username's expiry and
// returns the key derived from the password the secret gives that username.
// pion then checks the MESSAGE-INTEGRITY, which fails for a wrong password or
// a username that was not issued with this secret.
func (s *Server) authenticate(ra *pturn.RequestAttributes) (string, []byte, bool) {
	user, expires, err := ParseUsername(ra.Username)
	switch {
	case err != nil:
	case ra.Realm != s.cfg.Realm:
		err = fmt.Errorf("realm %q is not %q", ra.Realm, s.cfg.Realm)
	case s.cfg.Now().After(expires):
		err = fmt.Errorf("credentials expired at %s", expires.UTC().Format(time.RFC3339))
	case s.cfg.TTL > 0 && expires.After(s.cfg.Now().Add(s.cfg.TTL+clockSkew)):
		err = fmt.Errorf("credentials expire at %s, further ahead than turn_ttl (%v) allows: not issued by this server",
			expires.UTC().Format(time.RFC3339), s.cfg.TTL)
	}
	if err != nil {
		s.stats.refusals.add(RefusedAuth)
		s.logLimited(slog.LevelInfo, "turn: credentials refused", "client", addrString(ra.SrcAddr), "username", ra.Username, "err", err)
		return "", nil, false
	}
	return user, pturn.GenerateAuthKey(ra.Username, ra.Realm, password(s.cfg.Secret, ra.Username)), true
}

// onAuth counts the failures pion finds after authenticate (a wrong password).
func (s *Server) onAuth(src, _ net.Addr, _, username, _, method string, verdict bool) {
	if !verdict {
		s.stats.refusals.add(RefusedAuth)
		s.logLimited(slog.LevelInfo, "turn: wrong password", "client", addrString(src), "username", username, "method", method)
	}
}

func (s *Server) onAllocationCreated(src, dst net.Addr, _, userID, _ string, relay net.Addr, _ int) {
	s.stats.allocationsTotal.Add(1)
	s.users.Store(addrString(src), userID)
	s.quota.addIP(netguard.IP(src))
	// pion reports every five-tuple as UDP; the listener's address tells the client transport.
	transport := "udp"
	if dst != nil && dst.Network() != "udp" {
		transport = dst.Network()
	}
	s.log.Debug("turn: allocation", "client", addrString(src), "transport", transport, "user", userID, "relay", addrString(relay))
}

func (s *Server) onAllocationDeleted(src, _ net.Addr, _, userID, _ string) {
	s.users.Delete(addrString(src))
	s.quota.removeIP(netguard.IP(src))
	s.log.Debug("turn: allocation ended", "client", addrString(src), "user", userID)
}

// allowAllocation is pion's QuotaHandler: it answers 486 when the user or the
// server is at its quota. The relay generator enforces the same quota atomically.
func (s *Server) allowAllocation(userID, _ string, src net.Addr) bool {
	if err := s.quota.check(userID, netguard.IP(src)); err != nil {
		s.refused(err)
		s.logLimited(slog.LevelWarn, "turn: allocation refused", "client", addrString(src), "user", userID, "err", err)
		return false
	}
	return true
}

// permit is pion's PermissionHandler (CreatePermission, ChannelBind, Connect):
// a refused peer gets 403 Forbidden.
func (s *Server) permit(client net.Addr, peer net.IP) bool {
	ok, reason := s.cfg.Policy.CheckIP(ipOf(peer))
	if !ok {
		s.stats.refusals.add(RefusedPeer)
		user := ""
		if v, ok := s.users.Load(addrString(client)); ok {
			user, _ = v.(string)
		}
		s.logLimited(slog.LevelWarn, "turn: peer refused", "client", addrString(client), "user", user, "peer", peer.String(), "reason", reason)
	}
	return ok
}

// logLimited logs at most a few refusals per second; the counters see them all.
func (s *Server) logLimited(level slog.Level, msg string, args ...any) {
	if s.logLim.Allow() {
		s.log.Log(context.Background(), level, msg, args...)
	}
}

// clockSkew is how far a credential's expiry may lie beyond turn_ttl (clocks differ).
const clockSkew = 5 * time.Minute

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// servedPacketConn reports the first read error (the end of the socket).
type servedPacketConn struct {
	net.PacketConn
	once sync.Once
	done chan struct{}
	err  error
}

func (c *servedPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(p)
	if err != nil {
		c.once.Do(func() { c.err = err; close(c.done) })
	}
	return n, addr, err
}

// servedListener retries temporary accept errors (out of file descriptors), so
// pion's accept loop only ends with the listener, and tracks every connection.
type servedListener struct {
	net.Listener
	s    *Server
	once sync.Once
	done chan struct{}
	err  error
}

func (l *servedListener) Accept() (net.Conn, error) {
	backoff := 5 * time.Millisecond
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			return l.s.track(c)
		}
		if !errors.Is(err, net.ErrClosed) && temporary(err) {
			select {
			case <-time.After(backoff):
				backoff = min(2*backoff, time.Second)
				continue
			case <-l.s.done:
			}
		}
		l.once.Do(func() { l.err = err; close(l.done) })
		return nil, err
	}
}

func temporary(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// track registers an accepted connection so Close can end it.
func (s *Server) track(c net.Conn) (net.Conn, error) {
	tc := &trackedConn{Conn: c, s: s}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = c.Close()
		return nil, ErrServerClosed
	}
	s.conns[tc] = struct{}{}
	s.mu.Unlock()
	return tc, nil
}

// trackedConn is one TCP or TLS client connection: deadlines keep a silent or
// stalled client from holding a goroutine and a descriptor forever.
type trackedConn struct {
	net.Conn
	s       *Server
	started bool // only the read goroutine touches it
	once    sync.Once
}

func (c *trackedConn) Read(p []byte) (int, error) {
	d := idleTimeout
	if !c.started {
		d = c.s.first // also bounds a TLS handshake, which runs inside the first Read
	}
	_ = c.Conn.SetReadDeadline(time.Now().Add(d))
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.started = true
	}
	return n, err
}

func (c *trackedConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return c.Conn.Write(p)
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}
