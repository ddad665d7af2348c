package bridge

import "time"

const (
	// reorderWait is how long the video of a source waits for a missing
	// packet. The SFU asks the publisher to resend what it lost (NACK), and
	// the resend comes after the packets that followed it: without waiting,
	// the depacketizer calls the frame lost and the viewer waits for a
	// keyframe (a freeze of 0.5-2 s on a busy machine). FLV and RTMP players
	// buffer a second or more, so the wait costs them nothing they show.
	reorderWait = 200 * time.Millisecond
	// reorderSlots bounds the packets held (a power of two); a gap longer
	// than that is given up at once. 200 ms of 4 Mbit/s video is ~90 packets.
	reorderSlots = 512
)

// reorder hands one stream's packets on in sequence order, holding those
// that come after a gap until the gap is filled or reorderWait has passed.
// It belongs to the source goroutine.
type reorder struct {
	out     func(rtpItem) // takes packets in order
	held    [reorderSlots]rtpItem
	have    [reorderSlots]bool
	n       int    // packets held
	next    uint16 // the sequence number handed on next
	started bool
	waiting time.Time // when the current gap started to be waited for
}

func newReorder(out func(rtpItem)) *reorder { return &reorder{out: out} }

// push takes one packet that arrived at now.
func (r *reorder) push(it rtpItem, now time.Time) {
	if !r.started {
		r.started, r.next = true, it.seq
	}
	switch d := int16(it.seq - r.next); {
	case d < 0:
		return // a duplicate, or a resend that came after its gap was given up
	case d == 0:
		r.out(it)
		r.next++
		r.drain()
	case int(d) >= reorderSlots:
		r.flush()
		r.next = it.seq + 1
		r.out(it)
	default:
		i := it.seq % reorderSlots
		if r.have[i] {
			return // a duplicate
		}
		r.held[i], r.have[i] = it, true
		if r.n == 0 {
			r.waiting = now
		}
		r.n++
	}
}

// deadline reports when the gap waited for is given up (ok false: no gap).
func (r *reorder) deadline() (at time.Time, ok bool) {
	if r.n == 0 {
		return time.Time{}, false
	}
	return r.waiting.Add(reorderWait), true
}

// expire gives up the gap waited for if its time has come: the packets after
// it go on, and the depacketizer sees the loss.
func (r *reorder) expire(now time.Time) {
	if at, ok := r.deadline(); !ok || now.Before(at) {
		return
	}
	for !r.have[r.next%reorderSlots] {
		r.next++
	}
	r.drain()
	if r.n > 0 {
		r.waiting = now // a further gap: wait for it from now
	}
}

// drain hands on the held packets that follow r.next without a gap.
func (r *reorder) drain() {
	for r.n > 0 {
		i := r.next % reorderSlots
		if !r.have[i] {
			return
		}
		it := r.held[i]
		r.held[i], r.have[i] = rtpItem{}, false
		r.n--
		r.out(it)
		r.next++
	}
}

// flush hands on everything held, in order, gaps and all.
func (r *reorder) flush() {
	for r.n > 0 {
		for !r.have[r.next%reorderSlots] {
			r.next++
		}
		r.drain()
	}
}
