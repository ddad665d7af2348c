package twcc

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// link is a bottleneck: packets leave at capacity bits/s in order, after a
// fixed one-way delay; what would wait longer than queue is dropped.
type link struct {
	capacity float64
	queue    time.Duration
	delay    time.Duration
	tail     time.Duration // when the last queued packet has left
}

// pass returns when a packet of size bytes sent at t arrives, or false if dropped.
func (l *link) pass(t time.Duration, size int) (time.Duration, bool) {
	start := max(t, l.tail)
	if start-t > l.queue {
		return 0, false
	}
	l.tail = start + time.Duration(float64(size*8)/l.capacity*float64(time.Second))
	return l.tail + l.delay, true
}

type arrival struct {
	seq      uint16
	at       time.Duration
	received bool
}

// report builds the transport-cc feedback for arrivals (in sequence order),
// marshalled: arrival times in the report's 250 µs units, each delta rounded
// from the last time reported, so that the rounding does not add up.
func report(t testing.TB, count uint8, arr []arrival) []byte {
	t.Helper()
	fb := &rtcp.TransportLayerCC{BaseSequenceNumber: arr[0].seq, PacketStatusCount: uint16(len(arr)), FbPktCount: count}
	var ref time.Duration
	for _, a := range arr {
		if a.received {
			ref = a.at / (64 * time.Millisecond) * (64 * time.Millisecond)
			break
		}
	}
	fb.ReferenceTime = uint32(ref / (64 * time.Millisecond))
	prev := ref
	for _, a := range arr {
		sym := uint16(rtcp.TypeTCCPacketNotReceived)
		if a.received {
			sym = rtcp.TypeTCCPacketReceivedLargeDelta
			delta := (a.at - prev).Round(250 * time.Microsecond)
			fb.RecvDeltas = append(fb.RecvDeltas, &rtcp.RecvDelta{Type: sym, Delta: delta.Microseconds()})
			prev += delta
		}
		fb.PacketChunks = append(fb.PacketChunks, &rtcp.RunLengthChunk{PacketStatusSymbol: sym, RunLength: 1})
	}
	return marshalFeedback(t, fb)
}

// call runs an estimator over l for d: the sender sends 1200-byte packets at
// rate(target) and the receiver reports every 50 ms. It returns the estimator.
func call(t *testing.T, e *Estimator, clock *time.Duration, l *link, d time.Duration, rate func(target float64) float64, lose func(seq uint16) bool) {
	t.Helper()
	callStamped(t, e, clock, l, d, rate, lose, nil)
}

// callStamped is call with a receiver that stamps a packet arriving at at
// with stamp(at) (nil: at).
func callStamped(t *testing.T, e *Estimator, clock *time.Duration, l *link, d time.Duration, rate func(target float64) float64, lose func(seq uint16) bool, stamp func(at time.Duration) time.Duration) {
	t.Helper()
	const size = 1200
	end := *clock + d
	var pending []arrival
	nextSend, nextReport := *clock, *clock+50*time.Millisecond
	var count uint8
	for *clock < end {
		if nextSend <= nextReport {
			*clock = nextSend
			seq := e.sent(size)
			at, ok := l.pass(*clock, size)
			if lose != nil && lose(seq) {
				ok = false
			}
			if stamp != nil && ok {
				at = stamp(at)
			}
			pending = append(pending, arrival{seq: seq, at: at, received: ok})
			r := rate(float64(e.TargetBitrate()))
			nextSend += time.Duration(float64(size*8) / r * float64(time.Second))
			continue
		}
		*clock = nextReport
		nextReport += 50 * time.Millisecond
		// Report what has arrived by now (and losses before it).
		n := 0
		for n < len(pending) && (!pending[n].received || pending[n].at <= *clock) {
			n++
		}
		if n == 0 {
			continue
		}
		if err := e.OnFeedback(report(t, count, pending[:n])); err != nil {
			t.Fatal(err)
		}
		count++
		pending = pending[n:]
	}
}

func newTestEstimator(initial int) (*Estimator, *time.Duration) {
	clock := new(time.Duration)
	start := time.Unix(1000, 0)
	return New(Config{Initial: initial, Min: 50_000, Max: 20_000_000, Now: func() time.Time { return start.Add(*clock) }}), clock
}

