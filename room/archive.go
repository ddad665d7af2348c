package room

import (
	"context"
	"time"
)

// Archive keeps what a room must not lose with its node when nodes share rooms
// (cluster mode): its chat history and its board. The manager hands it every
// message and board op as they happen, under its lock, so those calls must
// only queue (the implementation writes on a goroutine of its own); a room
// created where the archive holds something starts from it.
type Archive interface {
	// Load returns what was kept of room (empty when nothing).
	Load(ctx context.Context, room string) (Kept, error)
	// Chat keeps a message (the room keeps its last ChatHistory).
	Chat(room string, msg ChatMessage)
	// Board keeps a board op; a clear drops the ops before it.
	Board(room string, e BoardEntry)
	// Forget drops what was kept of room (an operator closed it).
	Forget(room string)
}

// Kept is what an Archive returns for a room.
type Kept struct {
	Chat  []ChatMessage // oldest first
	Board []BoardEntry  // since the last clear (which may come first), in order
}

// archiveLoadTimeout bounds how long a new room waits for what was kept of it.
const archiveLoadTimeout = 2 * time.Second

// loadKept fetches what the archive kept of room when room is about to be
// created here; nil when there is no archive, the room exists, or nothing
// could be had (the room then starts empty, as on a node of its own).
func (m *Manager) loadKept(room string) *Kept {
	if m.opts.Archive == nil || m.Exists(room) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), archiveLoadTimeout)
	defer cancel()
	k, err := m.opts.Archive.Load(ctx, room)
	if err != nil {
		m.log.Warn("room starts without its kept chat and board", "room", room, "err", err)
		return nil
	}
	return &k
}

// restore gives a new room what was kept of it.
func (r *Room) restore(k *Kept) {
	if k == nil {
		return
	}
	if len(k.Chat) > ChatHistory {
		k.Chat = k.Chat[len(k.Chat)-ChatHistory:]
	}
	r.chat = append(r.chat[:0], k.Chat...)
	for _, msg := range r.chat {
		r.chatSeq = max(r.chatSeq, msg.ID)
	}
	r.board.restore(k.Board)
}

// restore replays kept ops (checked when they were first applied).
func (b *board) restore(entries []BoardEntry) {
	for _, e := range entries {
		b.record(e)
	}
}
