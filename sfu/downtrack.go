package sfu

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openroom/openroom/sfu/rtcpin"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// ErrCodecNotNegotiated means the subscriber cannot receive the publisher's codec.
var ErrCodecNotNegotiated = errors.New("subscriber does not support the track's codec")

// binding is what pion hands a local track when it is negotiated.
type binding struct {
	ssrc webrtc.SSRC
	pt   webrtc.PayloadType
	w    webrtc.TrackLocalWriter
}

// nackMaxAge: older packets are not resent; the subscriber's jitter buffer has
// given up on them and a keyframe repairs the picture instead.
const nackMaxAge = time.Second

// Drop, don't queue: media the server got to this long after it reached the
// socket (an overloaded server falls behind its sockets) is not forwarded. A
// real-time call is better served by a picture that waits for a fresh
// keyframe than by seconds-old video, and the CPU not spent on stale packets
// is what lets the server catch up. Audio is held to a looser bound: a
// jitter buffer absorbs some lateness, and speech gaps are worse than frozen
// video. At 200 ms for video, a server near its capacity (300 subscribers on
// 66 % of a core) lost 11-13 % in bursts: one keyframe's fan-out made the
// packets behind it late, every subscriber then waited for a keyframe, and
// that keyframe's fan-out did the same. Shedding (below) broke that loop; at
// 300 ms a server at 1 x 300 drops nothing, and an overloaded one delivers
// with a p99 under 500 ms (400 ms let scheduling delays after the check push
// it over: docs/benchmarks.md).
const (
	maxForwardAge         = 300 * time.Millisecond
	maxAudioForwardAge    = 400 * time.Millisecond
	maxKeyframeForwardAge = 500 * time.Millisecond // see dropStale
)

// Shedding: a video down track that dropped stale video stays off for a
// while (shedMin, doubling to shedMax while the server stays behind, each
// stretch 0.5-1.5x at random) before it asks for a keyframe again. Without
// it every subscriber of an overloaded server dropped the same late packet,
// asked for the same keyframe, and resumed at once, so the server fell
// behind again within a second or two and what it delivered was up to a
// second old. Shed at random, the subscribers it can serve get fresh media,
// the others get audio and rejoin the video a few at a time: once its shed
// is over, a down track resumes only when its track's gate lets it (see
// resumeStart), so that the server does not overshoot again.
//
// Stale video sheds only where shedding gives the server something back: a
// track with more than shedFanout sinks, or a server that has been behind
// for a while (shedLag, over a whole lagEpoch). Elsewhere late video means
// the machine stalled the server (descheduled on a busy machine, a pause),
// not that its few down tracks cost too much: it is dropped, and the first
// fresh packet asks for a keyframe at once. (Shed, a starved CI machine's
// three-member room froze 2-4 s at a time.) The lag alone does not tell an
// overloaded large room: its server catches up for a moment after every
// drop, so the least lag of an epoch stays low (tried: at 1 x 300 on 35 %
// of a core the per-second p99 went from 0.6 to 1 s).
//
// Shedding begins before video is stale: while the server stays shedFrom
// behind its socket (ExtPacket.Behind: a keyframe's fan-out makes packets
// late for a moment, which is no reason), each video down track is drawn once
// a lagEpoch and shed with a chance that grows to shedShare at maxForwardAge
// (random early detection, as queues do), so that a server falling behind
// sheds some subscribers, not all of them at once. (A chance per packet, as
// before, shed nearly every subscriber within a second at 250 ms: a 1 Mbit/s
// video has 50 packets an epoch.)
const (
	shedMin    = time.Second
	shedMax    = 2 * time.Second
	shedReset  = 10 * time.Second       // a shed this long after the last one starts at shedMin again
	shedLag    = 100 * time.Millisecond // behind this long over a whole lagEpoch, any room sheds
	shedFanout = resumeStart            // a room this small never waits at the resume gate either
	shedFrom   = 200 * time.Millisecond
	shedShare  = 0.25
)

// What else a NACKed number can come to, after the sequencer's verdicts
// (DownTrack.nackVerdicts).
const (
	nackBeforeKeyframe resendVerdict = resendGone + 1 + iota // sent before the last keyframe, and not resent
	nackTooOld                                               // older than nackMaxAge
	nackNotCached                                            // gone from the layer's cache
	nackOverBudget                                           // over the resend budget
	nackOutcomes                                             // how many outcomes there are
)

