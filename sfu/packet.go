package sfu

import (
	"time"

	"github.com/pion/rtp"
)

// ExtPacket is one RTP packet as a Track hands it to its sinks: the packet and
// what the receiver learnt about it once, so no subscriber parses it again.
// Sinks must not keep it, nor its Packet, after WriteRTP returns.
type ExtPacket struct {
	*rtp.Packet
	Layer    int    // simulcast layer, 0 = lowest; 0 for a single-layer track
	ExtSeq   uint64 // sequence number unwrapped over wrap-arounds
	ExtTS    uint64 // RTP timestamp unwrapped
	Keyframe bool   // the packet starts a keyframe (H.264 IDR/SPS, VP8 key frame)
	Arrival  int64  // unix nanoseconds, when the track got it
	// Received is when the packet reached the server's socket (the kernel's
	// stamp; unix ns), 0 when unknown. Arrival - Received is how long the
	// server took to get to it: see maxForwardAge.
	Received int64
	// Behind is how far behind its socket the server stayed over the last
	// half second (the least Arrival - Received of its packets of the
	// layer): a sustained lag, where a keyframe's fan-out is a passing one.
	Behind time.Duration
}

// lagWindow follows how far behind the server stays: the least lag of each
// lagEpoch, of which the last complete one counts.
type lagWindow struct {
	start int64         // unix ns the current epoch began
	least time.Duration // the current epoch's least lag so far
	last  time.Duration // the last complete epoch's
}

const lagEpoch = 500 * time.Millisecond

// note takes a packet's lag at unix ns now and returns the sustained lag.
func (w *lagWindow) note(now int64, lag time.Duration) time.Duration {
	switch {
	case now-w.start >= int64(2*lagEpoch): // an epoch without packets: no lag known
		w.start, w.least, w.last = now, lag, 0
	case now-w.start >= int64(lagEpoch):
		w.start, w.last, w.least = now, w.least, lag
	default:
		w.least = min(w.least, lag)
	}
	return w.last
}

// unwrapper extends 16- or 32-bit counters to 64 bits. Reordered packets
// (within half the range) map below the highest value seen.
type unwrapper struct {
	started bool
	highest uint64
	bits    uint
}

func (u *unwrapper) unwrap(v uint64) uint64 {
	if !u.started {
		u.started = true
		u.highest = v + 1<<u.bits // room below for reordered packets
		return u.highest
	}
	size := uint64(1) << u.bits
	mask := size - 1
	cur := u.highest & mask
	diff := (v - cur) & mask
	var ext uint64
	if diff < size/2 {
		ext = u.highest + diff
		u.highest = ext
	} else {
		ext = u.highest - ((cur - v) & mask)
	}
	return ext
}
