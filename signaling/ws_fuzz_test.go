package signaling

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/config"
	"github.com/openroom/openroom/room"
)

// The fuzz targets of this package run the server's handlers in memory: no
// socket, no SFU (WebRTC off), no goroutine left when an input is done.

const fzSecret = "fuzz-secret-0123456789abcdef0123"

// fzTokens are real tokens an input can name with a placeholder: the fuzzer
// cannot forge a signature, but it should get past the token checks.
type fzTokens struct {
	issuer *auth.Issuer
	subst  []string // placeholder, token, ... for strings.NewReplacer
}

var fzTokenSet = sync.OnceValue(func() fzTokens {
	is, err := auth.NewIssuer([]byte(fzSecret), config.Default().SDKAppID, nil)
	if err != nil {
		panic(err)
	}
	mint := func(tok string, err error) string {
		if err != nil {
			panic(err)
		}
		return tok
	}
	viewer := auth.PrivJoin | auth.PrivReceiveAudio | auth.PrivReceiveVideo
	return fzTokens{issuer: is, subst: []string{
		"$SIGA", mint(is.UserSig("alice", time.Hour)),
		"$SIGB", mint(is.UserSig("bob", time.Hour)),
		"$KEYA", mint(is.PrivateMapKey("alice", "r1", auth.PrivAll, time.Hour)),
		"$KEYB", mint(is.PrivateMapKey("bob", "r1", viewer, time.Hour)),
		"$KEYN", mint(is.PrivateMapKey("alice", "12345", auth.PrivAll, time.Hour)),
	}}
})

// fzUsers are the users the placeholders' tokens name.
var fzUsers = map[string]bool{"alice": true, "bob": true}

// fzURLs stands in for the mini-program bridge's stream URLs.
type fzURLs struct{}

func (fzURLs) PushURL(host, room, user, sig string) string {
	return "rtmp://" + host + "/live/" + room + "/" + user + "?sig=" + sig
}

func (fzURLs) PlayURLs(host, room, publisher, sig string) (string, string) {
	return "http://" + host + "/live/" + room + "/" + publisher + ".flv?sig=" + sig,
		"rtmp://" + host + "/live/" + room + "/" + publisher + "?sig=" + sig
}

func (fzURLs) ScreenPlayURLs(host, room, publisher, sig string) (string, string) {
	return "http://" + host + "/live/" + room + "/" + publisher + ".screen.flv?sig=" + sig,
		"rtmp://" + host + "/live/" + room + "/" + publisher + ".screen?sig=" + sig
}

// fzServer is a signaling server without sockets or media, with rooms r1 and 12345.
func fzServer(t *testing.T, openLogin bool) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.OpenLogin = openLogin
	cfg.Secret = fzSecret
	rooms := room.NewManager(room.Options{Capacity: 3, Timeout: cfg.MemberTimeout})
	for _, name := range []string{"r1", "12345"} {
		if _, err := rooms.Create(name, "fuzz"); err != nil {
			t.Fatal(err)
		}
	}
	return New(Options{Config: cfg, Issuer: fzTokenSet().issuer, Rooms: rooms, StreamURLs: fzURLs{}})
}

// fzKnownCodes are the result codes a client may be sent.
var fzKnownCodes = map[int64]bool{
	CodeOK: true, CodeMissingParam: true, CodeNoRoom: true, CodeBadUserID: true, CodeRoomInfoTooBig: true,
	CodeRoomFull: true, CodeBadMessage: true, CodeUnknownType: true, CodeNotJoined: true, CodeBadToken: true,
	CodeResumeFailed: true, CodeForbidden: true, CodeBadSDP: true, CodeTooLarge: true, CodeRateLimited: true,
	CodeInternal: true, CodeShuttingDown: true,
}

// fzDecodeObject decodes b as exactly one JSON object (numbers as json.Number).
func fzDecodeObject(t *testing.T, what string, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		t.Fatalf("%s: got %q; want a JSON object (%v)", what, b, err)
	}
	if dec.More() {
		t.Fatalf("%s: got %q; want one JSON object and nothing after it", what, b)
	}
	return m
}

