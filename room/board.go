package room

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"unicode/utf8"
)

// Board limits. A board holds the ops since its last clear; past these it
// refuses ops until someone clears it (a lesson's board, not an archive).
const (
	BoardMaxOps       = 20_000                  // ops since the last clear
	BoardMaxBytes     = 4 << 20                 // their size, as members receive them
	BoardMaxPoints    = 500                     // points in one stroke op
	BoardMaxIDLen     = 64                      // bytes of a stroke id
	BoardMinWidth     = 0.5                     // the thinnest pen, in the board's units
	BoardMaxWidth     = 50.0                    // the widest pen
	boardStrokeOpBase = 96                      // a stroke op's JSON besides its points, about
	boardPointBytes   = len("[0.1234,0.1234],") // one point's JSON, about
)

// Board errors: ErrBoardOp is a missing or invalid field (it names it),
// ErrBoardFull a board over its limits.
var (
	ErrBoardOp   = errors.New("bad board op")
	ErrBoardFull = fmt.Errorf("the board is full (%d ops or %d MB since the last clear): clear it", BoardMaxOps, BoardMaxBytes>>20)
)

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// BoardOp is one drawing operation, as clients send it and members receive it.
type BoardOp struct {
	Kind   string      `json:"kind"`             // stroke, erase, undo or clear
	ID     string      `json:"id,omitempty"`     // stroke: the client's id; again to append points
	Points [][]float64 `json:"points,omitempty"` // stroke: [x, y] in 0..1 of the board
	Color  string      `json:"color,omitempty"`  // stroke: #rrggbb
	Width  float64     `json:"width,omitempty"`  // stroke: 0.5..50
	// Target is the stroke an erase removes; the server fills it in for an
	// undo, so that every member removes the same stroke.
	Target string `json:"target,omitempty"`
}

// BoardEntry is an op in the room's order: seq grows by 1 per op and room.
type BoardEntry struct {
	UserID string  `json:"userID"`
	Seq    uint64  `json:"seq"`
	Op     BoardOp `json:"op"`
}

// BoardState is what a member needs to draw the board: the ops since the
// last clear, and the seq of the last op (ops up to it are in the state).
type BoardState struct {
	Seq uint64       `json:"seq"`
	Ops []BoardEntry `json:"ops"`
}

// Message is the state as the board_state message members receive.
func (st *BoardState) Message() ([]byte, error) {
	return json.Marshal(struct {
		Type string       `json:"type"`
		Seq  uint64       `json:"seq"`
		Ops  []BoardEntry `json:"ops"`
	}{"board_state", st.Seq, st.Ops})
}

// board is a room's whiteboard; the room's lock guards it.
type board struct {
	seq     uint64
	ops     []BoardEntry        // since the last clear
	bytes   int                 // of ops, about
	strokes map[string]stroke   // by id, since the last clear
	mine    map[string][]string // each member's stroke ids in the order begun, for undo
}

// stroke is what the board remembers of a stroke: who draws it, whether it was
// erased.
type stroke struct {
	author string
	erased bool
}

// ParseBoardOp decodes and checks an op from a client. It does not know the
// board: whether a stroke id is someone else's, or an erase's target exists,
// is the room's business (see Manager.Board).
func ParseBoardOp(raw json.RawMessage) (BoardOp, error) {
	var op BoardOp
	if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
		return op, fmt.Errorf("%w: missing op", ErrBoardOp)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&op); err != nil {
		return op, fmt.Errorf("%w: op: %v", ErrBoardOp, err)
	}
	switch op.Kind {
	case "stroke":
		return op, checkStroke(op)
	case "erase":
		if op.Target == "" {
			return op, fmt.Errorf("%w: erase needs target (a stroke id)", ErrBoardOp)
		}
		if len(op.Target) > BoardMaxIDLen {
			return op, fmt.Errorf("%w: target over %d bytes", ErrBoardOp, BoardMaxIDLen)
		}
		return BoardOp{Kind: "erase", Target: op.Target}, nil
	case "undo", "clear":
		return BoardOp{Kind: op.Kind}, nil
	case "":
		return op, fmt.Errorf(`%w: missing kind ("stroke", "erase", "undo" or "clear")`, ErrBoardOp)
	}
	return op, fmt.Errorf(`%w: kind %q: want "stroke", "erase", "undo" or "clear"`, ErrBoardOp, op.Kind)
}

func checkStroke(op BoardOp) error {
	switch {
	case op.ID == "":
		return fmt.Errorf("%w: stroke needs id (1-%d characters)", ErrBoardOp, BoardMaxIDLen)
	case len(op.ID) > BoardMaxIDLen || !utf8.ValidString(op.ID):
		return fmt.Errorf("%w: id: 1-%d bytes of UTF-8", ErrBoardOp, BoardMaxIDLen)
	case len(op.Points) == 0:
		return fmt.Errorf("%w: stroke needs points ([[x,y],...])", ErrBoardOp)
	case len(op.Points) > BoardMaxPoints:
		return fmt.Errorf("%w: %d points; at most %d a message (send the rest with the same id)", ErrBoardOp, len(op.Points), BoardMaxPoints)
	case !colorRE.MatchString(op.Color):
		return fmt.Errorf("%w: color %q: want #rrggbb", ErrBoardOp, op.Color)
	case op.Width < BoardMinWidth || op.Width > BoardMaxWidth:
		return fmt.Errorf("%w: width %v: want %v..%v", ErrBoardOp, op.Width, BoardMinWidth, BoardMaxWidth)
	case op.Target != "":
		return fmt.Errorf("%w: a stroke has no target", ErrBoardOp)
	}
	for i, p := range op.Points {
		if len(p) != 2 || p[0] < 0 || p[0] > 1 || p[1] < 0 || p[1] > 1 {
			return fmt.Errorf("%w: points[%d] %v: want [x, y] with x and y in 0..1", ErrBoardOp, i, p)
		}
	}
	return nil
}

