package twcc

import "sync/atomic"

// ArrivalTable remembers when packets reached the socket, so that the
// transport-cc feedback a publisher gets reports those times, not when a
// goroutine got round to reading the packet: on a busy server the hops from
// the socket to the reader (the UDP mux, SRTP, the track's read loop) add
// delay that the publisher's delay-based estimator reads as a congested
// uplink, and it lowers its bitrate for nothing.
//
// The socket's reader records (Observe) and the feedback interceptor looks up
// (Lookup) by SSRC and RTP sequence number, both in clear in an SRTP header.
// It is a fixed table: a slot is reused by a later packet, and a lookup that
// misses falls back to the time of reading. Safe for concurrent use.
type ArrivalTable struct {
	slots []arrivalSlot // a power of two of them
	shift uint32        // 32 - log2(len(slots)): a hash's top bits pick the slot
}

// arrivalBits: 1<<14 slots cover about 0.8 s at 20,000 packets/s into the server.
const arrivalBits = 14

type arrivalSlot struct {
	key atomic.Uint64 // 1<<48 | ssrc<<16 | seq; 0 while being written
	at  atomic.Int64  // unix ns
}

// NewArrivalTable returns an empty table (about 256 KiB).
func NewArrivalTable() *ArrivalTable { return NewArrivalTableBits(arrivalBits) }

// NewArrivalTableBits returns an empty table of 1<<bits slots (16 bytes each),
// bits clamped to 8..24: a table must hold the packets that arrive between a
// packet's arrival and its lookup.
func NewArrivalTableBits(bits int) *ArrivalTable {
	bits = min(max(bits, 8), 24)
	return &ArrivalTable{slots: make([]arrivalSlot, 1<<bits), shift: uint32(32 - bits)}
}

func arrivalKey(ssrc uint32, seq uint16) uint64 {
	return 1<<48 | uint64(ssrc)<<16 | uint64(seq)
}

func (t *ArrivalTable) slot(ssrc uint32, seq uint16) *arrivalSlot {
	h := (ssrc*0x9E3779B1 ^ uint32(seq)*0x85EBCA77) >> t.shift
	return &t.slots[h]
}

// Record notes that packet (ssrc, seq) arrived at unix ns at.
func (t *ArrivalTable) Record(ssrc uint32, seq uint16, at int64) {
	s := t.slot(ssrc, seq)
	s.key.Store(0) // a reader meanwhile misses rather than pairing the new key with an old time
	s.at.Store(at)
	s.key.Store(arrivalKey(ssrc, seq))
}

// Lookup returns when (ssrc, seq) arrived, if the table still has it.
func (t *ArrivalTable) Lookup(ssrc uint32, seq uint16) (int64, bool) {
	s := t.slot(ssrc, seq)
	want := arrivalKey(ssrc, seq)
	if s.key.Load() != want {
		return 0, false
	}
	at := s.at.Load()
	if s.key.Load() != want {
		return 0, false
	}
	return at, true
}

// Observe records a datagram read from the socket at unix ns at, if it is
// SRTP.
func (t *ArrivalTable) Observe(b []byte, at int64) {
	if ssrc, seq, ok := rtpKey(b); ok {
		t.Record(ssrc, seq, at)
	}
}

// LookupPacket is Lookup for an RTP packet (or SRTP: its header is in clear).
func (t *ArrivalTable) LookupPacket(b []byte) (int64, bool) {
	ssrc, seq, ok := rtpKey(b)
	if !ok {
		return 0, false
	}
	return t.Lookup(ssrc, seq)
}

// rtpKey returns an RTP packet's SSRC and sequence number; ok is false for
// anything else (RFC 7983: first byte 128..191; RTCP's payload types
// 192..223 are not RTP).
func rtpKey(b []byte) (ssrc uint32, seq uint16, ok bool) {
	if len(b) < 12 || b[0] < 128 || b[0] > 191 || (b[1] >= 192 && b[1] <= 223) {
		return 0, 0, false
	}
	seq = uint16(b[2])<<8 | uint16(b[3])
	ssrc = uint32(b[8])<<24 | uint32(b[9])<<16 | uint32(b[10])<<8 | uint32(b[11])
	return ssrc, seq, true
}