// DownTrack sends one Track to one WebRTC subscriber. It implements
// webrtc.TrackLocal (so it can be added to a PeerConnection) and Sink (so the
// Track feeds it). Its forwarder picks the layer and rewrites SSRC, payload
// type, sequence numbers, timestamps and VP8 picture IDs; packets go out
// through the subscriber's pacer; NACKs are answered from the Track's cache.
type DownTrack struct {
	track  *Track
	bound  atomic.Pointer[binding]
	pacer  *pacer      // nil: write straight to pion (tests, benchmarks)
	direct *directSend // the subscriber's own send path; nil: pion's
	now    func() time.Time

	mu       sync.Mutex // guards fwd, seqmap, hdr, scratch, padBuf, key*, repairAt, shed*: packets of two layers may arrive at once
	fwd      *forwarder
	seqmap   *sequencer    // nil for audio
	keySeen  bool          // a keyframe was forwarded; keyTS and keyAt are the last one's
	keyTS    uint32        // its rewritten timestamp: the packets that carry it are keyframe packets
	keyAt    int64         // unix ns its first packet was sent: losses before it no longer matter
	keyLayer int           // its layer ...
	keyInTS  uint64        // ... and its timestamp as the publisher sent it (see dropStale)
	repairAt int64         // unix ns a keyframe was last asked for to repair a loss (see handleNACK)
	shedding bool          // the video is shed: off until shedTill, then until the track's resume gate lets it back
	shedTill int64         // unix ns video stays off until, after a stale drop (see shedMin)
	shedFor  time.Duration // the last shed's length, before its random stretch
	hdr      rtp.Header
	hdrExt   [1]rtp.Extension
	scratch  []byte // VP8 payload copy for picture ID rewriting

	target  atomic.Int32 // layer to forward, -1 pause
	demand  atomic.Int32 // layer the allocator would send if the publisher sent it; read by dynacast
	sent    uint64       // guarded by mu
	sentB   uint64       // guarded by mu
	resent  atomic.Uint64
	repairs atomic.Uint64 // keyframes asked for because a lost packet could not be resent
	stale   atomic.Uint64 // packets not forwarded because the server got to them too late
	drawAt  atomic.Int64  // unix ns d was last drawn for early shedding (shedDraw)
	// nackVerdicts counts what NACKed numbers came to (for debug logs), by
	// resendVerdict and the outcomes after it (nackBeforeKeyframe...).
	nackVerdicts [nackOutcomes]atomic.Uint64
	lossQ8       atomic.Uint32 // last receiver report: fraction lost (of 256)
	jitter       atomic.Uint32
	rttMs        atomic.Uint32
	nackMu       sync.Mutex // guards nackPkt and nackBuf
	nackPkt      rtp.Packet
	nackBuf      []byte
	onBind       func()
}

// NewDownTrack returns an unbound DownTrack for t that writes straight to its
// connection (no pacer). Its target is t's top layer.
func NewDownTrack(t *Track) *DownTrack { return newDownTrack(t, nil, t.now) }

func newDownTrack(t *Track, p *pacer, now func() time.Time) *DownTrack {
	d := &DownTrack{track: t, pacer: p, now: now,
		fwd: newForwarder(t.ckind, t.codec.ClockRate)}
	d.fwd.anyStart = t.kind == webrtc.RTPCodecTypeAudio || (t.ckind != codecH264 && t.ckind != codecVP8)
	if t.kind == webrtc.RTPCodecTypeVideo {
		d.seqmap = newSequencer(sequencerSize)
	}
	d.SetTargetLayer(len(t.layers) - 1)
	d.demand.Store(int32(len(t.layers) - 1))
	return d
}

// Track is the forwarded source.
func (d *DownTrack) Track() *Track { return d.track }

// SetTargetLayer sets the layer to forward (-1 pauses). The switch happens at
// the next keyframe of that layer, which is asked for at once.
func (d *DownTrack) SetTargetLayer(l int) {
	l = min(l, len(d.track.layers)-1)
	old := d.target.Swap(int32(l))
	d.mu.Lock()
	d.fwd.target = l
	cur := d.fwd.current
	d.mu.Unlock()
	if int(old) != l {
		if l >= 0 && l != cur && d.bound.Load() != nil {
			d.track.RequestLayerKeyframe(l)
		}
	}
}

