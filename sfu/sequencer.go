package sfu

import "time"

// sequencerSize is how many sent packets a down track remembers for NACKs:
// nackMaxAge (1 s) of video up to about 4.5 Mbit/s (1100-byte packets), half
// a second at 9 Mbit/s; a NACK for an older packet is answered with a
// keyframe. It is one of the larger parts of a subscriber's memory (40 bytes
// a slot, one sequencer per video track received).
const sequencerSize = 512

// sentPacket is what a down track needs to resend one packet it sent.
type sentPacket struct {
	extSeq  uint64 // the packet in its layer's cache
	at      int64  // unix ns when it was sent
	resent  int64  // unix ns of the last resend (0: never)
	ts      uint32 // rewritten timestamp
	pic     uint16 // rewritten VP8 picture ID
	seq     uint16 // output sequence number (to validate a slot)
	tl0     uint8
	resends uint8 // how often it was resent
	layer   int8
	vp8     bool
	key     bool // part of a keyframe: resent before anything else, see DownTrack.handleNACK
	valid   bool
}

// sequencer maps output sequence numbers back to cached packets.
type sequencer struct {
	slots []sentPacket
}

func newSequencer(n int) *sequencer { return &sequencer{slots: make([]sentPacket, n)} }

func (s *sequencer) push(seq uint16, p sentPacket) {
	p.seq, p.valid = seq, true
	s.slots[int(seq)%len(s.slots)] = p
}

func (s *sequencer) get(seq uint16) (sentPacket, bool) {
	if p := s.slot(seq); p != nil {
		return *p, true
	}
	return sentPacket{}, false
}

// slot returns where seq was pushed, or nil when that slot holds another
// packet (overwritten) or none.
func (s *sequencer) slot(seq uint16) *sentPacket {
	p := &s.slots[int(seq)%len(s.slots)]
	if !p.valid || p.seq != seq {
		return nil
	}
	return p
}

// Resend limits. A receiver asks again for a packet until it comes; when the
// link is full, the answer is late rather than lost, and resending again would
// only add to what fills it. libwebrtc and LiveKit limit resends the same way.
const (
	maxResends   = 3
	minResendGap = int64(100 * time.Millisecond) // a resend within the RTT (or this) is a duplicate
)

// resendVerdict says what may be done about a packet a subscriber asks for.
type resendVerdict uint8

const (
	resendNow     resendVerdict = iota // resend it
	resendUnknown                      // not a media packet this down track remembers (padding, or long overwritten)
	resendTooSoon                      // resent within the round trip: that resend may still come
	resendGone                         // resent maxResends times already: the subscriber will not get it
)

// takeResend returns the packet sent as seq and whether it may be resent at
// now (unix ns) given the round-trip time rtt (ns, 0 unknown); a resend is
// counted.
func (s *sequencer) takeResend(seq uint16, now, rtt int64) (sentPacket, resendVerdict) {
	sp := s.slot(seq)
	switch {
	case sp == nil:
		return sentPacket{}, resendUnknown
	case sp.resends >= maxResends:
		return *sp, resendGone
	case sp.resent != 0 && now-sp.resent < max(minResendGap, rtt):
		return *sp, resendTooSoon
	}
	sp.resends++
	sp.resent = now
	return *sp, resendNow
}