// fzCheckCode checks an answer's result code and message: a known code, and
// never 5000 (a recovered panic or an unexpected error) unless it is the one
// refusal a server without WebRTC gives, or internalOK.
func fzCheckCode(t *testing.T, what string, m map[string]any, internalOK bool) int64 {
	t.Helper()
	n, ok := m["code"].(json.Number)
	if !ok {
		t.Fatalf("%s: code %v; want a number (%v)", what, m["code"], m)
	}
	code, err := n.Int64()
	if err != nil || !fzKnownCodes[code] {
		t.Fatalf("%s: code %v; want one of the documented codes (%v)", what, n, m)
	}
	msg, _ := m["message"].(string)
	if msg == "" {
		t.Fatalf("%s: message %v; want a reason (%v)", what, m["message"], m)
	}
	if code == CodeInternal && !internalOK && !strings.Contains(msg, "WebRTC is disabled") {
		t.Fatalf("%s: got code %d (%q); want a client error, not an internal one", what, code, msg)
	}
	return code
}

// fzSocket is one in-memory WebSocket: frames go to conn.handle as serve
// would hand them, and what the server queues is read back from conn.send.
type fzSocket struct {
	c       *conn
	lastSeq uint64
	ended   bool
}

func fzConn(s *Server) *conn {
	return &conn{
		srv: s, log: slog.New(slog.DiscardHandler),
		send: make(chan []byte, sendQueue), kick: make(chan struct{}), done: make(chan struct{}),
		lim: rate.NewLimiter(msgRate, msgBurst), host: "rooms.example.test:8080", refresh: make(chan struct{}, 1),
	}
}

func (k *fzSocket) kicked() bool {
	select {
	case <-k.c.kick:
		return true
	default:
		return false
	}
}

// drain checks every frame the server queued on this socket: one JSON object
// with a type, session sequence numbers that only grow, errors with documented codes,
// and joins and resumes that name a user a token was minted for.
func (k *fzSocket) drain(t *testing.T, token *string) {
	t.Helper()
	for len(k.c.send) > 0 {
		b := <-k.c.send
		m := fzDecodeObject(t, "server frame", b)
		typ, _ := m["type"].(string)
		if typ == "" {
			t.Fatalf("server frame %s: got no type; want one", b)
		}
		if v, ok := m["seq"]; ok && typ != "board" && typ != "board_state" { // those carry the board's seq
			n, _ := v.(json.Number)
			seq, err := strconv.ParseUint(string(n), 10, 64)
			if err != nil || seq <= k.lastSeq {
				t.Fatalf("server frame %s: seq %v after %d; want a larger whole number", b, v, k.lastSeq)
			}
			k.lastSeq = seq
		}
		switch typ {
		case "error":
			fzCheckCode(t, "error frame", m, false)
		case "joined", "resumed":
			user, _ := m["userID"].(string)
			roomName, _ := m["room"].(string)
			tok, _ := m["resumeToken"].(string)
			if !fzUsers[user] || !room.ValidName(roomName) || tok == "" {
				t.Fatalf("%s: got user %q, room %q, resumeToken %q; want a user a token was minted for, a valid room and a token", typ, user, roomName, tok)
			}
			*token = tok
		}
	}
}

