package twcc

// historySize is how many sent packets are remembered: about 4 s at 2000
// packets/s, far longer than feedback takes. It divides 65536, so a slot is
// reused only by a sequence number 8192 later.
const historySize = 1 << 13

// sentPacket is one packet in the send history.
type sentPacket struct {
	at       int64 // send time, ns on the estimator's clock
	size     int32 // bytes on the wire
	seq      uint16
	used     bool
	reported bool // feedback already said it arrived (a repeat is ignored)
}

// history is a ring of the last historySize packets, indexed by sequence number.
type history struct {
	ring [historySize]sentPacket
}

func (h *history) add(seq uint16, at int64, size int) {
	h.ring[seq%historySize] = sentPacket{at: at, size: int32(size), seq: seq, used: true}
}

// get returns the packet sent with seq, or nil when it is no longer (or never
// was) in the history.
func (h *history) get(seq uint16) *sentPacket {
	p := &h.ring[seq%historySize]
	if !p.used || p.seq != seq {
		return nil
	}
	return p
}
