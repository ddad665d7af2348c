package sfu

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Sink receives the RTP packets of one Track. WriteRTP is called from the track's
// single writer goroutine; it must not block and must not keep p after returning.
type Sink interface {
	WriteRTP(p *rtp.Packet) error
}

// keyframeInterval throttles keyframe requests forwarded to a publisher: many
// subscribers joining or losing packets at once cost the publisher one keyframe.
const keyframeInterval = 500 * time.Millisecond

// Track is one media track published into a room: WebRTC, RTMP or anything that
// produces RTP. Its owner writes packets with WriteRTP; the Track fans them out
// to its sinks. The packet path takes no lock: the sink list is an immutable
// slice swapped atomically on subscribe and unsubscribe.
type Track struct {
	id    string
	owner string
	kind  webrtc.RTPCodecType
	codec webrtc.RTPCodecCapability

	sinks atomic.Pointer[[]Sink]
	mu    sync.Mutex // serializes sink list updates; never held on the packet path

	requestKeyframe func() // asks the publisher for a keyframe; may be nil
	lastKeyframe    atomic.Int64
	now             func() time.Time
	deferred        *time.Timer // guarded by mu: a request postponed by the throttle

	closeOnce sync.Once
	done      chan struct{}

	// Counters: written by the track's single writer goroutine (and subscribers'
	// RTCP readers for NACKs), read by metrics. Atomic, never a shared lock.
	packetsIn, bytesIn, packetsOut, bytesOut, nacks, keyframes atomic.Uint64
	// pending counts owned by the writer goroutine, flushed to the atomics every
	// statsFlush packets: a locked add per packet would cost more than forwarding.
	pending struct{ n, packetsIn, bytesIn, packetsOut, bytesOut uint64 }
}

const statsFlush = 64

// TrackStats are a track's counters since it was published.
type TrackStats struct {
	PacketsIn, BytesIn   uint64 // from the publisher
	PacketsOut, BytesOut uint64 // to all subscribers together
	NACKs                uint64 // packets subscribers asked to have resent
	KeyframeRequests     uint64 // PLIs/FIRs passed on to the publisher
}

// Add sums two stats.
func (s TrackStats) Add(o TrackStats) TrackStats {
	return TrackStats{s.PacketsIn + o.PacketsIn, s.BytesIn + o.BytesIn, s.PacketsOut + o.PacketsOut,
		s.BytesOut + o.BytesOut, s.NACKs + o.NACKs, s.KeyframeRequests + o.KeyframeRequests}
}

// Stats reads the track's counters (media counts lag by up to statsFlush packets).
func (t *Track) Stats() TrackStats {
	return TrackStats{t.packetsIn.Load(), t.bytesIn.Load(), t.packetsOut.Load(), t.bytesOut.Load(),
		t.nacks.Load(), t.keyframes.Load()}
}

// CountNACKs records n packets a subscriber asked to have resent.
func (t *Track) CountNACKs(n int) { t.nacks.Add(uint64(n)) }

// TrackOptions describe a new Track.
type TrackOptions struct {
	ID    string                    // unique within the room
	Owner string                    // the publishing member's ID; also the stream ID subscribers see
	Kind  webrtc.RTPCodecType       // audio or video
	Codec webrtc.RTPCodecCapability // what the packets carry
	// RequestKeyframe asks the publisher for a keyframe (a PLI for WebRTC). Optional.
	RequestKeyframe func()
	// Now is the clock used for throttling. Optional (time.Now).
	Now func() time.Time
}

// NewTrack returns a Track with no sinks.
func NewTrack(o TrackOptions) *Track {
	if o.Now == nil {
		o.Now = time.Now
	}
	t := &Track{
		id: o.ID, owner: o.Owner, kind: o.Kind, codec: o.Codec,
		requestKeyframe: o.RequestKeyframe, now: o.Now, done: make(chan struct{}),
	}
	empty := []Sink{}
	t.sinks.Store(&empty)
	return t
}

func (t *Track) ID() string                       { return t.id }
func (t *Track) Owner() string                    { return t.owner }
func (t *Track) Kind() webrtc.RTPCodecType        { return t.kind }
func (t *Track) Codec() webrtc.RTPCodecCapability { return t.codec }

// Done is closed when the track ends.
func (t *Track) Done() <-chan struct{} { return t.done }

// Close ends the track. Sinks stay attached but receive nothing more.
func (t *Track) Close() {
	t.closeOnce.Do(func() {
		close(t.done)
		t.mu.Lock()
		if t.deferred != nil {
			t.deferred.Stop()
		}
		t.mu.Unlock()
	})
}

// WriteRTP forwards p to every sink. Call it from one goroutine at a time.
func (t *Track) WriteRTP(p *rtp.Packet) {
	sinks := *t.sinks.Load()
	for _, s := range sinks {
		_ = s.WriteRTP(p) // one slow or broken subscriber must not stop the others
	}
	n, k := uint64(len(p.Payload)), uint64(len(sinks))
	c := &t.pending
	c.n++
	c.packetsIn++
	c.bytesIn += n
	c.packetsOut += k
	c.bytesOut += n * k
	if c.n == statsFlush {
		t.packetsIn.Add(c.packetsIn)
		t.bytesIn.Add(c.bytesIn)
		t.packetsOut.Add(c.packetsOut)
		t.bytesOut.Add(c.bytesOut)
		*c = struct{ n, packetsIn, bytesIn, packetsOut, bytesOut uint64 }{}
	}
}

// AddSink subscribes s. Adding the same sink twice has no effect.
func (t *Track) AddSink(s Sink) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.sinks.Load()
	if slices.Contains(old, s) {
		return
	}
	next := make([]Sink, len(old), len(old)+1)
	copy(next, old)
	next = append(next, s)
	t.sinks.Store(&next)
}

// RemoveSink unsubscribes s.
func (t *Track) RemoveSink(s Sink) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.sinks.Load()
	i := slices.Index(old, s)
	if i < 0 {
		return
	}
	next := make([]Sink, 0, len(old)-1)
	next = append(next, old[:i]...)
	next = append(next, old[i+1:]...)
	t.sinks.Store(&next)
}

// SinkCount reports how many sinks are attached.
func (t *Track) SinkCount() int { return len(*t.sinks.Load()) }

// RequestKeyframe asks the publisher for a keyframe, at most once per
// keyframeInterval. A request inside the interval is not lost: one request is
// sent when the interval ends, so a subscriber that connects just after another
// still gets its keyframe soon. It reports whether a request was sent now.
func (t *Track) RequestKeyframe() bool {
	if t.requestKeyframe == nil || t.kind != webrtc.RTPCodecTypeVideo {
		return false
	}
	now := t.now().UnixNano()
	last := t.lastKeyframe.Load()
	if last != 0 && now-last < int64(keyframeInterval) {
		t.deferKeyframe(time.Duration(int64(keyframeInterval) - (now - last)))
		return false
	}
	if !t.lastKeyframe.CompareAndSwap(last, now) {
		return false // another subscriber just asked
	}
	t.keyframes.Add(1)
	t.requestKeyframe()
	return true
}

func (t *Track) deferKeyframe(wait time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.deferred != nil {
		return // one postponed request is enough
	}
	select {
	case <-t.done:
		return
	default:
	}
	t.deferred = time.AfterFunc(wait, func() {
		t.mu.Lock()
		t.deferred = nil
		t.mu.Unlock()
		select {
		case <-t.done:
		default:
			t.lastKeyframe.Store(t.now().UnixNano())
			t.keyframes.Add(1)
			t.requestKeyframe()
		}
	})
}
