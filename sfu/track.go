package sfu

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Sink receives the packets of one Track. WriteRTP is called from the track's
// layer reader goroutines (one per simulcast layer, so possibly concurrently);
// it must not block and must not keep p after returning.
type Sink interface {
	WriteRTP(p *ExtPacket) error
}

// LayerDemand is implemented by sinks that receive only some layers (browser
// subscribers). A sink without it counts as wanting the top layer (FLV/RTMP
// viewers, recorders): dynacast keeps that layer on for it.
type LayerDemand interface {
	// DemandedLayer is the highest layer the sink wants now, -1 for none.
	DemandedLayer() int
}

// keyframeInterval throttles keyframe requests forwarded to a publisher: many
// subscribers joining or losing packets at once cost the publisher one keyframe.
const keyframeInterval = 500 * time.Millisecond

// Cache sizes in packets per layer. Video: about 1 s at 10 Mbit/s, 9 s at
// 1 Mbit/s, which covers any NACK still worth answering. Audio (Opus is not
// NACKed by browsers) keeps none.
const videoCacheSize = 1024

// layerIdle is how long a layer may go without packets before the allocator
// stops counting on it (a publisher paused it, or its uplink dropped it).
const layerIdle = 1500 * time.Millisecond

// Track is one media track published into a room — WebRTC (one or more
// simulcast layers), RTMP or anything that produces RTP: the receiver of that
// track. It reads each layer's packets once, learns what subscribers need
// (extended sequence numbers, keyframes, bitrates, audio level, resolution),
// caches video for NACKs, and fans packets out to its sinks. The packet path
// takes no shared lock: the sink list is an immutable slice swapped atomically.
type Track struct {
	id     string
	owner  string
	kind   webrtc.RTPCodecType
	source Source
	codec  webrtc.RTPCodecCapability
	ckind  codecKind
	layers []*layer
	now    func() time.Time

	sinks atomic.Pointer[[]Sink]
	// mu serializes sink list updates and dynacast, and guards the layers'
	// replay queues; on the packet path it is taken only to queue or run a
	// replay (once per keyframe per down track).
	mu sync.Mutex

	requestKeyframe func(layer int)                // asks the publisher for a keyframe of one layer; may be nil
	replayGOP       bool                           // see TrackOptions.ReplayGOP
	sendNACK        func(layer int, seqs []uint16) // see TrackOptions.SendNACK; may be nil
	spread          *Spreader                      // see TrackOptions.Spreader; nil: inline fan-out
	audioLevelExt   uint8                          // RFC 6464 extension ID, 0 when not negotiated
	onAudioLevel    atomic.Pointer[func(level uint8, voice bool)]

	// dynacast: the layers some sink wants, reported to the publisher when it changes.
	onLayers  func(active int) // called with mu held: the highest wanted layer (-1 none)
	lastWant  int              // guarded by mu: the last reported highest wanted layer
	downTimer *time.Timer      // guarded by mu: a pending report of fewer layers
	rateMu    sync.Mutex       // guards rates and rateAt
	rates     []float64        // bits/s per layer, sampled at most every rateWindow
	rateAt    time.Time
	rateBytes []uint64

	closeOnce sync.Once
	done      chan struct{}

	resume resumeGate // lets shed down tracks back (see resumeStart)

	// Counters read by metrics; atomics, never a shared lock.
	packetsIn, bytesIn, packetsOut, bytesOut, nacks, keyframes, stale atomic.Uint64
}

