package twcc

// Each track of a publisher is read on its own goroutine, so packets reach the
// recorder out of transport-wide order: a video packet still waiting in its
// track's reader while the audio after it is recorded. Feedback built then
// reports the video packet lost, the next one reports it received, and the
// sender's loss-based estimate counts the loss (libwebrtc's does): a
// publisher's Chromium held its uplink at "limit bandwidth" on loopback. The
// holdback gives the recorder only packets that arrived no later than every
// active stream's newest recorded packet: those that arrived before are all
// recorded, as each stream is read in order.

const (
	holdActive = 300_000_000 // ns: a stream that recorded nothing this long holds nothing back (paused, silent) ...
	holdGaps   = 3           // ... nor one silent for this many of its usual gaps between packets (a repair stream's lone resend)
	holdMinGap = 20_000_000  // ns: the least a stream counts as silent after
	holdMax    = 200_000_000 // ns: a packet is given to the recorder after this long whatever lags
	holdCap    = 4096        // packets held at most: past it the oldest is dropped (and reported lost)
	holdForget = 5_000_000_000
)

// heldPacket is a recorded packet not yet given to the recorder.
type heldPacket struct {
	ssrc    uint32
	seq     uint16 // transport-wide
	arrival int64  // unix ns
	held    int64  // unix ns, when it was recorded
}

// streamMark is one stream's newest recorded packet.
type streamMark struct {
	arrival int64 // unix ns, its arrival
	at      int64 // unix ns, when it was recorded
	gap     int64 // ns, the stream's usual time between packets (moving average; 0: one packet so far)
}

// active reports whether the stream may still have packets on their way to
// its reader at now.
func (m streamMark) active(now int64) bool {
	return now-m.at <= min(holdActive, max(holdGaps*m.gap, holdMinGap))
}

// holdback orders what the track readers record (see above). Not safe for
// concurrent use: the reporter's lock guards it.
type holdback struct {
	held    []heldPacket
	streams map[uint32]streamMark
}

// add records one packet of stream ssrc, read at now.
func (h *holdback) add(ssrc uint32, seq uint16, arrival, now int64) {
	if h.streams == nil {
		h.streams = make(map[uint32]streamMark)
	}
	m, seen := h.streams[ssrc]
	gap := m.gap
	if seen {
		d := min(max(arrival-m.arrival, 0), holdActive)
		gap = (7*gap + d) / 8
		if m.gap == 0 {
			gap = d
		}
	}
	h.streams[ssrc] = streamMark{arrival: max(m.arrival, arrival), at: now, gap: gap}
	if len(h.held) >= holdCap {
		h.held = h.held[1:]
	}
	h.held = append(h.held, heldPacket{ssrc: ssrc, seq: seq, arrival: arrival, held: now})
}

// release returns (into dst) the packets that may be reported now and keeps
// the rest.
func (h *holdback) release(now int64, dst []heldPacket) []heldPacket {
	mark := int64(-1) // the newest arrival every active stream has recorded up to
	for ssrc, m := range h.streams {
		switch {
		case now-m.at > holdForget:
			delete(h.streams, ssrc)
		case m.active(now) && (mark < 0 || m.arrival < mark):
			mark = m.arrival
		}
	}
	kept := h.held[:0]
	for _, p := range h.held {
		if p.arrival <= mark || now-p.held >= holdMax {
			dst = append(dst, p)
		} else {
			kept = append(kept, p)
		}
	}
	clear(h.held[len(kept):])
	h.held = kept
	return dst
}
