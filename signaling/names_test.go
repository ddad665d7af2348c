package signaling

import (
	"strings"
	"testing"
)

// A display name is any script, kept exactly as given, and shown to the others
// in member_joined, the member lists and chat; a name that is not one is refused
// with code 2 naming the field.
func TestDisplayNames(t *testing.T) {
	ts := startServer(t, false, nil)
	lei := dial(t, ts)
	lei.send(map[string]any{"type": "join", "room": "names", "userSig": ts.userSig(t, "u-lei"), "nickName": " 李雷 "})
	lei.expect("joined")
	ada := dial(t, ts)
	ada.send(map[string]any{"type": "join", "room": "names", "userSig": ts.userSig(t, "Ada_Lovelace"), "nickName": "Ada Lovelace"})
	joined := ada.expect("joined")
	members, _ := joined["members"].([]any)
	if len(members) != 1 {
		t.Fatalf("joined members: got %v; want 李雷 alone", joined["members"])
	}
	if got := members[0].(map[string]any)["nickName"]; got != "李雷" {
		t.Errorf("joined: nickName of u-lei: got %q; want %q", got, "李雷")
	}
	ev := lei.expect("member_joined")
	if got := ev["member"].(map[string]any)["nickName"]; got != "Ada Lovelace" {
		t.Errorf("member_joined: nickName: got %q; want %q", got, "Ada Lovelace")
	}
	ada.send(map[string]any{"type": "chat", "text": "hello"})
	if got := lei.expect("chat")["nickName"]; got != "Ada Lovelace" {
		t.Errorf("chat: nickName: got %q; want %q", got, "Ada Lovelace")
	}

	t.Run("legacy member list", func(t *testing.T) {
		_, m := post(t, ts.URL, "get_room_members", `{"roomID":"names"}`)
		got := map[string]string{}
		list, _ := m["members"].([]any)
		for _, v := range list {
			mm := v.(map[string]any)
			got[mm["userID"].(string)] = mm["nickName"].(string)
		}
		if got["u-lei"] != "李雷" || got["Ada_Lovelace"] != "Ada Lovelace" {
			t.Errorf("get_room_members: got %v; want u-lei 李雷 and Ada_Lovelace Ada Lovelace", got)
		}
	})
	t.Run("no name is the user ID", func(t *testing.T) {
		c := dial(t, ts)
		c.join(ts, "names", "carol")
		ev := lei.expect("member_joined")
		if got := ev["member"].(map[string]any)["nickName"]; got != "carol" {
			t.Errorf("member_joined: nickName: got %q; want the user ID %q", got, "carol")
		}
	})

	bad := []struct{ name, nick string }{
		{"newline", "a\nb"},
		{"bidi override", "alice\u202Etxt.exe"},
		{"too long", strings.Repeat("名", 65)},
	}
	for _, tt := range bad {
		t.Run("refused "+tt.name, func(t *testing.T) {
			c := dial(t, ts)
			c.send(map[string]any{"type": "join", "room": "names", "userSig": ts.userSig(t, "dave"), "nickName": tt.nick})
			c.expectError(CodeMissingParam, "nickName")
			c.usable()
		})
	}
	t.Run("refused by the legacy API", func(t *testing.T) {
		_, m := post(t, ts.URL, "enter_room", `{"userID":"erin","roomID":"names","nickName":"a\u0007b"}`)
		if got := code(m); got != CodeMissingParam {
			t.Errorf("enter_room with a bell in nickName: code %d; want %d (%v)", got, CodeMissingParam, m)
		}
	})
}

// An offer names what its m-lines carry; an unknown source is refused before
// the SFU sees the offer, and the socket stays usable.
func TestOfferSources(t *testing.T) {
	ts := startServer(t, true, nil)
	c := dial(t, ts)
	c.join(ts, "sources", "alice")
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendonly\r\n"
	c.send(map[string]any{"type": "offer", "target": "publisher", "sdp": sdp, "sources": map[string]string{"0": "window"}})
	c.expectError(CodeBadMessage, `sources["0"]`)
	c.usable()
}
