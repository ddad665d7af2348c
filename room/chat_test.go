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
