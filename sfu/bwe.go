package sfu

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Downlink estimation. The delay- and loss-based estimate comes from Google
// Congestion Control over transport-cc feedback (package twcc); clients
// without transport-cc are estimated from their REMB. GCC only raises its
// estimate to 1.5x what it sees arrive, so a subscriber held on low layers would climb
// slowly when its link improves; probes (padding up to what the allocator
// wants) show whether the link carries more, as libwebrtc's prober does.
const (
	initialEstimate         = 600_000         // before feedback: mediasoup's default; 1 Mbit/s flooded a 500 kbit/s member for its first 2 s
	probeFirstAfter         = 2 * time.Second // no probe before the estimator has had feedback for a while
	minEstimate             = 100_000
	maxEstimate             = 20_000_000
	probeDuration           = 500 * time.Millisecond
	probeGrowth             = 1.5                    // a probe asks at most this much more than the estimate ...
	probeGrowthAfterSuccess = 2.0                    // ... or this much right after a probe succeeded
	probeMinGap             = time.Second            // after the first failure: the gap before the next probe, doubling with each
	probeMaxBackoff         = 4 * time.Second        // after failures: at most this long between probes (how late an opened link is noticed)
	probeMaxLoss            = 0.02                   // no probe starts while the loss is above this, and more fails one
	probeSettle             = 300 * time.Millisecond // feedback about a probe's last packets comes this much later
	probeTrust              = 0.9                    // share of a successful probe's rate taken as the new estimate
	probeAckedWindow        = 350 * time.Millisecond // arrivals a probe's received rate is measured over
	probeQueueing           = 60 * time.Millisecond  // a probe that made packets queue this long filled the link: it failed
	probeCarried            = 0.9                    // share of a probe's rate that must arrive for the link to have carried it (libwebrtc's) ...
	probeCarriedQueueing    = 30 * time.Millisecond  // ... with packets queued less than this
	probeGrowthAfterQueue   = 1.3                    // a probe right after one that filled a queue asks at most this much more
	probeAfterLoss          = 2 * time.Second        // no probe this soon after the link lost packets
	unconfirmedLoss         = 0.25                   // transport-cc loss over this counts without a NACK ...
	nackConfirms            = time.Second            // ... under it, only with a NACK this recent
	probedDecay             = 10 * time.Second       // a probe result is trusted this long without confirmation
	provenHeadroom          = 1.25                   // estimate over the rate sent lately, without a probe
	provenDecay             = 0.9                    // per provenDecayEvery: about -20 %/s
	provenDecayEvery        = 500 * time.Millisecond
	cleanHold               = 2 * time.Second // media above GCC's estimate without loss this long: the link carries it
	probeUpgradeWait        = time.Second     // at most this long without a probe while a video waits for a higher layer's keyframe
)

// estimator is what bwe needs of the transport-cc estimate (twcc.Estimator).
type estimator interface {
	TargetBitrate() int // bits/s
	Loss() float64      // average share lost lately
	Overusing() bool    // the delay signal says a queue builds
	Reset(rate int)     // continue from rate: a probe or a clean flow proved it
	// Watch starts recording, on every report, the highest rate the
	// receiver reported arriving over window and the longest queueing delay
	// (one-way delay over the least seen lately); Watched returns them.
	// A queue reaching limit calls the connection's congestion hook at once.
	// Unwatch stops recording (the probe ended); Watched keeps what was seen.
	Watch(window, limit time.Duration)
	Unwatch()
	Watched() (acked float64, queue time.Duration)
	Queue() time.Duration // how long the newest packet reported waited in queues
	String() string
}

// bwe is one subscriber connection's downlink estimate.
type bwe struct {
	now func() time.Time

	mu         sync.Mutex // guards every field below
	gcc        estimator  // nil until the connection exists
	remb       float64
	rembAt     time.Time
	probing    bool
	probeRate  float64 // total rate sent during the running probe
	probeFrom  float64 // the estimate when the running probe began: it must prove more
	last       float64 // what estimate returned last
	probeEnd   time.Time
	probeOK    bool      // the last probe succeeded
	probeFull  bool      // the last probe failed by filling a queue
	lostAt     time.Time // when the link last lost more than a clean link does
	nackAt     time.Time // when the subscriber last asked for a resend
	nextProbe  time.Time
	backoff    time.Duration
	probed     float64 // the last probe's rate, trusted until probedUntil or congestion
	probedTill time.Time
	lossySince time.Time // when the loss last rose above severeLoss (zero: it is below)
	isSevere   bool      // severe() said yes and the loss has not yet fallen below severeEnd
	sent       float64   // highest media rate sent lately (bits/s), decaying; see estimate
	sentAt     time.Time // when sent was last updated
	cleanSince time.Time // since when media flows above GCC's estimate without loss or overuse (zero: it does not)
	upgrading  time.Time // since when a video waits for a higher layer's keyframe (zero: none does)
}