func TestEstimator(t *testing.T) {
	t.Parallel()
	follow := func(target float64) float64 { return target }
	fixed := func(r float64) func(float64) float64 { return func(float64) float64 { return r } }
	tests := []struct {
		name      string
		initial   int
		link      link
		duration  time.Duration
		rate      func(float64) float64
		lose      func(uint16) bool
		min, max  float64 // the estimate at the end
		wantLossy bool
	}{
		{
			name: "overuse: 2 Mbit/s into 1 Mbit/s falls below the link", initial: 2_000_000,
			link: link{capacity: 1e6, queue: 10 * time.Second, delay: 20 * time.Millisecond}, duration: 3 * time.Second,
			rate: fixed(2e6), min: 300_000, max: 1_000_000,
		},
		{
			name: "a clean link: the estimate grows with what is sent", initial: 300_000,
			link: link{capacity: 5e6, queue: time.Second, delay: 20 * time.Millisecond}, duration: 10 * time.Second,
			rate: follow, min: 550_000, max: 1_000_000,
		},
		{
			name: "following the estimate into 1 Mbit/s settles near the link", initial: 300_000,
			link: link{capacity: 1e6, queue: 300 * time.Millisecond, delay: 20 * time.Millisecond}, duration: 40 * time.Second,
			rate: follow, min: 600_000, max: 1_200_000,
		},
		{
			name: "20 % random loss without queueing cuts the estimate", initial: 1_000_000,
			link: link{capacity: 10e6, queue: time.Second, delay: 20 * time.Millisecond}, duration: 3 * time.Second,
			rate: fixed(1e6), lose: func(seq uint16) bool { return seq%5 == 0 }, min: 50_000, max: 700_000, wantLossy: true,
		},
		{
			name: "1 % loss does not", initial: 1_000_000,
			link: link{capacity: 10e6, queue: time.Second, delay: 20 * time.Millisecond}, duration: 3 * time.Second,
			rate: fixed(1e6), lose: func(seq uint16) bool { return seq%100 == 0 }, min: 1_000_000, max: 1_600_000,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, clock := newTestEstimator(tt.initial)
			l := tt.link
			call(t, e, clock, &l, tt.duration, tt.rate, tt.lose)
			got := float64(e.TargetBitrate())
			t.Logf("%v", e)
			if got < tt.min || got > tt.max {
				t.Errorf("estimate %.0f; want %.0f-%.0f (%v)", got, tt.min, tt.max, e)
			}
			if lossy := e.Loss() > lossHigh; lossy != tt.wantLossy {
				t.Errorf("loss %.3f; want over %.2f: %v", e.Loss(), lossHigh, tt.wantLossy)
			}
		})
	}
}

func TestEstimatorReset(t *testing.T) {
	t.Parallel()
	e, clock := newTestEstimator(300_000)
	l := link{capacity: 5e6, queue: time.Second, delay: 20 * time.Millisecond}
	call(t, e, clock, &l, time.Second, func(float64) float64 { return 300_000 }, nil)
	e.Reset(2_000_000)
	if got := e.TargetBitrate(); got != 2_000_000 {
		t.Errorf("after Reset(2 Mbit/s): %d", got)
	}
}

