package turn

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	pturn "github.com/pion/turn/v5"
	"golang.org/x/time/rate"
)

// Refusal reasons, as counted in Stats.Refusals.
const (
	RefusedAuth       = "auth"        // bad, expired, forged or too long-lived credentials
	RefusedPeer       = "peer"        // a peer the policy refuses
	RefusedQuotaUser  = "quota_user"  // turn_user_quota
	RefusedQuotaIP    = "quota_ip"    // turn_ip_quota
	RefusedQuotaTotal = "quota_total" // turn_total_quota (held to the relay ports)
	RefusedPorts      = "ports"       // no relay port free (508)
)

// quotaError is a quota refusal and its reason.
type quotaError struct {
	reason string
	msg    string
}

func (e *quotaError) Error() string { return ErrQuota.Error() + ": " + e.msg }
func (e *quotaError) Unwrap() error { return ErrQuota }

// quota counts open relay sockets per user, per client address and in total.
type quota struct {
	mu                       sync.Mutex
	perUser                  map[string]int     // guarded by mu
	perIP                    map[netip.Addr]int // guarded by mu; kept by the allocation events
	total                    int                // guarded by mu
	maxUser, maxTotal, maxIP int
}

// check says whether user at ip may allocate now.
func (q *quota) check(user string, ip netip.Addr) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.checkLocked(user); err != nil {
		return err
	}
	if q.maxIP > 0 && ip.IsValid() && q.perIP[ip] >= q.maxIP {
		return &quotaError{RefusedQuotaIP, fmt.Sprintf("address %s holds %d allocations (turn_ip_quota)", ip, q.perIP[ip])}
	}
	return nil
}

func (q *quota) checkLocked(user string) error {
	if q.total >= q.maxTotal {
		return &quotaError{RefusedQuotaTotal, fmt.Sprintf("the server holds %d allocations (turn_total_quota, at most the relay ports)", q.total)}
	}
	if user != "" && q.perUser[user] >= q.maxUser {
		return &quotaError{RefusedQuotaUser, fmt.Sprintf("user %q holds %d allocations (turn_user_quota)", user, q.perUser[user])}
	}
	return nil
}

// addIP and removeIP follow the allocations of each client address.
func (q *quota) addIP(ip netip.Addr) {
	if !ip.IsValid() {
		return
	}
	q.mu.Lock()
	q.perIP[ip]++
	q.mu.Unlock()
}

func (q *quota) removeIP(ip netip.Addr) {
	if !ip.IsValid() {
		return
	}
	q.mu.Lock()
	if q.perIP[ip]--; q.perIP[ip] <= 0 {
		delete(q.perIP, ip)
	}
	q.mu.Unlock()
}

// reserve takes one slot for user ("" for pion's internal probes: total only).
func (q *quota) reserve(user string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.checkLocked(user); err != nil {
		return err
	}
	q.total++
	if user != "" {
		q.perUser[user]++
	}
	return nil
}

func (q *quota) release(user string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.total--
	if user != "" {
		if q.perUser[user]--; q.perUser[user] <= 0 {
			delete(q.perUser, user)
		}
	}
}

func (q *quota) open() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.total
}

// relayGen is pion's RelayAddressGenerator: UDP relay sockets from the port
// range, counted against the quotas and wrapped to apply the policy per packet
// and the bandwidth cap.
type relayGen struct {
	s        *Server
	relays   map[string]RelayAddress // by network: "udp4", "udp6"
	min, max int
}

func newRelayGen(s *Server, cfg Config) (*relayGen, error) {
	g := &relayGen{s: s, relays: map[string]RelayAddress{}, min: cfg.RelayPortMin, max: cfg.RelayPortMax}
	var local []netip.Addr
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				local = append(local, p.Addr())
			}
		}
	}
	for _, r := range cfg.Relays {
		if !r.IP.IsValid() || r.IP.Unmap().IsUnspecified() {
			return nil, fmt.Errorf("%w: relay address %v: want a unicast address clients can reach", ErrConfig, r.IP)
		}
		r.IP = r.IP.Unmap()
		network := "udp4"
		if r.IP.Is6() {
			network = "udp6"
		}
		if _, dup := g.relays[network]; dup {
			return nil, fmt.Errorf("%w: two relay addresses of one family (%v)", ErrConfig, r.IP)
		}
		if !r.Bind.IsValid() {
			r.Bind = netip.IPv4Unspecified()
			if r.IP.Is6() {
				r.Bind = netip.IPv6Unspecified()
			}
			for _, l := range local {
				if l.Unmap() == r.IP {
					r.Bind = r.IP
				}
			}
		}
		g.relays[network] = r
	}
	return g, nil
}

// Validate is called by pion when a listener starts.
func (g *relayGen) Validate() error { return nil }

