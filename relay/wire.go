// Package relay carries a room's tracks between two openroom nodes, so that a
// room whose home node is full spans several (issue 17, docs/deploy.md).
//
// A satellite node (one that took members of a room living elsewhere) dials
// the room's home node once per room: GET /cluster/relay/{room}, a WebSocket
// authorized by the cluster's shared secret. Both ends run a Link over it,
// and a Link is symmetric: it offers the peer every track of its room that
// did not come from that peer, and publishes what the peer offers into its
// room, as a member named like the publisher. So each track crosses to each
// satellite once, whatever the number of its subscribers there, and a
// publisher on a satellite reaches the home and, through it, every other
// satellite.
//
// The wire: text frames carry JSON control messages (msg); binary frames
// carry one RTP packet each, after a 3-byte header: the track's number (as the
// sender announced it, big endian) and its simulcast layer. The packets are
// the publisher's own, every layer of them, so each satellite chooses layers
// per subscriber as the home does.
package relay

import (
	"encoding/binary"
	"errors"

	"github.com/openroom/openroom/room"
)

// Message types of the control frames.
const (
	msgTrack    = "track"    // a track the sender offers (N, its number, and its description)
	msgUntrack  = "untrack"  // the sender's track N ended
	msgKeyframe = "keyframe" // the receiver of track N asks for a keyframe of Layer
	msgSR       = "sr"       // track N's Layer: the publisher's sender report (NTP, RTP)
	msgPing     = "ping"     // keeps the link alive through idle rooms
	msgMember   = "member"   // UserID is in the sender's room (Nick, MemberKind)
	msgLeave    = "leave"    // UserID left the sender's room
	msgMute     = "mute"     // UserID muted or unmuted Kind (Muted)
	msgChat     = "chat"     // a chat message of the sender's room (Chat)
	msgBoard    = "board"    // UserID's board op in the sender's room (Op)
)

// msg is one control message. Fields not used by a type are omitted.
type msg struct {
	Type string `json:"type"`
	N    uint16 `json:"n,omitempty"`

	// track
	ID         string   `json:"id,omitempty"`
	Owner      string   `json:"owner,omitempty"`
	Nick       string   `json:"nick,omitempty"`
	MemberKind string   `json:"memberKind,omitempty"` // the publisher's kind on its node (webrtc, rtmp...)
	Kind       string   `json:"kind,omitempty"`       // audio or video
	Mime       string   `json:"mime,omitempty"`
	ClockRate  uint32   `json:"clockRate,omitempty"`
	Channels   uint16   `json:"channels,omitempty"`
	Fmtp       string   `json:"fmtp,omitempty"`
	Source     string   `json:"source,omitempty"`
	RIDs       []string `json:"rids,omitempty"`
	AudioLevel uint8    `json:"audioLevel,omitempty"` // the RFC 6464 extension's ID in the packets, 0 none
	ReplayGOP  bool     `json:"replayGOP,omitempty"`  // its publisher cannot make keyframes on demand (RTMP)

	// keyframe, sr
	Layer int    `json:"layer,omitempty"`
	NTP   uint64 `json:"ntp,omitempty"`
	RTP   uint32 `json:"rtp,omitempty"`

	// member, leave, mute, board
	UserID string            `json:"userID,omitempty"`
	Muted  bool              `json:"muted,omitempty"`
	Chat   *room.ChatMessage `json:"chat,omitempty"`
	Op     *room.BoardOp     `json:"op,omitempty"`
}

const mediaHeader = 3

var errShortFrame = errors.New("relay: media frame shorter than its header")

// putMediaHeader writes track n's layer header at the start of b.
func putMediaHeader(b []byte, n uint16, layer int) {
	binary.BigEndian.PutUint16(b, n)
	b[2] = byte(layer)
}

// mediaHeaderOf reads a media frame's header; the RTP packet follows it.
func mediaHeaderOf(b []byte) (n uint16, layer int, rtp []byte, err error) {
	if len(b) < mediaHeader {
		return 0, 0, nil, errShortFrame
	}
	return binary.BigEndian.Uint16(b), int(b[2]), b[mediaHeader:], nil
}