func TestFeedbackTakenOnce(t *testing.T) {
	t.Parallel()
	e, clock := newTestEstimator(1_000_000)
	for range 10 {
		e.sent(1200)
	}
	*clock += 100 * time.Millisecond
	arr := make([]arrival, 10)
	for i := range arr {
		arr[i] = arrival{seq: uint16(i), received: i%2 == 0, at: time.Duration(i) * time.Millisecond}
	}
	fb := report(t, 0, arr)
	for range 3 {
		if err := e.OnFeedback(fb); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.Loss(); got != 0.5 {
		t.Errorf("loss after the same report thrice: %.2f; want 0.50", got)
	}
}

// TestOnCongestion: the callback comes once when reports start to show
// congestion (here a link that shrinks under the sender), not on every report
// while it lasts, and again after the link was clean in between.
func TestOnCongestion(t *testing.T) {
	t.Parallel()
	clock := new(time.Duration)
	start := time.Unix(1000, 0)
	calls := 0
	e := New(Config{Initial: 1_000_000, Min: 50_000, Max: 20_000_000, Now: func() time.Time { return start.Add(*clock) },
		CongestedLoss: 0.02, OnCongestion: func() { calls++ }})
	fixed := func(float64) float64 { return 1_000_000 }
	l := link{capacity: 5e6, queue: 300 * time.Millisecond, delay: 20 * time.Millisecond}
	call(t, e, clock, &l, 3*time.Second, fixed, nil)
	if calls != 0 {
		t.Fatalf("clean link: got %d calls; want 0", calls)
	}
	l.capacity = 500_000
	call(t, e, clock, &l, 3*time.Second, fixed, nil)
	if calls != 1 {
		t.Errorf("1 Mbit/s into 500 kbit/s for 3 s: got %d calls; want 1 (%v)", calls, e)
	}
	l = link{capacity: 5e6, queue: 300 * time.Millisecond, delay: 20 * time.Millisecond, tail: *clock}
	call(t, e, clock, &l, 5*time.Second, fixed, nil)
	l.capacity = 500_000
	call(t, e, clock, &l, time.Second, fixed, nil)
	if calls != 2 {
		t.Errorf("after a clean spell and a second shrink: got %d calls; want 2 (%v)", calls, e)
	}
}

// TestLossOfReorderedPackets: a packet a report lists as missing and a later
// report has arrive (the receiver moved its window back to it) is not loss;
// one missing from several reports is lost once.
func TestLossOfReorderedPackets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		reports [][]arrival // seq, received; arrival times are filled in
		want    float64
	}{
		{
			name: "late packet re-reported",
			reports: [][]arrival{
				{{seq: 0, received: true}, {seq: 1, received: true}, {seq: 2}, {seq: 3, received: true}, {seq: 4, received: true}, {seq: 5, received: true}},
				{{seq: 2, received: true}, {seq: 3, received: true}, {seq: 4, received: true}, {seq: 5, received: true}, {seq: 6, received: true}, {seq: 7, received: true}, {seq: 8, received: true}, {seq: 9, received: true}},
			},
			want: 0,
		},
		{
			name: "lost packet listed twice",
			reports: [][]arrival{
				{{seq: 0, received: true}, {seq: 1, received: true}, {seq: 2}, {seq: 3, received: true}, {seq: 4, received: true}},
				{{seq: 2}, {seq: 3, received: true}, {seq: 4, received: true}, {seq: 5, received: true}, {seq: 6, received: true}, {seq: 7, received: true}, {seq: 8, received: true}, {seq: 9, received: true}},
			},
			want: 0.1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, clock := newTestEstimator(1_000_000)
			for range 10 {
				e.sent(1200)
			}
			for i, arr := range tt.reports {
				*clock += 50 * time.Millisecond
				for j := range arr {
					arr[j].at = time.Duration(arr[j].seq) * time.Millisecond
				}
				if err := e.OnFeedback(report(t, uint8(i), arr)); err != nil {
					t.Fatal(err)
				}
			}
			if got := e.Loss(); got != tt.want {
				t.Errorf("loss: got %.3f; want %.3f", got, tt.want)
			}
		})
	}
}

// TestStarvedReceiverStamping: a receiver that stamps arrivals late in bursts
// (a CPU-starved browser falling behind and catching up) on a link with room to spare fakes overuse now and then; without a
// queue behind it, the estimate must not collapse. A real queue still cuts it.
func TestStarvedReceiverStamping(t *testing.T) {
	t.Parallel()
	stall := func(at time.Duration) time.Duration {
		// Falling behind: over 250 ms of every 600, stamps lag more and
		// more (up to 35 ms), then catch up at once.
		const every, span, lag = 600 * time.Millisecond, 250 * time.Millisecond, 35 * time.Millisecond
		if in := at % every; in < span {
			return at + lag*in/span
		}
		return at
	}
	follow := func(target float64) float64 { return target }
	e, clock := newTestEstimator(600_000)
	l := link{capacity: 50e6, queue: time.Second, delay: time.Millisecond}
	callStamped(t, e, clock, &l, 20*time.Second, follow, nil, stall)
	if got := e.TargetBitrate(); got < 1_000_000 {
		t.Errorf("50 Mbit/s link, starved receiver, 20 s: got %d bit/s; want >= 1000000 (%v)", got, e)
	}
	l = link{capacity: 500_000, queue: 300 * time.Millisecond, delay: time.Millisecond, tail: *clock}
	callStamped(t, e, clock, &l, 5*time.Second, follow, nil, stall)
	if got := e.TargetBitrate(); got > 550_000 {
		t.Errorf("then 500 kbit/s for 5 s: got %d bit/s; want <= 550000 (%v)", got, e)
	}
}

