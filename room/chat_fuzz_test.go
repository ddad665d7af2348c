package room

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"
)

// fzSession records what the room tells one member.
type fzSession struct{ chats []ChatMessage }

func (s *fzSession) Notify(ev Event) {
	if ev.Type == "chat" && ev.ChatMessage != nil {
		s.chats = append(s.chats, *ev.ChatMessage)
	}
}

func (s *fzSession) Kick(string) {}

// fzSameJSON reports whether two JSON texts hold the same value (nil:
// absent). Numbers compare as written: 7777E777 is valid JSON, no float64.
func fzSameJSON(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	decode := func(b []byte) (any, error) {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var v any
		return v, d.Decode(&v)
	}
	va, errA := decode(a)
	vb, errB := decode(b)
	return errA == nil && errB == nil && reflect.DeepEqual(va, vb)
}

// FuzzChat sends a chat message (from alice, or a system message) with any
// text, data, recipient and clientID into a room of alice, bob and carol (an
// HTTP-only member). It is refused exactly when checkChat refuses it or the
// recipient is no member, with the matching error; an accepted message
// reaches exactly the members who may see it (the sender with its clientID),
// is in their history, stays within ChatMaxBytes, and its wire form (the
// chat event's JSON) marshals and decodes back to the same text and data.
func FuzzChat(f *testing.F) {
	f.Add("hello", []byte(nil), "", "c1", false)
	f.Add("", []byte(`{"emoji":"wave","n":[1,2.5,null]}`), "bob", "", false)
	f.Add("psst", []byte(` "x" `), "carol", "c2", false)
	f.Add("to nobody", []byte(nil), "dave", "", false)
	f.Add("", []byte(nil), "", "", false)
	f.Add("bad data", []byte(`{"a":`), "", "", false)
	f.Add("bad data", []byte("\"\xff\""), "", "", false)
	f.Add("<b>&amp;</b>", []byte(`"<script>"`), "", "", true)
	f.Add("maintenance", []byte(`{"level":"info"}`), "", "", true)
	f.Add(string(make([]byte, ChatMaxBytes)), []byte(`1`), "", "", false)
	f.Fuzz(func(t *testing.T, text string, data []byte, to, clientID string, system bool) {
		now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		m := NewManager(Options{Now: func() time.Time { return now }})
		if _, err := m.Create("r1", ""); err != nil {
			t.Fatal(err)
		}
		sess := map[string]*fzSession{"alice": {}, "bob": {}}
		for _, u := range []string{"alice", "bob", "carol"} {
			req := EnterRequest{Room: "r1", UserID: u, Kind: KindWebRTC}
			if s, ok := sess[u]; ok {
				req.Session = s
			} else {
				req.Kind = KindHTTP
			}
			if _, err := m.Enter(req); err != nil {
				t.Fatal(err)
			}
		}
		if system {
			to, clientID = "", ""
		}
		var raw json.RawMessage
		if data != nil {
			raw = json.RawMessage(data)
		}

		var msg ChatMessage
		var err error
		if system {
			msg, err = m.SystemMessage("r1", text, raw)
		} else {
			msg, err = m.Chat("r1", "alice", sess["alice"], to, text, raw, clientID)
		}
		want := checkChat(text, raw)
		if want == nil && to != "" && to != "alice" && to != "bob" && to != "carol" {
			want = ErrChatNoPeer
		}
		if want != nil {
			for _, sentinel := range []error{ErrChatEmpty, ErrChatTooBig, ErrChatBadData, ErrChatNoPeer} {
				if errors.Is(want, sentinel) != errors.Is(err, sentinel) {
					t.Fatalf("chat %q %q to %q: got %v; want %v", text, data, to, err, want)
				}
			}
			for u, s := range sess {
				if len(s.chats) != 0 {
					t.Fatalf("refused chat: %s got %d messages; want none", u, len(s.chats))
				}
			}
			return
		}
		if err != nil {
			t.Fatalf("chat %q %q to %q: got %v; want nil", text, data, to, err)
		}
		if n := len(text) + len(raw); n > ChatMaxBytes {
			t.Fatalf("accepted a chat of %d bytes; want at most %d", n, ChatMaxBytes)
		}
		if msg.ID != 1 || msg.Text != text || string(msg.Data) != string(raw) || msg.System != system || msg.Time != now.UnixMilli() {
			t.Fatalf("message: got %+v; want id 1, the text and data as sent", msg)
		}
		for _, u := range []string{"alice", "bob", "carol"} {
			visible := system || to == "" || to == u || u == "alice"
			hist, err := m.History("r1", u)
			if err != nil || (len(hist) == 1) != visible {
				t.Fatalf("%s's history: got %d messages, %v; want it there: %v", u, len(hist), err, visible)
			}
			s, live := sess[u]
			if !live {
				continue
			}
			if len(s.chats) != map[bool]int{true: 1, false: 0}[visible] {
				t.Fatalf("%s: got %d messages; want them only if visible (%v)", u, len(s.chats), visible)
			}
			if !visible {
				continue
			}
			got := s.chats[0]
			if wantID := map[bool]string{true: clientID, false: ""}[u == "alice"]; got.ClientID != wantID {
				t.Fatalf("%s: clientID %q; want %q (the sender's only)", u, got.ClientID, wantID)
			}
			b, err := json.Marshal(Event{Type: "chat", ChatMessage: &got})
			if err != nil {
				t.Fatalf("%s: the chat event does not marshal: %v", u, err)
			}
			var back struct {
				Type string `json:"type"`
				ChatMessage
			}
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("%s: the chat event %s does not decode: %v", u, b, err)
			}
			if back.Type != "chat" || back.ID != msg.ID || back.From != msg.From || back.System != system || !fzSameJSON(back.Data, raw) {
				t.Fatalf("%s: wire form %s; want the message %+v", u, b, msg)
			}
			if utf8.ValidString(text) && back.Text != text {
				t.Fatalf("%s: wire text %q; want %q", u, back.Text, text)
			}
		}
	})
}
