// Package quality rates a member's connection as excellent, good, poor or lost from the
// numbers an SFU already has (loss, jitter, RTT, bitrate against the target, time since the
// last packet), so every tile can show it without each client guessing from its own view.
//
// The model is a simplified ITU-T G.107 E-model, the one VoIP tools (and LiveKit's connection
// quality) use: start from 100, subtract a delay impairment and a loss impairment, and take the
// lower of that and a bitrate score. [Evaluate] rates one stats window; a [Tracker] per member
// adds hysteresis so the badge does not flap: it drops at once and climbs only after
// consecutive better windows.
package quality

import (
	"math"
	"sync"
	"time"
)

// Quality is a connection rating. The zero value "" means not rated yet.
type Quality string

// The ratings, best first.
const (
	Excellent Quality = "excellent"
	Good      Quality = "good"
	Poor      Quality = "poor"
	Lost      Quality = "lost" // nothing heard from the member for LostAfter
)

// Rank orders ratings for comparison: Excellent 4, Good 3, Poor 2, Lost 1; anything else
// (the zero value included) 0.
func (q Quality) Rank() int {
	switch q {
	case Excellent:
		return 4
	case Good:
		return 3
	case Poor:
		return 2
	case Lost:
		return 1
	}
	return 0
}

// Stats is one window of a member's connection, as measured by the SFU. Zero means unknown
// or none and costs nothing, except LastPacketAge, where zero means "just now".
type Stats struct {
	PacketLoss    float64       // fraction lost, 0..1 (after NACK repair if known)
	JitterMs      float64       // interarrival jitter, ms
	RTTMs         float64       // round-trip time, ms
	Bitrate       float64       // bits/s actually flowing
	TargetBitrate float64       // bits/s wanted (allocator target, publisher's sending rate); 0 = unknown or nothing expected (muted, paused)
	LastPacketAge time.Duration // since any media or RTCP from the member
}

// Thresholds, on the 0..100 score.
const (
	// ExcellentScore and GoodScore cut the score into ratings: 80 and up is excellent, 50
	// and up good, below poor. They are the E-model's own bands (ITU-T G.107: R 80+ "users
	// satisfied", below 50 "nearly all users dissatisfied"); LiveKit cuts at 80 and 40. Each
	// alone, 80 is 2.7 % loss, half the target bitrate or 320 ms of one-way delay; 50 is
	// 11 % loss, 1/5.7 of the target bitrate or 620 ms of one-way delay.
	ExcellentScore = 80
	GoodScore      = 50

	// LostAfter is how long a member may be silent, no media and no RTCP, before it is
	// lost. A healthy idle member still sends something well within it: libwebrtc sends
	// RTCP every 1 s with video and every 5 s ±50 % (so up to 7.5 s) for audio only, which
	// is why it is not 5 s. It is well under the member timeout (20 s) and ICE consent
	// expiry (30 s), so the room sees "lost" before the member is dropped.
	LostAfter = 8 * time.Second

	// lossRobustness is the E-model's Bpl: how well the media hides loss (ITU-T G.113:
	// 4.3 for G.711 without concealment, 25.1 with it). 10 sits between: Opus hides some
	// audio loss, but video freezes at a few percent even with NACK on a long RTT. Loss
	// impairment is 95·P/(P+Bpl), P in percent: 1 % costs 8.6 points, 5 % 31.7, 10 % 47.5.
	lossRobustness = 10

	// bitrateHalving is what each halving of the bitrate under the target costs: the
	// bitrate score is 100 + 20·log2(bitrate/target), so half the target scores 80 (still
	// excellent), a quarter 60 (good), an eighth 40 (poor). Simulcast layers are 3-4x apart
	// in bitrate: one layer below the wanted one is good, two are poor. LiveKit's
	// 100 - 20·ln(target/bitrate) is gentler: poor only below 1/20.
	bitrateHalving = 20
)