// SwitchDown sets a lower target layer l, as SetTargetLayer, but the layer
// being forwarded stops at once instead of at l's keyframe: the subscriber's
// link is congested, and every packet of the higher layer sent while the
// keyframe comes deepens the loss (a 5 Mbit/s link that falls to 500 kbit/s
// lost half its packets for a second, and the lower layer's keyframe among
// them). The picture holds for the keyframe's round trip instead.
func (d *DownTrack) SwitchDown(l int) {
	l = min(l, len(d.track.layers)-1)
	d.mu.Lock()
	if l >= 0 && d.fwd.current > l {
		d.fwd.stop()
	}
	d.mu.Unlock()
	d.SetTargetLayer(l)
}

// TargetLayer is the layer the allocator chose (-1 paused).
func (d *DownTrack) TargetLayer() int { return int(d.target.Load()) }

// CurrentLayer is the layer being forwarded (-1 none).
func (d *DownTrack) CurrentLayer() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fwd.current
}

// DemandedLayer implements LayerDemand.
func (d *DownTrack) DemandedLayer() int { return int(d.demand.Load()) }

// setDemand records the layer the allocator chose before limiting it to the
// layers the publisher sends now (a layer paused by dynacast is resumed when
// a subscriber can use it). It reports whether it changed.
func (d *DownTrack) setDemand(l int) bool {
	l = min(l, len(d.track.layers)-1)
	return d.demand.Swap(int32(l)) != int32(l)
}

// Bind is called by pion when the track is negotiated on a PeerConnection.
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if codecMatches(d.track.codec, c.RTPCodecCapability) {
			w := ctx.WriteStream()
			if d.direct != nil {
				w = d.direct.writer(w, transportCCID(ctx.HeaderExtensions()))
			}
			d.bound.Store(&binding{ssrc: ctx.SSRC(), pt: c.PayloadType, w: w})
			if d.onBind != nil {
				d.onBind()
			}
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, fmt.Errorf("%w: %s", ErrCodecNotNegotiated, d.track.codec.MimeType)
}

// Unbind is called by pion when the track is removed.
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.bound.Store(nil)
	return nil
}

func (d *DownTrack) ID() string                { return d.track.id }
func (d *DownTrack) RID() string               { return "" }
func (d *DownTrack) StreamID() string          { return streamIDOf(d.track) }
func (d *DownTrack) Kind() webrtc.RTPCodecType { return d.track.kind }

// WriteRTP forwards one packet if the forwarder wants it. Header extensions
// are not forwarded: their IDs were negotiated with the publisher; the
// subscriber connection adds its own transport-cc sequence number.
func (d *DownTrack) WriteRTP(p *ExtPacket) error {
	b := d.bound.Load()
	if b == nil {
		return nil
	}
	now := p.Arrival
	if p.Received != 0 {
		late := time.Duration(now - p.Received)
		if late > maxForwardAge && (d.seqmap != nil || late > maxAudioForwardAge) {
			if d.dropStale(p, late) {
				return nil
			}
		} else if p.Behind > shedFrom && d.seqmap != nil && d.shedDraw(now, p.Behind) && d.shedEarly(p) {
			return nil
		}
	}
	d.mu.Lock()
	if d.shedding && !d.resumeLocked(now, p.Behind) {
		d.mu.Unlock()
		d.countStale()
		return nil
	}
	r, ok, needKeyframe := d.fwd.forward(p, now)
	if !ok {
		var key uint64
		if needKeyframe {
			key = d.replayKeyLocked(p.Layer)
		}
		d.mu.Unlock()
		if needKeyframe {
			d.getKeyframe(p.Layer, key)
		}
		return nil
	}
	d.writeLocked(b, p, &r, now)
	d.mu.Unlock()
	return nil
}

