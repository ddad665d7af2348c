package relay

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Path is where a home node accepts relay links: GET Path+{room}.
const Path = "/cluster/relay/"

// MaxLinks bounds the links one node accepts at once (one per room and satellite).
const MaxLinks = 1024

// Handler accepts the relay links of satellite nodes for rooms that live
// here. Register it at Path+"{room}".
type Handler struct {
	rooms  Rooms
	secret string
	stats  *Stats
	log    *slog.Logger
	now    func() time.Time
	up     websocket.Upgrader

	ctx    context.Context     // ends every link at Close
	cancel context.CancelFunc  //
	mu     sync.Mutex          // guards n, links and closed
	n      int                 // links running
	links  map[string]*running // by room and node: a node dialing again replaces its link
	closed bool
	wg     sync.WaitGroup // the links' handler goroutines
}

// HandlerOptions configure a Handler.
type HandlerOptions struct {
	Rooms  Rooms
	Secret string // the cluster's shared secret
	Stats  *Stats // optional
	Logger *slog.Logger
	Now    func() time.Time
}

// NewHandler returns a Handler; Close it to end its links.
func NewHandler(o HandlerOptions) *Handler {
	o.Logger, o.Now, o.Stats = common(o.Logger, o.Now, o.Stats)
	ctx, cancel := context.WithCancel(context.Background())
	return &Handler{rooms: o.Rooms, secret: o.Secret, stats: o.Stats, log: o.Logger, now: o.Now, ctx: ctx, cancel: cancel,
		links: map[string]*running{},
		up:    websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, Path)
	node := r.Header.Get(headerNode)
	got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if err := verify(h.secret, name, node, r.Header.Get(headerExpires), got, h.now()); err != nil {
		h.log.Warn("relay: refused a link", "room", name, "node", node, "from", r.RemoteAddr, "err", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if !h.rooms.Exists(name) {
		http.Error(w, "relay: room "+name+" is not open on this node", http.StatusNotFound)
		return
	}
	key := name + "\x00" + node
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	run := &running{cancel: cancel}
	if !h.reserve(key, run) {
		http.Error(w, "relay: this node carries as many relay links as it can", http.StatusServiceUnavailable)
		return
	}
	defer h.release(key, run)
	ws, err := h.up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	l := NewLink(ws, Options{Rooms: h.rooms, Room: name, Peer: node, Stats: h.stats, Logger: h.log, Now: h.now})
	if err := l.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		h.log.Debug("relay link ended", "room", name, "node", node, "err", err)
	}
}

// reserve counts a new link for room and node (key), ending the one that
// node had for the room: it dialed again, so that one is dead to it.
func (h *Handler) reserve(key string, run *running) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.n >= MaxLinks {
		return false
	}
	if old := h.links[key]; old != nil {
		old.cancel()
	}
	h.links[key] = run
	h.n++
	h.wg.Add(1)
	return true
}

func (h *Handler) release(key string, run *running) {
	h.mu.Lock()
	h.n--
	if h.links[key] == run {
		delete(h.links, key)
	}
	h.mu.Unlock()
	h.wg.Done()
}

// running is one accepted link.
type running struct{ cancel context.CancelFunc }

// Close ends every link and waits for them.
func (h *Handler) Close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
}