// layer is one simulcast encoding of a Track (a single-layer track has one).
type layer struct {
	rid   string
	ssrc  atomic.Uint32
	cache *packetCache // nil for audio

	// Owned by the layer's writer goroutine.
	seq, ts unwrapper
	rx      rxStats              // arrival statistics, for the publisher's connection quality
	nacks   nackTracker          // what is missing, to ask the publisher for (Track.sendNACK only)
	exts    [MaxBatch]ExtPacket  // handed to sinks; reused so the packet path does not allocate
	out     [MaxBatch]*ExtPacket // the batch being handed on (pointers into exts)
	lag     lagWindow            // how far behind the server stays (ExtPacket.Behind)
	spread  spreadState          // the runs a large fan-out is split into (Track.spread)
	pending struct{ n, packetsIn, bytesIn, packetsOut, bytesOut uint64 }

	bytes        atomic.Uint64 // payload bytes received, for the bitrate
	lastPacket   atomic.Int64  // unix ns
	width        atomic.Int32  // from the last keyframe, 0 unknown
	height       atomic.Int32
	lastKeyframe atomic.Int64 // unix ns of the last keyframe request sent
	deferred     *time.Timer  // guarded by Track.mu: a request postponed by the throttle

	sr atomic.Pointer[senderReport] // the last sender report (SetSenderReport), nil before one

	// GOP replay (Track.replayGOP only). auTS, auStart and keyTS are owned by
	// the writer goroutine, like replayPkt and replayBuf (scratch for reading
	// the cache back).
	auTS, auStart uint64        // the newest frame: its ExtTS and its first packet's ExtSeq
	keyTS         uint64        // ExtTS of the last keyframe
	keyStart      atomic.Uint64 // ExtSeq of the last keyframe's first packet, 0 none
	replayQ       []*DownTrack  // guarded by Track.mu: down tracks waiting for a replay
	replayDue     atomic.Bool   // replayQ is not empty: read on every packet instead of taking mu
	replayPkt     rtp.Packet
	replayBuf     []byte
}

// GOP replay limits. A replay waits in the queue for the layer's next packet;
// more subscribers than maxReplayQueue asking at once retry at the packet
// after. A GOP longer than maxReplayPackets so far is not replayed (the
// subscriber waits for the next keyframe): the burst would overflow the
// subscriber's pacer (maxQueued), which drops the oldest packets first — the
// keyframe.
const (
	maxReplayQueue   = 32
	maxReplayPackets = maxQueued / 2
)

const statsFlush = 64

// TrackStats are a track's counters since it was published.
type TrackStats struct {
	PacketsIn, BytesIn   uint64 // from the publisher
	PacketsOut, BytesOut uint64 // to all subscribers together
	NACKs                uint64 // packets subscribers asked to have resent
	KeyframeRequests     uint64 // PLIs/FIRs passed on to the publisher
	Stale                uint64 // packets not forwarded to a subscriber: the server got to them too late (maxForwardAge)
}

// Add sums two stats.
func (s TrackStats) Add(o TrackStats) TrackStats {
	return TrackStats{s.PacketsIn + o.PacketsIn, s.BytesIn + o.BytesIn, s.PacketsOut + o.PacketsOut,
		s.BytesOut + o.BytesOut, s.NACKs + o.NACKs, s.KeyframeRequests + o.KeyframeRequests, s.Stale + o.Stale}
}

// Stats reads the track's counters (media counts lag by up to statsFlush packets per layer).
func (t *Track) Stats() TrackStats {
	return TrackStats{t.packetsIn.Load(), t.bytesIn.Load(), t.packetsOut.Load(), t.bytesOut.Load(),
		t.nacks.Load(), t.keyframes.Load(), t.stale.Load()}
}

// CountNACKs records n packets a subscriber asked to have resent.
func (t *Track) CountNACKs(n int) { t.nacks.Add(uint64(n)) }