// dropStale decides about a packet the server got to late by late, and
// reports whether it is dropped. Audio is. Video is, but for a keyframe up to
// maxKeyframeForwardAge: a late keyframe is a picture the subscriber can show,
// where waiting for the next would freeze it (fanning a keyframe out to
// hundreds of subscribers takes long enough that its last packets, and the
// next ones, come late). After a dropped video packet the forwarder stops
// until the next keyframe: the frames after it cannot be decoded, and sending
// them would only cost CPU the server lacks. Where shedding pays (see
// shedFanout, shedLag) the video is shed for a while first; the keyframe is
// asked for by the first fresh packet after (WriteRTP).
func (d *DownTrack) dropStale(p *ExtPacket, late time.Duration) bool {
	if d.seqmap != nil { // video
		d.mu.Lock()
		defer d.mu.Unlock()
		if late <= maxKeyframeForwardAge && d.inKeyframeLocked(p) {
			return false
		}
		if p.Behind > shedLag || d.track.SinkCount() > shedFanout {
			d.shedLocked(p.Arrival)
		} else if d.fwd.current >= 0 {
			d.fwd.stop() // a stall: resume at the next keyframe, asked for by the first fresh packet
		}
	}
	d.countStale()
	return true
}

// shedDraw draws d for early shedding at unix ns now, the server being
// behind its socket by behind, at most once a lagEpoch (see shedShare).
func (d *DownTrack) shedDraw(now int64, behind time.Duration) bool {
	last := d.drawAt.Load()
	if now-last < int64(lagEpoch) || !d.drawAt.CompareAndSwap(last, now) {
		return false
	}
	return rand.Float64()*float64(maxForwardAge-shedFrom) < shedShare*float64(min(behind, maxForwardAge)-shedFrom)
}

// shedEarly sheds the video before it is stale (see shedFrom), unless p is
// part of a keyframe (cut short, it would be wasted), and reports whether p
// was dropped.
func (d *DownTrack) shedEarly(p *ExtPacket) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.inKeyframeLocked(p) {
		return false
	}
	d.shedLocked(p.Arrival)
	d.countStale()
	return true
}

// inKeyframeLocked reports whether p starts a keyframe or belongs to the last
// one forwarded. d.mu is held.
func (d *DownTrack) inKeyframeLocked(p *ExtPacket) bool {
	return p.Keyframe || (d.keySeen && p.Layer == d.keyLayer && p.ExtTS == d.keyInTS)
}

// countStale counts a packet not forwarded because the server is behind.
func (d *DownTrack) countStale() {
	d.stale.Add(1)
	d.track.stale.Add(1)
}

// shedLocked stops the video at unix ns now and keeps it off for a while,
// unless it is off already. d.mu is held.
func (d *DownTrack) shedLocked(now int64) {
	if d.fwd.current >= 0 {
		d.fwd.stop()
	}
	if now >= d.shedTill {
		d.shedFor = nextShed(d.shedFor, time.Duration(now-d.shedTill))
		d.shedTill = now + int64(d.shedFor/2+rand.N(d.shedFor))
		d.shedding = true
		d.track.resume.shed()
	}
}

// resumeLocked reports whether shed video resumes at unix ns now, the server
// being behind its socket by behind: once its time is up and the track's gate
// lets it (see resumeStart). Refused, it tries again about one
// resumeInterval later. d.mu is held.
func (d *DownTrack) resumeLocked(now int64, behind time.Duration) bool {
	if now < d.shedTill {
		return false
	}
	if !d.track.resume.admit(now, behind) {
		d.shedTill = now + int64(resumeInterval/2+rand.N(resumeInterval))
		return false
	}
	d.shedding = false
	return true
}

// nextShed is how long a shed lasts that begins since after the last one
// (which lasted last) ended.
func nextShed(last, since time.Duration) time.Duration {
	if last == 0 || since >= shedReset {
		return shedMin
	}
	return min(2*last, shedMax)
}