// Score rates a stats window from 0 (unusable) to 100 (perfect); a lost member scores 0.
//
//   - Delay: the one-way delay d = RTT/2 + 2·jitter (a jitter buffer holds about twice the
//     jitter) costs d/40 points up to 160 ms, where conversation starts to suffer, and
//     (d-120)/10 beyond: an RTT of 200 ms with 20 ms of jitter costs 3.5, of 1 s 42.
//   - Loss: 95·P/(P+10) with P in percent (see lossRobustness).
//   - Bitrate: 100 + 20·log2(bitrate/target), capped to 0..100, when a target is known.
//
// The score is the network score (100 - delay - loss) or the bitrate score, whichever is lower.
func Score(s Stats) float64 {
	if s.LastPacketAge > LostAfter {
		return 0
	}
	d := nonNegative(s.RTTMs)/2 + 2*nonNegative(s.JitterMs)
	delay := d / 40
	if d > 160 {
		delay = (d - 120) / 10
	}
	p := 100 * min(nonNegative(s.PacketLoss), 1)
	loss := 95 * p / (p + lossRobustness)
	score := clamp(100 - delay - loss)

	if target := nonNegative(s.TargetBitrate); target > 0 {
		rate := 0.0
		if b := nonNegative(s.Bitrate); b > 0 {
			rate = clamp(100 + bitrateHalving*math.Log2(b/target))
		}
		score = min(score, rate)
	}
	return score
}

// FromScore maps a score to Excellent, Good or Poor (never Lost: that is about silence, not
// a score).
func FromScore(score float64) Quality {
	switch {
	case score >= ExcellentScore:
		return Excellent
	case score >= GoodScore:
		return Good
	}
	return Poor
}

// Evaluate rates one stats window, without hysteresis: Lost after LostAfter of silence,
// otherwise FromScore(Score(s)).
func Evaluate(s Stats) (Quality, float64) {
	if s.LastPacketAge > LostAfter {
		return Lost, 0
	}
	score := Score(s)
	return FromScore(score), score
}

// RiseAfter is how many consecutive better windows a Tracker needs before it rates a member
// higher. Two: one good window in a bad patch is luck, two are a trend. With windows of a few
// seconds the badge recovers in seconds and does not flap.
const RiseAfter = 2

// Tracker rates one member over successive windows: a worse window lowers the rating at once
// (the user should see trouble as it happens), a better one raises it only after RiseAfter
// better windows in a row, and then to the worst rating among them. The zero value is ready;
// it is safe for concurrent use.
type Tracker struct {
	mu      sync.Mutex
	q       Quality
	score   float64
	streak  int     // consecutive windows rated above q
	ceiling Quality // the lowest rating of the streak: where q may rise to
}

// Update rates the next stats window (call it once per window, e.g. every 2-5 s) and returns
// the member's rating and whether it changed. The first window sets the rating directly.
func (t *Tracker) Update(s Stats) (q Quality, changed bool) {
	q, score := Evaluate(s)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.score = score
	switch {
	case t.q == "" || q.Rank() < t.q.Rank():
		t.q, t.streak, changed = q, 0, true
	case q.Rank() == t.q.Rank():
		t.streak = 0
	default:
		if t.streak == 0 || q.Rank() < t.ceiling.Rank() {
			t.ceiling = q
		}
		t.streak++
		if t.streak >= RiseAfter {
			t.q, t.streak, changed = t.ceiling, 0, true
		}
	}
	return t.q, changed
}

// Quality returns the current rating, "" before the first Update.
func (t *Tracker) Quality() Quality {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.q
}

// Score returns the last window's score, 0..100, as Score computed it: not smoothed, for
// graphs and logs; Quality is what to show.
func (t *Tracker) Score() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.score
}

// nonNegative returns v, or 0 for negative values and NaN (a stats bug must not rate a
// connection).
func nonNegative(v float64) float64 {
	if v > 0 {
		return v
	}
	return 0
}

// clamp limits a score to 0..100; NaN (from +Inf inputs) becomes 0.
func clamp(v float64) float64 {
	if v > 100 {
		return 100
	}
	if v > 0 {
		return v
	}
	return 0
}
