package signaling

import (
	"sync"

	"github.com/openroom/openroom/room"
)

// eventMemo marshals a room event once for every member it goes to. The room
// hands the same Event to each member's session in turn; marshaling it once
// saves the CPU of N marshals (a quality list of a 300-member room is ~12 kB),
// and each session's resume backlog then keeps the shared bytes rather than
// a copy of its own: before, a large room's backlogs grew by N copies of
// every event (up to 512 kB per member).
//
// Events are compared with ==: their fields are strings and pointers, and a
// pointer the memo still holds cannot be reused for a later event's data, so
// an equal event is the same broadcast (or one that marshals the same).
type eventMemo struct {
	mu sync.Mutex // guards ev and b
	ev room.Event
	b  []byte
}

func (m *eventMemo) marshal(srv *Server, ev room.Event) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.b != nil && m.ev == ev {
		return m.b, nil
	}
	b, err := marshalOut(srv, ev)
	if err != nil {
		return nil, err
	}
	m.ev, m.b = ev, b
	return b, nil
}
