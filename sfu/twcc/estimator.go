package twcc

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Loss-based control, after GCC's sender-side loss controller: more than
// lossHigh lost cuts the rate by half the loss (at most once per lossCutGap
// plus a round trip); less than lossLow lets the cap grow again.
const (
	lossHigh     = 0.10
	lossLow      = 0.02
	lossCutGap   = 300 * time.Millisecond
	lossWindow   = 500 * time.Millisecond // the loss is counted over the reports of this long
	lossMinCount = 10                     // packets a loss figure needs
	ackedWindow  = 1000 * time.Millisecond
	// overuseAckedWindow: on overuse, the rate acknowledged over this last
	// span of arrivals, when lower, is what the cut starts from.
	overuseAckedWindow = 300 * time.Millisecond
	ackedMinSpan       = 100 * time.Millisecond
	ackedRecords       = 64
	defaultRTT         = 100 * time.Millisecond
	rttSmoothing       = 0.8
	maxFeedbackPk      = 1 << 15 // statuses one report may carry that are looked at
)

// Config is an estimator's range and start.
type Config struct {
	Initial, Min, Max int              // bits/s
	Now               func() time.Time // the clock (nil: time.Now)
	// OnCongestion, if set, is called (not holding the estimator's lock) when
	// a report first shows congestion: overuse, or an average loss above
	// CongestedLoss; or a watched probe's queue reaching its limit (Watch).
	// The user re-allocates at once instead of at its next tick: on a link
	// that just shrank, every packet sent meanwhile deepens the loss.
	OnCongestion  func()
	CongestedLoss float64
}

// Estimator is one connection's send history and downlink estimate. It is
// safe for concurrent use: packets are sent from several goroutines, feedback
// arrives on another.
type Estimator struct {
	cfg   Config
	epoch time.Time

	mu          sync.Mutex // guards every field below
	next        uint16     // next transport-wide sequence number
	hist        history
	results     []packetResult // scratch for decode
	haveRef     bool
	ref         int64 // last reference time, unwrapped
	lastFb      [3]uint32
	delay       delayDetector
	rate        aimd
	lossCap     float64 // bits/s; 0: no cap
	lastLossCut int64   // ns
	avgLoss     float64 // share lost over lossWindow
	rtt         int64   // ns, smoothed
	acked       [ackedRecords]ackedRecord
	ackedHead   int
	congested   bool // the last report showed congestion (see Config.OnCongestion)
	owd         owdMin
	queue       int64 // ns: the queueing delay of the newest packet reported (see queue.go)
	watch       watch // what a running probe is judged by (see Watch)
}

// ackedRecord is what one feedback report said.
type ackedRecord struct {
	at          int64 // ns, when it came
	first, last int64 // arrival µs of the timed packets
	bytes       int   // of the timed packets
	lost, total int   // lost: newly missing less those an earlier report missed that came after all (may be < 0)
}

// New returns an estimator starting at cfg.Initial.
func New(cfg Config) *Estimator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Estimator{cfg: cfg, epoch: cfg.Now(), delay: newDelayDetector(), rtt: int64(defaultRTT)}
	e.rate = newAIMD(float64(cfg.Initial), 0)
	return e
}

func (e *Estimator) nowNs() int64 { return int64(e.cfg.Now().Sub(e.epoch)) }

// sent records a packet of size bytes leaving now and returns its
// transport-wide sequence number.
func (e *Estimator) sent(size int) uint16 {
	at := e.nowNs()
	e.mu.Lock()
	seq := e.next
	e.next++
	e.hist.add(seq, at, size)
	e.mu.Unlock()
	return seq
}

// OnFeedback takes one transport-cc report from the receiver: raw is the
// RTCP packet, header included and padding removed (rtcpin.Packet.Raw).
func (e *Estimator) OnFeedback(raw []byte) error {
	fb, err := parseFeedback(raw)
	if err != nil {
		return err
	}
	e.mu.Lock()
	err = e.onFeedbackLocked(fb)
	congested := e.signal() == usageOver || e.avgLoss > e.cfg.CongestedLoss
	newly := congested && !e.congested
	e.congested = congested
	tripped := e.watchTrippedLocked()
	e.mu.Unlock()
	if (newly || tripped) && e.cfg.OnCongestion != nil {
		e.cfg.OnCongestion()
	}
	return err
}