// TrackOptions describe a new Track.
type TrackOptions struct {
	ID    string                    // unique within the room
	Owner string                    // the publishing member's ID; also the stream ID subscribers see
	Kind  webrtc.RTPCodecType       // audio or video
	Codec webrtc.RTPCodecCapability // what the packets carry
	// Source is what the track carries (a camera, a screen...); "" is the
	// camera for video and the microphone for audio.
	Source Source
	// RIDs name the simulcast layers, lowest first; empty for a single layer.
	RIDs []string
	// RequestKeyframe asks the publisher for a keyframe (a PLI for WebRTC). Optional.
	RequestKeyframe func()
	// RequestLayerKeyframe asks for a keyframe of one layer; it wins over RequestKeyframe.
	RequestLayerKeyframe func(layer int)
	// SendNACK asks the publisher to resend packets of one layer (sequence
	// numbers as sent); nil: nobody asks (see nack.go). Called on the layer's
	// writer goroutine; seqs is reused after it returns.
	SendNACK func(layer int, seqs []uint16)
	// AudioLevelExtension is the negotiated ID of the RFC 6464 header extension (0: none).
	AudioLevelExtension uint8
	// OnLayers is told the highest layer any subscriber wants (-1: none), when it
	// changes, so the publisher can pause the others (dynacast). Optional.
	OnLayers func(highest int)
	// ReplayGOP is for publishers that cannot make keyframes on demand (RTMP):
	// a subscriber that needs a keyframe is sent, alone, the packets since
	// the last one from the track's cache, rather than waiting for the next.
	ReplayGOP bool
	// Spreader spreads the fan-out of each packet over several cores when the
	// track has many subscribers. Optional (nil: on the writer's goroutine).
	Spreader *Spreader
	// Now is the clock. Optional (time.Now).
	Now func() time.Time
}

// NewTrack returns a Track with no sinks.
func NewTrack(o TrackOptions) *Track {
	if o.Now == nil {
		o.Now = time.Now
	}
	t := &Track{
		id: o.ID, owner: o.Owner, kind: o.Kind, source: o.Source, codec: o.Codec, ckind: kindOfCodec(o.Codec.MimeType),
		now: o.Now, done: make(chan struct{}), audioLevelExt: o.AudioLevelExtension,
		onLayers: o.OnLayers, lastWant: max(len(o.RIDs), 1) - 1, // publishers start with every layer on
		replayGOP: o.ReplayGOP && o.Kind == webrtc.RTPCodecTypeVideo, sendNACK: o.SendNACK,
		spread: o.Spreader,
	}
	switch {
	case o.RequestLayerKeyframe != nil:
		t.requestKeyframe = o.RequestLayerKeyframe
	case o.RequestKeyframe != nil:
		f := o.RequestKeyframe
		t.requestKeyframe = func(int) { f() }
	}
	if t.source == "" {
		t.source = defaultSource(o.Kind)
	}
	n := max(len(o.RIDs), 1)
	for i := range n {
		l := &layer{seq: unwrapper{bits: 16}, ts: unwrapper{bits: 32}}
		if i < len(o.RIDs) {
			l.rid = o.RIDs[i]
		}
		if o.Kind == webrtc.RTPCodecTypeVideo {
			l.cache = newPacketCache(videoCacheSize)
		}
		t.layers = append(t.layers, l)
	}
	t.rates = make([]float64, n)
	t.rateBytes = make([]uint64, n)
	empty := []Sink{}
	t.sinks.Store(&empty)
	return t
}

func (t *Track) ID() string                       { return t.id }
func (t *Track) Owner() string                    { return t.owner }
func (t *Track) Kind() webrtc.RTPCodecType        { return t.kind }
func (t *Track) Codec() webrtc.RTPCodecCapability { return t.codec }

// Source is what the track carries: a camera, a microphone, a screen or its sound.
func (t *Track) Source() Source { return t.source }

// AudioLevelExtension is the header extension ID its packets carry the RFC
// 6464 audio level in, 0 when none (a relay to another node passes it on).
func (t *Track) AudioLevelExtension() uint8 { return t.audioLevelExt }

// ReplaysGOP reports whether subscribers needing a keyframe are sent the
// cached GOP (TrackOptions.ReplayGOP): its publisher cannot make one on demand.
func (t *Track) ReplaysGOP() bool { return t.replayGOP }

// Layers is the number of simulcast layers (1 without simulcast).
func (t *Track) Layers() int { return len(t.layers) }

// RIDs names the layers, lowest first; nil for a single-layer track.
func (t *Track) RIDs() []string {
	if len(t.layers) < 2 {
		return nil
	}
	r := make([]string, len(t.layers))
	for i, l := range t.layers {
		r[i] = l.rid
	}
	return r
}

// Done is closed when the track ends.
func (t *Track) Done() <-chan struct{} { return t.done }

