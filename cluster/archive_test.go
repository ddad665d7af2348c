package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openroom/openroom/internal/testutil"
	"github.com/openroom/openroom/room"
)

// TestArchive: chat and board ops reach a real Redis in order and come back;
// a clear drops the ops before it; the chat keeps its last ChatHistory; what
// is queued when Run ends is written; Forget drops everything.
func TestArchive(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	r := testutil.StartRedis(t, 0)
	n := newNode(t, r.URL(), "arch", new(Load), nil)
	a := n.Archive()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx)
	}()
	stroke := func(seq uint64, id string) room.BoardEntry {
		return room.BoardEntry{UserID: "lei", Seq: seq, Op: room.BoardOp{Kind: "stroke", ID: id, Points: [][]float64{{0.1, 0.2}}, Color: "#ff0000", Width: 2}}
	}
	for i := 1; i <= room.ChatHistory+5; i++ {
		a.Chat("r1", room.ChatMessage{ID: uint64(i), From: "lei", NickName: "李雷", Text: fmt.Sprint("m", i)})
	}
	a.Board("r1", stroke(1, "s1"))
	a.Board("r1", room.BoardEntry{UserID: "han", Seq: 2, Op: room.BoardOp{Kind: "clear"}})
	a.Board("r1", stroke(3, "s2"))
	a.Chat("r2", room.ChatMessage{ID: 1, From: "han", Text: "other room"})
	cancel() // what is queued is still written
	<-done

	k, err := a.Load(context.Background(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Chat) != room.ChatHistory {
		t.Fatalf("chat: got %d messages; want the last %d", len(k.Chat), room.ChatHistory)
	}
	if k.Chat[0].ID != 6 || k.Chat[len(k.Chat)-1].Text != fmt.Sprint("m", room.ChatHistory+5) || k.Chat[0].NickName != "李雷" {
		t.Errorf("chat: got %d messages, first %+v; want the last %d, from id 6", len(k.Chat), k.Chat[0], room.ChatHistory)
	}
	if len(k.Board) != 2 || k.Board[0].Op.Kind != "clear" || k.Board[1].Op.ID != "s2" {
		t.Errorf("board: got %+v; want the clear and s2", k.Board)
	}
	if ttl := n.rdb.PTTL(context.Background(), chatKey("r1")).Val(); ttl <= 0 || ttl > archiveTTL {
		t.Errorf("chat key TTL: got %v; want up to %v", ttl, archiveTTL)
	}
	if k2, _ := a.Load(context.Background(), "r2"); len(k2.Chat) != 1 {
		t.Errorf("r2: got %+v; want its one message", k2.Chat)
	}

	// Forget, through a second run.
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan struct{})
	go func() {
		defer close(done2)
		a.Run(ctx2)
	}()
	a.Forget("r1")
	testutil.Eventually(t, 5*time.Second, "r1 forgotten", func() bool {
		k, err := a.Load(context.Background(), "r1")
		return err == nil && len(k.Chat)+len(k.Board) == 0
	})
	cancel2()
	<-done2
	if a.Dropped() != 0 {
		t.Errorf("dropped: got %d; want 0", a.Dropped())
	}

	// Redis away: a load fails (the room starts empty), writes are counted as dropped.
	r.Stop()
	if _, err := a.Load(context.Background(), "r2"); err == nil {
		t.Error("Load with Redis stopped: got nil error; want one")
	}
	ctx3, cancel3 := context.WithCancel(context.Background())
	done3 := make(chan struct{})
	go func() {
		defer close(done3)
		a.Run(ctx3)
	}()
	a.Chat("r2", room.ChatMessage{ID: 2, Text: "lost"})
	testutil.Eventually(t, 5*time.Second, "the failed write counted", func() bool { return a.Dropped() == 1 })
	cancel3()
	<-done3
}
