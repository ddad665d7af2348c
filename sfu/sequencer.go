package sfu

// sequencerSize is how many sent packets a down track remembers for NACKs:
// about 1 s of 10 Mbit/s video, more than nackMaxAge at typical rates.
const sequencerSize = 1024

// sentPacket is what a down track needs to resend one packet it sent.
type sentPacket struct {
	extSeq uint64 // the packet in its layer's cache
	at     int64  // unix ns when it was sent
	ts     uint32 // rewritten timestamp
	pic    uint16 // rewritten VP8 picture ID
	seq    uint16 // output sequence number (to validate a slot)
	tl0    uint8
	layer  int8
	vp8    bool
	valid  bool
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
	p := s.slots[int(seq)%len(s.slots)]
	return p, p.valid && p.seq == seq
}
