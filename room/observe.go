package room

import "fmt"

// Observe adds o to a room's observers (a relay to another node the room
// spans): o is told every event its members are told (members joining and
// leaving, mutes, tracks, board ops), and every chat message, private ones
// included. It returns the room's members as they are at that moment, in
// order with the events that follow, and a func that removes o. Like a
// Session's, o's methods must not block.
func (m *Manager) Observe(room string, o Session) ([]MemberInfo, func(), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[room]
	if !ok {
		return nil, nil, fmt.Errorf("%w: %s", ErrNoRoom, room)
	}
	if r.observers == nil {
		r.observers = map[Session]struct{}{}
	}
	r.observers[o] = struct{}{}
	return r.othersLocked(""), func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(r.observers, o)
	}, nil
}

func (r *Room) notifyObserversLocked(ev Event) {
	for o := range r.observers {
		o.Notify(ev)
	}
}

// RelayChat delivers a message another node's room got to this node's
// members (and to the room's other observers). It gets an ID of this room's
// sequence; the node it was sent on keeps it (archive), not this one.
func (m *Manager) RelayChat(room string, msg ChatMessage) error {
	if err := checkChat(msg.Text, msg.Data); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[room]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoRoom, room)
	}
	msg.ClientID = ""
	msg = m.addChatLocked(r, msg, false)
	m.deliverChatLocked(r, msg, "")
	return nil
}

// RelayBoard applies a board op made on another node's room by from (a
// member here as that node's relay entered it) and sends it to this node's
// members. The node it was made on keeps it (archive), not this one.
func (m *Manager) RelayBoard(room, from string, op BoardOp) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[room]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoRoom, room)
	}
	_, err := m.drawLocked(r, from, op, false)
	return err
}