// Close ends the track. Sinks stay attached but receive nothing more.
func (t *Track) Close() {
	t.closeOnce.Do(func() {
		close(t.done)
		t.mu.Lock()
		for _, l := range t.layers {
			if l.deferred != nil {
				l.deferred.Stop()
			}
		}
		if t.downTimer != nil {
			t.downTimer.Stop()
		}
		t.mu.Unlock()
	})
}

// SetAudioLevelObserver sets f to be called with every audio packet's RFC 6464
// level (0 loudest .. 127 silence) and voice flag. f runs on the packet path.
func (t *Track) SetAudioLevelObserver(f func(level uint8, voice bool)) {
	if f == nil {
		t.onAudioLevel.Store(nil)
		return
	}
	t.onAudioLevel.Store(&f)
}

// WriteRTP receives one packet of a single-layer track (layer 0). Call it from
// one goroutine at a time.
func (t *Track) WriteRTP(p *rtp.Packet) { t.WriteLayerRTP(0, p) }

// WriteLayerRTP receives one packet of layer i: one goroutine per layer.
func (t *Track) WriteLayerRTP(i int, p *rtp.Packet) { t.WriteLayerRTPReceived(i, p, 0) }

// WriteLayerRTPReceived is WriteLayerRTP for a packet that reached the
// server's socket at received (unix ns, 0 unknown): video the server got to
// too late is not forwarded (see maxForwardAge).
func (t *Track) WriteLayerRTPReceived(i int, p *rtp.Packet, received int64) {
	if i < 0 || i >= len(t.layers) {
		return
	}
	l := t.layers[i]
	l.out[0] = t.take(i, l, 0, p, received)
	t.send(l, l.out[:1])
}

// ReceivedPacket is a publisher's packet and when it reached the server's
// socket (unix ns, 0 unknown).
type ReceivedPacket struct {
	Packet   *rtp.Packet
	Received int64
}

// MaxBatch is the most packets WriteLayerBatch hands on together; a longer
// batch goes in several.
const MaxBatch = 32

// WriteLayerBatch receives packets of layer i that were waiting together,
// oldest first: each is taken in as by WriteLayerRTPReceived, then every sink
// gets all of them before the next sink gets any. A keyframe that reached the
// server at once so goes to each subscriber in one run, which the socket can
// send as one segmented message (udpbatch), instead of each packet to every
// subscriber in turn. It comes to the same order for each sink.
func (t *Track) WriteLayerBatch(i int, pkts []ReceivedPacket) {
	if i < 0 || i >= len(t.layers) {
		return
	}
	l := t.layers[i]
	for len(pkts) > 0 {
		n := min(len(pkts), MaxBatch)
		for k := range n {
			l.out[k] = t.take(i, l, k, pkts[k].Packet, pkts[k].Received)
		}
		t.send(l, l.out[:n])
		pkts = pkts[n:]
	}
}