// AllocatePacketConn opens the relay socket of a new UDP allocation.
func (g *relayGen) AllocatePacketConn(conf pturn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	relay, ok := g.relays[conf.Network]
	if !ok {
		return nil, nil, fmt.Errorf("%w (%s)", ErrNoRelayAddress, conf.Network)
	}
	if err := g.s.quota.reserve(conf.UserID); err != nil {
		g.s.refused(err)
		g.s.logLimited(slog.LevelWarn, "turn: allocation refused", "user", conf.UserID, "err", err)
		return nil, nil, err
	}
	pc, port, err := g.listen(conf.Network, relay.Bind, conf.RequestedPort)
	if err != nil {
		g.s.quota.release(conf.UserID)
		g.s.stats.refusals.add(RefusedPorts)
		g.s.logLimited(slog.LevelWarn, "turn: allocation refused: no relay port free (508)", "user", conf.UserID, "err", err)
		return nil, nil, err
	}
	rc := &relayConn{PacketConn: pc, s: g.s, user: conf.UserID}
	if bw := g.s.cfg.Bandwidth; bw > 0 {
		// A burst of one second (at least 64 KiB, so a video key frame passes whole).
		rc.lim = rate.NewLimiter(rate.Limit(bw), max(bw, 64<<10))
	}
	return rc, &net.UDPAddr{IP: relay.IP.AsSlice(), Port: port}, nil
}

// listen binds a port of the range: the requested one (EVEN-PORT reservations)
// or the first free one from a random start.
func (g *relayGen) listen(network string, bind netip.Addr, requested int) (net.PacketConn, int, error) {
	try := func(port int) (net.PacketConn, error) {
		return net.ListenPacket(network, net.JoinHostPort(bind.String(), strconv.Itoa(port)))
	}
	if requested != 0 {
		if requested < g.min || requested > g.max {
			return nil, 0, fmt.Errorf("%w: requested port %d is outside %d-%d", ErrNoRelayPort, requested, g.min, g.max)
		}
		pc, err := try(requested)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: %v", ErrNoRelayPort, err)
		}
		return pc, requested, nil
	}
	n := g.max - g.min + 1
	start := rand.IntN(n)
	for i := range n {
		port := g.min + (start+i)%n
		if pc, err := try(port); err == nil {
			return pc, port, nil
		}
	}
	return nil, 0, fmt.Errorf("%w (%d-%d)", ErrNoRelayPort, g.min, g.max)
}

// AllocateListener would open a TCP relay (RFC 6062): not offered.
func (g *relayGen) AllocateListener(pturn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, ErrTCPRelay
}

// AllocateConn would dial a TCP peer (RFC 6062): not offered.
func (g *relayGen) AllocateConn(pturn.AllocateConnConfig) (net.Conn, error) {
	return nil, ErrTCPRelay
}

// relayConn is one allocation's relay socket. pion checks permissions per peer
// IP; relayConn also checks each packet's peer port (own addresses are reachable
// on the SFU's port only) and applies the bandwidth cap.
type relayConn struct {
	net.PacketConn
	s    *Server
	user string
	lim  *rate.Limiter // nil: no cap
	once sync.Once

	mu      sync.Mutex
	written map[netip.AddrPort]struct{} // peers the client sent to (bounded)
}

// maxWritten bounds relayConn.written; an allocation talks to one peer, the SFU.
const maxWritten = 64

// pass applies the policy and, to traffic of peers the client talks to, the cap.
// Packets from other peers are left to pion, which drops those without permission:
// they must not use up the allocation's budget.
func (c *relayConn) pass(addr net.Addr, n int, outbound bool) bool {
	ap, ok := addrPortOf(addr)
	if !ok || !c.s.cfg.Policy.CheckEndpoint(ap) {
		c.s.stats.packetsRefused.Add(1)
		return false
	}
	c.mu.Lock()
	_, known := c.written[ap]
	if outbound && !known && len(c.written) < maxWritten {
		if c.written == nil {
			c.written = map[netip.AddrPort]struct{}{}
		}
		c.written[ap], known = struct{}{}, true
	}
	c.mu.Unlock()
	if !known {
		return true
	}
	if c.lim != nil && !c.lim.AllowN(time.Now(), n) {
		c.s.stats.packetsOverLimit.Add(1)
		return false
	}
	c.s.stats.bytesRelayed.Add(uint64(n))
	return true
}

// WriteTo sends a client's packet to a peer; a refused one is dropped silently,
// as UDP may drop any packet.
func (c *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if !c.pass(addr, len(p), true) {
		return len(p), nil
	}
	return c.PacketConn.WriteTo(p, addr)
}

// ReadFrom returns the next packet from a peer that passes.
func (c *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil || c.pass(addr, n, false) {
			return n, addr, err
		}
	}
}

func (c *relayConn) Close() error {
	c.once.Do(func() { c.s.quota.release(c.user) })
	return c.PacketConn.Close()
}