func newBWE(now func() time.Time) *bwe {
	return &bwe{now: now, backoff: probeMinGap, nextProbe: now().Add(probeFirstAfter)}
}

func (b *bwe) setEstimator(e estimator) {
	b.mu.Lock()
	b.gcc = e
	b.mu.Unlock()
}

func (b *bwe) onREMB(bitrate float64) {
	b.mu.Lock()
	b.remb, b.rembAt = bitrate, b.now()
	b.mu.Unlock()
}

// severe reports whether the link loses so much that even the lowest video
// layers must go: only then does the allocator pause visible video. GCC's delay
// signal alone is not trusted for that: at start-up, or with a bursty sender,
// one overuse cuts its estimate to 0.85x of a tiny measured rate.
//
// It takes the loss to last severeHold to turn on, and to fall below severeEnd
// to turn off: pausing and resuming video on every burst of loss (a keyframe
// overflowing a small router queue) costs a keyframe burst each time, which
// causes the next burst of loss.
func (b *bwe) severe() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gcc == nil {
		return false
	}
	now := b.now()
	loss := b.gcc.Loss()
	switch {
	case loss <= severeEnd:
		b.isSevere, b.lossySince = false, time.Time{}
	case loss > severeLoss:
		if b.lossySince.IsZero() {
			b.lossySince = now
		}
		if now.Sub(b.lossySince) >= severeHold {
			b.isSevere = true
		}
	default: // between the thresholds: no change, but a new rise starts its own hold
		b.lossySince = time.Time{}
	}
	return b.isSevere
}

// Loss (GCC's average) at which visible video may be paused, how long it must
// last, and the loss below which it is sent again.
const (
	severeLoss = 0.2
	severeHold = 2 * time.Second
	severeEnd  = 0.1
)

// congestion reports whether the link shows congestion now (see
// lossyLocked; a layer dropped then stops at once, DownTrack.SwitchDown), and
// whether it loses packets (no layer is then kept over the estimate).
func (b *bwe) congestion() (congested, losing bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gcc == nil {
		return false, false
	}
	losing = b.losingLocked()
	return losing || b.gcc.Overusing(), losing
}

// lossyLocked reports whether GCC sees overuse or more loss than a clean link
// shows (probeMaxLoss): no probe starts then, a running one fails, a probe's
// result no longer holds, and media over the estimate proves nothing.
func (b *bwe) lossyLocked() bool {
	if b.gcc == nil {
		return false
	}
	return b.gcc.Overusing() || b.losingLocked()
}

// losingLocked reports whether the link loses more than a clean link does.
// Transport-cc loss counts only when the subscriber also asked for a resend
// lately, or is heavy: reports of 2-13 % loss that no NACK confirmed (nothing
// was missing from the media) came right after upgrades on a 5 Mbit/s link,
// and each cut the estimate a probe had proven (climbs of 17-19 s).
func (b *bwe) losingLocked() bool {
	loss := b.gcc.Loss()
	return loss > probeMaxLoss && (loss > unconfirmedLoss || b.now().Sub(b.nackAt) < nackConfirms)
}

// onNACK notes that the subscriber asked for resends (it lost media).
func (b *bwe) onNACK() {
	b.mu.Lock()
	b.nackAt = b.now()
	b.mu.Unlock()
}

