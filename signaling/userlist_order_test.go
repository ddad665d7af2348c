package signaling

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/openroom/openroom/config"
	"github.com/openroom/openroom/room"
)

// TestUserlistAfterQueuedFrames: a mini-program's join queues joined and then
// asks for its userlist. The writer may see both at once; joined must still
// come first (CI once saw the userlist first, and the client skipped it).
func TestUserlistAfterQueuedFrames(t *testing.T) {
	noLeaks(t)
	rooms := room.NewManager(room.Options{Capacity: 10, Timeout: time.Minute})
	if _, err := rooms.Create("mp", ""); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	srv := New(Options{Config: cfg, Rooms: rooms, StreamURLs: fzURLs{}, Logger: slog.New(slog.DiscardHandler)})
	sockets := make(chan *websocket.Conn)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		sockets <- ws
	}))
	defer hs.Close()
	// select chooses at random among ready cases: 20 tries would all pass by
	// chance one time in a million.
	for i := range 20 {
		client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
		if err != nil {
			t.Fatal(err)
		}
		c := fzConn(srv)
		c.ws = <-sockets
		c.sess = &session{srv: srv, log: c.log, room: "mp", userID: "wxuser", mini: true}
		c.send <- []byte(`{"type":"joined"}`)
		c.refresh <- struct{}{}
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			c.writeLoop()
		}()
		var types []string
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		for len(types) < 2 {
			_, b, err := client.ReadMessage()
			if err != nil {
				t.Fatalf("try %d: read: %v (got %v)", i, err, types)
			}
			var m struct{ Type string }
			_ = json.Unmarshal(b, &m)
			types = append(types, m.Type)
		}
		if types[0] != "joined" || types[1] != "userlist" {
			t.Fatalf("try %d: got %v; want [joined userlist]", i, types)
		}
		close(c.done)
		<-stopped
		c.ws.Close()
		client.Close()
	}
}
