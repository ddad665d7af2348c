package signaling

import (
	"context"
	"slices"
	"time"

	"github.com/openroom/openroom/room"
)

// Directory lists every node's rooms when nodes share rooms (cluster mode),
// so that get_room_list and get_room_members answer for the whole cluster.
type Directory interface {
	Rooms(ctx context.Context) ([]ListedRoom, error)
}

// ListedRoom is a room another node published (with its members).
type ListedRoom struct {
	Name, Info string
	Created    time.Time
	Members    []room.MemberInfo
}

// directoryTimeout bounds asking the cluster for its rooms.
const directoryTimeout = 2 * time.Second

// listedRooms returns the cluster's rooms: this node's own, as they are now,
// and the others' as their nodes last published them; only this node's when
// there is no directory or it cannot be read.
func (s *Server) listedRooms() []ListedRoom {
	local := s.rooms.Rooms()
	out := make([]ListedRoom, 0, len(local))
	here := make(map[string]bool, len(local))
	for _, r := range local {
		lr := ListedRoom{Name: r.Name, Info: r.Info, Created: r.Created}
		if ms, err := s.rooms.Members(r.Name); err == nil {
			lr.Members = ms
		}
		out = append(out, lr)
		here[r.Name] = true
	}
	others := s.otherRooms()
	if len(others) == 0 {
		return out
	}
	for _, r := range others {
		if !here[r.Name] {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b ListedRoom) int { return room.ListingOrder(a.Created, a.Name, b.Created, b.Name) })
	return out
}

// roomMembersAnywhere lists a room's members here, or, in cluster mode, as
// its node last published them.
func (s *Server) roomMembersAnywhere(name string) ([]room.MemberInfo, error) {
	ms, err := s.rooms.Members(name)
	if err == nil || s.dir == nil {
		return ms, err
	}
	for _, r := range s.otherRooms() { // not here: only another node can have it
		if r.Name == name {
			return r.Members, nil
		}
	}
	return nil, err
}

// otherRooms lists the other nodes' rooms (cluster mode); none without a
// directory, or when it cannot be read (Redis away: this node answers for
// its own rooms).
func (s *Server) otherRooms() []ListedRoom {
	if s.dir == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), directoryTimeout)
	defer cancel()
	others, err := s.dir.Rooms(ctx)
	if err != nil {
		s.log.Warn("cluster room list unavailable: answering for this node's rooms only", "err", err)
		return nil
	}
	return others
}