// take does the bookkeeping of one received packet of layer i (sequence
// numbers, arrival statistics, NACKs, the cache, keyframes, audio levels) and
// returns it as the k-th packet of the batch being handed on. A GOP replay
// due is done at the first packet of a batch only, before any of the batch
// goes to the sinks: the replayed packets end just before it.
func (t *Track) take(i int, l *layer, k int, p *rtp.Packet, received int64) *ExtPacket {
	now := t.now().UnixNano()
	l.ssrc.Store(p.SSRC)
	ext := &l.exts[k]
	prevHighest, started := l.seq.highest, l.seq.started
	*ext = ExtPacket{Packet: p, Layer: i, ExtSeq: l.seq.unwrap(uint64(p.SequenceNumber)),
		ExtTS: l.ts.unwrap(uint64(p.Timestamp)), Arrival: now, Received: received}
	if started && ext.ExtSeq <= prevHighest {
		// A resend or a duplicate: its number's receive time may be its
		// first copy's (a resend the server asked for while the first was
		// only late). It is no sign that the server falls behind.
		ext.Received = 0
	}
	if ext.Received != 0 {
		ext.Behind = l.lag.note(now, time.Duration(now-ext.Received))
	}
	l.rx.note(ext.ExtSeq, len(p.Payload) > 0 && (!started || ext.ExtSeq > prevHighest), ext.ExtTS, now, t.codec.ClockRate)
	if t.sendNACK != nil {
		l.nacks.note(ext.ExtSeq, prevHighest, started, now)
		if seqs := l.nacks.due(now); len(seqs) > 0 {
			t.sendNACK(i, seqs)
		}
	}
	n := uint64(len(p.Payload))
	l.bytes.Add(n) // padding is the publisher probing, not the layer's cost
	if n > 0 {     // padding (bandwidth probes) keeps flowing on layers that carry no picture
		l.lastPacket.Store(now)
	}
	if t.kind == webrtc.RTPCodecTypeVideo {
		if ext.Keyframe = isKeyframe(t.ckind, p.Payload); ext.Keyframe {
			l.learnSize(t.ckind, p.Payload)
		}
		if l.cache != nil {
			l.cache.put(ext.ExtSeq, p)
		}
		if t.replayGOP {
			l.noteFrame(ext)
			if k == 0 && l.replayDue.Load() && ext.ExtSeq == l.seq.highest {
				pk, b := t.replay(i, l, ext)
				l.pending.packetsOut += pk
				l.pending.bytesOut += b
			}
		}
	} else if t.audioLevelExt != 0 {
		if f := t.onAudioLevel.Load(); f != nil {
			if b := p.GetExtension(t.audioLevelExt); len(b) > 0 {
				(*f)(b[0]&0x7f, b[0]&0x80 != 0)
			}
		}
	}
	return ext
}

// send hands a batch of taken packets to every sink and counts them.
func (t *Track) send(l *layer, pkts []*ExtPacket) {
	sinks := *t.sinks.Load()
	t.spread.fanout(&l.spread, sinks, pkts)
	k := uint64(len(sinks))
	c := &l.pending
	for i, p := range pkts {
		pkts[i] = nil // keep no packet alive
		n := uint64(len(p.Payload))
		c.n++
		c.packetsIn++
		c.bytesIn += n
		c.packetsOut += k
		c.bytesOut += n * k
		if c.n >= statsFlush {
			t.packetsIn.Add(c.packetsIn)
			t.bytesIn.Add(c.bytesIn)
			t.packetsOut.Add(c.packetsOut)
			t.bytesOut.Add(c.bytesOut)
			*c = struct{ n, packetsIn, bytesIn, packetsOut, bytesOut uint64 }{}
		}
	}
}

// noteFrame follows where the last keyframe starts: the first packet of the
// frame (all its packets share a timestamp) in which a keyframe packet came,
// which may come before it (an access unit delimiter, SEI).
func (l *layer) noteFrame(p *ExtPacket) {
	if len(p.Payload) == 0 {
		return // padding belongs to no frame
	}
	switch {
	case p.ExtTS != l.auTS && p.ExtSeq == l.seq.highest: // a new frame
		l.auTS, l.auStart = p.ExtTS, p.ExtSeq
	case p.ExtTS == l.auTS && p.ExtSeq < l.auStart: // the newest frame's head, late
		l.auStart = p.ExtSeq
		if l.keyTS == l.auTS {
			l.keyStart.Store(p.ExtSeq)
		}
	}
	if p.Keyframe && p.ExtTS == l.auTS && p.ExtTS != l.keyTS {
		l.keyTS = p.ExtTS
		l.keyStart.Store(l.auStart)
	}
}

// requestReplay queues d for a replay of layer i's GOP, done on the layer's
// next packet (see replay). Only d gets it: every other sink would see the
// stream jump back. It reports false when the queue is full.
func (t *Track) requestReplay(i int, d *DownTrack) bool {
	l := t.layers[i]
	t.mu.Lock()
	defer t.mu.Unlock()
	if slices.Contains(l.replayQ, d) {
		return true
	}
	if len(l.replayQ) >= maxReplayQueue {
		return false
	}
	l.replayQ = append(l.replayQ, d)
	l.replayDue.Store(true)
	return true
}

