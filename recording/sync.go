package recording

import "time"

// Audio/video sync. Packets of a member's audio and video do not arrive
// with the same delay (the encoder, the pacer and a congested uplink delay
// video more), so arrival times alone put one track late against the other.
// The publisher's RTCP sender reports give, per track (per simulcast
// layer), the NTP time of an RTP timestamp, both from its one capture clock
// (RFC 3550 §6.4.1): with them a packet's capture time is
//
//	capture = NTP(sr) + (rtp − rtp(sr)) / clockRate
//
// (the difference taken in 32 bits, so a timestamp wrap between them does
// not matter). A track's samples are placed by capture time, and the
// member's capture clock is put on the file's (the server's) clock by one
// offset for all its tracks: the least arrival − capture seen over the
// packets of all of them, the smallest network delay. Relative audio/video
// timing is then the publisher's, whatever each track's delay.
//
// When: a file's tracks are placed at its first fragment (see place), and a
// track placed by capture stays so. The first fragment waits up to srWait
// (of media, from the track's first packet) for a track's first report when
// one is expected: its packets came over the network (stamped with the
// socket's time, as a Peer's are), or the member's other tracks have
// reports. Browsers send one within about a second. A track without a
// report by then is placed by arrival, as a producer that sends none (the
// RTMP bridge, which writes its packets unstamped) always is, and nothing
// waits for it. What is written is never re-timed: a report that comes
// later serves the track's next file (a file restarts when the member
// publishes another track), placed with the member's offset as it was
// fixed. The offset is fixed when the first track is placed by it, so every
// file of the member agrees.
//
// Simulcast: each layer has its own reports and its own timestamp base. The
// layer follower (simulcast.Follower) rebases a switch by arrival time;
// when the new layer has a report, the writer moves the stream's timestamps
// from the new layer's keyframe on so that its frames keep their capture
// time (trackState.relAdj; a report that comes later for the layer
// followed takes effect at its next keyframe). A keyframe that lands
// before frames of the old layer already taken replaces those not written
// yet (mediaFile.supersede).
//
// Not done: a publisher's audio clock that drifts from its capture clock
// (a sound card's 48 kHz is not the system's) drifts the file's audio
// against its video over hours, as before; the samples are not resampled.

const (
	// srWait is how long the first fragment of a file waits for the first
	// sender report of a track that should get them, from the track's first packet.
	srWait = 2 * time.Second
	// maxReportSpan is how far (in RTP time) a packet may be from the sender
	// report that times it: past it the report is stale (the layer was
	// paused) or the timestamps jumped, and the packet is not timed by it.
	maxReportSpan = 30 * time.Second
	// maxClockSkew is how far a track's smallest delay may be from the
	// member's offset for it to be placed by it: further, its reports are
	// not of the same clock (another device), and it is placed by arrival.
	maxClockSkew = 2 * time.Second
)

// memberClock maps one member's capture clock to the server's: all the
// member's tracks (camera, microphone, screen) share it.
type memberClock struct {
	delay  int64 // ns: the least arrival − capture over the member's packets timed by a report
	have   bool  // delay is known: a packet was timed
	frozen bool  // a track was placed with delay: it no longer changes
}

func (mc *memberClock) note(delay int64) {
	if mc.frozen {
		return
	}
	if !mc.have || delay < mc.delay {
		mc.delay, mc.have = delay, true
	}
}

// clockOf is the clock of owner's tracks.
func (w *writer) clockOf(owner string) *memberClock {
	mc := w.clocks[owner]
	if mc == nil {
		mc = &memberClock{}
		w.clocks[owner] = mc
	}
	return mc
}

// noteCapture follows the capture time of a packet at rel (a count of the
// followed stream's ticks, see unwrap) from its layer's sender report, and
// returns rel moved to follow capture time across a simulcast layer switch.
func (ts *trackState) noteCapture(it *item, rel int64) int64 {
	if ts.firstAt == 0 {
		ts.firstAt = it.arrival
	}
	ts.stamped = ts.stamped || it.stamped
	if it.srNTP == 0 {
		return rel // no report yet
	}
	since := int64(int32(it.layerTS - it.srTS)) // ticks from the report's timestamp
	if abs(since) > nanosToTicks(int64(maxReportSpan), ts.clock) {
		return rel
	}
	capture := ntpToUnixNano(it.srNTP) + ticksToNanos(since, ts.clock)
	implied := capture - ticksToNanos(rel, ts.clock) // the capture time of rel 0
	switch {
	case !ts.haveCapture:
		ts.capture0, ts.captureLayer, ts.haveCapture = implied, it.layer, true
	case it.layer != ts.captureLayer:
		if !it.key {
			return rel // until the layer's next keyframe
		}
		// The follower moved to another layer (or this layer's first report
		// came): from its keyframe on, its frames go where their capture time
		// puts them (see mediaFile.supersede when that is before frames taken).
		d := nanosToTicks(implied-ts.capture0, ts.clock)
		ts.relAdj += d
		rel += d
		ts.captureLayer = it.layer
	}
	if it.arrival != 0 {
		delay := it.arrival - (ts.capture0 + ticksToNanos(rel, ts.clock))
		if !ts.haveDelay || delay < ts.minDelay {
			ts.minDelay, ts.haveDelay = delay, true
		}
		ts.mc.note(delay)
	}
	return rel
}

// fix decides, when a file that has ts is placed, where ts's rel 0 is on
// the server's clock (its anchor): by capture time when its packets are
// timed by sender reports, else by arrival (refined until then). A track
// placed by capture stays so; one placed by arrival may be placed by
// capture in a later file, once its reports came.
func (ts *trackState) fix() {
	if ts.byCapture {
		return
	}
	mc := ts.mc
	if ts.haveCapture && ts.haveDelay && mc.have && abs(ts.minDelay-mc.delay) <= int64(maxClockSkew) {
		ts.anchor, ts.haveAnchor, ts.byCapture = ts.capture0+mc.delay, true, true
		mc.frozen = true
	}
	ts.frozen = true
}

// awaitsReport reports whether ts should not be placed yet at now: a
// sender report is expected and may still come.
func (ts *trackState) awaitsReport(now int64) bool {
	if ts.byCapture || ts.haveCapture || ts.firstAt == 0 || !(ts.stamped || ts.mc.have) {
		return false
	}
	return now-ts.firstAt < int64(srWait)
}

// ntpToUnixNano converts a 64-bit NTP timestamp to unix ns (NTP's era 1,
// from 2036, included).
func ntpToUnixNano(ntp uint64) int64 {
	const ntpUnixOffset = 2208988800 // seconds from 1900 to 1970
	sec := int64(ntp>>32) - ntpUnixOffset
	if sec < 0 {
		sec += 1 << 32
	}
	frac := int64((ntp & 0xffff_ffff) * uint64(time.Second) >> 32)
	return sec*int64(time.Second) + frac
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
