package loadgen

import (
	"encoding/binary"
	"math"
	"sync/atomic"
)

// Every synthetic packet carries a stamp behind its codec header: when it was
// sent (unix ns, this process's clock: senders and receivers share it, so
// receive time - send time is the one-way delay through the server) and its
// number in its stream (gaps are loss). Codec headers stay valid, so the
// server treats the packets as it treats a browser's.
const stampSize = 12

// putStamp writes a stamp into b[:stampSize].
func putStamp(b []byte, sentNs int64, n uint32) {
	binary.BigEndian.PutUint64(b, uint64(sentNs))
	binary.BigEndian.PutUint32(b[8:], n)
}

// stampAt is where the stamp sits in a payload: behind the Opus TOC byte,
// behind an H.264 single NAL unit's header or FU-A's two header bytes, and in
// the last unit of a STAP-A (a filler NAL unit, type 12, after SPS and PPS).
// -1: the payload has none.
func stampAt(payload []byte, video bool) int {
	if len(payload) < 1+stampSize {
		return -1
	}
	if !video {
		return 1
	}
	switch payload[0] & 0x1f {
	case nalSTAPA:
		return len(payload) - stampSize
	case nalFUA:
		if len(payload) < 2+stampSize {
			return -1
		}
		return 2
	}
	return 1
}

// readStamp returns the stamp of an RTP payload.
func readStamp(payload []byte, video bool) (sentNs int64, n uint32, ok bool) {
	at := stampAt(payload, video)
	if at < 0 {
		return 0, 0, false
	}
	b := payload[at:]
	return int64(binary.BigEndian.Uint64(b)), binary.BigEndian.Uint32(b[8:]), true
}

// rtpPayload returns the payload of an RTP packet (after the fixed header,
// CSRCs and header extension, before padding).
func rtpPayload(pkt []byte) ([]byte, bool) {
	if len(pkt) < 12 {
		return nil, false
	}
	hdr := 12 + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 {
		if len(pkt) < hdr+4 {
			return nil, false
		}
		hdr += 4 + 4*(int(pkt[hdr+2])<<8|int(pkt[hdr+3]))
	}
	end := len(pkt)
	if pkt[0]&0x20 != 0 {
		end -= int(pkt[len(pkt)-1])
	}
	if hdr > end {
		return nil, false
	}
	return pkt[hdr:end], true
}

// rxStream is what one member received of one stream: how many distinct
// packets, and how many were sent from its first to its newest (the
// difference is loss). Only the stream's reader writes; snapshots read.
type rxStream struct {
	received atomic.Int64
	expected atomic.Int64

	started bool
	first   uint32
	highest uint32
	seen    [16]uint64 // which of the 1024 numbers up to highest arrived: a resend is not counted twice
}

// note records packet number n.
func (s *rxStream) note(n uint32) {
	switch {
	case !s.started:
		s.started, s.first, s.highest = true, n, n
		s.mark(n)
	case int32(n-s.highest) > 0:
		from := s.highest + 1
		if n-from >= 1024 {
			from = n - 1023
		}
		for i := from; i != n; i++ {
			s.unmark(i) // skipped numbers: not (yet) received
		}
		s.highest = n
		s.mark(n)
	case s.highest-n < 1024:
		if s.marked(n) {
			return // a duplicate (a resend of what had arrived)
		}
		s.mark(n)
	default:
		return // older than the window: counted as lost already
	}
	s.received.Add(1)
	s.expected.Store(int64(s.highest-s.first) + 1)
}

func (s *rxStream) mark(n uint32)        { s.seen[(n/64)%16] |= 1 << (n % 64) }
func (s *rxStream) unmark(n uint32)      { s.seen[(n/64)%16] &^= 1 << (n % 64) }
func (s *rxStream) marked(n uint32) bool { return s.seen[(n/64)%16]&(1<<(n%64)) != 0 }

// delayHist is a histogram of one-way delays, safe for concurrent use: bucket
// i holds delays up to delayBase x delayGrowth^i (5 % apart, 10 µs to beyond a
// minute).
type delayHist struct {
	buckets [delayBuckets]atomic.Int64
}

const (
	delayBuckets = 330
	delayBase    = 10e3 // ns
	delayGrowth  = 1.05
)

var logDelayGrowth = math.Log(delayGrowth)

func (h *delayHist) add(ns int64) {
	i := 0
	if ns > delayBase {
		i = min(int(math.Ceil(math.Log(float64(ns)/delayBase)/logDelayGrowth)), delayBuckets-1)
	}
	h.buckets[i].Add(1)
}

// snapshot copies the counts.
func (h *delayHist) snapshot() []int64 {
	out := make([]int64, delayBuckets)
	for i := range out {
		out[i] = h.buckets[i].Load()
	}
	return out
}

// delayPercentiles returns the q-quantiles (0-1) of the delays counted
// between two snapshots, in milliseconds (the upper bound of the bucket), and
// how many delays were counted.
func delayPercentiles(a, b []int64, qs ...float64) ([]float64, int64) {
	var total int64
	for i := range b {
		total += b[i] - a[i]
	}
	out := make([]float64, len(qs))
	if total == 0 {
		return out, 0
	}
	for j, q := range qs {
		want := int64(math.Ceil(q * float64(total)))
		var seen int64
		for i := range b {
			seen += b[i] - a[i]
			if seen >= want {
				out[j] = round(delayBase*math.Pow(delayGrowth, float64(i))/1e6, 2)
				break
			}
		}
	}
	return out, total
}