// replay sends each queued down track of layer i the packets from the last
// keyframe up to live (the newest, already cached), before live goes to the
// sinks: the replayed packets come first, and live follows them. It reports
// the packets and payload bytes sent.
func (t *Track) replay(i int, l *layer, live *ExtPacket) (pkts, bytes uint64) {
	t.mu.Lock()
	q := l.replayQ
	l.replayQ = nil
	l.replayDue.Store(false)
	t.mu.Unlock()
	key := l.keyStart.Load()
	if key == 0 || key >= live.ExtSeq || live.ExtSeq-key > maxReplayPackets {
		return 0, 0 // none, or live starts it, or too long: the down tracks wait for the next
	}
	sinks := *t.sinks.Load()
	for _, d := range q {
		if !slices.Contains(sinks, Sink(d)) {
			continue // unsubscribed since
		}
		p, b := d.replay(l, i, key, live)
		pkts += p
		bytes += b
	}
	return pkts, bytes
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
	t.updateDemandLocked()
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
	t.updateDemandLocked()
}

// SinkCount reports how many sinks are attached.
func (t *Track) SinkCount() int { return len(*t.sinks.Load()) }

// DemandChanged tells the track that a sink's demanded layer changed
// (dynacast recomputes which layers the publisher must send).
func (t *Track) DemandChanged() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.updateDemandLocked()
}

// dynacastHold is how long a layer nobody wants keeps being sent before the
// publisher is told to pause it: a subscriber that drops a layer for a moment
// (a keyframe burst, a probe) should find it still running when it returns.
const dynacastHold = 3 * time.Second

func (t *Track) updateDemandLocked() {
	if t.onLayers == nil || len(t.layers) < 2 {
		return
	}
	want := t.wantedLocked()
	switch {
	case want > t.lastWant:
		if t.downTimer != nil {
			t.downTimer.Stop()
			t.downTimer = nil
		}
		t.lastWant = want
		t.onLayers(want)
	case want < t.lastWant && t.downTimer == nil:
		t.downTimer = time.AfterFunc(dynacastHold, func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			t.downTimer = nil
			select {
			case <-t.done:
				return
			default:
			}
			if w := t.wantedLocked(); w < t.lastWant {
				t.lastWant = w
				t.onLayers(w)
			}
		})
	}
}

// wantedLocked is the highest layer any sink wants (-1: none).
func (t *Track) wantedLocked() int {
	want := -1
	for _, s := range *t.sinks.Load() {
		d := len(t.layers) - 1
		if ld, ok := s.(LayerDemand); ok {
			d = ld.DemandedLayer()
		}
		want = max(want, min(d, len(t.layers)-1))
	}
	return want
}

// LayerInfo describes one layer as the allocator sees it.
type LayerInfo struct {
	Bitrate       float64 // bits/s, smoothed, while it last flowed (0 before it has)
	Width, Height int     // from the last keyframe; 0 when unknown
	Active        bool    // packets arrived within layerIdle
}

// rateWindow is how often layer bitrates are recomputed.
const rateWindow = 500 * time.Millisecond

// LayerInfos samples the layers' bitrates (at most every rateWindow; callers
// share the sample) and reports them with their resolution and activity.
func (t *Track) LayerInfos(dst []LayerInfo) []LayerInfo {
	now := t.now()
	t.rateMu.Lock()
	if el := now.Sub(t.rateAt); el >= rateWindow {
		for i, l := range t.layers {
			b := l.bytes.Load()
			if b == t.rateBytes[i] && !t.rateAt.IsZero() {
				// Nothing came: the layer is paused (dynacast) or stalled. Its
				// rate from when it flowed is still the best guess of what it
				// costs when it resumes; decaying it to 0 would make the
				// allocator think it free, and resuming it would flood the link.
				continue
			}
			r := float64(b-t.rateBytes[i]) * 8 / el.Seconds()
			if t.rateAt.IsZero() {
				r = 0
			}
			// Smooth: a keyframe burst should not flip the allocator's choice.
			if t.rates[i] == 0 {
				t.rates[i] = r
			} else {
				t.rates[i] = 0.6*t.rates[i] + 0.4*r
			}
			t.rateBytes[i] = b
		}
		t.rateAt = now
	}
	dst = dst[:0]
	for i, l := range t.layers {
		dst = append(dst, LayerInfo{Bitrate: t.rates[i], Width: int(l.width.Load()), Height: int(l.height.Load()),
			Active: now.UnixNano()-l.lastPacket.Load() < int64(layerIdle)})
	}
	t.rateMu.Unlock()
	return dst
}