func TestOWDMin(t *testing.T) {
	t.Parallel()
	var m owdMin
	steps := []struct {
		owd, now, want int64 // ns
	}{
		{owd: 50e6, now: 1e9, want: 0},
		{owd: 80e6, now: 2e9, want: 30e6},
		{owd: 45e6, now: 3e9, want: 0},
		{owd: 95e6, now: 12e9, want: 50e6}, // 45 ms is 9 s old: still the minimum
		{owd: 95e6, now: 14e9, want: 0},    // every bucket with less is older than 10 s
	}
	for i, st := range steps {
		if got := m.add(st.owd, st.now); got != st.want {
			t.Errorf("step %d: got %d; want %d", i, got, st.want)
		}
	}
}

// TestWatch: a probe's peak arrival rate and queue are kept from every
// report, so a short probe is judged whenever the allocator looks.
func TestWatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		capacity         float64
		wantLo, wantHi   float64 // the highest rate acknowledged over 350 ms
		queueLo, queueHi time.Duration
	}{
		{name: "a link that carries the probe", capacity: 5_000_000, wantLo: 0.9 * 2_000_000, wantHi: 1.1 * 2_000_000, queueHi: 30 * time.Millisecond},
		{name: "a narrower link delivers its own rate and queues", capacity: 1_000_000, wantLo: 0.9 * 1_000_000, wantHi: 1.1 * 1_000_000, queueLo: 60 * time.Millisecond, queueHi: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, clock := newTestEstimator(500_000)
			l := &link{capacity: tt.capacity, queue: time.Second, delay: 20 * time.Millisecond}
			at := func(r float64) func(float64) float64 { return func(float64) float64 { return r } }
			call(t, e, clock, l, 2*time.Second, at(500_000), nil)
			e.Watch(350*time.Millisecond, 0)
			if acked, queue := e.Watched(); acked != 0 || queue != 0 {
				t.Fatalf("right after Watch: got %.0f, %v; want 0, 0", acked, queue)
			}
			call(t, e, clock, l, 500*time.Millisecond, at(2_000_000), nil)
			call(t, e, clock, l, 300*time.Millisecond, at(500_000), nil)
			acked, queue := e.Watched()
			if acked < tt.wantLo || acked > tt.wantHi {
				t.Errorf("peak acknowledged rate: got %.0f; want %.0f-%.0f", acked, tt.wantLo, tt.wantHi)
			}
			if queue < tt.queueLo || queue > tt.queueHi {
				t.Errorf("longest queue: got %v; want %v-%v", queue, tt.queueLo, tt.queueHi)
			}
			// The probe over: later reports leave what it saw alone.
			e.Unwatch()
			call(t, e, clock, l, 500*time.Millisecond, at(4_000_000), nil)
			if a2, q2 := e.Watched(); a2 != acked || q2 != queue {
				t.Errorf("after Unwatch: got %.0f, %v; want the probe's %.0f, %v", a2, q2, acked, queue)
			}
		})
	}
}

// TestWatchTrips: a watched probe whose queue reaches the limit calls
// OnCongestion at once, and once per Watch.
func TestWatchTrips(t *testing.T) {
	t.Parallel()
	calls := 0
	clock := new(time.Duration)
	start := time.Unix(1000, 0)
	e := New(Config{Initial: 500_000, Min: 50_000, Max: 20_000_000, Now: func() time.Time { return start.Add(*clock) },
		OnCongestion: func() { calls++ }, CongestedLoss: 0.5})
	l := &link{capacity: 500_000, queue: time.Second, delay: 20 * time.Millisecond}
	at := func(r float64) func(float64) float64 { return func(float64) float64 { return r } }
	call(t, e, clock, l, 2*time.Second, at(400_000), nil)
	before := calls
	e.Watch(350*time.Millisecond, 60*time.Millisecond)
	call(t, e, clock, l, 400*time.Millisecond, at(1_000_000), nil) // twice the link
	if _, q := e.Watched(); q < 60*time.Millisecond {
		t.Fatalf("queue: got %v; want >= 60ms behind a link at twice its rate", q)
	}
	if got := calls - before; got < 1 {
		t.Errorf("OnCongestion calls during the probe: got %d; want at least 1 (the limit reached)", got)
	}
	// The limit was reported, once: the same watch does not report it again.
	e.mu.Lock()
	tripped, again := e.watch.tripped, e.watchTrippedLocked()
	e.mu.Unlock()
	if !tripped || again {
		t.Errorf("watch: tripped %v, trips again %v; want true, false", tripped, again)
	}
}
