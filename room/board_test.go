package room

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func stroke1(id string, points ...[]float64) BoardOp {
	if len(points) == 0 {
		points = [][]float64{{0.1, 0.2}, {0.3, 0.4}}
	}
	return BoardOp{Kind: "stroke", ID: id, Points: points, Color: "#ff0000", Width: 3}
}

func TestParseBoardOp(t *testing.T) {
	t.Parallel()
	many := make([]string, BoardMaxPoints+1)
	for i := range many {
		many[i] = "[0.5,0.5]"
	}
	tests := []struct {
		name, raw string
		wantErr   string // "" for none; else in the message
	}{
		{name: "stroke", raw: `{"kind":"stroke","id":"s1","points":[[0,0],[1,1]],"color":"#00ff00","width":2}`},
		{name: "erase", raw: `{"kind":"erase","target":"s1"}`},
		{name: "undo", raw: `{"kind":"undo"}`},
		{name: "clear", raw: `{"kind":"clear"}`},
		{name: "no op", raw: ``, wantErr: "missing op"},
		{name: "null op", raw: `null`, wantErr: "missing op"},
		{name: "no kind", raw: `{}`, wantErr: "missing kind"},
		{name: "unknown kind", raw: `{"kind":"circle"}`, wantErr: `kind "circle"`},
		{name: "unknown field", raw: `{"kind":"undo","evil":1}`, wantErr: "unknown field"},
		{name: "no id", raw: `{"kind":"stroke","points":[[0,0]],"color":"#000000","width":1}`, wantErr: "id"},
		{name: "long id", raw: `{"kind":"stroke","id":"` + strings.Repeat("x", 65) + `","points":[[0,0]],"color":"#000000","width":1}`, wantErr: "id"},
		{name: "no points", raw: `{"kind":"stroke","id":"s","color":"#000000","width":1}`, wantErr: "points"},
		{name: "too many points", raw: `{"kind":"stroke","id":"s","points":[` + strings.Join(many, ",") + `],"color":"#000000","width":1}`, wantErr: "at most 500"},
		{name: "point outside", raw: `{"kind":"stroke","id":"s","points":[[1.5,0]],"color":"#000000","width":1}`, wantErr: "points[0]"},
		{name: "point of 3", raw: `{"kind":"stroke","id":"s","points":[[0,0,0]],"color":"#000000","width":1}`, wantErr: "points[0]"},
		{name: "bad color", raw: `{"kind":"stroke","id":"s","points":[[0,0]],"color":"red","width":1}`, wantErr: "color"},
		{name: "thin", raw: `{"kind":"stroke","id":"s","points":[[0,0]],"color":"#000000","width":0.1}`, wantErr: "width"},
		{name: "wide", raw: `{"kind":"stroke","id":"s","points":[[0,0]],"color":"#000000","width":51}`, wantErr: "width"},
		{name: "erase without target", raw: `{"kind":"erase"}`, wantErr: "target"},
		{name: "not an object", raw: `[1,2]`, wantErr: "op"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseBoardOp(json.RawMessage(tt.raw))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseBoardOp(%s): got %v; want nil", tt.raw, err)
				}
				return
			}
			if !errors.Is(err, ErrBoardOp) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseBoardOp: got %v; want ErrBoardOp naming %q", err, tt.wantErr)
			}
		})
	}
}

func boardEvents(s *fakeSession) []BoardEntry {
	var out []BoardEntry
	for _, ev := range s.Events() {
		if ev.Type == "board" {
			out = append(out, *ev.BoardEntry)
		}
	}
	return out
}