// estimate returns the usable downlink rate in bits/s, after ending or
// judging a running probe. mediaRate is what the subscriber was sent lately
// (bits/s, 0 when unknown): GCC's estimate may stand at 1.5x what arrives,
// and an estimate from before a quiet spell is older still, so the estimate
// is held to provenHeadroom x that rate unless a probe proved more. Upgrades
// then wait for a probe.
func (b *bwe) estimate(mediaRate float64) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	est := float64(initialEstimate)
	switch {
	case b.gcc != nil && b.gcc.TargetBitrate() > 0:
		est = float64(b.gcc.TargetBitrate())
		if b.remb > 0 && now.Sub(b.rembAt) < 5*time.Second {
			est = min(est, b.remb) // the receiver says it cannot take more
		}
	case b.remb > 0:
		est = b.remb
	}
	losing := b.gcc != nil && b.losingLocked()
	lossy := losing || (b.gcc != nil && b.gcc.Overusing()) // lossyLocked, with losing read once
	if losing {
		// A link that just lost packets is draining a full queue: a probe
		// now (1.6 s after a 5 Mbit/s link fell to 500 kbit/s, doubling
		// as the climb before had) overflowed it again and froze a picture
		// for 3 s. The next probe waits, and starts small.
		b.lostAt, b.probeOK = now, false
	}
	if b.probing {
		// A probe is judged by the rate that arrived while it ran, as
		// libwebrtc's probe estimator does: a link narrower than the probe
		// delivers at its own rate, so that is what is proven. A moment of
		// overuse does not fail it: a CPU-starved receiver stamps arrivals
		// late in bursts, and failing on that kept a member that had 5 Mbit/s
		// on its lowest layers for 16 s. Loss above what a clean link shows
		// does (a small router queue overflows before the delay signal
		// builds), and so do packets queued for long: a link whose queue a
		// probe fills delivers its whole rate meanwhile. That is measured
		// on every report, unsmoothed, so the probe stops before the queue
		// overflows (the smoothed round trip took 0.5 s to show a probe at
		// twice a 500 kbit/s link, and 20 % was lost).
		acked, queue := b.gcc.Watched() // since the probe began (every report counts)
		proven := min(b.probeRate, acked) * probeTrust
		switch {
		case losing || queue >= probeQueueing:
			b.failProbeLocked(now)
			b.probeFull = true
		case !now.Before(b.probeEnd) && proven <= b.probeFrom:
			// No more arrived than the estimate allowed when the probe
			// began. Not the estimate now: that follows the media rate,
			// which a keyframe or a starved publisher's burst lifts for a
			// moment, and judging by it failed probes the link carried
			// (a 5 Mbit/s link left at 320 px for 18 s: probes at 1.3x
			// of 320 kbit/s, fully delivered, "proved" less than the
			// 411 kbit/s the estimate had meanwhile reached).
			b.failProbeLocked(now)
		case !now.Before(b.probeEnd):
			b.probing = false
			b.gcc.Unwatch()
			b.probed, b.probedTill = proven, now.Add(probedDecay)
			if float64(b.gcc.TargetBitrate()) < proven {
				b.gcc.Reset(int(proven)) // continue from what the probe proved
			}
			if acked < probeCarried*b.probeRate || queue >= probeCarriedQueueing {
				// The link delivered less than the probe sent, or queued it:
				// that is its rate, and a bigger probe soon would only
				// overflow its queue.
				b.failProbeLocked(now)
				break
			}
			// The link carried it: the next probe may start at once, as
			// libwebrtc's exponential probes follow each other while they
			// succeed (with a gap, 500 kbit/s to 2 Mbit/s took 8-13 s).
			b.backoff, b.probeOK, b.probeFull = probeMinGap, true, false
			b.nextProbe = now
		}
	}
	// A probe's result stands until the link shows it no longer holds: any
	// loss above what a clean link has (a link that shrank loses a few % at
	// once, well before GCC's loss controller acts), or an overuse after
	// which GCC's own estimate, cut to what arrived, is lower.
	switch {
	case losing || now.After(b.probedTill):
		b.probed = 0
	case b.gcc != nil && b.gcc.Overusing():
		b.probed = min(b.probed, float64(b.gcc.TargetBitrate()))
	}
	// After a collapse (heavy loss cuts GCC to a fraction of the link) GCC
	// climbs back at 8 % a second, while the lowest layers, kept on, show
	// that the link carries more: once they have flowed for cleanHold without
	// loss or overuse, that rate is what the link has proven, and GCC
	// continues from it (and probes may start from there).
	if b.gcc != nil && mediaRate > est && !b.probing {
		switch {
		case lossy:
			b.cleanSince = time.Time{}
		case b.cleanSince.IsZero():
			b.cleanSince = now
		case now.Sub(b.cleanSince) >= cleanHold:
			b.gcc.Reset(int(mediaRate))
			est = mediaRate
			b.cleanSince = time.Time{}
		}
	} else {
		b.cleanSince = time.Time{}
	}
	est = max(est, b.probed)
	if mediaRate > 0 {
		// The highest rate sent lately, decaying with time (not per call:
		// allocations also run between ticks): a subscriber that drops a
		// layer for a moment (a keyframe wait, a publisher's pause) must not
		// find its estimate cut to what it receives in the meantime.
		decay := 1.0
		if !b.sentAt.IsZero() {
			decay = math.Pow(provenDecay, float64(now.Sub(b.sentAt))/float64(provenDecayEvery))
		}
		b.sent, b.sentAt = max(mediaRate, b.sent*decay), now
		est = min(est, max(b.sent*provenHeadroom, b.probed))
	}
	b.last = min(max(est, minEstimate), maxEstimate)
	return b.last
}