// writeLocked sends p as the forwarder rewrote it and remembers it for NACKs.
// d.mu is held.
func (d *DownTrack) writeLocked(b *binding, p *ExtPacket, r *fwdResult, now int64) {
	d.hdr = p.Header
	d.hdr.SSRC = uint32(b.ssrc)
	d.hdr.PayloadType = uint8(b.pt)
	d.hdr.SequenceNumber = r.seq
	d.hdr.Timestamp = r.ts
	d.hdr.Extension = false
	d.hdr.Extensions = d.hdrExt[:0]
	d.hdr.Padding = false
	d.hdr.PaddingSize = 0
	payload := p.Payload
	if r.rewriteVP8 {
		if cap(d.scratch) < maxPacketSize {
			d.scratch = make([]byte, maxPacketSize)
		}
		n := copy(d.scratch[:maxPacketSize], payload)
		payload = d.scratch[:n]
		writeVP8(payload, r.pic, r.tl0)
	}
	if d.seqmap != nil {
		if p.Keyframe && (!d.keySeen || r.ts != d.keyTS) {
			d.keySeen, d.keyTS, d.keyAt = true, r.ts, now
			d.keyLayer, d.keyInTS = p.Layer, p.ExtTS
		}
		d.seqmap.push(r.seq, sentPacket{layer: int8(p.Layer), extSeq: p.ExtSeq, ts: r.ts, pic: r.pic, tl0: r.tl0,
			vp8: r.rewriteVP8, at: now, key: d.keySeen && r.ts == d.keyTS})
	}
	d.send(b, payload, p.Received)
	d.sent++
	d.sentB += uint64(len(payload))
}

// replayKeyLocked marks, for a track whose publisher cannot make keyframes,
// a replay of layer l's cached GOP in the forwarder and returns its keyframe
// (0: no replay; the publisher is asked instead). d.mu is held.
func (d *DownTrack) replayKeyLocked(l int) uint64 {
	if l < 0 || !d.track.replayGOP {
		return 0
	}
	if key := d.track.layers[l].keyStart.Load(); d.fwd.markReplay(l, key) {
		return key
	}
	return 0
}

// getKeyframe gets layer l a keyframe: the replay replayKeyLocked marked
// (key), or a request to the publisher. d.mu is not held.
func (d *DownTrack) getKeyframe(l int, key uint64) {
	if key != 0 {
		d.askReplay(l, key)
		return
	}
	d.track.RequestLayerKeyframe(l)
}

// askReplay registers d for a replay of layer's GOP from key, marked in the
// forwarder. When the track cannot take it now, the mark is undone so that
// the next packet asks again.
func (d *DownTrack) askReplay(layer int, key uint64) {
	if d.track.requestReplay(layer, d) {
		return
	}
	d.mu.Lock()
	if d.fwd.replayLayer == layer && d.fwd.replayKey == key {
		d.fwd.replayKey = 0
	}
	d.mu.Unlock()
}

// pictureLost handles the subscriber's keyframe request (PLI, FIR) for the
// layer being forwarded: the publisher is asked, or, when it cannot make
// keyframes on demand, the layer's cached GOP is replayed to this subscriber
// (once per keyframe: repeated requests wait for the next one).
func (d *DownTrack) pictureLost() {
	d.mu.Lock()
	l := d.fwd.current
	var key uint64
	switch {
	case d.fwd.target == l:
		key = d.replayKeyLocked(l)
	case d.fwd.target >= 0:
		// A switch waits for the target's keyframe: that one repairs the
		// picture too, and a keyframe of the old layer would be thrown away.
		l = d.fwd.target
	}
	d.mu.Unlock()
	if l >= 0 {
		d.getKeyframe(l, key)
	}
}

