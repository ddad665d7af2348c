package sfu

import (
	"testing"
	"time"
)

// fakeGCC reports a fixed estimate and the loss and usage the test sets.
type fakeGCC struct {
	target   int
	loss     float64
	usage    string
	resets   int
	acked    float64       // the peak Watched says
	queue    time.Duration // the longest queue Watched says
	queueNow time.Duration // what Queue says
}

func (f *fakeGCC) TargetBitrate() int { return f.target }
func (f *fakeGCC) Reset(initial int)  { f.target, f.resets = initial, f.resets+1 }
func (f *fakeGCC) Loss() float64      { return f.loss }
func (f *fakeGCC) Overusing() bool    { return f.usage == "overuse" }
func (f *fakeGCC) String() string     { return "fake" }

func (f *fakeGCC) Watch(_, _ time.Duration)          {}
func (f *fakeGCC) Unwatch()                          {}
func (f *fakeGCC) Watched() (float64, time.Duration) { return f.acked, f.queue }
func (f *fakeGCC) Queue() time.Duration              { return f.queueNow }

// withFakeGCC returns a bwe over g on a fake clock the test moves.
func withFakeGCC(g *fakeGCC) (*bwe, *time.Time) {
	clock := new(time.Time)
	*clock = time.Unix(1000, 0)
	b := newBWE(func() time.Time { return *clock })
	b.setEstimator(g)
	return b, clock
}

func TestBWESevereHysteresis(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	b := newBWE(func() time.Time { return now })
	g := &fakeGCC{target: 300_000, usage: "normal"}
	b.setEstimator(g)
	steps := []struct {
		name    string
		advance time.Duration
		loss    float64
		want    bool
	}{
		{"clean link", 0, 0, false},
		{"a burst of loss", 500 * time.Millisecond, 0.3, false},
		{"the burst ends", 500 * time.Millisecond, 0.05, false},
		{"loss again: its own hold", 500 * time.Millisecond, 0.3, false},
		{"still lossy, 1.5 s", 1500 * time.Millisecond, 0.3, false},
		{"lossy for 2 s: severe", 500 * time.Millisecond, 0.25, true},
		{"easing but above the end: still severe", time.Second, 0.15, true},
		{"below the end: over", time.Second, 0.08, false},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		g.loss = s.loss
		if got := b.severe(); got != s.want {
			t.Fatalf("%s: severe() = %v; want %v", s.name, got, s.want)
		}
	}
}

func TestBWENoProbeOnALossyLink(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		loss  float64
		usage string
		want  bool
	}{
		{"clean", 0, "normal", true},
		{"1 % loss", 0.01, "normal", true},
		{"5 % loss", 0.05, "normal", false},
		{"overuse", 0, "overuse", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1000, 0)
			b := newBWE(func() time.Time { return now })
			b.setEstimator(&fakeGCC{target: 300_000, loss: tt.loss, usage: tt.usage})
			now = now.Add(probeFirstAfter)
			b.onNACK() // the loss is real: the subscriber asks for resends
			got := b.wantProbe(300_000, 300_000, 0, 2_000_000) > 0
			if got != tt.want {
				t.Errorf("probe = %v; want %v", got, tt.want)
			}
		})
	}
}

// TestBWEHeldToWhatWasSent: GCC's estimate grows while the sender is
// application-limited; the usable estimate stays near what was sent.
func TestBWEHeldToWhatWasSent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		gcc       int
		mediaRate float64
		want      float64
	}{
		{"nothing sent yet: GCC's word", 1_000_000, 0, 1_000_000},
		{"GCC above what was sent: held", 1_000_000, 200_000, 250_000},
		{"GCC below what was sent: GCC's word", 300_000, 400_000, 300_000},
		{"never below the minimum", 1_000_000, 10_000, minEstimate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBWE(func() time.Time { return time.Unix(1000, 0) })
			b.setEstimator(&fakeGCC{target: tt.gcc, usage: "normal"})
			if got := b.estimate(tt.mediaRate); got != tt.want {
				t.Errorf("estimate(%v) = %v; want %v", tt.mediaRate, got, tt.want)
			}
		})
	}
}

