package twcc

import "math"

// AIMD rate control, after GCC's remote rate controller as libwebrtc runs it:
// grow multiplicatively (8 %/s) while the link's capacity is unknown, by about
// a packet per response time near the capacity last seen, and cut to
// decreaseFactor of what arrived on overuse.
const (
	decreaseFactor  = 0.85
	increasePerSec  = 1.08
	maxAckedFactor  = 1.5    // never more than 1.5x what is seen arriving (+ ackedSlack)
	ackedSlack      = 10_000 // bits/s
	minIncreaseRate = 4_000  // bits/s per second near capacity
	packetBits      = 1200 * 8
	frameRate       = 30.0
)

type rateState int8

const (
	stateHold rateState = iota
	stateIncrease
	stateDecrease
)

func (s rateState) String() string {
	switch s {
	case stateIncrease:
		return "increase"
	case stateDecrease:
		return "decrease"
	}
	return "hold"
}

// aimd is the delay-based rate.
type aimd struct {
	rate       float64 // bits/s
	state      rateState
	lastChange int64 // ns
	// The capacity estimate: what arrived when the link last overused
	// (mean and normalised variance); capMean 0 means unknown.
	capMean, capVar float64
}

func newAIMD(rate float64, now int64) aimd {
	return aimd{rate: rate, state: stateIncrease, lastChange: now, capVar: 0.4}
}

// update applies one usage signal at now (ns); acked is the rate seen
// arriving (bits/s, 0 unknown), rtt the round trip (ns).
func (a *aimd) update(u usage, acked float64, rtt int64, now int64) {
	switch u {
	case usageOver:
		if a.state != stateDecrease {
			a.state = stateDecrease
		}
	case usageUnder:
		a.state = stateHold
	default:
		if a.state == stateHold {
			a.state, a.lastChange = stateIncrease, now
		}
	}
	if acked > 0 && a.capMean > 0 {
		if std := math.Sqrt(a.capVar * a.capMean); acked > a.capMean+3*std {
			a.capMean = 0 // arrived far more than the capacity seen: it grew
		}
	}
	switch a.state {
	case stateIncrease:
		dt := float64(now-a.lastChange) / 1e9
		if dt <= 0 {
			return
		}
		dt = min(dt, 1)
		next := a.rate
		if a.capMean > 0 {
			next += a.nearCapacityIncrease(rtt) * dt
		} else {
			next += max(a.rate*(math.Pow(increasePerSec, dt)-1), 1000)
		}
		if acked > 0 {
			// Not beyond what the link has shown it carries: more would be a
			// guess; probes show more.
			if limit := maxAckedFactor*acked + ackedSlack; next > limit {
				next = max(a.rate, limit)
			}
		}
		a.rate, a.lastChange = next, now
	case stateDecrease:
		// At most once per round trip, unless what arrives is far below.
		since := now - a.lastChange
		if since < min(max(rtt, 10_000_000), 200_000_000) && !(acked > 0 && acked < a.rate/2) {
			return
		}
		if acked > 0 {
			next := decreaseFactor * acked
			if next < a.rate {
				a.rate = next
			}
			a.noteCapacity(acked)
		} else {
			a.rate *= decreaseFactor
		}
		a.state, a.lastChange = stateHold, now
	}
}

// nearCapacityIncrease is about one packet per response time (bits/s per s).
func (a *aimd) nearCapacityIncrease(rtt int64) float64 {
	bitsPerFrame := a.rate / frameRate
	packets := math.Ceil(bitsPerFrame / packetBits)
	avgPacket := bitsPerFrame / max(packets, 1)
	response := float64(rtt)/1e9 + 0.1
	return max(avgPacket/response, minIncreaseRate)
}

func (a *aimd) noteCapacity(acked float64) {
	if a.capMean == 0 {
		a.capMean = acked
		return
	}
	const alpha = 0.05
	a.capMean = (1-alpha)*a.capMean + alpha*acked
	norm := max(a.capMean, 1)
	a.capVar = (1-alpha)*a.capVar + alpha*(a.capMean-acked)*(a.capMean-acked)/norm
	a.capVar = min(max(a.capVar, 0.4), 2.5)
}