// replay sends d the packets of layer i from the keyframe at key up to the
// one before live, out of the layer's cache, as the forwarder asked (see
// Track.requestReplay). It runs on the layer's writer goroutine, before live
// goes to the sinks, so the replayed packets come first. It reports the
// packets and payload bytes sent.
func (d *DownTrack) replay(l *layer, i int, key uint64, live *ExtPacket) (pkts, bytes uint64) {
	b := d.bound.Load()
	if b == nil {
		return 0, 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.fwd.wantsReplay(i, key) {
		return 0, 0
	}
	if l.replayBuf == nil {
		l.replayBuf = make([]byte, maxPacketSize)
	}
	pkt, now := &l.replayPkt, live.Arrival
	for s := key; s < live.ExtSeq; s++ {
		if !l.cache.get(s, pkt, l.replayBuf) {
			if s == key {
				return 0, 0 // the keyframe left the cache: wait for the next one
			}
			continue // lost upstream: a gap, as it was live
		}
		p := ExtPacket{Packet: pkt, Layer: i, ExtSeq: s, ExtTS: live.ExtTS - uint64(live.Timestamp-pkt.Timestamp),
			Keyframe: isKeyframe(d.track.ckind, pkt.Payload), Arrival: now}
		if r, ok := d.fwd.replay(&p, s == key, now); ok {
			d.writeLocked(b, &p, &r, now)
			pkts++
			bytes += uint64(len(pkt.Payload))
		}
	}
	return pkts, bytes
}

// send writes d.hdr with payload through the pacer (or straight to pion);
// received is when the packet reached the server (0 unknown).
func (d *DownTrack) send(b *binding, payload []byte, received int64) {
	if d.pacer != nil {
		class := classAudio
		if d.seqmap != nil {
			class = classVideo
		}
		d.pacer.write(b.w, &d.hdr, payload, class, received)
		return
	}
	_, _ = b.w.WriteRTP(&d.hdr, payload)
}

// handleNACK resends the packets a subscriber lost, from the Track's cache,
// ahead of new video (see classResend). It returns how many were resent.
//
// Keyframe packets go even over the resend budget (at most maxResends times
// each, like every packet): every frame until the next keyframe depends on
// them. Packets from before the last keyframe are resent too, within the
// budget: the picture no longer needs their frames, but in Chromium refusing
// them froze the picture after a fall to a lower layer for 3.3-3.8 s (three
// runs, then a PLI), and resending them did not. In process, where the
// decoder model does not need them, they cost the fall up to 2.3 s frozen
// against 0.6-1.9 s. When a packet the picture needs (sent since the last
// keyframe) can no longer come (resent maxResends times, older than
// nackMaxAge, gone from the cache), the publisher is asked for a keyframe at
// once: a browser would wait about 3 s before it asks itself (libwebrtc's
// max_wait_for_frame), frozen however many later packets arrive.
func (d *DownTrack) handleNACK(seqs []uint16) int {
	b := d.bound.Load()
	if b == nil || d.seqmap == nil {
		return 0
	}
	now := d.now().UnixNano()
	d.nackMu.Lock()
	defer d.nackMu.Unlock()
	if d.nackBuf == nil {
		d.nackBuf = make([]byte, maxPacketSize)
	}
	n := 0
	broken := false
	rtt := int64(d.rttMs.Load()) * int64(time.Millisecond)
	for _, seq := range seqs {
		d.mu.Lock()
		sp, verdict := d.seqmap.takeResend(seq, now, rtt)
		known := verdict != resendUnknown
		needed := known && (!d.keySeen || sp.at >= d.keyAt)
		// A keyframe asked for since the loss repairs it too.
		repairable := needed && d.keySeen && sp.at > d.repairAt
		d.mu.Unlock()
		tooOld := known && now-sp.at > int64(nackMaxAge)
		switch {
		case known && !needed && verdict != resendNow:
			d.nackVerdicts[nackBeforeKeyframe].Add(1)
		case tooOld:
			d.nackVerdicts[nackTooOld].Add(1)
		default:
			d.nackVerdicts[verdict].Add(1)
		}
		if verdict == resendGone || tooOld {
			broken = broken || repairable
			continue
		}
		if verdict != resendNow {
			continue
		}
		l := d.track.layers[sp.layer]
		if l.cache == nil || !l.cache.get(sp.extSeq, &d.nackPkt, d.nackBuf) {
			d.nackVerdicts[nackNotCached].Add(1)
			broken = broken || repairable
			continue
		}
		h := d.nackPkt.Header
		h.SSRC, h.PayloadType, h.SequenceNumber, h.Timestamp = uint32(b.ssrc), uint8(b.pt), seq, sp.ts
		h.Extension, h.Extensions, h.Padding, h.PaddingSize = false, nil, false, 0
		payload := d.nackPkt.Payload
		if sp.vp8 {
			writeVP8(payload, sp.pic, sp.tl0)
		}
		if d.pacer != nil {
			if !sp.key && !d.pacer.allowResend(len(payload)+12) {
				d.nackVerdicts[nackOverBudget].Add(1)
				continue // over the resend budget: asked again later, or repaired by a keyframe
			}
			d.pacer.write(b.w, &h, payload, classResend, 0)
		} else {
			_, _ = b.w.WriteRTP(&h, payload)
		}
		n++
	}
	d.resent.Add(uint64(n))
	if broken {
		d.mu.Lock()
		d.repairAt = now
		d.mu.Unlock()
		d.repairs.Add(1)
		d.pictureLost()
	}
	return n
}

// sendPadding sends one padding-only packet of size bytes in the subscriber's
// sequence space (a bandwidth probe). It reports false when the track is not
// forwarding (nothing to pad on) or a frame is under way (see below).
func (d *DownTrack) sendPadding(size int) bool {
	b := d.bound.Load()
	if b == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.fwd
	// Never inside a frame: a receiver assembles a frame from consecutive
	// numbers, and a padding packet among them made Chromium drop the frame
	// and every one after it until a keyframe (3-6 s frozen, nothing lost,
	// while a probe ran).
	if f.current < 0 || !f.started || f.frameOpen {
		return false
	}
	f.lastOutSeq++
	f.outSeqBase++ // media after this continues one number later
	f.droppedUpTo = f.highestIn
	d.hdr = rtp.Header{Version: 2, Padding: true, PaddingSize: byte(size), PayloadType: uint8(b.pt),
		SequenceNumber: uint16(f.lastOutSeq), Timestamp: f.lastOutTS, SSRC: uint32(b.ssrc), Extensions: d.hdrExt[:0]}
	_, _ = b.w.WriteRTP(&d.hdr, nil) // pion appends the padding bytes
	return true
}

// DownTrackStats are what one subscriber got of one track.
type DownTrackStats struct {
	Packets, Bytes, Resent uint64
	Repairs                uint64 // keyframes asked for because a lost packet could not be resent
	Stale                  uint64 // packets not forwarded: the server got to them too late
	Target, Current        int
}

// Stats reads the down track's counters.
func (d *DownTrack) Stats() DownTrackStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return DownTrackStats{Packets: d.sent, Bytes: d.sentB, Resent: d.resent.Load(), Repairs: d.repairs.Load(), Stale: d.stale.Load(),
		Target: d.TargetLayer(), Current: d.fwd.current}
}

