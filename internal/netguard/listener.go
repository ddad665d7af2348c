// Package netguard wraps a net.Listener so that running out of file
// descriptors never ends a server (accept errors back off and are retried,
// as net/http does) and no client holds more than its share of connections
// (a per-address and a total cap, refused before any other work).
package netguard

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Limits caps the connections open at once on one listener (or on several
// sharing a Counter). Zero means no cap.
type Limits struct {
	Total int // all clients together
	PerIP int // one client address
}

// Refusal reasons, as counted in Stats and logged.
const (
	ReasonTotal = "total" // the total cap was reached
	ReasonPerIP = "per_ip"
)

// Counter counts open connections by client address. Several listeners may
// share one (the caps are then for all of them together).
type Counter struct {
	lim Limits

	mu    sync.Mutex         // guards total, perIP, peak
	total int                // open connections
	peak  int                // the most open at once since TakePeak
	perIP map[netip.Addr]int // open connections by client address (entries > 0 only)

	refusedTotal, refusedPerIP atomic.Uint64
}

// NewCounter returns a Counter enforcing lim.
func NewCounter(lim Limits) *Counter {
	return &Counter{lim: lim, perIP: map[netip.Addr]int{}}
}

// acquire counts a connection from ip, or says which cap refuses it.
func (c *Counter) acquire(ip netip.Addr) (reason string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lim.Total > 0 && c.total >= c.lim.Total {
		c.refusedTotal.Add(1)
		return ReasonTotal, false
	}
	if c.lim.PerIP > 0 && ip.IsValid() && c.perIP[ip] >= c.lim.PerIP {
		c.refusedPerIP.Add(1)
		return ReasonPerIP, false
	}
	c.total++
	c.peak = max(c.peak, c.total)
	if ip.IsValid() {
		c.perIP[ip]++
	}
	return "", true
}

// TakePeak returns the most connections open at once since the last call,
// and starts counting again from those open now.
func (c *Counter) TakePeak() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.peak
	c.peak = c.total
	return p
}

func (c *Counter) release(ip netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
	if ip.IsValid() {
		if n := c.perIP[ip] - 1; n > 0 {
			c.perIP[ip] = n
		} else {
			delete(c.perIP, ip)
		}
	}
}

// Refused counts the connections refused so far, by reason.
func (c *Counter) Refused() map[string]uint64 {
	return map[string]uint64{ReasonTotal: c.refusedTotal.Load(), ReasonPerIP: c.refusedPerIP.Load()}
}

// Open is how many connections are counted now.
func (c *Counter) Open() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// Stats are a listener's counters since it started.
type Stats struct {
	Open         int               // connections open now (on the Counter)
	Refused      map[string]uint64 // by reason (ReasonTotal, ReasonPerIP)
	AcceptErrors uint64            // temporary accept errors (EMFILE, ENFILE, ...) backed off from
}

// Options configure a Listener.
type Options struct {
	Name    string                 // in logs: "http", "rtmp", "turn-tcp"...
	Counter *Counter               // nil: no caps
	Logger  *slog.Logger           // nil: slog.Default()
	Refuse  func(net.Conn, string) // writes a refusal (an HTTP 503, say) before the conn is closed; nil: just close
	// OnReadTimeout is called when a read hits its deadline, with the phase the
	// connection was in (see Conn.SetPhase); nil: not reported.
	OnReadTimeout func(phase string)
	// Now is the clock for rate-limiting logs; nil: time.Now.
	Now func() time.Time
}

// Listener is a net.Listener that retries temporary accept errors and caps
// connections. Its Accept returns *Conn values.
type Listener struct {
	net.Listener
	opt  Options
	log  *slog.Logger
	done chan struct{}
	once sync.Once

	acceptErrors atomic.Uint64
	lastLog      atomic.Int64 // unix ns of the last accept-error or refusal log line
}

// Wrap guards ln.
func Wrap(ln net.Listener, opt Options) *Listener {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Listener{Listener: ln, opt: opt, log: opt.Logger.With("listener", opt.Name), done: make(chan struct{})}
}

// Backoff bounds for temporary accept errors (net/http uses the same).
const (
	minBackoff = 5 * time.Millisecond
	maxBackoff = time.Second
	// logEvery rate-limits the log lines about accept errors and refusals.
	logEvery = 10 * time.Second
)

