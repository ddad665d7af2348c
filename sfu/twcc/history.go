package twcc

// historySize is how many sent packets are remembered: 0.5 s at the top
// estimate (20 Mbit/s, about 2000 packets/s) and 5 s at a common 2 Mbit/s,
// far longer than feedback takes (every 50-100 ms). It divides 65536, so a
// slot is reused only by a sequence number 1024 later. It is most of the
// estimator's memory (16 bytes a slot), one per subscriber connection.
const historySize = 1 << 10

// sentPacket is one packet in the send history.
type sentPacket struct {
	at       int64 // send time, ns on the estimator's clock
	size     int32 // bytes on the wire
	seq      uint16
	used     bool
	reported bool // feedback already said it arrived (a repeat is ignored)
	missed   bool // feedback said it had not arrived (counted lost once; see Estimator.onFeedbackLocked)
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
