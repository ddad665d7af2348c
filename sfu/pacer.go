package sfu

import (
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Pacer limits. The pacing rate is the downlink estimate times pacingFactor
// (libwebrtc's factor): bursts such as keyframes leave faster than the average
// but never all at once. Video that waited longer than maxVideoDelay is
// dropped: a late frame is worse than a missing one, which NACK or the next
// keyframe repairs. Audio always goes first and is dropped only when the
// queue is full of audio, or older than maxAudioForwardAge (it waits that
// long only when the server is starved of CPU; a jitter buffer would throw it
// away); resends go next, then new video.
const (
	pacingFactor    = 2.5
	pacerBurst      = 40 * time.Millisecond // bytes allowed at once = rate * burst
	maxVideoDelay   = maxForwardAge
	maxQueued       = 256 // packets per subscriber; the bound on its memory
	minPacingRate   = 100_000
	paddingPerPkt   = 255 // bytes of padding in one probe packet (the RTP maximum)
	pacerBatch      = 16
	probeTick       = 10 * time.Millisecond
	pacerIdleWakeup = time.Second // only a safety net: every packet queued and every probe wakes it
)

// queued is one packet waiting in a pacer.
type queued struct {
	hdr rtp.Header
	ext [1]rtp.Extension // backing store for the transport-cc extension pion adds
	buf [maxPacketSize]byte
	n   int
	w   webrtc.TrackLocalWriter
	at  int64
}

// pktClass is what a queued packet carries, which orders the queues: audio
// first, then resends (libwebrtc's pacer does the same: a resend repairs
// frames already sent, which every later frame may need), then video.
type pktClass uint8

const (
	classAudio pktClass = iota
	classResend
	classVideo
	classes // how many
)

// paddingSource sends one padding-only packet of n bytes on some video stream
// of the subscriber; it reports false when there is none to pad on.
type paddingSource func(n int) bool

// pacer is the send queue of one subscriber connection: every down track of
// the subscriber writes through it. When nothing waits and the budget allows,
// a packet goes out at once from the caller's goroutine (the common case costs
// no hand-off); otherwise it is copied into a bounded queue that the pacer's
// goroutine drains at the pacing rate, audio first, dropping stale video.
type pacer struct {
	now func() time.Time

	mu         sync.Mutex         // guards every field below
	rate       float64            // bytes per second
	tokens     float64            // bytes that may go now; negative is debt
	last       int64              // unix ns of the last refill
	queues     [classes][]*queued // by pktClass, each oldest first
	free       []*queued          // up to keepFree slots kept for the next burst
	held       int                // slots taken from slots and not given back (queued, being sent, free)
	sending    bool               // the goroutine is writing a batch: callers must queue to keep order
	probeRate  float64            // bytes per second of padding while a probe runs
	probeUntil int64              // unix ns the running probe ends
	padTok     float64            // bytes of padding owed now (see drain)
	padLast    int64              // unix ns padTok last grew
	padding    paddingSource
	dropped    uint64  // stale or overflowing packets dropped
	floorRate  float64 // bytes per second the rate never goes below (benchmarks of the send path)
	mediaBytes float64 // media bytes taken since takeMediaBytes (padding not counted)
	resendRate float64 // bytes per second resends may take (see allowResend)
	resendTok  float64 // bytes resends may take now
	resendLast int64   // unix ns of the last resendTok refill

	batch Batcher    // a drained batch leaves in one burst of sends
	slots *sync.Pool // of *queued, shared by the engine's pacers: a burst's slots go back after it
	wake  chan struct{}
	done  chan struct{}
	wg    sync.WaitGroup
}

func newPacer(now func() time.Time, bitsPerSecond float64, batch Batcher, slots *sync.Pool) *pacer {
	if batch == nil {
		batch = noBatch{}
	}
	if slots == nil {
		slots = newSlotPool()
	}
	p := &pacer{now: now, batch: batch, slots: slots, wake: make(chan struct{}, 1), done: make(chan struct{})}
	p.setRate(bitsPerSecond)
	p.wg.Add(1)
	go p.run()
	return p
}

// close stops the pacer's goroutine; queued packets are discarded.
func (p *pacer) close() {
	select {
	case <-p.done:
		return
	default:
	}
	close(p.done)
	p.wg.Wait()
}

// setRate sets the pacing rate from the downlink estimate (bits/s).
func (p *pacer) setRate(bitsPerSecond float64) {
	p.mu.Lock()
	p.rate = max(max(bitsPerSecond, minPacingRate)*pacingFactor/8, p.floorRate)
	p.mu.Unlock()
}

// Resends (answers to NACKs) may take at most resendShare of the downlink
// estimate, and never less than minResendRate. Loss on a full link is the
// link saying it is full: unbounded resends on top of the media would fill it
// further, lose more, and be asked for again.
const (
	resendShare   = 0.15
	minResendRate = 30_000 // bits/s
	resendBurst   = 500 * time.Millisecond
)

// setResendRate sets the resend budget from the downlink estimate (bits/s).
func (p *pacer) setResendRate(estimate float64) {
	p.mu.Lock()
	p.resendRate = max(estimate*resendShare, minResendRate) / 8
	p.mu.Unlock()
}

// allowResend takes size bytes from the resend budget, or reports false.
func (p *pacer) allowResend(size int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now().UnixNano()
	if p.resendRate == 0 {
		p.resendRate = minResendRate / 8
	}
	// A burst of a few full packets at least: one lost keyframe packet must
	// not wait for the budget.
	burst := max(p.resendRate*resendBurst.Seconds(), 4*maxPacketSize)
	if p.resendLast == 0 {
		p.resendTok = burst
	} else {
		p.resendTok = min(p.resendTok+p.resendRate*float64(now-p.resendLast)/1e9, burst)
	}
	p.resendLast = now
	if p.resendTok < float64(size) {
		return false
	}
	p.resendTok -= float64(size)
	return true
}

// probe asks for padding at bitsPerSecond on top of media for d, to find out
// whether the downlink carries more (the estimate climbs only on what is sent).
func (p *pacer) probe(bitsPerSecond float64, d time.Duration, src paddingSource) {
	p.mu.Lock()
	now := p.now()
	p.probeRate = bitsPerSecond / 8
	p.probeUntil = now.Add(d).UnixNano()
	p.padTok, p.padLast = 0, now.UnixNano()
	p.padding = src
	p.mu.Unlock()
	p.signal()
}

// stopProbe ends a probe early (the estimator saw congestion).
func (p *pacer) stopProbe() {
	p.mu.Lock()
	p.probeUntil = 0
	p.padding = nil
	p.mu.Unlock()
}

func (p *pacer) refill(now int64) {
	if p.last != 0 {
		p.tokens += p.rate * float64(now-p.last) / 1e9
	}
	p.last = now
	if burst := p.rate * pacerBurst.Seconds(); p.tokens > burst {
		p.tokens = burst
	}
}

// write sends or queues one packet. hdr and payload are copied if queued.
// received is when the packet reached the server (unix ns, 0 unknown): how
// long it waited is counted from then (maxVideoDelay).
func (p *pacer) write(w webrtc.TrackLocalWriter, hdr *rtp.Header, payload []byte, class pktClass, received int64) {
	size := float64(len(payload) + 12)
	p.mu.Lock()
	p.mediaBytes += size
	now := p.now().UnixNano()
	p.refill(now)
	if !p.sending && p.pendingLocked() == 0 && p.tokens > 0 {
		p.tokens -= size
		p.mu.Unlock()
		_, _ = w.WriteRTP(hdr, payload)
		return
	}
	q := p.get(class)
	if q == nil {
		p.dropped++
		p.mu.Unlock()
		return
	}
	q.hdr = *hdr // down tracks send no header extensions of their own
	q.hdr.Extension, q.hdr.Extensions = false, q.ext[:0]
	q.n = copy(q.buf[:], payload)
	q.w, q.at = w, now
	if received != 0 && received < now {
		q.at = received
	}
	p.queues[class] = append(p.queues[class], q)
	p.mu.Unlock()
	p.signal()
}

// takeMediaBytes returns the media bytes written since its last call.
func (p *pacer) takeMediaBytes() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.mediaBytes
	p.mediaBytes = 0
	return n
}