func (e *Estimator) onFeedbackLocked(fb feedback) error {
	now := e.nowNs()
	// A compound report reaches every stream it names: take it once.
	key := [3]uint32{uint32(fb.fbCount), uint32(fb.baseSeq), fb.ref}
	if e.haveRef && key == e.lastFb {
		return nil
	}
	e.lastFb = key
	e.ref = unwrapRef(e.ref, fb.ref, !e.haveRef)
	e.haveRef = true
	var err error
	e.results, err = fb.decode(e.ref, e.results[:0], maxFeedbackPk)
	// A packet is counted lost once, however many reports list it missing,
	// and un-counted when a later report has it arrive: a receiver re-reports
	// from the oldest late packet (libwebrtc moves its feedback window back),
	// and packets stamped on one goroutine can reach the socket after the next
	// number's (pacer, fan-out and batched sends write concurrently). Counted
	// as loss, that reordering cut CPU-starved receivers' estimates on loopback
	// by a third.
	var received, lost, recovered, bytes int
	var first, last int64 = math.MaxInt64, math.MinInt64
	var lastSent int64 = -1
	for _, r := range e.results {
		p := e.hist.get(r.seq)
		if p == nil || p.reported {
			continue
		}
		if !r.received {
			if !p.missed {
				p.missed = true
				lost++
			}
			continue
		}
		p.reported = true
		if p.missed {
			p.missed = false
			recovered++
		} else {
			received++
		}
		if !r.timed {
			continue
		}
		bytes += int(p.size)
		first, last = min(first, r.arrival), max(last, r.arrival)
		if r.arrival == last {
			lastSent = p.at
		}
		e.delay.add(p.at, r.arrival, int(p.size))
		if q := e.owd.add(r.arrival*1000-p.at, now); r.arrival == last {
			e.queue = q
		}
	}
	if received+lost+recovered == 0 {
		return err
	}
	if lastSent >= 0 {
		// The newest packet reported was received just before the report
		// left: the time since it was sent is about one round trip.
		rtt := max(now-lastSent, int64(time.Millisecond))
		e.rtt = int64(rttSmoothing*float64(e.rtt) + (1-rttSmoothing)*float64(rtt))
	} else {
		bytes = 0
	}
	e.acked[e.ackedHead] = ackedRecord{at: now, first: first, last: last, bytes: bytes, lost: lost - recovered, total: received + lost}
	e.ackedHead = (e.ackedHead + 1) % ackedRecords
	e.noteLoss(now)
	e.noteWatchLocked()
	acked := e.ackedRate(ackedWindow)
	sig := e.signal()
	if sig == usageOver {
		// A queue builds: packets arrive back to back at the bottleneck's
		// rate, and the last moments say what it is now. Over the whole
		// window, a link that just shrank from 5 Mbit/s to 500 kbit/s still
		// showed 1 Mbit/s, and the cut kept sending twice what it carries.
		if recent := e.ackedRate(overuseAckedWindow); recent > 0 {
			acked = min(acked, recent)
		}
	}
	e.rate.update(sig, acked, e.rtt, now)
	e.lossControl(now)
	return err
}

// ackedRate is the rate the reports acknowledged over the last window of
// arrivals (bits/s; 0 when they span too little time to tell).
func (e *Estimator) ackedRate(window time.Duration) float64 {
	newest := int64(math.MinInt64)
	for _, r := range e.acked {
		if r.bytes > 0 {
			newest = max(newest, r.last)
		}
	}
	from := newest - window.Microseconds()
	earliest, bytes := newest, 0
	for _, r := range e.acked {
		if r.bytes > 0 && r.first >= from {
			earliest = min(earliest, r.first)
			bytes += r.bytes
		}
	}
	span := newest - earliest
	if span < ackedMinSpan.Microseconds() {
		return 0
	}
	return float64(bytes) * 8 / (float64(span) / 1e6)
}

// noteLoss counts the loss over the reports of the last lossWindow (kept
// while they hold too few packets to tell).
func (e *Estimator) noteLoss(now int64) {
	lost, total := 0, 0
	for _, r := range e.acked {
		if r.total > 0 && now-r.at <= int64(lossWindow) {
			lost += r.lost
			total += r.total
		}
	}
	if total >= lossMinCount {
		e.avgLoss = float64(max(lost, 0)) / float64(total)
	}
}

func (e *Estimator) lossControl(now int64) {
	switch {
	case e.avgLoss > lossHigh:
		if e.lastLossCut == 0 || now-e.lastLossCut >= int64(lossCutGap)+e.rtt {
			e.lossCap = e.targetLocked() * (1 - 0.5*e.avgLoss)
			e.lastLossCut = max(now, 1)
		}
	case e.avgLoss < lossLow && e.lossCap > 0:
		dt := min(float64(now-e.lastLossCut)/1e9, 1)
		if dt > 0 {
			e.lossCap *= math.Pow(increasePerSec, dt)
			e.lastLossCut = now
		}
		if e.lossCap >= e.rate.rate {
			e.lossCap = 0
		}
	}
}

func (e *Estimator) targetLocked() float64 {
	r := e.rate.rate
	if e.lossCap > 0 {
		r = min(r, e.lossCap)
	}
	return min(max(r, float64(e.cfg.Min)), float64(e.cfg.Max))
}

// TargetBitrate is the downlink estimate in bits/s.
func (e *Estimator) TargetBitrate() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return int(e.targetLocked())
}

// Loss is the average share of packets lost lately (0-1).
func (e *Estimator) Loss() float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.avgLoss
}

// Overusing reports whether the delay signal says a queue builds.
func (e *Estimator) Overusing() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.signal() == usageOver
}

// signal is the delay signal acted on: an overuse whose queue is not there
// yet (overuseMinQueue) holds the rate instead of cutting it (see queue.go).
func (e *Estimator) signal() usage {
	if e.delay.signal == usageOver && e.queue < overuseMinQueue {
		return usageUnder
	}
	return e.delay.signal
}

// RTT is the round-trip time seen in feedback.
func (e *Estimator) RTT() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return time.Duration(e.rtt)
}

// Reset continues from rate (bits/s): what a probe or a clean flow proved.
// The delay detector keeps its state; the loss cap and the capacity guess go.
func (e *Estimator) Reset(rate int) {
	now := e.nowNs()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rate = newAIMD(float64(rate), now)
	e.lossCap = 0
}

// String sums the state up for debug logs.
func (e *Estimator) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return fmt.Sprintf("target=%d delay=%d losscap=%d loss=%.3f usage=%v queue=%v state=%v thr=%.1f rtt=%v acked=%d",
		int(e.targetLocked()), int(e.rate.rate), int(e.lossCap), e.avgLoss, e.delay.signal, time.Duration(e.queue).Round(time.Millisecond), e.rate.state,
		e.delay.threshold, time.Duration(e.rtt).Round(time.Millisecond), int(e.ackedRate(ackedWindow)))
}

// Queue is how long the newest packet reported waited in queues: its one-way
// delay over the least seen lately (see queue.go).
func (e *Estimator) Queue() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return time.Duration(e.queue)
}
