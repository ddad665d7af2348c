// Package simulcast makes one stream of a simulcast track for consumers that
// take a single one (FLV and RTMP viewers, the recorder).
package simulcast

import (
	"sync"
	"time"

	"github.com/openroom/openroom/sfu"
)

// layerStall is how long the layer followed may send nothing while a lower
// one flows before the Follower falls back to that one. Camera video sends a
// frame every 33-100 ms.
const layerStall = 400 * time.Millisecond

// Follower takes the highest active layer of a track out of the packets a
// sink gets (a sink without sfu.LayerDemand gets every layer's). It changes
// layer only at a keyframe of the new one, so a decoder never sees a torn
// stream. The layers of a simulcast track are separate RTP streams with their
// own sequence numbers and timestamp bases: a switch is rebased to continue
// where the old layer ended, so the consumer sees one continuous stream.
// Take may be called from each layer's reader goroutine at once.
type Follower struct {
	track    *sfu.Track
	now      func() time.Time
	onSwitch func(from, to int)

	mu    sync.Mutex // guards the fields below
	layer int        // the layer being taken, -1 before the first packet (keyframe, with simulcast)
	// The offsets added to the taken layer's numbers, and the last sequence
	// number and timestamp put out (after them), with its arrival (unix ns).
	seqOff  uint16
	tsOff   uint32
	started bool
	lastSeq uint16
	lastTS  uint32
	lastAt  int64
}

// Options configure a Follower; every field is optional.
type Options struct {
	// Now is the clock (time.Now): it picks the layer to ask a keyframe of
	// before any packet came.
	Now func() time.Time
	// OnSwitch is told when the Follower moves from one simulcast layer to
	// another (from is -1 for the first). It runs on the packet path.
	OnSwitch func(from, to int)
}

// New returns a Follower of t.
func New(t *sfu.Track, o Options) *Follower {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Follower{track: t, now: o.Now, onSwitch: o.OnSwitch, layer: -1}
}

// Take reports whether p belongs to the stream followed and, if so, its
// sequence number and timestamp in that stream. When the top active layer
// is not the one taken, it asks for a keyframe of it and moves there at
// that keyframe.
func (f *Follower) Take(p *sfu.ExtPacket) (seq uint16, ts uint32, ok bool) {
	f.mu.Lock()
	if f.track.Layers() > 1 {
		top := f.track.TopActiveLayer(p.Arrival)
		if p.Layer < f.layer && p.Arrival-f.lastAt > int64(layerStall) {
			// The layer taken has stopped (the publisher dropped it for lack of
			// uplink) while this one goes on: fall back now rather than freeze
			// until the track calls the layer idle.
			top = p.Layer
		}
		if f.layer != top && p.Layer == top {
			if !p.Keyframe {
				f.mu.Unlock()
				f.track.RequestLayerKeyframe(top)
				return 0, 0, false // the old layer (if any) goes on until the new one can start
			}
			from := f.layer
			f.switchTo(p)
			if f.onSwitch != nil {
				defer f.onSwitch(from, top)
			}
		}
		if p.Layer != f.layer {
			f.mu.Unlock()
			return 0, 0, false
		}
	} else if f.layer != p.Layer {
		f.switchTo(p)
	}
	seq, ts = p.SequenceNumber+f.seqOff, p.Timestamp+f.tsOff
	if int16(seq-f.lastSeq) > 0 || f.lastAt == 0 { // a resend comes after newer packets
		f.lastSeq, f.lastTS, f.lastAt = seq, ts, p.Arrival
	}
	f.mu.Unlock()
	return seq, ts, true
}

// RequestKeyframe asks for a keyframe of the layer taken (of the top active
// one before it takes any): keyframes of layers nobody sees would only cost
// the publisher's uplink.
func (f *Follower) RequestKeyframe() {
	if f.track.Layers() < 2 {
		f.track.RequestKeyframe()
		return
	}
	f.mu.Lock()
	l := f.layer
	f.mu.Unlock()
	if l < 0 {
		l = f.track.TopActiveLayer(f.now().UnixNano())
	}
	f.track.RequestLayerKeyframe(l)
}

// switchTo makes p's layer the one taken, rebased so that its first packet
// follows the last one put out: the next sequence number, and a timestamp
// advanced by the wall time between them. f.mu is held.
func (f *Follower) switchTo(p *sfu.ExtPacket) {
	f.layer = p.Layer
	if !f.started {
		f.started = true
		return
	}
	clock := int64(f.track.Codec().ClockRate)
	if clock == 0 {
		clock = 90000
	}
	step := max((p.Arrival-f.lastAt)*clock/int64(time.Second), 1)
	f.seqOff = f.lastSeq + 1 - p.SequenceNumber
	f.tsOff = f.lastTS + uint32(step) - p.Timestamp
}
