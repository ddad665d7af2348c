package sfu

// forwarder decides, for one subscriber of one track, which packets go out and
// how they are rewritten so the subscriber sees one continuous stream: one
// sequence-number space without gaps or repeats across layer switches and
// pauses, timestamps that only move forward, and (VP8) picture IDs and
// TL0PICIDX that continue. It switches layers only at a keyframe of the target
// layer. It is pure logic; DownTrack serializes calls to it.
type forwarder struct {
	codec     codecKind
	clockRate uint32
	// anyStart: every packet can start the stream (audio; video codecs whose
	// keyframes the SFU cannot see, which then cannot switch layers).
	anyStart bool

	current int // layer being forwarded, -1 none (paused or not started)
	target  int // layer wanted, -1 pause

	started     bool
	seqBase     uint64 // extended input seq of the first packet after the last (re)start
	outSeqBase  uint64 // output seq of that packet (extended)
	tsOffset    uint32 // out ts = in ts + tsOffset
	lastOutSeq  uint64 // highest extended output seq sent
	lastOutTS   uint32
	lastOutAt   int64  // unix ns of the last packet sent
	frameOpen   bool   // the newest packet sent did not end its frame (no marker bit)
	highestIn   uint64 // highest extended input seq forwarded on the current layer
	droppedUpTo uint64 // input packets at or below this were cut out of the stream (padding)

	// VP8 continuity.
	picOffset  uint16 // out = in - picOffset (15 bits)
	tl0Offset  uint8
	lastPic    uint16
	lastTL0    uint8
	hasLastPic bool

	// GOP replay (see replay). replayKey is the keyframe (ExtSeq of its first
	// packet) of replayLayer last asked for: asked once, so the request that
	// fires for every packet while waiting does not replay it again.
	replayKey   uint64
	replayLayer int
	replaying   bool   // replayed packets went out; the next live one re-anchors the timestamps
	replayInTS  uint32 // the last replayed packet's input timestamp ...
	replayOutTS uint32 // ... and its output timestamp
}

func newForwarder(c codecKind, clockRate uint32) *forwarder {
	return &forwarder{codec: c, clockRate: clockRate, current: -1, target: -1}
}

// fwdResult says how to send one packet.
type fwdResult struct {
	seq        uint16
	ts         uint32
	pic        uint16 // VP8 picture ID to write, when rewritePic
	tl0        uint8
	rewriteVP8 bool
}

// forward decides about p. ok is false when the packet is not sent; keyframe
// is true when the forwarder waits for a keyframe of its target layer that the
// publisher should be asked for.
func (f *forwarder) forward(p *ExtPacket, now int64) (r fwdResult, ok bool, needKeyframe bool) {
	if p.Layer != f.current {
		if f.target < 0 || p.Layer != f.target {
			return r, false, false
		}
		if !p.Keyframe && !f.anyStart {
			return r, false, true
		}
		f.switchTo(p, now)
		f.replaying, f.replayKey = false, 0
	} else if f.target < 0 {
		f.stop() // pause at once: the bandwidth is needed elsewhere
		return r, false, false
	}
	if f.replaying {
		if p.ExtSeq <= f.highestIn {
			return r, false, false // a hole in the replay filled late: its frame went out without it
		}
		// The first live packet after a replay: it follows the last replayed
		// one by at most a frame, whatever time the replayed GOP spanned.
		f.replaying = false
		step := p.Timestamp - f.replayInTS
		if step != 0 {
			step = min(step, max(f.clockRate/replayFrameRate, 1))
		}
		f.tsOffset = f.replayOutTS + step - p.Timestamp
	}
	ok = f.emit(p, now, &r)
	return r, ok, false
}

// stop ends forwarding the current layer now; the next keyframe of the
// target layer (if any) starts it again.
func (f *forwarder) stop() {
	f.current = -1
	f.replaying, f.replayKey = false, 0
}

// replayFrameRate sets the timestamp step from the last replayed frame to
// the first live one: a frame at 30 fps.
const replayFrameRate = 30

// markReplay records that a replay of the keyframe starting at key is asked
// for layer. It reports false when that keyframe was asked for already (or
// there is none): the caller then waits for the next one.
func (f *forwarder) markReplay(layer int, key uint64) bool {
	if key == 0 || (f.replayLayer == layer && f.replayKey == key) {
		return false
	}
	f.replayLayer, f.replayKey = layer, key
	return true
}

// wantsReplay reports whether a replay of layer's keyframe at key is still
// what the forwarder waits for: nothing else (a switch, a pause, a newer
// keyframe that went out live) happened since it was asked.
func (f *forwarder) wantsReplay(layer int, key uint64) bool {
	return key != 0 && f.target == layer && f.replayLayer == layer && f.replayKey == key
}