// codecMatches compares mime types and, for H.264, the parameters that decide
// whether a decoder can take the stream unchanged.
func codecMatches(want, have webrtc.RTPCodecCapability) bool {
	if !strings.EqualFold(want.MimeType, have.MimeType) {
		return false
	}
	if !strings.EqualFold(want.MimeType, webrtc.MimeTypeH264) {
		return true
	}
	wp, hp := fmtp(want.SDPFmtpLine), fmtp(have.SDPFmtpLine)
	if wp["packetization-mode"] != hp["packetization-mode"] {
		return false
	}
	// profile_idc and constraint flags (first 4 hex digits) must agree; levels may differ.
	wl, hl := wp["profile-level-id"], hp["profile-level-id"]
	return len(wl) < 4 || len(hl) < 4 || strings.EqualFold(wl[:4], hl[:4])
}

func fmtp(line string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(line, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		m[strings.ToLower(k)] = v
	}
	if m["packetization-mode"] == "" {
		m["packetization-mode"] = "0"
	}
	return m
}

// onReceiverReport keeps the subscriber's view of this track: loss, jitter
// and round-trip time (from LSR/DLSR), for connection quality.
func (d *DownTrack) onReceiverReport(r rtcpin.Report, now time.Time) {
	b := d.bound.Load()
	if b == nil || r.SSRC != uint32(b.ssrc) {
		return
	}
	d.lossQ8.Store(uint32(r.FractionLost))
	d.jitter.Store(r.Jitter)
	if r.LastSenderReport != 0 {
		// RTT = now - LSR - DLSR, in 1/65536 s of the middle 32 bits of NTP time.
		n := ntpTime(now)
		mid := uint32(n >> 16)
		rtt := mid - r.LastSenderReport - r.Delay
		if rtt < 65536*5 { // ignore nonsense over 5 s
			d.rttMs.Store(uint32(uint64(rtt) * 1000 / 65536))
		}
	}
}

// ntpTime converts t to a 64-bit NTP timestamp.
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	sec := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) * (1 << 32) / 1e9
	return sec<<32 | frac
}

// ReceiverStats are the subscriber's last receiver report for this track.
type ReceiverStats struct {
	FractionLost float64 // 0..1
	Jitter       uint32  // RTP timestamp units
	RTTMs        uint32
}

// ReceiverStats reads the last receiver report.
func (d *DownTrack) ReceiverStats() ReceiverStats {
	return ReceiverStats{FractionLost: float64(d.lossQ8.Load()) / 256, Jitter: d.jitter.Load(), RTTMs: d.rttMs.Load()}
}
