package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/openroom/openroom/room"
)

// retryWait is how long a satellite waits before dialing its room's home again.
const retryWait = time.Second

// DialerOptions configure a Dialer.
type DialerOptions struct {
	Rooms  Rooms
	Secret string // the cluster's shared secret
	Node   string // this node's ID
	// Home says where a room lives now: the home's base URL, or here=true
	// when this node became its home (the old one died). Asked before each
	// dial after the first.
	Home   func(ctx context.Context, room string) (base string, here bool, err error)
	Stats  *Stats
	Logger *slog.Logger
	Now    func() time.Time
	// SatelliteIdle: see Options.SatelliteIdle.
	SatelliteIdle time.Duration
}

// Dialer keeps this node's satellite rooms linked to their homes: one link
// per room while members of this node are in it.
type Dialer struct {
	o      DialerOptions
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex      // guards rooms and closed
	rooms  map[string]bool // rooms with a link running or being dialed
	closed bool
	wg     sync.WaitGroup // one goroutine per room in rooms
}

// NewDialer returns a Dialer; Close it to end its links.
func NewDialer(o DialerOptions) *Dialer {
	o.Logger, o.Now, o.Stats = common(o.Logger, o.Now, o.Stats)
	ctx, cancel := context.WithCancel(context.Background())
	return &Dialer{o: o, log: o.Logger.With("part", "relay"), ctx: ctx, cancel: cancel, rooms: map[string]bool{}}
}

// ErrClosed: the node is shutting down.
var ErrClosed = errors.New("relay: shutting down")

// Ensure opens the room here (a satellite of the room at homeBase) and
// links it to its home, unless a link is already up. It returns at once;
// the home's tracks arrive when the link is up.
func (d *Dialer) Ensure(roomName, homeBase string) error {
	if _, err := d.o.Rooms.Create(roomName, ""); err != nil && !errors.Is(err, room.ErrRoomExists) {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if d.rooms[roomName] {
		return nil
	}
	d.rooms[roomName] = true
	d.wg.Add(1)
	go d.keep(roomName, homeBase)
	return nil
}

// Linked reports whether roomName is a satellite here (its link is up or being dialed).
func (d *Dialer) Linked(roomName string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rooms[roomName]
}

// keep links roomName to its home until no member of this node is in it,
// dialing again when the link drops (the home may have moved).
func (d *Dialer) keep(roomName, base string) {
	defer d.wg.Done()
	defer func() {
		d.mu.Lock()
		delete(d.rooms, roomName)
		d.mu.Unlock()
		d.o.Rooms.RemoveIfEmpty(roomName) // made by Ensure; nobody of this node came, or all left
	}()
	idle := d.o.SatelliteIdle
	if idle <= 0 {
		idle = DefaultSatelliteIdle
	}
	idleSince := d.o.Now()
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			select {
			case <-d.ctx.Done():
				return
			case <-time.After(retryWait):
			}
			if !d.o.Rooms.Exists(roomName) {
				return
			}
			if ms, _ := d.o.Rooms.Members(roomName); len(ms) > 0 {
				idleSince = d.o.Now()
			} else if d.o.Now().Sub(idleSince) >= idle {
				return // the home is out of reach and nobody here waits for it
			}
			if d.o.Home != nil {
				ctx, cancel := context.WithTimeout(d.ctx, 3*time.Second)
				b, here, err := d.o.Home(ctx, roomName)
				cancel()
				switch {
				case err != nil:
					d.log.Warn("relay: cannot say where the room lives now; retrying", "room", roomName, "err", err)
					continue
				case here:
					d.log.Info("relay: the room lives here now", "room", roomName)
					return
				}
				base = b
			}
		}
		ws, err := d.dial(roomName, base)
		if err != nil {
			d.log.Warn("relay: cannot link the room to its home; retrying", "room", roomName, "home", base, "err", err)
			continue
		}
		l := NewLink(ws, Options{Rooms: d.o.Rooms, Room: roomName, Peer: base, Satellite: true, SatelliteIdle: d.o.SatelliteIdle, Stats: d.o.Stats, Logger: d.o.Logger, Now: d.o.Now})
		err = l.Run(d.ctx)
		if err == nil || errors.Is(err, ErrRoomGone) || d.ctx.Err() != nil {
			return // nobody of this node needs it any more
		}
		d.log.Info("relay: link to the room's home dropped; dialing again", "room", roomName, "err", err)
	}
}

// dial opens the WebSocket to the home's relay endpoint for roomName.
func (d *Dialer) dial(roomName, base string) (*websocket.Conn, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("relay: bad home URL %q", base)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	u.Path = strings.TrimRight(u.Path, "/") + Path + url.PathEscape(roomName)
	exp := d.o.Now().Add(tokenTTL).Unix()
	h := http.Header{}
	h.Set("Authorization", "Bearer "+mac(d.o.Secret, roomName, d.o.Node, exp))
	h.Set(headerNode, d.o.Node)
	h.Set(headerExpires, strconv.FormatInt(exp, 10))
	dl := websocket.Dialer{HandshakeTimeout: 5 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 4096}
	ctx, cancel := context.WithTimeout(d.ctx, 5*time.Second)
	defer cancel()
	ws, res, err := dl.DialContext(ctx, u.String(), h)
	if err != nil {
		if res != nil {
			text, _ := io.ReadAll(io.LimitReader(res.Body, 300))
			_ = res.Body.Close()
			return nil, fmt.Errorf("relay: %s: HTTP %d: %s", u.Redacted(), res.StatusCode, strings.TrimSpace(string(text)))
		}
		return nil, fmt.Errorf("relay: %s: %w", u.Redacted(), err)
	}
	return ws, nil
}

// Close ends every link and waits for them.
func (d *Dialer) Close() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
}
