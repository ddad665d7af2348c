package twcc

import (
	"errors"
	"fmt"

	"github.com/pion/rtcp"
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

// decode appends to dst what fb reports of each packet, in sequence order.
// base is fb's reference time unwrapped (in refUnit).
func decode(fb *rtcp.TransportLayerCC, base int64, dst []packetResult) ([]packetResult, error) {
	seq := fb.BaseSequenceNumber
	left := int(fb.PacketStatusCount)
	arrival := base * refUnit
	deltas := fb.RecvDeltas
	add := func(symbol uint16) error {
		r := packetResult{seq: seq}
		switch symbol {
		case rtcp.TypeTCCPacketReceivedSmallDelta, rtcp.TypeTCCPacketReceivedLargeDelta:
			if len(deltas) == 0 {
				return fmt.Errorf("%w: fewer deltas than received packets", ErrBadFeedback)
			}
			arrival += deltas[0].Delta
			deltas = deltas[1:]
			r.received, r.timed, r.arrival = true, true, arrival
		case rtcp.TypeTCCPacketReceivedWithoutDelta:
			r.received = true
		}
		dst = append(dst, r)
		seq++
		left--
		return nil
	}
	for _, c := range fb.PacketChunks {
		if left <= 0 {
			break
		}
		switch c := c.(type) {
		case *rtcp.RunLengthChunk:
			for n := min(int(c.RunLength), left); n > 0; n-- {
				if err := add(c.PacketStatusSymbol); err != nil {
					return dst, err
				}
			}
		case *rtcp.StatusVectorChunk:
			for _, s := range c.SymbolList {
				if left <= 0 {
					break
				}
				if c.SymbolSize == rtcp.TypeTCCSymbolSizeOneBit && s == 1 {
					s = rtcp.TypeTCCPacketReceivedSmallDelta
				}
				if err := add(s); err != nil {
					return dst, err
				}
			}
		}
	}
	return dst, nil
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
