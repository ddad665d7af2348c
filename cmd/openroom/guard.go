package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/openroom/openroom/internal/netguard"
	"github.com/openroom/openroom/metrics"
)

// fdReserve is how many file descriptors the connection cap leaves for the
// rest: UDP sockets, TURN relays, files, the transcoders' pipes.
const fdReserve = 256

// guard is what every TCP listener of the process shares: one cap on the
// connections (total and per client address) and the counters behind the
// metrics of refusals and timeouts.
type guard struct {
	counter *netguard.Counter
	log     *slog.Logger

	mu        sync.Mutex // guards listeners
	listeners []*netguard.Listener

	timeouts sync.Map // kind -> *atomic.Uint64: http_header, http_body, http_idle, ...
}

// raiseFDLimit lifts the soft file-descriptor limit to the hard one (Go does
// this too since 1.19; doing it here makes it certain and logged) and returns
// the soft limit in force.
func raiseFDLimit(log *slog.Logger) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("cannot read the file-descriptor limit", "err", err)
		return 0
	}
	soft := lim.Cur
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			log.Warn("cannot raise the file-descriptor limit", "soft", lim.Cur, "hard", lim.Max, "err", err)
		} else {
			soft = lim.Max
		}
	}
	args := []any{"soft", soft, "hard", lim.Max}
	if soft < 4096 {
		log.Warn("file-descriptor limit is low: raise it (ulimit -n, LimitNOFILE= in systemd) to serve many members", args...)
	} else {
		log.Info("file-descriptor limit", args...)
	}
	return soft
}

// newGuard caps connections at maxConns (held under the descriptor limit less
// fdReserve) in total and perIP per client address.
func newGuard(maxConns, perIP int, fdLimit uint64, log *slog.Logger) *guard {
	total := maxConns
	if fdLimit > 0 {
		room := int(min(fdLimit, 1<<30)) - fdReserve
		if room < 64 {
			room = max(int(fdLimit)/2, 1)
		}
		if room < total {
			log.Warn("max_connections held under the file-descriptor limit", "max_connections", maxConns, "now", room, "fd_limit", fdLimit)
			total = room
		}
	}
	return &guard{counter: netguard.NewCounter(netguard.Limits{Total: total, PerIP: perIP}), log: log}
}

// wrap guards ln; refusals on HTTP listeners get an HTTP answer.
func (g *guard) wrap(ln net.Listener, name string, httpRefusal bool) net.Listener {
	opt := netguard.Options{Name: name, Counter: g.counter, Logger: g.log, OnReadTimeout: g.timedOut}
	if httpRefusal {
		opt.Refuse = refuseHTTP
	}
	l := netguard.Wrap(ln, opt)
	g.mu.Lock()
	g.listeners = append(g.listeners, l)
	g.mu.Unlock()
	return l
}

func (g *guard) timedOut(kind string) {
	v, _ := g.timeouts.LoadOrStore(kind, new(atomic.Uint64))
	v.(*atomic.Uint64).Add(1)
}

// refuseHTTP answers a connection over the caps: 429 when its address holds
// too many, 503 when the server does.
func refuseHTTP(c net.Conn, reason string) {
	status, text := http.StatusServiceUnavailable, "the server has too many connections open; try again shortly"
	if reason == netguard.ReasonPerIP {
		status, text = http.StatusTooManyRequests, "too many connections from your address (max_connections_per_ip); close some and try again"
	}
	_, _ = fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s\n",
		status, http.StatusText(status), len(text)+1, text)
}

// stats are the caps' and HTTP timeouts' counters for /metrics.
func (g *guard) stats() metrics.LimitStats {
	st := metrics.LimitStats{Open: float64(g.counter.Open()), Refused: map[string]float64{}, Timeouts: map[string]float64{}}
	for reason, n := range g.counter.Refused() { // one counter for every listener
		st.Refused[reason] = float64(n)
	}
	g.mu.Lock()
	ls := append([]*netguard.Listener(nil), g.listeners...)
	g.mu.Unlock()
	for _, l := range ls {
		st.AcceptErrors += float64(l.Stats().AcceptErrors)
	}
	g.timeouts.Range(func(k, v any) bool {
		st.Timeouts[k.(string)] = float64(v.(*atomic.Uint64).Load())
		return true
	})
	return st
}

// limitStats adds the signaling and bridge timeouts to the guard's counters.
func (a *app) limitStats() metrics.LimitStats {
	st := a.guard.stats()
	st.Timeouts["ws_join"] = float64(a.sig.Stats().JoinTimeouts)
	if a.bridge != nil {
		st.Timeouts["viewer_write"] = float64(a.bridge.Stats().ViewerTimeouts)
	}
	return st
}

// httpPhases reports what each HTTP connection waits for, so a read that
// times out is counted as a header, body or idle timeout.
func httpPhases(c net.Conn, s http.ConnState) {
	gc, ok := c.(*netguard.Conn)
	if !ok {
		if nc, isNet := c.(interface{ NetConn() net.Conn }); isNet { // TLS
			gc, ok = nc.NetConn().(*netguard.Conn)
		}
		if !ok {
			return
		}
	}
	switch s {
	case http.StateNew:
		gc.SetPhase("http_header")
	case http.StateActive:
		gc.SetPhase("http_body")
	case http.StateIdle:
		gc.SetPhase("http_idle")
	default: // hijacked (WebSocket) or closed: not HTTP's any more
		gc.SetPhase("")
	}
}

// bodyDeadline gives a request with a body bodyTimeout to send it (a body
// dripped a byte at a time would otherwise hold the connection for ever).
// Long responses without a body (HTTP-FLV, WebSocket) are not affected.
func bodyDeadline(next http.Handler, bodyTimeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyTimeout))
		}
		next.ServeHTTP(w, r)
	})
}

// httpServer is an http.Server with openroom's timeouts.
func (a *app) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           bodyDeadline(h, a.cfg.HTTPBodyTimeout),
		ReadHeaderTimeout: a.cfg.HTTPHeaderTimeout,
		IdleTimeout:       a.cfg.HTTPIdleTimeout,
		ConnState:         httpPhases,
		ErrorLog:          slog.NewLogLogger(httpErrorLog{a.log}, slog.LevelWarn),
	}
}

// Returning memory after a storm of connections: Go frees what they held at
// its next collection (forced only every 2 minutes on an idle server) and
// gives it back to the system gradually after that.
const (
	reliefEvery = 10 * time.Second
	reliefPeak  = 1000 // connections at once that count as a storm
)

// relieve gives memory back to the system when the connections open fell to
// under half of a storm's peak: a flood of idle or abusive connections does
// not leave the process holding its memory. It runs until ctx ends.
func (g *guard) relieve(ctx context.Context) {
	t := time.NewTicker(reliefEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if peak, now := g.counter.TakePeak(), g.counter.Open(); peak >= reliefPeak && now < peak/2 {
			debug.FreeOSMemory()
			g.log.Info("connections fell from a storm: memory given back", "peak", peak, "open", now)
		}
	}
}
