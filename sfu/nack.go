package sfu

// NACKs to a publisher. The receiver asks for what a layer lost itself rather
// than through pion's NACK generator: a packet the publisher resends on its RTX
// stream reaches the track under its original sequence number, and only the
// track sees it there, so only the track can stop asking for it.
const (
	nackCheckEvery = 20_000_000    // ns: NACKs go out at most this often per layer
	nackRetryAfter = 100_000_000   // ns: a packet still missing is asked for again after this
	pubNACKMaxAge  = 1_000_000_000 // ns: then it is given up (a keyframe mends what is left)
	nackMaxTries   = 10
	nackMaxMissing = 256 // packets followed per layer; a wider gap is not asked for
)

// missingPkt is one packet a layer has not received.
type missingPkt struct {
	seq   uint64 // extended sequence number
	first int64  // unix ns when the gap was seen
	last  int64  // unix ns of the last NACK for it; 0: none yet
	tries uint8
}

// nackTracker follows one layer's missing packets and says which to ask for.
// It is owned by the layer's writer goroutine.
type nackTracker struct {
	missing   []missingPkt // ascending by seq
	lastCheck int64
	out       []uint16 // scratch for due
}

// note records a packet: ext its extended sequence number, highest the
// highest one before it (started: there was one), now its arrival.
func (n *nackTracker) note(ext, highest uint64, started bool, now int64) {
	switch {
	case !started:
	case ext > highest+1:
		gap := ext - highest - 1
		if gap > nackMaxMissing {
			n.missing = n.missing[:0] // an outage or a new stream: too late to ask for it all
			return
		}
		for s := highest + 1; s < ext; s++ {
			if len(n.missing) == nackMaxMissing {
				copy(n.missing, n.missing[1:])
				n.missing = n.missing[:nackMaxMissing-1]
			}
			n.missing = append(n.missing, missingPkt{seq: s, first: now})
		}
	case ext < highest: // late, or resent: no longer missing
		lo, hi := 0, len(n.missing)
		for lo < hi {
			mid := (lo + hi) / 2
			if n.missing[mid].seq < ext {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		if lo < len(n.missing) && n.missing[lo].seq == ext {
			n.missing = append(n.missing[:lo], n.missing[lo+1:]...)
		}
	}
}

// due returns the sequence numbers to ask for now (nil between checks); the
// slice is reused by the next call.
func (n *nackTracker) due(now int64) []uint16 {
	if len(n.missing) == 0 || now-n.lastCheck < nackCheckEvery {
		return nil
	}
	n.lastCheck = now
	out := n.out[:0]
	kept := n.missing[:0]
	for _, m := range n.missing {
		if now-m.first > pubNACKMaxAge || m.tries >= nackMaxTries {
			continue
		}
		if m.last == 0 || now-m.last >= nackRetryAfter {
			m.last = now
			m.tries++
			out = append(out, uint16(m.seq))
		}
		kept = append(kept, m)
	}
	n.missing = kept
	n.out = out
	return out
}

// len is how many packets are missing now.
func (n *nackTracker) len() int { return len(n.missing) }