// TestBWENoProbeOverTheEstimate: when the lowest layers alone already exceed
// the estimate (the allocator keeps them on), the link is full: padding on top
// would only make it lose media. What flows is what counts, where measured.
func TestBWENoProbeOverTheEstimate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                        string
		est, sending, media, wanted float64
		want                        bool
		queue                       time.Duration // what the newest report says packets waited
	}{
		{"room to climb", 500_000, 400_000, 0, 1_200_000, true, 0},
		{"room to climb, but packets queue now", 500_000, 400_000, 0, 1_200_000, false, 50 * time.Millisecond},
		{"allocated over the estimate", 300_000, 430_000, 0, 1_200_000, false, 0},
		{"flowing over the estimate", 300_000, 430_000, 350_000, 1_200_000, false, 0},
		{"allocated over the estimate, less flowing", 200_000, 230_000, 160_000, 700_000, true, 0},
		{"everything wanted is sent", 2_000_000, 1_200_000, 1_100_000, 1_200_000, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := time.Unix(1000, 0)
			b := newBWE(func() time.Time { return now })
			b.setEstimator(&fakeGCC{target: int(tt.est), usage: "normal", queueNow: tt.queue})
			now = now.Add(probeFirstAfter)
			if got := b.wantProbe(tt.est, tt.sending, tt.media, tt.wanted) > 0; got != tt.want {
				t.Errorf("probe = %v; want %v", got, tt.want)
			}
		})
	}
}

// TestBWEContinuesFromWhatFlowsCleanly: after a collapse, GCC's estimate sits
// far below what the lowest layers (kept on) carry without loss; after
// cleanHold of that, the estimate continues from the rate that flows.
func TestBWEContinuesFromWhatFlowsCleanly(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	b := newBWE(func() time.Time { return now })
	g := &fakeGCC{target: 150_000, usage: "normal"}
	b.setEstimator(g)
	steps := []struct {
		name    string
		advance time.Duration
		loss    float64
		want    float64
		resets  int
	}{
		{"media over the estimate", 0, 0, 150_000, 0},
		{"with loss: not proven", 500 * time.Millisecond, 0.05, 150_000, 0},
		{"clean again", 500 * time.Millisecond, 0, 150_000, 0},
		{"clean 1.5 s", 1500 * time.Millisecond, 0, 150_000, 0},
		{"clean 2 s: continues from it", 500 * time.Millisecond, 0, 430_000, 1},
		{"and stays", 500 * time.Millisecond, 0, 430_000, 1},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		g.loss = st.loss
		b.onNACK() // the loss is real: the subscriber asks for resends
		if got := b.estimate(430_000); got != st.want || g.resets != st.resets {
			t.Fatalf("%s: got %.0f after %d resets; want %.0f after %d", st.name, got, g.resets, st.want, st.resets)
		}
	}
}

// TestBWENoProbeAtStart: a new subscriber's estimate is a guess until feedback
// has come for a while; a probe on top of it flooded a 500 kbit/s member with
// 1.5 Mbit/s for its first seconds.
func TestBWENoProbeAtStart(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	b := newBWE(func() time.Time { return now })
	b.setEstimator(&fakeGCC{target: initialEstimate, usage: "normal"})
	if pad := b.wantProbe(initialEstimate, 300_000, 0, 2_000_000); pad > 0 {
		t.Errorf("at start: got a probe of %.0f bit/s; want none", pad)
	}
	now = now.Add(probeFirstAfter)
	if pad := b.wantProbe(initialEstimate, 300_000, 0, 2_000_000); pad == 0 {
		t.Errorf("after %v: got no probe; want one", probeFirstAfter)
	}
}

