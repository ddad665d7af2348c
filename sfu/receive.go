package sfu

import (
	"math"
	"sync/atomic"
)

// rxStats follows how one layer's packets arrive from the publisher, as an
// RTCP receiver report would describe them (RFC 3550 A.3 and A.8): packets
// expected from the sequence numbers, packets received (late and repaired ones
// included, so loss repaired by NACK does not count), and the interarrival
// jitter. The writer goroutine updates it; the totals are published in
// atomics for QualityStats, which reads them from the room's goroutine.
type rxStats struct {
	// Owned by the layer's writer goroutine.
	base        uint64  // extended seq of the first packet
	highest     uint64  // highest extended seq so far
	received    uint64  // packets with a sequence number, padding included
	jitter      float64 // RTP timestamp units
	scale       float64 // RTP units per nanosecond (clock rate / 1e9)
	firstAt     int64   // unix ns of the first packet: arrival times are taken relative to it
	lastTransit float64 // arrival (RTP units since firstAt) minus the RTP timestamp
	hasTransit  bool

	// Published every rxPublishEvery packets (an atomic store costs more than
	// the rest of this bookkeeping together): quality windows are seconds long.
	expectedOut, receivedOut atomic.Uint64
	jitterOut                atomic.Uint64 // math.Float64bits of jitter in seconds
}

const rxPublishEvery = 16

// note records one packet: extSeq is its extended sequence number, timed
// whether its arrival says something about jitter (media above every sequence
// number before it: not reordered, resent or padding), extTS its extended
// timestamp, at its arrival (unix ns), clockRate the codec's.
func (r *rxStats) note(extSeq uint64, timed bool, extTS uint64, at int64, clockRate uint32) {
	if r.received == 0 {
		r.base, r.highest, r.firstAt = extSeq, extSeq, at
		r.scale = float64(clockRate) / 1e9
	}
	r.received++
	r.highest = max(r.highest, extSeq)
	if timed && r.scale > 0 {
		// Not a resent packet: it left its timestamp's time long ago.
		transit := float64(at-r.firstAt)*r.scale - float64(extTS)
		if r.hasTransit {
			r.jitter += (math.Abs(transit-r.lastTransit) - r.jitter) * (1.0 / 16)
		}
		r.lastTransit, r.hasTransit = transit, true
	}
	if r.received%rxPublishEvery == 1 {
		r.publish()
	}
}

// publish makes the totals readable by ReceiveCounters.
func (r *rxStats) publish() {
	r.expectedOut.Store(r.highest - r.base + 1)
	r.receivedOut.Store(r.received)
	if r.scale > 0 {
		r.jitterOut.Store(math.Float64bits(r.jitter / r.scale / 1e9))
	}
}

// ReceiveCounters are a track's arrival totals: every layer's expected and
// received packets since it was published, and the largest jitter.
type ReceiveCounters struct {
	Expected, Received uint64
	Jitter             float64 // seconds
}

// ReceiveCounters sums the layers' arrival statistics (see rxStats).
func (t *Track) ReceiveCounters() ReceiveCounters {
	var c ReceiveCounters
	for _, l := range t.layers {
		c.Expected += l.rx.expectedOut.Load()
		c.Received += l.rx.receivedOut.Load()
		c.Jitter = max(c.Jitter, math.Float64frombits(l.rx.jitterOut.Load()))
	}
	return c
}

// uplinkLoss is the share of packets lost on the way from the publisher
// between two readings of its tracks' counters (0 when nothing was expected).
func uplinkLoss(prev, cur ReceiveCounters) float64 {
	if cur.Expected <= prev.Expected {
		return 0
	}
	expected := cur.Expected - prev.Expected
	received := cur.Received - min(prev.Received, cur.Received)
	if received >= expected {
		return 0
	}
	return float64(expected-received) / float64(expected)
}