// noteUpgrading records whether a video waits for the keyframe of a higher
// layer it was just given. A probe then would measure the keyframe's burst
// with its padding: on a 5 Mbit/s link, an upgrade's keyframe and a probe for
// 1.4 Mbit/s queued 80 ms and failed the probe, and the climb took 15 s.
func (b *bwe) noteUpgrading(upgrading bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case !upgrading:
		b.upgrading = time.Time{}
	case b.upgrading.IsZero():
		b.upgrading = b.now()
	}
}

// wantProbe decides whether to probe towards wanted (bits/s) now, given the
// current estimate, what is allocated (sending, the layers' nominal rates)
// and what flows (media, measured; 0 unknown), and returns the padding rate
// to add. 0: no probe.
func (b *bwe) wantProbe(est, sending, media, wanted float64) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	// More flows than the estimate allows (the allocator keeps the lowest
	// layers on): the link is full already. What flows is measured where it
	// can be: the nominal rates of the lowest layers are often above what
	// they send, and the estimate is held near what flows (see estimate), so
	// the nominal figure alone kept a subscriber from ever probing again
	// after a loss burst (23 s on the lowest layers, on loopback).
	flowing := sending
	if media > 0 {
		flowing = media
	}
	if b.probing || now.Before(b.nextProbe) || now.Sub(b.lostAt) < probeAfterLoss || wanted <= sending*1.05 || est < flowing || b.gcc == nil {
		return 0
	}
	if !b.upgrading.IsZero() && now.Sub(b.upgrading) < probeUpgradeWait {
		return 0 // the keyframe first (see noteUpgrading)
	}
	// A link that loses packets now is full: padding on top would only lose
	// more of the media (and cut GCC's estimate further). So is one whose
	// packets queue now: a probe that doubled into a 50 ms queue on a 500 kbit/s
	// link overflowed it (5 packets lost, a 3.4 s freeze).
	if b.lossyLocked() || b.gcc.Queue() >= probeCarriedQueueing {
		return 0
	}
	// Probe towards what is wanted, at most probeGrowth x the estimate: a
	// failed probe must not bury the audio of a member on a weak link. A probe
	// at 2x for 1.2 s on a nearly full 500 kbit/s link overflowed its 300 ms
	// queue every time (10-20 % loss, then NACKs and frozen video for seconds);
	// at 1.5x for 0.5 s the queue holds what a failed probe adds, and the
	// delay signal fails it. No probe starts while more flows than the
	// estimate allows (the allocator keeps the lowest layers on): that link is
	// full already. Probing past wanted leaves room for the share of a
	// successful probe that is not trusted (probeTrust).
	// After a probe that succeeded the link has just shown room: the next
	// one may double, as libwebrtc's probes do while they keep succeeding.
	growth := probeGrowth
	switch {
	case b.probeOK:
		growth = probeGrowthAfterSuccess
	case b.probeFull:
		growth = probeGrowthAfterQueue
	}
	target := min(wanted*1.2, max(est*growth, sending*1.25))
	pad := target - flowing
	if pad < 50_000 {
		return 0
	}
	// Judged after the padding stops plus probeSettle: the feedback about its
	// last packets (loss, queueing) arrives that much later.
	b.probing, b.probeRate, b.probeFrom, b.probeEnd = true, target, est, now.Add(probeDuration+probeSettle)
	b.gcc.Watch(probeAckedWindow, probeQueueing)
	return pad
}

// failProbeLocked ends the running probe as failed: the next waits longer.
func (b *bwe) failProbeLocked(now time.Time) {
	b.probing, b.probeOK, b.probeFull = false, false, false
	b.gcc.Unwatch()
	b.backoff = min(b.backoff*2, probeMaxBackoff)
	b.nextProbe = now.Add(b.backoff)
}

// probingNow reports whether a probe runs (the pacer stops it on congestion).
func (b *bwe) probingNow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.probing
}

// describe sums up the estimator's state for debug logs.
func (b *bwe) describe() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gcc == nil {
		return ""
	}
	acked, queue := b.gcc.Watched() // the last probe's
	return fmt.Sprintf("%v probing=%v probe=%d/%d/%v probed=%d sent=%d", b.gcc, b.probing, int(b.probeRate), int(acked),
		queue.Round(time.Millisecond), int(b.probed), int(b.sent))
}