// replay forwards p, a packet from a GOP replayed out of the track's cache
// for this subscriber alone; first is the keyframe's first packet, where the
// forwarder restarts on p's layer whatever it did before. Replayed frames go
// on a compressed timeline, each one tick after the previous, so the
// subscriber decodes them at once instead of playing them at their original
// pace, which would leave it a GOP behind live.
func (f *forwarder) replay(p *ExtPacket, first bool, now int64) (r fwdResult, ok bool) {
	switch {
	case first:
		f.switchTo(p, now)
		f.replaying = true
		f.replayInTS = p.Timestamp
		f.replayOutTS = p.Timestamp + f.tsOffset
	case !f.replaying || p.Layer != f.current:
		return r, false
	case p.Timestamp != f.replayInTS:
		f.replayInTS = p.Timestamp
		f.replayOutTS++
	}
	f.tsOffset = f.replayOutTS - p.Timestamp
	ok = f.emit(p, now, &r)
	return r, ok
}

// emit maps p, a packet of the current layer, into the output stream: it
// fills r and reports whether p goes out. (r is a pointer: returning it by
// value cost the fan-out about 10 ns per forwarded packet.)
func (f *forwarder) emit(p *ExtPacket, now int64, r *fwdResult) bool {
	if p.ExtSeq < f.seqBase || (f.droppedUpTo != 0 && p.ExtSeq <= f.droppedUpTo) {
		return false // from before the switch, or behind a cut
	}
	if len(p.Payload) == 0 {
		// Padding-only (the publisher's bandwidth probe): not worth the
		// subscriber's bandwidth. Cut it out of the sequence when it is the
		// newest packet. Otherwise (reordered, or after a packet lost upstream)
		// its number is already fixed in the output: it goes out empty (an
		// empty packet is padding to the receiver), or the subscriber would
		// wait for a hole that never fills.
		if p.ExtSeq == f.highestIn+1 {
			f.outSeqBase--
			f.highestIn = p.ExtSeq
			f.droppedUpTo = p.ExtSeq
			return false
		}
	}
	out := p.ExtSeq - f.seqBase + f.outSeqBase
	if p.ExtSeq > f.highestIn {
		f.highestIn = p.ExtSeq
	}
	r.seq = uint16(out)
	r.ts = p.Timestamp + f.tsOffset
	if out > f.lastOutSeq {
		f.lastOutSeq = out
		f.lastOutTS = r.ts
		f.lastOutAt = now
		f.frameOpen = !p.Marker
	}
	if f.codec == codecVP8 {
		if d, ok := parseVP8(p.Payload); ok && d.hasPictureID {
			r.rewriteVP8 = true
			r.pic = (d.pictureID - f.picOffset) & 0x7fff
			r.tl0 = d.tl0 - f.tl0Offset
			if !f.hasLastPic || seqNewer15(r.pic, f.lastPic) {
				f.lastPic, f.lastTL0, f.hasLastPic = r.pic, r.tl0, true
			}
		}
	}
	return true
}

// switchTo starts forwarding p's layer at p (a keyframe), continuing the
// output sequence, timestamps and picture IDs where they stopped.
func (f *forwarder) switchTo(p *ExtPacket, now int64) {
	f.current = p.Layer
	f.seqBase = p.ExtSeq
	f.highestIn = p.ExtSeq
	f.droppedUpTo = 0
	if !f.started {
		f.started = true
		f.outSeqBase = 1 << 16 // extended; the subscriber sees it as 0 and up
		f.tsOffset = 0
		f.lastOutSeq = f.outSeqBase - 1
	} else {
		f.outSeqBase = f.lastOutSeq + 1
		// Advance the timestamp by the wall time since the last packet, at
		// least one tick, so playout timing stays right and never goes back.
		gap := uint32(1)
		if now > f.lastOutAt && f.clockRate > 0 {
			gap = max(1, uint32(uint64(now-f.lastOutAt)*uint64(f.clockRate)/1e9))
		}
		f.tsOffset = f.lastOutTS + gap - p.Timestamp
	}
	if f.codec == codecVP8 {
		if d, ok := parseVP8(p.Payload); ok && d.hasPictureID {
			if f.hasLastPic {
				f.picOffset = (d.pictureID - (f.lastPic + 1)) & 0x7fff
				f.tl0Offset = d.tl0 - (f.lastTL0 + 1)
			} else {
				f.picOffset, f.tl0Offset = 0, 0
			}
		}
	}
}

// seqNewer15 compares 15-bit VP8 picture IDs with wrap-around.
func seqNewer15(a, b uint16) bool {
	d := (a - b) & 0x7fff
	return d != 0 && d < 0x4000
}

// writeVP8 rewrites the picture ID and TL0PICIDX in b (a copy of the payload).
func writeVP8(b []byte, pic uint16, tl0 uint8) {
	d, ok := parseVP8(b)
	if !ok || !d.hasPictureID {
		return
	}
	if d.pictureID16 {
		b[d.pictureIDOff] = 0x80 | byte(pic>>8)&0x7f
		b[d.pictureIDOff+1] = byte(pic)
	} else {
		b[d.pictureIDOff] = byte(pic) & 0x7f
	}
	if d.hasTL0 {
		b[d.tl0Off] = tl0
	}
}
