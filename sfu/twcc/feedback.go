package twcc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrBadFeedback is returned for a transport-cc report whose chunks and
// deltas do not agree.
var ErrBadFeedback = errors.New("twcc: malformed transport-cc feedback")

// packetResult is what one feedback report says of one packet.
type packetResult struct {
	seq      uint16
	received bool
	timed    bool  // received with an arrival time
	arrival  int64 // µs on the receiver's clock (unwrapped reference time + deltas)
}

// refUnit is the feedback reference time's unit: 64 ms, in µs.
const refUnit = 64_000

// deltaUnit is a receive delta's unit: 250 µs.
const deltaUnit = 250

// Packet status symbols (draft-holmer-rmcat-transport-wide-cc-extensions-01).
const (
	symbolNotReceived = 0
	symbolSmallDelta  = 1
	symbolLargeDelta  = 2
	symbolNoDelta     = 3
)

// feedback is one transport-cc report, read in place.
type feedback struct {
	baseSeq uint16
	count   int    // packet status count
	ref     uint32 // reference time, 24 bits, in refUnit
	fbCount uint8  // feedback packet count
	body    []byte // packet status chunks, then receive deltas
}

// feedbackFixed is the size of a report before its chunks: RTCP header, two
// SSRCs, base sequence number, status count, reference time, feedback count.
const feedbackFixed = 20

// parseFeedback reads the fixed fields of raw, one transport-cc RTCP packet
// (header included, padding removed).
func parseFeedback(raw []byte) (feedback, error) {
	if len(raw) < feedbackFixed {
		return feedback{}, fmt.Errorf("%w: %d bytes, fewer than the fixed %d", ErrBadFeedback, len(raw), feedbackFixed)
	}
	return feedback{
		baseSeq: binary.BigEndian.Uint16(raw[12:]),
		count:   int(binary.BigEndian.Uint16(raw[14:])),
		ref:     uint32(raw[16])<<16 | uint32(raw[17])<<8 | uint32(raw[18]),
		fbCount: raw[19],
		body:    raw[feedbackFixed:],
	}, nil
}

// chunkLen is how many statuses chunk gives, at most left: a run's length,
// 14 one-bit or 7 two-bit symbols.
func chunkLen(chunk uint16, left int) int {
	switch {
	case chunk&0x8000 == 0: // run length: 2-bit symbol, 13-bit length
		return min(int(chunk&0x1fff), left)
	case chunk&0x4000 == 0: // status vector of one-bit symbols: received (small delta) or not
		return min(14, left)
	default: // status vector of two-bit symbols
		return min(7, left)
	}
}

// chunkSymbols calls fn with each of chunk's status symbols, at most left of
// them, and returns how many it gave.
func chunkSymbols(chunk uint16, left int, fn func(symbol uint8) bool) int {
	n := chunkLen(chunk, left)
	for i := range n {
		var symbol uint8
		switch {
		case chunk&0x8000 == 0:
			symbol = uint8(chunk>>13) & 3
		case chunk&0x4000 == 0:
			symbol = uint8(chunk>>(13-i)) & 1
		default:
			symbol = uint8(chunk>>(12-2*i)) & 3
		}
		if !fn(symbol) {
			return i
		}
	}
	return n
}

// decode appends to dst what fb reports of each packet, in sequence order, at
// most limit packets. base is fb's reference time unwrapped (in refUnit).
func (fb feedback) decode(base int64, dst []packetResult, limit int) ([]packetResult, error) {
	// The deltas follow the chunks: find where the chunks end first.
	chunks := 0
	for left := fb.count; left > 0; chunks++ {
		if 2*chunks+2 > len(fb.body) {
			return dst, fmt.Errorf("%w: chunks for %d statuses do not fit", ErrBadFeedback, fb.count)
		}
		n := chunkLen(binary.BigEndian.Uint16(fb.body[2*chunks:]), left)
		if n == 0 { // a run of length 0 describes nothing and would never end
			return dst, fmt.Errorf("%w: an empty run", ErrBadFeedback)
		}
		left -= n
	}
	deltas := fb.body[2*chunks:]
	seq := fb.baseSeq
	arrival := base * refUnit
	left := min(fb.count, limit)
	var err error
	add := func(symbol uint8) bool {
		r := packetResult{seq: seq}
		switch symbol {
		case symbolSmallDelta, symbolLargeDelta:
			size := int(symbol) // a small delta is one byte, unsigned; a large one two, signed
			if len(deltas) < size {
				err = fmt.Errorf("%w: fewer deltas than received packets", ErrBadFeedback)
				return false
			}
			delta := int64(deltas[0])
			if size == 2 {
				delta = int64(int16(binary.BigEndian.Uint16(deltas)))
			}
			arrival += delta * deltaUnit
			deltas = deltas[size:]
			r.received, r.timed, r.arrival = true, true, arrival
		case symbolNoDelta:
			r.received = true
		}
		dst = append(dst, r)
		seq++
		return true
	}
	for i := 0; i < chunks && left > 0 && err == nil; i++ {
		left -= chunkSymbols(binary.BigEndian.Uint16(fb.body[2*i:]), left, add)
	}
	return dst, err
}

// unwrapRef continues the 24-bit reference time ref from last (unwrapped).
func unwrapRef(last int64, ref uint32, first bool) int64 {
	if first {
		return int64(ref & 0xffffff)
	}
	d := int64((ref - uint32(last)) & 0xffffff)
	if d >= 1<<23 {
		d -= 1 << 24
	}
	return last + d
}
