package sfu

import (
	"sync"
)

// Member is anything that takes part in a room's media: a WebRTC peer, an RTMP
// publisher, an FLV viewer. The Router offers it every track other members
// publish; the member decides what to subscribe to (by privilege, by owner).
// AddTrack and RemoveTrack must not block: they are called with the router's lock held.
type Member interface {
	ID() string
	AddTrack(t *Track)
	RemoveTrack(t *Track)
}

// Router connects the tracks of one room to its members.
type Router struct {
	mu      sync.Mutex        // guards members and tracks
	members map[string]Member // by member ID
	tracks  map[*Track]struct{}
}

// NewRouter returns an empty Router.
func NewRouter() *Router {
	return &Router{members: map[string]Member{}, tracks: map[*Track]struct{}{}}
}

// Join adds m and offers it every track already published by others.
// A member with the same ID is replaced (its tracks stay until unpublished).
func (r *Router) Join(m Member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.members[m.ID()] = m
	for t := range r.tracks {
		if t.owner != m.ID() {
			m.AddTrack(t)
		}
	}
}

// Leave removes m, takes back every track it was offered and unpublishes its own.
func (r *Router) Leave(m Member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.members[m.ID()] != m {
		return
	}
	delete(r.members, m.ID())
	for t := range r.tracks {
		if t.owner == m.ID() {
			r.unpublishLocked(t)
		}
	}
}

// Publish offers t to every member but its owner.
func (r *Router) Publish(t *Track) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.tracks[t]; ok {
		return
	}
	r.tracks[t] = struct{}{}
	for id, m := range r.members {
		if id != t.owner {
			m.AddTrack(t)
		}
	}
}

// Unpublish takes t back from every member and closes it. It reports whether t was published.
func (r *Router) Unpublish(t *Track) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.tracks[t]; !ok {
		return false
	}
	r.unpublishLocked(t)
	return true
}

func (r *Router) unpublishLocked(t *Track) {
	delete(r.tracks, t)
	for id, m := range r.members {
		if id != t.owner {
			m.RemoveTrack(t)
		}
	}
	t.Close()
}