// Accept waits for the next connection the caps allow. Temporary errors
// (out of file descriptors, a connection aborted before it was accepted) are
// logged, counted and retried with backoff; only a closed listener or a
// permanent error is returned.
func (l *Listener) Accept() (net.Conn, error) {
	var backoff time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !temporary(err) {
				return nil, err
			}
			l.acceptErrors.Add(1)
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
			l.logLimited("accept failed; retrying", "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-l.done:
				t.Stop()
				return nil, net.ErrClosed
			}
			continue
		}
		backoff = 0
		if l.opt.Counter == nil {
			return &Conn{Conn: c, onTimeout: l.opt.OnReadTimeout}, nil
		}
		ip := IP(c.RemoteAddr())
		reason, ok := l.opt.Counter.acquire(ip)
		if !ok {
			l.logLimited("connection refused: too many connections", "reason", reason, "remote", ip.String())
			if l.opt.Refuse != nil {
				_ = c.SetWriteDeadline(l.opt.Now().Add(time.Second))
				l.opt.Refuse(c, reason)
			}
			_ = c.Close()
			continue
		}
		return &Conn{Conn: c, counter: l.opt.Counter, ip: ip, onTimeout: l.opt.OnReadTimeout}, nil
	}
}

// Close closes the listener and ends a backoff in progress.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// Stats returns the listener's counters.
func (l *Listener) Stats() Stats {
	st := Stats{AcceptErrors: l.acceptErrors.Load(), Refused: map[string]uint64{}}
	if c := l.opt.Counter; c != nil {
		st.Open, st.Refused = c.Open(), c.Refused()
	}
	return st
}

func (l *Listener) logLimited(msg string, args ...any) {
	now := l.opt.Now().UnixNano()
	last := l.lastLog.Load()
	if last != 0 && now-last < int64(logEvery) {
		return
	}
	if l.lastLog.CompareAndSwap(last, now) {
		l.log.Warn(msg, args...)
	}
}

// temporary reports whether an accept error may go away by itself: out of
// file descriptors or buffers, or a connection reset before it was accepted.
func temporary(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	var te interface{ Temporary() bool }
	return errors.As(err, &te) && te.Temporary()
}

// IP is a connection's or packet's client IP (IPv4-mapped IPv6 unmapped), or
// the invalid address when a cannot tell.
func IP(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case nil:
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// Conn is an accepted connection; closing it frees its place under the caps.
type Conn struct {
	net.Conn
	counter   *Counter
	ip        netip.Addr
	once      sync.Once
	onTimeout func(phase string)
	phase     atomic.Pointer[string] // what the server waits for now ("header", "idle"...); nil: not reported
	timedOut  atomic.Bool            // a timeout was reported (once per connection)
	deadline  atomic.Int64           // unix ns of the read deadline last set (0: none)
}

// abortBefore: a read deadline set before this is a read being cancelled (net/http
// does that with a time long past), not a timeout.
var abortBefore = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// SetReadDeadline sets the read deadline, remembered to tell timeouts from cancellations.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.noteDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

// SetDeadline sets both deadlines (see SetReadDeadline).
func (c *Conn) SetDeadline(t time.Time) error {
	c.noteDeadline(t)
	return c.Conn.SetDeadline(t)
}

func (c *Conn) noteDeadline(t time.Time) {
	if t.IsZero() {
		c.deadline.Store(0)
		return
	}
	c.deadline.Store(t.UnixNano())
}

// SetPhase names what the server waits for on this connection now, for
// OnReadTimeout; "" stops reporting.
func (c *Conn) SetPhase(p string) {
	if p == "" {
		c.phase.Store(nil)
		return
	}
	c.phase.Store(&p)
}

// Read reads, and reports the first read that hit its deadline while a phase
// was set (the server closes a connection that timed out).
func (c *Conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil && c.onTimeout != nil && errors.Is(err, os.ErrDeadlineExceeded) && c.deadline.Load() >= abortBefore {
		if p := c.phase.Load(); p != nil && !c.timedOut.Swap(true) {
			c.onTimeout(*p)
		}
	}
	return n, err
}

// Close closes the connection and releases its place (once).
func (c *Conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		if c.counter != nil {
			c.counter.release(c.ip)
		}
	})
	return err
}
