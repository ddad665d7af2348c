package cluster

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/openroom/openroom/room"
)

// Archive keeps every room's chat history and board in Redis (room.Archive),
// so that a room whose node died starts again elsewhere with them. The room
// manager hands it messages and ops under its lock: they are queued, and one
// goroutine (Run) writes them in order.
type Archive struct {
	rdb     *redis.Client
	log     *slog.Logger
	queue   chan archiveOp
	dropped atomic.Uint64 // ops not kept: the queue was full, or Redis failed them
}

// What is kept lives this long after a room's last message or op: a room that
// ends on its own does not come back years later with its history, and one
// whose node died has time to be taken up elsewhere.
const (
	archiveTTL   = time.Hour
	archiveQueue = 4096 // ops waiting for Redis; beyond, new ones are dropped (counted)
	archiveBatch = 128  // ops per pipeline
)

type archiveOp struct {
	room   string
	kind   byte // 'c' chat, 'b' board, 'f' forget
	data   []byte
	clears bool // a board clear: the ops before it go
}

func chatKey(room string) string  { return keyPrefix + "chat:" + room }
func boardKey(room string) string { return keyPrefix + "board:" + room }

// Archive returns the cluster's archive of rooms; call its Run once.
func (c *Cluster) Archive() *Archive {
	return &Archive{rdb: c.rdb, log: c.log.With("part", "archive"), queue: make(chan archiveOp, archiveQueue)}
}

// Dropped counts the ops that were not kept.
func (a *Archive) Dropped() uint64 { return a.dropped.Load() }

func (a *Archive) enqueue(op archiveOp) {
	select {
	case a.queue <- op:
	default:
		if a.dropped.Add(1)%1000 == 1 {
			a.log.Warn("chat and board archive queue full: ops dropped (Redis too slow or away)", "dropped", a.dropped.Load())
		}
	}
}

// Chat implements room.Archive.
func (a *Archive) Chat(roomName string, msg room.ChatMessage) {
	b, err := json.Marshal(msg)
	if err == nil {
		a.enqueue(archiveOp{room: roomName, kind: 'c', data: b})
	}
}

// Board implements room.Archive.
func (a *Archive) Board(roomName string, e room.BoardEntry) {
	b, err := json.Marshal(e)
	if err == nil {
		a.enqueue(archiveOp{room: roomName, kind: 'b', data: b, clears: e.Op.Kind == "clear"})
	}
}

// Forget implements room.Archive.
func (a *Archive) Forget(roomName string) { a.enqueue(archiveOp{room: roomName, kind: 'f'}) }

// Load implements room.Archive.
func (a *Archive) Load(ctx context.Context, roomName string) (room.Kept, error) {
	pipe := a.rdb.Pipeline()
	chat := pipe.LRange(ctx, chatKey(roomName), 0, -1)
	board := pipe.LRange(ctx, boardKey(roomName), 0, -1)
	if _, err := pipe.Exec(ctx); err != nil {
		return room.Kept{}, err
	}
	var k room.Kept
	for _, s := range chat.Val() {
		var m room.ChatMessage
		if json.Unmarshal([]byte(s), &m) == nil {
			k.Chat = append(k.Chat, m)
		}
	}
	for _, s := range board.Val() {
		var e room.BoardEntry
		if json.Unmarshal([]byte(s), &e) == nil {
			k.Board = append(k.Board, e)
		}
	}
	return k, nil
}

// Run writes queued ops until ctx ends, then what is still queued (for at
// most a second).
func (a *Archive) Run(ctx context.Context) {
	batch := make([]archiveOp, 0, archiveBatch)
	// Writes do not end with ctx: an op taken is written (bounded by write's
	// own timeout), and what is left queued gets a second.
	wctx := context.WithoutCancel(ctx)
	for {
		select {
		case op := <-a.queue:
			_ = a.write(wctx, a.take(append(batch[:0], op)))
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(wctx, time.Second)
			defer cancel()
			for len(a.queue) > 0 && a.write(fctx, a.take(batch[:0])) == nil {
			}
			return
		}
	}
}

// take adds what is queued to batch, up to archiveBatch ops.
func (a *Archive) take(batch []archiveOp) []archiveOp {
	for len(batch) < archiveBatch && len(a.queue) > 0 {
		batch = append(batch, <-a.queue)
	}
	return batch
}

// write sends one batch in one round trip.
func (a *Archive) write(ctx context.Context, batch []archiveOp) error {
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	pipe := a.rdb.Pipeline()
	for _, op := range batch {
		switch op.kind {
		case 'c':
			pipe.RPush(wctx, chatKey(op.room), op.data)
			pipe.LTrim(wctx, chatKey(op.room), -room.ChatHistory, -1)
			pipe.PExpire(wctx, chatKey(op.room), archiveTTL)
		case 'b':
			if op.clears {
				pipe.Del(wctx, boardKey(op.room))
			}
			pipe.RPush(wctx, boardKey(op.room), op.data)
			pipe.PExpire(wctx, boardKey(op.room), archiveTTL)
		case 'f':
			pipe.Del(wctx, chatKey(op.room), boardKey(op.room))
		}
	}
	if _, err := pipe.Exec(wctx); err != nil {
		a.dropped.Add(uint64(len(batch)))
		a.log.Warn("chat and board ops not kept in Redis", "ops", len(batch), "err", err)
		return err
	}
	return nil
}