// pendingLocked is how many packets wait. p.mu is held.
func (p *pacer) pendingLocked() int {
	n := 0
	for _, q := range p.queues {
		n += len(q)
	}
	return n
}

// pop takes the oldest packet of class (nil: none waits). p.mu is held.
func (p *pacer) pop(class pktClass) *queued {
	q := p.queues[class]
	if len(q) == 0 {
		return nil
	}
	p.queues[class] = q[1:]
	return q[0]
}

// get returns a free slot for a packet of class, making room when full by
// dropping the oldest packet of the lowest class queued, if not below class.
func (p *pacer) get(class pktClass) *queued {
	if n := len(p.free); n > 0 {
		q := p.free[n-1]
		p.free = p.free[:n-1]
		return q
	}
	if p.held < maxQueued {
		p.held++
		return p.slots.Get().(*queued)
	}
	// Full: the oldest video goes first; a resend or audio packet may also
	// take a resend's slot, and audio the oldest audio's (the stalest).
	for c := classVideo; ; c-- {
		if q := p.pop(c); q != nil {
			p.dropped++
			return q
		}
		if c == class {
			return nil
		}
	}
}

// keepFree is how many free slots a pacer keeps; the rest of a burst's go
// back to the shared pool, so an idle subscriber holds little.
const keepFree = 8