// TestBWEProbeJudgedByWhatArrived: a probe proves the rate that arrived while
// it ran (up to what it sent); a moment of overuse does not fail it, loss
// does, and so does a link that delivered no more than was known.
func TestBWEProbeJudgedByWhatArrived(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		acked    float64       // reported arriving during the probe
		usage    string        // during the probe
		loss     float64       // during the probe
		queue    time.Duration // during the probe
		wantOK   bool
		wantRate float64 // the estimate after the probe, when it succeeded
	}{
		{name: "the link carries the probe", acked: 2_000_000, usage: "normal", wantOK: true, wantRate: 0.9 * 450_000},
		{name: "a moment of overuse", acked: 2_000_000, usage: "overuse", wantOK: true, wantRate: 0.9 * 450_000},
		{name: "a narrower link proves its own rate, and the next probe waits", acked: 380_000, usage: "normal", wantRate: 0.9 * 380_000},
		{name: "nothing more arrived", acked: 300_000, usage: "normal"},
		{name: "loss", acked: 2_000_000, usage: "normal", loss: 0.05},
		{name: "a queue filled", acked: 2_000_000, usage: "overuse", queue: 70 * time.Millisecond},
		{name: "carried with a queue, and the next probe waits", acked: 2_000_000, usage: "normal", queue: 40 * time.Millisecond, wantRate: 0.9 * 450_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := time.Unix(1000, 0)
			b := newBWE(func() time.Time { return now })
			g := &fakeGCC{target: 300_000, usage: "normal", acked: 280_000}
			b.setEstimator(g)
			now = now.Add(probeFirstAfter)
			est := b.estimate(280_000)
			pad := b.wantProbe(est, 300_000, 280_000, 1_500_000)
			if pad <= 0 {
				t.Fatalf("no probe (estimate %.0f)", est)
			}
			if b.probeRate != 450_000 {
				t.Fatalf("probe rate: got %.0f; want 1.5 x 300000", b.probeRate)
			}
			g.acked, g.usage, g.loss = tt.acked, tt.usage, tt.loss
			b.onNACK()
			g.queue = tt.queue
			now = now.Add(probeDuration / 2)
			b.estimate(280_000)
			g.usage = "normal"
			now = now.Add(probeDuration/2 + probeSettle)
			got := b.estimate(280_000)
			if b.probing {
				t.Fatal("still probing after its end")
			}
			if b.probeOK != tt.wantOK {
				t.Fatalf("probe succeeded: got %v; want %v (estimate %.0f)", b.probeOK, tt.wantOK, got)
			}
			if tt.wantRate > 0 && got != tt.wantRate {
				t.Errorf("estimate after the probe: got %.0f; want %.0f", got, tt.wantRate)
			}
			if tt.wantOK && b.nextProbe.After(now) {
				t.Errorf("after a carried probe the next waits %v; want it to start at once", b.nextProbe.Sub(now))
			}
			if !tt.wantOK && b.nextProbe.Sub(now) <= probeMinGap {
				t.Errorf("after a failed probe the next may start in %v; want a longer backoff", b.nextProbe.Sub(now))
			}
		})
	}
}

// TestBWEProbeJudgedAgainstItsStart: a probe proves more than the estimate it
// started from, even when a burst of media lifts the estimate while it runs
// (judged against that, carried probes failed and a 5 Mbit/s link stayed on
// the lowest layers for 18 s).
func TestBWEProbeJudgedAgainstItsStart(t *testing.T) {
	t.Parallel()
	g := &fakeGCC{target: 600_000, usage: "normal"}
	b, clock := withFakeGCC(g)
	*clock = clock.Add(probeFirstAfter)
	est := b.estimate(256_000) // held to 1.25 x what flows
	if est != 320_000 {
		t.Fatalf("estimate before the probe: got %.0f; want 320000", est)
	}
	if pad := b.wantProbe(est, 300_000, 256_000, 1_500_000); pad == 0 {
		t.Fatal("got no probe; want one")
	}
	g.acked = 2_000_000 // the link carries all of it
	*clock = clock.Add(probeDuration / 2)
	if mid := b.estimate(400_000); mid <= 0.9*b.probeRate {
		t.Fatalf("a burst of media during the probe: estimate %.0f; want it above what the probe can prove (%.0f)", mid, 0.9*b.probeRate)
	}
	*clock = clock.Add(probeDuration/2 + probeSettle)
	got := b.estimate(256_000)
	if b.probing || !b.probeOK {
		t.Fatalf("after the probe: probing %v, succeeded %v; want it ended and succeeded (estimate %.0f)", b.probing, b.probeOK, got)
	}
	if want := 0.9 * b.probeRate; got < want {
		t.Errorf("estimate after the probe: got %.0f; want at least %.0f", got, want)
	}
	if b.nextProbe.After(*clock) {
		t.Errorf("the next probe waits %v; want it to start at once", b.nextProbe.Sub(*clock))
	}
}

