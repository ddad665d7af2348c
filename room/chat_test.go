package room

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestChatHistoryKeepsTheLast100(t *testing.T) {
	m, _ := newManager(t, 4)
	a := newSession("a")
	enter(t, m, "r1", "a", a)
	for i := 0; i < 120; i++ {
		if _, err := m.Chat("r1", "a", a, "", fmt.Sprintf("m%d", i), nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	h, err := m.History("r1", "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != ChatHistory || h[0].Text != "m20" || h[len(h)-1].Text != "m119" {
		t.Fatalf("history: got %d messages %q..%q; want 100, m20..m119", len(h), h[0].Text, h[len(h)-1].Text)
	}
	if h[0].ID != 21 || h[99].ID != 120 {
		t.Errorf("ids: got %d..%d; want 21..120", h[0].ID, h[99].ID)
	}
}

func TestChatRefusals(t *testing.T) {
	m, _ := newManager(t, 4)
	a, b := newSession("a"), newSession("b")
	enter(t, m, "r1", "a", a)
	enter(t, m, "r1", "b", b)
	tests := []struct {
		name    string
		from    string
		s       Session
		to      string
		text    string
		data    string
		wantErr error
	}{
		{"empty", "a", a, "", "", "", ErrChatEmpty},
		{"too big", "a", a, "", strings.Repeat("x", ChatMaxBytes+1), "", ErrChatTooBig},
		{"exactly the limit", "a", a, "", strings.Repeat("x", ChatMaxBytes), "", nil},
		{"bad data", "a", a, "", "", "{", ErrChatBadData},
		{"unknown target", "a", a, "zed", "hi", "", ErrChatNoPeer},
		{"not a member", "zed", nil, "", "hi", "", ErrNotMember},
		{"stale session", "a", b, "", "hi", "", ErrNotMember},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var data []byte
			if tc.data != "" {
				data = []byte(tc.data)
			}
			_, err := m.Chat("r1", tc.from, tc.s, tc.to, tc.text, data, "")
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("got %v; want %v", err, tc.wantErr)
			}
		})
	}
}

func TestOperatorKickAndCloseRoom(t *testing.T) {
	m, _ := newManager(t, 4)
	a, b, c := newSession("a"), newSession("b"), newSession("c")
	enter(t, m, "r1", "a", a)
	enter(t, m, "r1", "b", b)
	enter(t, m, "r2", "c", c)
	m.SetState("r1", "a", a, "connected")
	if d := m.Details(); len(d) != 2 || d[0].Name != "r1" || len(d[0].Members) != 2 || d[0].Members[0].State != "connected" {
		t.Fatalf("details: got %+v; want r1 with a (connected) and b, then r2", d)
	}
	if err := m.Kick("r1", "a", "removed by the operator"); err != nil {
		t.Fatal(err)
	}
	if got := a.Kicks(); len(got) != 1 || got[0] != "removed by the operator" {
		t.Errorf("a kicked: got %v; want the operator's reason", got)
	}
	if err := m.Kick("r1", "a", "again"); !errors.Is(err, ErrNotMember) {
		t.Errorf("second kick: got %v; want %v", err, ErrNotMember)
	}
	if err := m.CloseRoom("r1", "room closed"); err != nil {
		t.Fatal(err)
	}
	if m.Exists("r1") || len(b.Kicks()) != 1 {
		t.Errorf("after close: room exists %v, b kicks %v; want gone and told", m.Exists("r1"), b.Kicks())
	}
	if err := m.CloseRoom("nope", "x"); !errors.Is(err, ErrNoRoom) {
		t.Errorf("close missing room: got %v; want %v", err, ErrNoRoom)
	}
	if !m.Exists("r2") {
		t.Errorf("r2: got closed; want untouched")
	}
}
