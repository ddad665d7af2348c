package whip

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/openroom/openroom/auth"
	"github.com/openroom/openroom/room"
	"github.com/openroom/openroom/sfu"
)

// publish makes ss's client a room member of kind "whip" whose tracks
// everyone receives, and answers its offer.
func (s *Server) publish(ss *session, o *offer, priv uint32) (string, error) {
	if priv&(auth.PrivSendAudio|auth.PrivSendVideo) == 0 {
		return "", fmt.Errorf("%w: the token grants neither send audio (4) nor send video (16) (privileges %d)", ErrForbidden, priv)
	}
	if err := o.checkPublish(); err != nil {
		return "", err
	}
	if err := s.takeOver(ss); err != nil {
		return "", err
	}
	create := s.opts.OpenLogin || priv&auth.PrivCreate != 0
	if !create && !s.opts.Rooms.Exists(ss.room) {
		return "", fmt.Errorf("%w: no room %s (a token with the create bit (1) makes it)", ErrNotFound, ss.room)
	}
	ss.log = s.log.With("room", ss.room, "user", ss.user, "whip", ss.id[:8])
	rooms, roomName, user := s.opts.Rooms, ss.room, ss.user
	if _, err := rooms.Enter(room.EnterRequest{Room: roomName, UserID: user, Kind: room.KindWHIP,
		Privileges: priv, Session: ss, Create: create}); err != nil {
		return "", err
	}
	has := func(bit uint32) bool { return priv&bit != 0 }
	peer, err := s.opts.Engine.NewPeer(sfu.PeerConfig{
		ID:     user,
		Logger: ss.log,
		Permissions: sfu.Permissions{SendAudio: has(auth.PrivSendAudio), SendVideo: has(auth.PrivSendVideo),
			SendAux: has(auth.PrivSendAux)},
		OnTrack:      func(t *sfu.Track) { _ = rooms.Publish(roomName, user, ss, t) },
		OnTrackEnded: func(t *sfu.Track) { rooms.Unpublish(roomName, user, ss, t) },
		OnState:      ss.onState,
		NoTrickle:    true,
		PreferVideo:  webrtc.MimeTypeH264, // FLV and RTMP viewers play H.264 only
	})
	if err != nil {
		_ = rooms.Leave(roomName, user, ss, room.ReasonLeft)
		return "", err
	}
	ss.peer = peer
	if err := rooms.AttachMedia(roomName, user, ss, peer); err != nil {
		_ = rooms.Leave(roomName, user, ss, room.ReasonLeft) // kicked meanwhile, most likely: a no-op then
		peer.Close()
		return "", err
	}
	answer, err := peer.HandleOffer(o.sdp, nil)
	if err != nil {
		_ = rooms.Leave(roomName, user, ss, room.ReasonLeft)
		peer.Close()
		return "", err
	}
	return answer, nil
}

// takeOver lets a new WHIP session replace user's old one whose connection
// is down (an encoder reconnecting after a network drop); anyone else who
// publishes as user makes it a conflict.
func (s *Server) takeOver(ss *session) error {
	roomName, user := ss.room, ss.user
	tracks, err := s.opts.Rooms.Tracks(roomName, user)
	if err != nil || len(tracks) == 0 {
		return nil // not a member, or one who publishes nothing: Enter replaces it
	}
	s.mu.Lock()
	var old *session
	for _, o := range s.sessions {
		if o != ss && !o.whep && o.room == roomName && o.user == user {
			old = o
		}
	}
	s.mu.Unlock()
	if old == nil || !old.replaceable() {
		return fmt.Errorf("%w: %s already publishes in room %s (DELETE its WHIP session first, or publish as another userID)", ErrConflict, user, roomName)
	}
	old.end("replaced by a new WHIP session")
	return nil
}

// play makes ss's client a hidden viewer of ss.user's camera and
// microphone, and answers its offer.
func (s *Server) play(ss *session, o *offer, priv uint32) (string, error) {
	if priv&(auth.PrivReceiveAudio|auth.PrivReceiveVideo) == 0 {
		return "", fmt.Errorf("%w: the token grants neither receive audio (8) nor receive video (32) (privileges %d)", ErrForbidden, priv)
	}
	target := ss.user
	tracks, err := s.opts.Rooms.Tracks(ss.room, target)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	codecs := map[string]string{}
	for _, t := range tracks {
		if !t.Source().IsScreen() {
			_, subtype, _ := strings.Cut(t.Codec().MimeType, "/") // "video/H264" -> "h264", as in rtpmap
			codecs[t.Kind().String()] = strings.ToLower(subtype)
		}
	}
	if len(codecs) == 0 {
		return "", fmt.Errorf("%w: %s publishes no audio or video in room %s yet", ErrNotFound, target, ss.room)
	}
	if err := o.checkPlay(codecs); err != nil {
		return "", err
	}
	s.mu.Lock()
	s.ids++
	mediaID := fmt.Sprintf("whep#%d", s.ids) // not a valid user ID: never mistaken for a member
	s.mu.Unlock()
	ss.log = s.log.With("room", ss.room, "plays", target, "viewer", ss.viewer, "whep", ss.id[:8])
	has := func(bit uint32) bool { return priv&bit != 0 }
	peer, err := s.opts.Engine.NewPeer(sfu.PeerConfig{
		ID:          mediaID,
		Logger:      ss.log,
		Permissions: sfu.Permissions{ReceiveAudio: has(auth.PrivReceiveAudio), ReceiveVideo: has(auth.PrivReceiveVideo)},
		Accept:      func(t *sfu.Track) bool { return t.Owner() == target && !t.Source().IsScreen() },
		OnState:     ss.onState,
		NoTrickle:   true,
		Answerer:    true,
	})
	if err != nil {
		return "", err
	}
	ss.peer = peer
	if ss.detach, err = s.opts.Rooms.Watch(ss.room, peer); err != nil {
		peer.Close()
		return "", fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	answer, err := peer.AnswerSubscriber(o.sdp)
	if err != nil {
		ss.detach()
		peer.Close()
		if errors.Is(err, sfu.ErrClosed) {
			return "", fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return "", err
	}
	return answer, nil
}