// release gives a slot back once its packet is sent or dropped. p.mu is held.
func (p *pacer) release(q *queued) {
	if len(p.free) < keepFree {
		p.free = append(p.free, q)
		return
	}
	p.held--
	p.slots.Put(q)
}

// newSlotPool returns a pool of pacer slots.
func newSlotPool() *sync.Pool {
	return &sync.Pool{New: func() any { return &queued{} }}
}

func (p *pacer) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *pacer) run() {
	defer p.wg.Done()
	timer := time.NewTimer(pacerIdleWakeup)
	defer timer.Stop()
	batch := make([]*queued, 0, pacerBatch)
	for {
		select {
		case <-p.done:
			return
		case <-p.wake:
		case <-timer.C:
		}
		wait := p.drain(&batch)
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// drain sends what the budget allows and reports when to look again.
func (p *pacer) drain(batch *[]*queued) time.Duration {
	for {
		p.mu.Lock()
		now := p.now().UnixNano()
		p.refill(now)
		b := (*batch)[:0]
		for len(b) < pacerBatch && p.tokens > 0 {
			var q *queued
			var class pktClass
			for class = classAudio; class < classes; class++ {
				if q = p.pop(class); q != nil {
					break
				}
			}
			if q == nil {
				break
			}
			maxAge := maxVideoDelay // resends and video go stale
			if class == classAudio {
				maxAge = maxAudioForwardAge // audio waits that long only on a server starved of CPU
			}
			if now-q.at > int64(maxAge) {
				p.dropped++
				p.release(q)
				continue
			}
			p.tokens -= float64(q.n + 12)
			b = append(b, q)
		}
		pending := p.pendingLocked()
		probing := p.padding != nil && now < p.probeUntil
		var pad paddingSource
		padPkts := 0
		if probing {
			// Padding owed for the time that passed, not per wake-up: on a
			// starved machine this goroutine woke every 15-25 ms instead
			// of 10, and a probe for 1.4 Mbit/s sent 0.8.
			p.padTok = min(p.padTok+p.probeRate*float64(now-p.padLast)/1e9, p.probeRate*pacerBurst.Seconds())
			p.padLast = now
		}
		if probing && pending == 0 && p.tokens > 0 {
			padPkts = int(p.padTok) / paddingPerPkt
			p.padTok -= float64(padPkts * paddingPerPkt)
			pad = p.padding
		} else if !probing {
			p.padding = nil
		}
		p.sending = len(b) > 0
		p.mu.Unlock()

		p.batch.Cork()
		for _, q := range b {
			_, _ = q.w.WriteRTP(&q.hdr, q.buf[:q.n])
			q.w = nil
		}
		unsent := padPkts
		for ; pad != nil && unsent > 0; unsent-- {
			if !pad(paddingPerPkt) {
				break // inside a frame: the rest goes on the next wake-up
			}
		}
		p.batch.Uncork()
		p.mu.Lock()
		p.padTok += float64(unsent * paddingPerPkt)
		for _, q := range b {
			p.release(q)
		}
		p.sending = false
		pending = p.pendingLocked()
		probing = p.padding != nil && p.now().UnixNano() < p.probeUntil
		tokens, rate := p.tokens, p.rate
		p.mu.Unlock()
		*batch = b[:0]
		switch {
		case pending > 0 && tokens > 0:
			continue
		case pending > 0:
			return max(time.Millisecond, time.Duration(-tokens/rate*1e9)+time.Millisecond)
		case probing:
			return probeTick
		default:
			return pacerIdleWakeup
		}
	}
}
