// Package reorder hands one RTP stream's packets on in sequence order.
package reorder

import "time"

// Slots bounds the packets a Buffer holds (a power of two); a gap longer
// than that is given up at once. 200 ms of 4 Mbit/s video is ~90 packets.
const Slots = 512

// Buffer hands one stream's packets on in sequence order, holding those that
// come after a gap until the gap is filled or the wait has passed. The SFU
// asks the publisher to resend what it lost (NACK), and the resend comes
// after the packets that followed it: without waiting, a depacketizer calls
// the frame lost and waits for a keyframe. A Buffer belongs to one goroutine.
type Buffer[T any] struct {
	out     func(T) // takes packets in order
	wait    time.Duration
	held    [Slots]T
	have    [Slots]bool
	n       int    // packets held
	next    uint16 // the sequence number handed on next
	started bool
	waiting time.Time // when the current gap started to be waited for
}

// New returns a Buffer that hands packets to out and waits up to wait for a
// missing one.
func New[T any](wait time.Duration, out func(T)) *Buffer[T] {
	return &Buffer[T]{out: out, wait: wait}
}

// Push takes packet it, of sequence number seq, that arrived at now.
func (r *Buffer[T]) Push(seq uint16, it T, now time.Time) {
	if !r.started {
		r.started, r.next = true, seq
	}
	switch d := int16(seq - r.next); {
	case d < 0:
		return // a duplicate, or a resend that came after its gap was given up
	case d == 0:
		r.out(it)
		r.next++
		r.drain()
	case int(d) >= Slots:
		r.Flush()
		r.next = seq + 1
		r.out(it)
	default:
		i := seq % Slots
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

// Deadline reports when the gap waited for is given up (ok false: no gap).
func (r *Buffer[T]) Deadline() (at time.Time, ok bool) {
	if r.n == 0 {
		return time.Time{}, false
	}
	return r.waiting.Add(r.wait), true
}

// Expire gives up the gap waited for if its time has come: the packets after
// it go on, and the consumer sees the loss.
func (r *Buffer[T]) Expire(now time.Time) {
	if at, ok := r.Deadline(); !ok || now.Before(at) {
		return
	}
	for !r.have[r.next%Slots] {
		r.next++
	}
	r.drain()
	if r.n > 0 {
		r.waiting = now // a further gap: wait for it from now
	}
}

// drain hands on the held packets that follow r.next without a gap.
func (r *Buffer[T]) drain() {
	var zero T
	for r.n > 0 {
		i := r.next % Slots
		if !r.have[i] {
			return
		}
		it := r.held[i]
		r.held[i], r.have[i] = zero, false
		r.n--
		r.out(it)
		r.next++
	}
}

// Flush hands on everything held, in order, gaps and all.
func (r *Buffer[T]) Flush() {
	for r.n > 0 {
		for !r.have[r.next%Slots] {
			r.next++
		}
		r.drain()
	}
}