// The board orders ops per room, sends each to everyone, the sender included,
// and keeps what a late joiner needs to redraw; undo and erase remove strokes.
func TestBoard(t *testing.T) {
	m, _ := newManager(t, 4)
	alice, bob := newSession("alice"), newSession("bob")
	enter(t, m, "r1", "alice", alice)
	enter(t, m, "r1", "bob", bob)
	alice.Reset()
	bob.Reset()

	steps := []struct {
		who     string
		s       Session
		op      BoardOp
		wantErr error
	}{
		{"alice", alice, stroke1("a1"), nil},
		{"alice", alice, stroke1("a1", []float64{0.5, 0.5}), nil}, // append
		{"bob", bob, stroke1("a1"), ErrBoardOp},                   // alice's stroke
		{"bob", bob, stroke1("b1"), nil},
		{"bob", bob, BoardOp{Kind: "erase", Target: "a1"}, nil},
		{"bob", bob, BoardOp{Kind: "erase", Target: "a1"}, ErrBoardOp}, // gone already
		{"alice", alice, stroke1("a1"), ErrBoardOp},                    // erased: a new id
		{"alice", alice, BoardOp{Kind: "undo"}, ErrBoardOp},            // nothing of hers left
		{"alice", alice, stroke1("a2"), nil},
		{"bob", bob, BoardOp{Kind: "undo"}, nil}, // takes b1
	}
	for i, st := range steps {
		_, err := m.Board("r1", st.who, st.s, st.op)
		if !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) {
			t.Fatalf("step %d (%s %s): got %v; want %v", i, st.who, st.op.Kind, err, st.wantErr)
		}
	}
	for _, s := range []*fakeSession{alice, bob} {
		evs := boardEvents(s)
		var got []string
		for i, e := range evs {
			if e.Seq != uint64(i+1) {
				t.Errorf("%s: board event %d has seq %d; want %d", s.name, i, e.Seq, i+1)
			}
			got = append(got, fmt.Sprintf("%s:%s%s%s", e.UserID, e.Op.Kind, e.Op.ID, e.Op.Target))
		}
		want := "alice:strokea1 alice:strokea1 bob:strokeb1 bob:erasea1 alice:strokea2 bob:undob1"
		if strings.Join(got, " ") != want {
			t.Errorf("%s got %s; want %s", s.name, strings.Join(got, " "), want)
		}
	}

	// A late joiner gets the ops to redraw from; leaving keeps them.
	if err := m.Leave("r1", "bob", bob, ReasonLeft); err != nil {
		t.Fatal(err)
	}
	state, err := m.BoardState("r1")
	if err != nil || state.Seq != 6 || len(state.Ops) != 6 {
		t.Fatalf("BoardState after bob left: seq %d, %d ops, %v; want seq 6, 6 ops", state.Seq, len(state.Ops), err)
	}

	if _, err := m.Board("r1", "alice", alice, BoardOp{Kind: "clear"}); err != nil {
		t.Fatalf("clear: %v", err)
	}
	state, _ = m.BoardState("r1")
	if state.Seq != 7 || len(state.Ops) != 0 {
		t.Errorf("after clear: seq %d, %d ops; want seq 7 and nothing to redraw", state.Seq, len(state.Ops))
	}
	if _, err := m.Board("r1", "alice", alice, stroke1("a1")); err != nil {
		t.Errorf("an id from before the clear: got %v; want it free again", err)
	}
	if _, err := m.Board("r1", "bob", bob, stroke1("b9")); !errors.Is(err, ErrNotMember) {
		t.Errorf("a member that left: got %v; want ErrNotMember", err)
	}
	if _, err := m.BoardState("nope"); !errors.Is(err, ErrNoRoom) {
		t.Errorf("BoardState of no room: got %v; want ErrNoRoom", err)
	}
}

func TestBoardLimits(t *testing.T) {
	t.Parallel()
	var b board
	for i := range BoardMaxOps {
		if _, err := b.apply("alice", stroke1(fmt.Sprint(i))); err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}
	if _, err := b.apply("alice", stroke1("one-more")); !errors.Is(err, ErrBoardFull) {
		t.Fatalf("op %d: got %v; want ErrBoardFull", BoardMaxOps+1, err)
	}
	if _, err := b.apply("alice", BoardOp{Kind: "clear"}); err != nil {
		t.Fatalf("clear a full board: %v", err)
	}
	// Bytes: strokes of 500 points each, about 8.6 kB, fill 4 MB in under 500 ops.
	big := make([][]float64, BoardMaxPoints)
	for i := range big {
		big[i] = []float64{0.25, 0.75}
	}
	var n int
	for n = 0; n < BoardMaxOps; n++ {
		if _, err := b.apply("alice", stroke1(fmt.Sprint("big", n), big...)); err != nil {
			if !errors.Is(err, ErrBoardFull) {
				t.Fatalf("big stroke %d: got %v; want ErrBoardFull", n, err)
			}
			break
		}
	}
	if n == 0 || n >= 1000 {
		t.Errorf("big strokes before the board was full: %d; want a few hundred (4 MB)", n)
	}
}
