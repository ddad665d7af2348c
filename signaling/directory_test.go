package signaling

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openroom/openroom/room"
)

// fakeDirectory lists other nodes' rooms from a table.
type fakeDirectory struct {
	mu    sync.Mutex
	rooms []ListedRoom
	err   error
}

func (d *fakeDirectory) Rooms(context.Context) ([]ListedRoom, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rooms, d.err
}

// TestRoomListAcrossNodes: get_room_list and get_room_members answer for the
// rooms of every node; without the directory, for this node's.
func TestRoomListAcrossNodes(t *testing.T) {
	t.Parallel()
	dir := &fakeDirectory{rooms: []ListedRoom{{Name: "far", Info: "on node b", Created: time.Unix(1, 0),
		Members: []room.MemberInfo{{UserID: "han", NickName: "韩梅梅", Kind: "webrtc"}, {UserID: "pusher", Kind: "rtmp"}}}}}
	ts := startServer(t, false, nil, func(o *Options) { o.Directory = dir })
	c := dial(t, ts)
	c.join(ts, "near", "lei")

	_, m := post(t, ts.URL, "get_room_list", `{"userID":"lei","index":0,"count":10}`)
	if got := fmt.Sprint(m["total"], m["rooms"]); got != "2 [map[memberCount:2 roomID:far roomInfo:on node b] map[memberCount:1 roomID:near roomInfo:]]" {
		t.Errorf("get_room_list: got %s; want far (older, on another node) then near", got)
	}
	_, m = post(t, ts.URL, "get_room_members", `{"userID":"lei","roomID":"far"}`)
	if got := fmt.Sprint(m["members"]); got != "[map[kind:webrtc nickName:韩梅梅 userID:han] map[kind:rtmp nickName: userID:pusher]]" {
		t.Errorf("get_room_members of a room on another node: got %s", got)
	}
	_, m = post(t, ts.URL, "get_room_members", `{"userID":"lei","roomID":"nowhere"}`)
	if code(m) != CodeNoRoom {
		t.Errorf("get_room_members of no room: got %v; want code %d", m, CodeNoRoom)
	}

	// The directory unreadable (Redis away): this node's rooms.
	dir.mu.Lock()
	dir.err = errors.New("redis: connection refused")
	dir.mu.Unlock()
	_, m = post(t, ts.URL, "get_room_list", `{"userID":"lei","index":0,"count":10}`)
	if fmt.Sprint(m["total"]) != "1" {
		t.Errorf("get_room_list with the directory away: got %v; want this node's one room", m)
	}
}