// RequestKeyframe asks the publisher for a keyframe of every layer.
func (t *Track) RequestKeyframe() bool {
	sent := false
	for i := range t.layers {
		sent = t.RequestLayerKeyframe(i) || sent
	}
	return sent
}

// RequestLayerKeyframe asks the publisher for a keyframe of layer i, at most
// once per keyframeInterval. A request inside the interval is not lost: one
// request is sent when the interval ends, so a subscriber that connects just
// after another still gets its keyframe soon. It reports whether a request
// was sent now.
func (t *Track) RequestLayerKeyframe(i int) bool {
	if t.requestKeyframe == nil || t.kind != webrtc.RTPCodecTypeVideo || i < 0 || i >= len(t.layers) {
		return false
	}
	l := t.layers[i]
	now := t.now().UnixNano()
	last := l.lastKeyframe.Load()
	if last != 0 && now-last < int64(keyframeInterval) {
		t.deferKeyframe(i, time.Duration(int64(keyframeInterval)-(now-last)))
		return false
	}
	if !l.lastKeyframe.CompareAndSwap(last, now) {
		return false // another subscriber just asked
	}
	t.keyframes.Add(1)
	t.requestKeyframe(i)
	return true
}

func (t *Track) deferKeyframe(i int, wait time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.layers[i]
	if l.deferred != nil {
		return // one postponed request is enough
	}
	select {
	case <-t.done:
		return
	default:
	}
	l.deferred = time.AfterFunc(wait, func() {
		t.mu.Lock()
		l.deferred = nil
		t.mu.Unlock()
		select {
		case <-t.done:
		default:
			l.lastKeyframe.Store(t.now().UnixNano())
			t.keyframes.Add(1)
			t.requestKeyframe(i)
		}
	})
}

// senderReport is what a publisher's RTCP sender report says of one layer:
// the NTP time (its capture clock) that goes with an RTP timestamp. The pair
// is stored as one pointer so that a reader never sees one report's NTP time
// with another's RTP timestamp.
type senderReport struct {
	ntp   uint64
	rtpTS uint32
}

// SetSenderReport records layer's last sender report: the NTP time that
// goes with an RTP timestamp (for aligning layers and for lip sync). It
// allocates once per report, never on the packet path. A Peer calls it for
// the reports its publisher sends; other producers of RTP (and tests) may.
func (t *Track) SetSenderReport(layer int, ntp uint64, rtpTS uint32) {
	if layer < 0 || layer >= len(t.layers) {
		return
	}
	t.layers[layer].sr.Store(&senderReport{ntp: ntp, rtpTS: rtpTS})
}

// SenderReport is layer's last sender report: the publisher's NTP time of
// the RTP timestamp rtpTS, both of one report. ok is false before the first
// report (and for a producer that sends none, such as the RTMP bridge).
func (t *Track) SenderReport(layer int) (ntp uint64, rtpTS uint32, ok bool) {
	if layer < 0 || layer >= len(t.layers) {
		return 0, 0, false
	}
	sr := t.layers[layer].sr.Load()
	if sr == nil {
		return 0, 0, false
	}
	return sr.ntp, sr.rtpTS, true
}

// TopActiveLayer is the highest layer that received packets within layerIdle
// (0 when none): what a single-layer consumer such as an FLV viewer takes.
func (t *Track) TopActiveLayer(now int64) int {
	for i := len(t.layers) - 1; i > 0; i-- {
		if now-t.layers[i].lastPacket.Load() < int64(layerIdle) {
			return i
		}
	}
	return 0
}
