package room

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Chat limits.
const (
	ChatHistory  = 100  // messages a room keeps for members who join later
	ChatMaxBytes = 4096 // text plus JSON data of one message
)

// Chat errors.
var (
	ErrChatEmpty   = errors.New("chat message has neither text nor data")
	ErrChatTooBig  = fmt.Errorf("chat message over %d bytes", ChatMaxBytes)
	ErrChatNoPeer  = errors.New("no such member in the room")
	ErrChatBadData = errors.New("chat data is not valid JSON")
)

// ChatMessage is one message as members receive it; its JSON is the wire form.
type ChatMessage struct {
	ID       uint64          `json:"id"`
	From     string          `json:"from"`
	NickName string          `json:"nickName"`
	To       string          `json:"to,omitempty"`
	Text     string          `json:"text,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
	Time     int64           `json:"time"` // server time, ms
	System   bool            `json:"system,omitempty"`
	ClientID string          `json:"clientID,omitempty"` // echoed to the sender only
}

// visibleTo reports whether user may see m.
func (m *ChatMessage) visibleTo(user string) bool {
	return m.To == "" || m.To == user || m.From == user
}

func checkChat(text string, data json.RawMessage) error {
	if text == "" && len(data) == 0 {
		return ErrChatEmpty
	}
	if len(data) > 0 && !json.Valid(data) {
		return ErrChatBadData
	}
	if len(text)+len(data) > ChatMaxBytes {
		return fmt.Errorf("%w (%d bytes)", ErrChatTooBig, len(text)+len(data))
	}
	return nil
}

// Chat sends a member's message to the room, or to one member when to is set.
// Messages of a room are numbered and delivered in one order to everyone; the
// room keeps the last ChatHistory of them. The sender gets its copy with clientID.
func (m *Manager) Chat(room, from string, s Session, to, text string, data json.RawMessage, clientID string) (ChatMessage, error) {
	if err := checkChat(text, data); err != nil {
		return ChatMessage{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, mem, err := m.lookupLocked(room, from, s)
	if err != nil {
		return ChatMessage{}, err
	}
	if to != "" {
		if _, ok := r.members[to]; !ok {
			return ChatMessage{}, fmt.Errorf("%w: %q", ErrChatNoPeer, to)
		}
	}
	msg := m.appendChatLocked(r, ChatMessage{From: from, NickName: mem.name(), To: to, Text: text, Data: data})
	m.deliverChatLocked(r, msg, clientID)
	msg.ClientID = clientID
	return msg, nil
}

// deliverChatLocked sends msg to the members who may see it (the sender's
// copy with clientID) and to the room's observers.
func (m *Manager) deliverChatLocked(r *Room, msg ChatMessage, clientID string) {
	for id, rcpt := range r.members {
		if rcpt.session == nil || !msg.visibleTo(id) {
			continue
		}
		out := msg
		if id == msg.From && clientID != "" {
			out.ClientID = clientID
		}
		rcpt.session.Notify(Event{Type: "chat", ChatMessage: &out})
	}
	if len(r.observers) > 0 {
		out := msg
		r.notifyObserversLocked(Event{Type: "chat", ChatMessage: &out})
	}
}

// SystemMessage posts an operator's message to everyone in the room.
func (m *Manager) SystemMessage(room, text string, data json.RawMessage) (ChatMessage, error) {
	if err := checkChat(text, data); err != nil {
		return ChatMessage{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[room]
	if !ok {
		return ChatMessage{}, fmt.Errorf("%w: %s", ErrNoRoom, room)
	}
	msg := m.appendChatLocked(r, ChatMessage{System: true, Text: text, Data: data})
	m.broadcastLocked(r, "", Event{Type: "chat", ChatMessage: &msg})
	return msg, nil
}

func (m *Manager) appendChatLocked(r *Room, msg ChatMessage) ChatMessage {
	msg.Time = m.opts.Now().UnixMilli()
	return m.addChatLocked(r, msg, true)
}

// addChatLocked numbers msg and keeps it; archive: hand it to the archive too
// (not for a message another node already kept).
func (m *Manager) addChatLocked(r *Room, msg ChatMessage, archive bool) ChatMessage {
	r.chatSeq++
	msg.ID = r.chatSeq
	r.chat = append(r.chat, msg)
	if len(r.chat) > ChatHistory {
		r.chat = append(r.chat[:0:0], r.chat[len(r.chat)-ChatHistory:]...)
	}
	if archive && m.opts.Archive != nil {
		m.opts.Archive.Chat(r.name, msg) // queued: no I/O under the lock
	}
	return msg
}

// History returns the room's kept messages user may see, oldest first.
func (m *Manager) History(room, user string) ([]ChatMessage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[room]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoRoom, room)
	}
	out := []ChatMessage{}
	for i := range r.chat {
		if r.chat[i].visibleTo(user) {
			out = append(out, r.chat[i])
		}
	}
	return out, nil
}
