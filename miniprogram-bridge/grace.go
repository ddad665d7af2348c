package bridge

import (
	"time"

	"github.com/openroom/openroom/room"
)

// DefaultPushGrace is how long a pusher's member and tracks outlive its RTMP
// connection: WeChat's live-pusher reconnects by itself after a network blip
// (and the legacy component re-pushed after 2 s), and browsers must not see
// the member leave and join again, nor its tiles go and come back.
const DefaultPushGrace = 5 * time.Second

// parkedPush is a pusher whose connection ended, kept for a reconnect.
type parkedPush struct {
	in     *ingestStream
	p      *pusher // the bare pusher's own membership; nil for a mini-program member's push
	at     time.Time
	expiry *time.Timer
}

func pushKey(ref streamRef) string { return ref.Room + "/" + ref.User }

// park keeps an ended push's tracks (and a bare pusher's membership) for the
// grace period; a push of the same user within it continues them (resume).
func (s *Server) park(ref streamRef, in *ingestStream, p *pusher) {
	grace := s.opts.PushGrace
	if grace == 0 {
		grace = DefaultPushGrace
	}
	// Past the member timeout the room removes the silent member anyway.
	grace = min(grace, s.opts.Rooms.Timeout())
	key := pushKey(ref)
	pp := &parkedPush{in: in, p: p, at: time.Now()}
	s.mu.Lock()
	if s.closed || grace < 0 {
		s.mu.Unlock()
		s.release(ref, pp)
		return
	}
	if s.parked == nil {
		s.parked = map[string]*parkedPush{}
	}
	old := s.parked[key]
	s.parked[key] = pp
	pp.expiry = time.AfterFunc(grace, func() {
		s.mu.Lock()
		mine := s.parked[key] == pp
		if mine {
			delete(s.parked, key)
		}
		s.mu.Unlock()
		if mine { // whoever takes it out of the map owns it
			in.log.Info("rtmp: the pusher did not come back within the grace period", "grace", grace)
			s.release(ref, pp)
		}
	})
	s.mu.Unlock()
	if old != nil && old.expiry.Stop() {
		s.release(ref, old)
	}
}

// unpark takes the parked push of ref, if any, still a member of its room.
func (s *Server) unpark(ref streamRef) *parkedPush {
	key := pushKey(ref)
	s.mu.Lock()
	pp := s.parked[key]
	if pp != nil {
		delete(s.parked, key)
	}
	s.mu.Unlock()
	if pp == nil {
		return nil
	}
	pp.expiry.Stop() // it was out of the map: its expiry does nothing now
	var sess room.Session
	if pp.p != nil {
		sess = pp.p
	}
	if err := s.opts.Rooms.Touch(ref.Room, ref.User, sess); err != nil {
		s.release(ref, pp) // removed meanwhile (kicked, timed out): start afresh
		return nil
	}
	return pp
}

// release ends a parked push: its tracks go, and a bare pusher leaves.
func (s *Server) release(ref streamRef, pp *parkedPush) {
	pp.in.close()
	if pp.p != nil {
		_ = s.opts.Rooms.Leave(ref.Room, ref.User, pp.p, room.ReasonLeft)
	}
}

// releaseParked ends every parked push (on Close).
func (s *Server) releaseParked() {
	s.mu.Lock()
	parked := s.parked
	s.parked = nil
	s.mu.Unlock()
	for _, pp := range parked {
		if pp.expiry.Stop() {
			s.release(pp.in.ref, pp)
		}
	}
}
