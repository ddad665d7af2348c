package recording

import "sync"

type op uint8

const (
	opPacket op = iota // a packet of sink's track
	opAdd              // sink's track was offered
	opRemove           // sink's track was taken back
)

// item is one packet or one track change, in the order they happened.
type item struct {
	op      op
	sink    *trackSink
	seq     uint16 // in the stream the sink follows (see simulcast.Follower)
	ts      uint32
	marker  bool
	key     bool   // the packet is (part of) a keyframe
	layer   uint8  // the simulcast layer the packet came on, and its timestamp there:
	layerTS uint32 // the layer's last sender report when the packet came (srNTP, srTS; 0: none yet) maps it to capture time
	srNTP   uint64
	srTS    uint32
	stamped bool   // arrival is the socket's time: from a publisher over the network, which sends sender reports
	arrival int64  // unix ns: when the packet came, or the track was offered
	payload []byte // a copy, owned by the writer
}

// queue hands items from the tracks' goroutines to the writer: a slice
// swapped under a short lock, bounded in bytes. Track changes are never
// dropped (there are few), packets are when the writer falls behind.
type queue struct {
	wake chan struct{} // a token when items were added (capacity 1)

	mu     sync.Mutex // guards items, bytes and closed
	items  []item
	bytes  int  // payload and overhead of the packets in items
	closed bool // no more items are taken
}

func (q *queue) init() { q.wake = make(chan struct{}, 1) }

// packet queues a packet, copying its payload; it reports false when the
// queue is full (or closed) and the packet was dropped.
func (q *queue) packet(it item) bool {
	n := len(it.payload) + packetOverhead
	it.payload = append([]byte(nil), it.payload...)
	q.mu.Lock()
	if q.closed || q.bytes+n > queueBytes {
		closed := q.closed
		q.mu.Unlock()
		return closed // packets after the end are not losses
	}
	q.items = append(q.items, it)
	q.bytes += n
	q.mu.Unlock()
	q.signal()
	return true
}

// control queues a track change.
func (q *queue) control(it item) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.items = append(q.items, it)
	q.mu.Unlock()
	q.signal()
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take returns the items queued so far (recycling buf, which the caller has
// finished with) and whether the queue was closed.
func (q *queue) take(buf []item) ([]item, bool) {
	clear(buf)
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items, q.bytes = buf[:0], 0
	return items, q.closed
}

// close makes the queue refuse items; the writer takes what is left and stops.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}
