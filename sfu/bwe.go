package sfu

import (
	"sync"
	"time"

	"github.com/pion/interceptor/pkg/cc"
)

// Downlink estimation. The delay- and loss-based estimate comes from pion's
// Google Congestion Control over transport-cc feedback; clients without
// transport-cc are estimated from their REMB. GCC only raises its estimate to
// 1.5x what it sees arrive, so a subscriber held on low layers would climb
// slowly when its link improves; probes (padding up to what the allocator
// wants) show whether the link carries more, as libwebrtc's prober does.
const (
	initialEstimate = 1_000_000
	minEstimate     = 100_000
	maxEstimate     = 20_000_000
	probeDuration   = 1200 * time.Millisecond
	probeMinGap     = 2 * time.Second  // after a success: probe again soon
	probeMaxBackoff = 8 * time.Second  // after failures: at most this long between probes
	probeLossLimit  = 0.1              // loss during a probe that counts as failure
	probedDecay     = 10 * time.Second // a probe result is trusted this long without confirmation
)

// bwe is one subscriber connection's downlink estimate.
type bwe struct {
	now func() time.Time

	mu         sync.Mutex // guards every field below
	gcc        cc.BandwidthEstimator
	remb       float64
	rembAt     time.Time
	probing    bool
	probeRate  float64 // total rate sent during the running probe
	probeEnd   time.Time
	nextProbe  time.Time
	backoff    time.Duration
	probed     float64 // the last probe's rate, trusted until probedUntil or congestion
	probedTill time.Time
}

func newBWE(now func() time.Time) *bwe {
	return &bwe{now: now, backoff: probeMinGap}
}

func (b *bwe) setGCC(e cc.BandwidthEstimator) {
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
func (b *bwe) severe() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gcc == nil {
		return false
	}
	loss, _ := b.gcc.GetStats()["averageLoss"].(float64)
	return loss > severeLoss
}

// severeLoss is the loss at which visible video may be paused.
const severeLoss = 0.2

// congested reports whether GCC currently sees overuse or heavy loss.
func (b *bwe) congestedLocked() bool {
	if b.gcc == nil {
		return false
	}
	st := b.gcc.GetStats()
	if u, _ := st["usage"].(string); u == "overuse" {
		return true
	}
	loss, _ := st["averageLoss"].(float64)
	return loss > probeLossLimit
}

// estimate returns the usable downlink rate in bits/s, after ending or
// judging a running probe.
func (b *bwe) estimate() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	est := float64(initialEstimate)
	switch {
	case b.gcc != nil && b.gcc.GetTargetBitrate() > 0:
		est = float64(b.gcc.GetTargetBitrate())
		if b.remb > 0 && now.Sub(b.rembAt) < 5*time.Second {
			est = min(est, b.remb) // the receiver says it cannot take more
		}
	case b.remb > 0:
		est = b.remb
	}
	congested := b.congestedLocked()
	if b.probing {
		switch {
		case congested:
			b.probing = false
			b.backoff = min(b.backoff*2, probeMaxBackoff)
			b.nextProbe = now.Add(b.backoff)
		case !now.Before(b.probeEnd):
			b.probing = false
			b.probed, b.probedTill = b.probeRate, now.Add(probedDecay)
			if r, ok := b.gcc.(*resettableGCC); ok && float64(r.GetTargetBitrate()) < b.probeRate {
				_ = r.Reset(int(b.probeRate)) // continue from what the probe proved
			}
			b.backoff = probeMinGap
			b.nextProbe = now.Add(b.backoff)
		}
	}
	if congested || now.After(b.probedTill) {
		b.probed = 0
	}
	return min(max(est, b.probed, minEstimate), maxEstimate)
}

// wantProbe decides whether to probe towards wanted (bits/s) now, given the
// current estimate, and returns the padding rate to add. 0: no probe.
func (b *bwe) wantProbe(est, sending, wanted float64) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if b.probing || now.Before(b.nextProbe) || wanted <= est*1.05 || b.gcc == nil {
		return 0
	}
	// Probe towards what is wanted, at most doubling: a failed probe must not
	// bury the audio of a member on a weak link.
	// When more flows than the estimate says without loss (the allocator
	// keeps the lowest layers on), that rate is proven: probe above it.
	target := min(wanted*1.1, max(est*2, sending*1.5))
	pad := target - sending
	if pad < 50_000 {
		return 0
	}
	b.probing, b.probeRate, b.probeEnd = true, target, now.Add(probeDuration)
	return pad
}

// probingNow reports whether a probe runs (the pacer stops it on congestion).
func (b *bwe) probingNow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.probing
}
