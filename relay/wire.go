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
// carry RTP packets, as many as were waiting (one write for a keyframe's
// burst), each a record: its length (2 bytes, big endian, of what follows),
// the track's number as the sender announced it (2 bytes), its simulcast
// layer (1 byte), and the packet. The packets are the publisher's own, every
// layer of them, so each satellite chooses layers per subscriber as the home
// does.
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
	msgQuality  = "quality"  // the connection quality of members of the sender's node (Quality)
)

// msg is one control message. Fields not used by a type are omitted.
type msg struct {
	Type string `json:"type"`
	N    uint16 `json:"n,omitempty"`

	// member (with UserID below)
	Nick       string `json:"nick,omitempty"`
	MemberKind string `json:"memberKind,omitempty"` // the member's kind on its node (webrtc, rtmp...)

	// track
	ID         string   `json:"id,omitempty"`
	Owner      string   `json:"owner,omitempty"`
	Kind       string   `json:"kind,omitempty"` // audio or video
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
	// quality
	Quality []room.QualityInfo `json:"quality,omitempty"`
}

// mediaHeader is a record's header: length, track number, layer.
const mediaHeader = 5

var errShortRecord = errors.New("relay: media record shorter than its header, or than its length says")

// putMediaHeader writes the header of a record of track n's layer whose
// packet takes size bytes at the start of b.
func putMediaHeader(b []byte, n uint16, layer, size int) {
	binary.BigEndian.PutUint16(b, uint16(size+mediaHeader-2))
	binary.BigEndian.PutUint16(b[2:], n)
	b[4] = byte(layer)
}

// nextRecord reads the first record of b: its track number, layer and RTP
// packet, and what follows it.
func nextRecord(b []byte) (n uint16, layer int, pkt, rest []byte, err error) {
	if len(b) < mediaHeader {
		return 0, 0, nil, nil, errShortRecord
	}
	end := 2 + int(binary.BigEndian.Uint16(b))
	if end < mediaHeader || end > len(b) {
		return 0, 0, nil, nil, errShortRecord
	}
	return binary.BigEndian.Uint16(b[2:]), int(b[4]), b[mediaHeader:end], b[end:], nil
}