// FuzzWSMessages feeds WebSocket frames (one a line; a line starting with
// '>' goes to a second socket) to the signaling handler. $SIGA, $SIGB, $KEYA,
// $KEYB and $KEYN stand for real tokens, $TOKEN for the last resume token
// handed out. Whatever arrives, the handler does not panic (it would answer
// 5000), answers every frame with well-formed JSON and documented codes, and
// numbers a member's messages in increasing order.
func FuzzWSMessages(f *testing.F) {
	for _, seed := range []struct {
		frames    string
		openLogin bool
	}{
		{`{"type":"heartbeat"}`, true},
		{`{"type":"join","room":"r1","userSig":"$SIGA"}` + "\n" +
			`{"type":"board","op":{"kind":"stroke","id":"s1","points":[[0,0],[1,1]],"color":"#ff0000","width":3}}` + "\n" +
			`>{"type":"join","room":"r1","userSig":"$SIGB"}` + "\n" +
			`{"type":"board","op":{"kind":"stroke","id":"s1","points":[[0.5,0.5]],"color":"#ff0000","width":3}}` + "\n" +
			`>{"type":"board","op":{"kind":"erase","target":"s1"}}` + "\n" +
			`{"type":"board","op":{"kind":"undo"}}` + "\n" +
			`{"type":"board","op":{"kind":"clear","points":[]}}` + "\n" +
			`{"type":"board"}`, true},
		{`{"type":`, true},
		{`{"type":"launch"}` + "\n" + `{"type":"offer","target":"publisher","sdp":"v=0"}` + "\n" + `[1,2]` + "\n" + `"join"`, true},
		{`{"type":"join","room":"r1","userSig":"$SIGA","nickName":"Al"}` + "\n" +
			`{"type":"chat","text":"hi","data":{"emoji":"wave"},"clientID":"c1"}` + "\n" +
			`{"type":"mute","kind":"audio","muted":true}` + "\n" +
			`{"type":"mute","kind":"smell","muted":true}` + "\n" +
			`{"type":"candidate","target":"publisher","candidate":null}` + "\n" +
			`{"type":"candidate","target":"publisher","candidate":"candidate:1 1 udp 1 10.0.0.1 9 typ host"}` + "\n" +
			`{"type":"candidate","target":"publisher","candidate":{"candidate":5}}` + "\n" +
			`{"type":"track_settings","trackID":"t1","width":-1}` + "\n" +
			`{"type":"ice_restart","target":"publisher"}` + "\n" +
			`{"type":"join","room":"r1","userSig":"$SIGA"}` + "\n" +
			`{"type":"leave"}`, true},
		{`{"type":"join","room":12345,"userSig":"$SIGA","privateMapKey":"$KEYN","client":"miniprogram"}` + "\n" +
			`>{"type":"join","room":"12345","userSig":"$SIGB"}` + "\n" +
			`>{"type":"chat","to":"alice","text":"psst"}` + "\n" +
			`{"type":"chat","to":"carol","text":"nobody"}`, true},
		{`{"type":"join","room":"r1","userSig":"$SIGA"}` + "\n" +
			`{"type":"chat","text":"one"}` + "\n" +
			`>{"type":"resume","resumeToken":"$TOKEN","lastSeq":1}` + "\n" +
			`>{"type":"chat","text":"two"}` + "\n" +
			`{"type":"chat","text":"from the old socket"}`, true},
		{`{"type":"join","room":"r1","userSig":"$SIGA","privateMapKey":"$KEYA"}` + "\n" +
			`>{"type":"join","room":"r1","userSig":"$SIGB","privateMapKey":"$KEYB"}` + "\n" +
			`>{"type":"join","room":"r1","userSig":"$SIGB","privateMapKey":"$KEYA"}` + "\n" +
			`>{"type":"resume","resumeToken":"bogus"}` + "\n" +
			`{"type":"join","room":"r1","userSig":"$SIGA"}`, false},
		{`{"type":"join","room":"r1","userSig":"$SIGA","client":"pager"}` + "\n" +
			`{"type":"join","room":4294967296,"userSig":"$SIGA"}` + "\n" +
			`{"type":"join","room":"a b","userSig":"$SIGA"}` + "\n" +
			`{"type":"join","room":" r9 ","userSig":"$SIGA"}` + "\n" +
			`{"type":"resume","resumeToken":"$TOKEN","lastSeq":99}`, true},
	} {
		f.Add([]byte(seed.frames), seed.openLogin)
	}
	f.Fuzz(func(t *testing.T, data []byte, openLogin bool) {
		srv := fzServer(t, openLogin)
		defer srv.Close()
		tokens := fzTokenSet()
		var token string
		socks := [2]*fzSocket{{c: fzConn(srv)}, {c: fzConn(srv)}}
		end := func(k *fzSocket) {
			k.ended = true
			k.c.cleanup() // as serve does when the socket's read side ends
			close(k.c.done)
		}
		frames := bytes.Split(data, []byte("\n"))
		if len(frames) > 48 {
			frames = frames[:48]
		}
		for _, fr := range frames {
			k := socks[0]
			if len(fr) > 0 && fr[0] == '>' {
				k, fr = socks[1], fr[1:]
			}
			if k.ended {
				continue
			}
			fr = []byte(strings.NewReplacer(append(tokens.subst, "$TOKEN", token)...).Replace(string(fr)))
			k.c.handle(fr)
			for _, s := range socks {
				s.drain(t, &token)
			}
			if k.c.left || k.kicked() {
				end(k)
			}
		}
		for _, k := range socks {
			if !k.ended {
				end(k)
			}
		}
		for _, k := range socks {
			k.drain(t, &token)
		}
	})
}
