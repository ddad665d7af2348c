package room

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/openroom/openroom/internal/fakeclock"
)

// memArchive is an Archive in memory, shared by managers as Redis is by nodes.
type memArchive struct {
	mu      sync.Mutex
	chat    map[string][]ChatMessage
	board   map[string][]BoardEntry
	loadErr error
}

func newMemArchive() *memArchive {
	return &memArchive{chat: map[string][]ChatMessage{}, board: map[string][]BoardEntry{}}
}

func (a *memArchive) Load(_ context.Context, room string) (Kept, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Kept{Chat: append([]ChatMessage(nil), a.chat[room]...), Board: append([]BoardEntry(nil), a.board[room]...)}, a.loadErr
}

func (a *memArchive) Chat(room string, msg ChatMessage) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.chat[room] = append(a.chat[room], msg)
}

func (a *memArchive) Board(room string, e BoardEntry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e.Op.Kind == "clear" {
		a.board[room] = nil
	}
	a.board[room] = append(a.board[room], e)
}

func (a *memArchive) Forget(room string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.chat, room)
	delete(a.board, room)
}

func archivedManager(a Archive) *Manager {
	return NewManager(Options{Capacity: 16, Timeout: 20 * time.Second, Now: fakeclock.New().Now, Archive: a})
}

// TestArchiveRestoresRoom: a room recreated on another node (another manager
// over the same archive) has its chat history and board, and goes on from them.
func TestArchiveRestoresRoom(t *testing.T) {
	t.Parallel()
	arch := newMemArchive()
	a := archivedManager(arch)
	lei, han := newSession("lei"), newSession("han")
	enter(t, a, "r", "lei", lei)
	enter(t, a, "r", "han", han)
	for _, c := range []struct{ to, text string }{{"", "你好"}, {"han", "private"}, {"", "third"}} {
		if _, err := a.Chat("r", "lei", lei, c.to, c.text, nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, op := range []BoardOp{stroke1("s1"), stroke1("s2"), {Kind: "undo"}} {
		if _, err := a.Board("r", "lei", lei, op); err != nil {
			t.Fatal(err)
		}
	}
	wantBoard, _ := a.BoardState("r")
	wantHan, _ := a.History("r", "han")

	// The node is lost: the room is created again elsewhere.
	b := archivedManager(arch)
	lei2 := newSession("lei")
	enter(t, b, "r", "lei", lei2)
	enter(t, b, "r", "han", newSession("han"))
	if got, _ := b.History("r", "han"); !reflect.DeepEqual(got, wantHan) {
		t.Errorf("history for han: got %+v; want %+v", got, wantHan)
	}
	if got, _ := b.History("r", "lei"); len(got) != 3 {
		t.Errorf("history for lei: got %d messages; want 3 (the private one is lei's)", len(got))
	}
	if got, _ := b.BoardState("r"); !reflect.DeepEqual(got, wantBoard) {
		t.Errorf("board: got %+v; want %+v", got, wantBoard)
	}
	msg, err := b.Chat("r", "lei", lei2, "", "after", nil, "")
	if err != nil || msg.ID != 4 {
		t.Errorf("next message: got id %d, %v; want 4 (the numbering goes on)", msg.ID, err)
	}
	// Undo goes on from the kept board: s1 is lei's last stroke standing.
	e, err := b.Board("r", "lei", lei2, BoardOp{Kind: "undo"})
	if err != nil || e.Op.Target != "s1" || e.Seq != wantBoard.Seq+1 {
		t.Errorf("undo after the move: got %+v, %v; want target s1, seq %d", e, err, wantBoard.Seq+1)
	}
	// An operator closing the room drops what was kept.
	if err := b.CloseRoom("r", "closed"); err != nil {
		t.Fatal(err)
	}
	if k, _ := arch.Load(context.Background(), "r"); len(k.Chat)+len(k.Board) != 0 {
		t.Errorf("after CloseRoom: kept %d messages and %d ops; want none", len(k.Chat), len(k.Board))
	}
}

// TestArchiveUnavailable: a room whose archive cannot be read starts empty.
func TestArchiveUnavailable(t *testing.T) {
	t.Parallel()
	arch := newMemArchive()
	arch.chat["r"] = []ChatMessage{{ID: 7, From: "x", Text: "old"}}
	arch.loadErr = errors.New("redis: connection refused")
	m := archivedManager(arch)
	enter(t, m, "r", "lei", newSession("lei"))
	if got, _ := m.History("r", "lei"); len(got) != 0 {
		t.Errorf("history: got %+v; want none", got)
	}
}
