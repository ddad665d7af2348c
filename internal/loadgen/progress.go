package loadgen

import (
	"slices"
	"sync"
	"time"

	"github.com/openroom/openroom/sfu/twcc"
)

// runState is what a run has so far, for its progress reports and its result.
type runState struct {
	start  time.Time
	delays delayHist // every member's one-way delays
	// arrivals has when packets reached the members' sockets; nil: unknown
	// (a packet arrives when it is read).
	arrivals *twcc.ArrivalTable

	mu    sync.Mutex // guards phase, pubs, subs
	phase string
	pubs  []*publisher
	subs  []*Member
}

func (r *runState) setPhase(p string) {
	r.mu.Lock()
	r.phase = p
	r.mu.Unlock()
}

func (r *runState) addPublisher(p *publisher) {
	r.mu.Lock()
	r.pubs = append(r.pubs, p)
	r.mu.Unlock()
}

func (r *runState) addSubscriber(m *Member) {
	r.mu.Lock()
	r.subs = append(r.subs, m)
	r.mu.Unlock()
}

func (r *runState) publishers() []*publisher {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pubs)
}

// totals is what every member received so far.
type totals struct {
	media, received, expected int64
	delays                    []int64
}

func (r *runState) totals() (totals, Progress) {
	r.mu.Lock()
	pr := Progress{Phase: r.phase, Elapsed: round(time.Since(r.start).Seconds(), 1), Subscribers: len(r.subs)}
	members := make([]*Member, 0, len(r.pubs)+len(r.subs))
	for _, p := range r.pubs {
		members = append(members, p.Member)
		select {
		case <-p.connected:
			pr.Publishers++
		default:
		}
	}
	members = append(members, r.subs...)
	subs := r.subs
	r.mu.Unlock()
	for _, s := range subs {
		select {
		case <-s.gotMedia:
			pr.Receiving++
		default:
		}
	}
	var t totals
	for _, m := range members {
		t.media += m.videoPackets.Load() + m.audioPackets.Load()
		rcv, exp := m.rxTotals()
		t.received += rcv
		t.expected += exp
	}
	t.delays = r.delays.snapshot()
	return t, pr
}

// reportProgress calls report every second until the returned stop is called.
func (r *runState) reportProgress(report func(Progress)) (stop func()) {
	if report == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		prev, _ := r.totals()
		prevAt := time.Now()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			cur, pr := r.totals()
			now := time.Now()
			if secs := now.Sub(prevAt).Seconds(); secs > 0 {
				pr.ForwardedPerSec = round(float64(cur.media-prev.media)/secs, 0)
			}
			q, _ := delayPercentiles(prev.delays, cur.delays, 0.99)
			pr.DelayP99Ms = q[0]
			pr.LossPct = lossPct(cur.received-prev.received, cur.expected-prev.expected)
			prev, prevAt = cur, now
			report(pr)
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// lossPct is the share of expected packets not received, in %.
func lossPct(received, expected int64) float64 {
	if expected <= 0 || received >= expected {
		return 0
	}
	return round(100*float64(expected-received)/float64(expected), 2)
}
