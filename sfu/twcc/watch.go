package twcc

import "time"

// A probe is judged by the most that arrived while it ran and the longest
// queue it caused. Sampling those when the allocator ticks (every 500 ms)
// missed a short probe's peak, so probes had to last 800 ms and a climb
// from 500 kbit/s to 2 Mbit/s took 8-13 s; every report now updates them.

// watch is what the reports since Watch showed.
type watch struct {
	on      bool
	window  int64 // ns: the span of arrivals the acknowledged rate is measured over
	limit   int64 // ns: a queue this long calls Config.OnCongestion at once (0: never)
	tripped bool  // limit was reached (OnCongestion called)
	acked   float64
	queue   int64 // ns
}

// Watch starts recording, from the next report on, the highest rate
// acknowledged over window of arrivals and the longest queueing delay any
// report shows (see Watched). The first report whose queue reaches limit
// calls Config.OnCongestion: a probe that fills a queue must stop within a
// report, not at the next allocation (a probe at twice a 500 kbit/s link for
// 300 ms more overflowed its router's queue). A new call starts afresh.
func (e *Estimator) Watch(window, limit time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.watch = watch{on: true, window: int64(window), limit: int64(limit)}
}

// Unwatch stops recording (the probe ended): reports no longer update the
// watch or call OnCongestion for it; Watched keeps what was seen.
func (e *Estimator) Unwatch() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.watch.on = false
}

// Watched returns what the reports showed since Watch: the highest rate
// acknowledged (bits/s, 0 when too little to tell) and the longest queue.
func (e *Estimator) Watched() (acked float64, queue time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.watch.acked, time.Duration(e.watch.queue)
}

// noteWatchLocked updates the watch with the report just recorded.
func (e *Estimator) noteWatchLocked() {
	if !e.watch.on {
		return
	}
	e.watch.acked = max(e.watch.acked, e.ackedRate(time.Duration(e.watch.window)))
	e.watch.queue = max(e.watch.queue, e.queue)
}

// watchTrippedLocked reports, once per Watch, that the queue reached its limit.
func (e *Estimator) watchTrippedLocked() bool {
	w := &e.watch
	if !w.on || w.tripped || w.limit <= 0 || w.queue < w.limit {
		return false
	}
	w.tripped = true
	return true
}