// size is about how many bytes an op takes in members' messages and the state.
func (op *BoardOp) size() int {
	return boardStrokeOpBase + len(op.ID) + len(op.Target) + len(op.Points)*boardPointBytes
}

// apply checks op against the board and records it; it returns the entry as
// members receive it.
func (b *board) apply(from string, op BoardOp) (BoardEntry, error) {
	if b.strokes == nil {
		b.strokes, b.mine = map[string]stroke{}, map[string][]string{}
	}
	switch op.Kind {
	case "stroke":
		if st, ok := b.strokes[op.ID]; ok {
			switch {
			case st.author != from:
				return BoardEntry{}, fmt.Errorf("%w: stroke %q is another member's: use a new id", ErrBoardOp, op.ID)
			case st.erased:
				return BoardEntry{}, fmt.Errorf("%w: stroke %q was erased: use a new id", ErrBoardOp, op.ID)
			}
		}
	case "erase":
		st, ok := b.strokes[op.Target]
		if !ok || st.erased {
			return BoardEntry{}, fmt.Errorf("%w: target %q: no such stroke on the board", ErrBoardOp, op.Target)
		}
	case "undo":
		mine := b.mine[from]
		for len(mine) > 0 && b.strokes[mine[len(mine)-1]].erased {
			mine = mine[:len(mine)-1]
		}
		b.mine[from] = mine
		if len(mine) == 0 {
			return BoardEntry{}, fmt.Errorf("%w: nothing of yours to undo", ErrBoardOp)
		}
		op.Target = mine[len(mine)-1]
	}
	if op.Kind != "clear" && (len(b.ops) >= BoardMaxOps || b.bytes+op.size() > BoardMaxBytes) {
		return BoardEntry{}, ErrBoardFull
	}
	e := BoardEntry{UserID: from, Seq: b.seq + 1, Op: op}
	b.record(e)
	return e, nil
}

// record adds a checked entry to the board: an op just applied, or one kept
// (archive.go) replayed on a room that starts anew.
func (b *board) record(e BoardEntry) {
	if b.strokes == nil {
		b.strokes, b.mine = map[string]stroke{}, map[string][]string{}
	}
	b.seq = max(b.seq, e.Seq)
	op := e.Op
	switch op.Kind {
	case "clear":
		b.ops, b.bytes, b.strokes, b.mine = nil, 0, map[string]stroke{}, map[string][]string{}
		return // the state starts after it: it has nothing to redraw
	case "stroke":
		if _, ok := b.strokes[op.ID]; !ok {
			b.strokes[op.ID] = stroke{author: e.UserID}
			b.mine[e.UserID] = append(b.mine[e.UserID], op.ID)
		}
	case "erase", "undo":
		st := b.strokes[op.Target]
		st.erased = true
		b.strokes[op.Target] = st
	}
	b.ops = append(b.ops, e)
	b.bytes += op.size()
}

// state copies the board for a member.
func (b *board) state() BoardState {
	return BoardState{Seq: b.seq, Ops: append([]BoardEntry{}, b.ops...)}
}

// Board applies a member's op to its room's board and sends it to every
// member, the sender included, in the room's order. Whether the member may
// draw is the caller's business (privileges).
func (m *Manager) Board(room, from string, s Session, op BoardOp) (BoardEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, _, err := m.lookupLocked(room, from, s)
	if err != nil {
		return BoardEntry{}, err
	}
	return m.drawLocked(r, from, op, true)
}

// drawLocked applies from's op to r's board and sends it to every member,
// the sender included, in the room's order; archive: hand it to the archive
// too (not for an op another node already kept).
func (m *Manager) drawLocked(r *Room, from string, op BoardOp, archive bool) (BoardEntry, error) {
	e, err := r.board.apply(from, op)
	if err != nil {
		return BoardEntry{}, err
	}
	if archive && m.opts.Archive != nil {
		m.opts.Archive.Board(r.name, e) // queued: no I/O under the lock
	}
	m.broadcastLocked(r, "", Event{Type: "board", UserID: from, BoardEntry: &e}) // "": the sender too
	return e, nil
}

// BoardState returns a room's board: the ops since its last clear.
func (m *Manager) BoardState(room string) (BoardState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[room]
	if !ok {
		return BoardState{}, fmt.Errorf("%w: %s", ErrNoRoom, room)
	}
	return r.board.state(), nil
}

// SendBoard gives member user of room the whole board as an Event of type
// "board_state" (BoardState set), in order with the ops it is sent: a member
// that joins or resumes gets the ops since the state after it, never before.
func (m *Manager) SendBoard(room, user string, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, _, err := m.lookupLocked(room, user, s)
	if err != nil {
		return err
	}
	st := r.board.state()
	s.Notify(Event{Type: "board_state", BoardState: &st})
	return nil
}