// TestBWENoProbeRightAfterLoss: a link that lost packets gets no probe until
// probeAfterLoss has passed, and then a small one, even after a climb of
// successful probes.
func TestBWENoProbeRightAfterLoss(t *testing.T) {
	t.Parallel()
	g := &fakeGCC{target: 300_000, usage: "normal"}
	b, clock := withFakeGCC(g)
	now := clock.Add(probeFirstAfter)
	*clock = now
	b.probeOK = true // the climb before the link shrank went well
	g.loss = 0.2
	b.onNACK()
	b.estimate(280_000)
	g.loss = 0
	*clock = now.Add(probeAfterLoss - 100*time.Millisecond)
	est := b.estimate(280_000)
	if pad := b.wantProbe(est, 300_000, 280_000, 1_500_000); pad > 0 {
		t.Fatalf("%v after the loss: got a probe of %.0f bit/s; want none", probeAfterLoss-100*time.Millisecond, pad)
	}
	*clock = clock.Add(100 * time.Millisecond)
	est = b.estimate(280_000)
	if pad := b.wantProbe(est, 300_000, 280_000, 1_500_000); pad == 0 {
		t.Fatalf("%v after the loss: got no probe; want one", probeAfterLoss)
	}
	if want := est * probeGrowth; b.probeRate != want {
		t.Errorf("probe rate: got %.0f; want %.0f (%v x the estimate, not the doubling of a climb)", b.probeRate, want, probeGrowth)
	}
}

// TestBWEProbeResult: a probe's result (1.2 Mbit/s over GCC's 400 kbit/s)
// stands until the link shows it no longer holds: loss a NACK confirms, or
// heavy loss, or an overuse after which GCC is below it. Transport-cc loss no
// NACK confirms, or an overuse after which GCC is still above it (a receiver's
// timing hiccup), leaves it.
func TestBWEProbeResult(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		loss   float64
		nack   bool
		usage  string
		target int // GCC's estimate after what happened
		want   float64
	}{
		{name: "clean", usage: "normal", target: 400_000, want: 1_200_000},
		{name: "5 % loss with a NACK", loss: 0.05, nack: true, usage: "normal", target: 400_000, want: 400_000},
		{name: "5 % loss without a NACK", loss: 0.05, usage: "normal", target: 400_000, want: 1_200_000},
		{name: "30 % loss without a NACK", loss: 0.3, usage: "normal", target: 400_000, want: 400_000},
		{name: "overuse, GCC still above", usage: "overuse", target: 1_300_000, want: 1_300_000},
		{name: "overuse, GCC cut below", usage: "overuse", target: 500_000, want: 500_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, clock := withFakeGCC(&fakeGCC{target: tt.target, usage: tt.usage, loss: tt.loss})
			b.probed, b.probedTill = 1_200_000, clock.Add(probedDecay)
			if tt.nack {
				b.onNACK()
			}
			if got := b.estimate(0); got != tt.want {
				t.Errorf("estimate: got %.0f; want %.0f", got, tt.want)
			}
		})
	}
}

// TestBWENoProbeDuringUpgrade: while a video waits for a higher layer's
// keyframe no probe starts (it would measure the keyframe's burst), for at
// most probeUpgradeWait.
func TestBWENoProbeDuringUpgrade(t *testing.T) {
	t.Parallel()
	steps := []struct {
		name      string
		after     time.Duration // since the last step
		upgrading bool
		want      bool // a probe
	}{
		{name: "the keyframe is awaited", upgrading: true},
		{name: "still awaited", after: probeUpgradeWait - 100*time.Millisecond, upgrading: true},
		{name: "awaited too long: probe anyway", after: 100 * time.Millisecond, upgrading: true, want: true},
	}
	g := &fakeGCC{target: 300_000, usage: "normal"}
	b, clock := withFakeGCC(g)
	*clock = clock.Add(probeFirstAfter)
	for _, st := range steps {
		*clock = clock.Add(st.after)
		b.noteUpgrading(st.upgrading)
		est := b.estimate(280_000)
		if got := b.wantProbe(est, 300_000, 280_000, 1_500_000) > 0; got != st.want {
			t.Fatalf("%s: probe %v; want %v", st.name, got, st.want)
		}
	}
	// A switch that completes lets the next probe start at once.
	b2, clock2 := withFakeGCC(&fakeGCC{target: 300_000, usage: "normal"})
	*clock2 = clock2.Add(probeFirstAfter)
	b2.noteUpgrading(true)
	b2.noteUpgrading(false)
	if est := b2.estimate(280_000); b2.wantProbe(est, 300_000, 280_000, 1_500_000) == 0 {
		t.Errorf("after the switch: got no probe; want one")
	}
}
