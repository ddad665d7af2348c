package sfu

import (
	"runtime"
	"sync"
)

// spreadMin is the fewest sinks a packet must go to before its fan-out is
// spread, and the fewest one goroutine takes: under it, waking another
// goroutine (a few microseconds) costs more than the sends it would take
// (SRTP and a send, ~10-20 us each).
const spreadMin = 16

// Spreader runs the fan-out of large rooms on several cores. Without it, a
// batch of a publisher's packets goes to every subscriber on the goroutine
// that hands it on; at a few hundred subscribers that one core is the room's
// limit and the last subscriber gets each packet milliseconds after the
// first. A Spreader splits the sinks into runs, one per worker, and waits for
// them before the layer's next batch, so no subscriber's packets are
// reordered. The handing goroutine hands every run away rather than take one
// itself: Go's scheduler keeps the goroutine it just woke on the waker's CPU
// until the waker blocks, so a run kept by the waker would be done before the
// woken worker's started (measured: no gain at all).
// One Spreader serves every track of a server; Close stops its workers.
type Spreader struct {
	jobs    chan *spreadJob
	workers int
	wg      sync.WaitGroup

	mu     sync.RWMutex // guards closed against sends on jobs; Close takes it to close jobs
	closed bool
}

// spreadJob is one run of sinks for one batch of packets. Each layer owns its jobs and
// reuses them, so spreading allocates nothing.
type spreadJob struct {
	sinks []Sink
	pkts  []*ExtPacket
	done  *sync.WaitGroup
}

// NewSpreader starts workers goroutines; workers < 1 means one per CPU
// (GOMAXPROCS). It returns nil, which fans out inline, when there is only
// one CPU.
func NewSpreader(workers int) *Spreader {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers < 2 {
		return nil
	}
	s := &Spreader{jobs: make(chan *spreadJob, 4*workers), workers: workers}
	s.wg.Add(workers)
	for range workers {
		go s.work()
	}
	return s
}

// Close stops the workers once the runs handed to them are done. Fan-outs
// after Close run inline.
func (s *Spreader) Close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.jobs)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Spreader) work() {
	defer s.wg.Done()
	for j := range s.jobs {
		writeAll(j.sinks, j.pkts)
		j.done.Done()
	}
}

// writeAll writes every packet to a sink before the next sink gets any.
func writeAll(sinks []Sink, pkts []*ExtPacket) {
	for _, k := range sinks {
		for _, p := range pkts {
			_ = k.WriteRTP(p) // one slow or broken subscriber must not stop the others
		}
	}
}

// spreadState is what one layer's goroutine keeps for spreading.
type spreadState struct {
	jobs []spreadJob
	done sync.WaitGroup
}

// fanout writes pkts to every sink, spread over the workers when there are
// enough sinks. It returns when every sink has had them.
func (s *Spreader) fanout(st *spreadState, sinks []Sink, pkts []*ExtPacket) {
	if s == nil || len(sinks) < 2*spreadMin {
		writeAll(sinks, pkts)
		return
	}
	runs := min(s.workers, len(sinks)/spreadMin)
	if len(st.jobs) < runs {
		st.jobs = make([]spreadJob, runs)
	}
	size := (len(sinks) + runs - 1) / runs
	for i := range runs {
		j := &st.jobs[i]
		j.sinks, j.pkts, j.done = sinks[i*size:min((i+1)*size, len(sinks))], pkts, &st.done
		st.done.Add(1)
		if !s.hand(j) {
			st.done.Done()
			writeAll(j.sinks, pkts) // every worker is busy (or closed): no waiting for one
		}
	}
	st.done.Wait()
	for i := range runs {
		st.jobs[i] = spreadJob{} // keep no packet or sinks alive
	}
}

// hand gives j to a worker without blocking; false: none can take it now.
func (s *Spreader) hand(j *spreadJob) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false
	}
	select {
	case s.jobs <- j:
		return true
	default:
		return false
	}
}
